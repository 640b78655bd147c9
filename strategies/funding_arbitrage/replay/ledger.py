"""What a replay run records from the simulated venues: fills with the mid at fill time, equity at mid,
margin per leg, hedge gaps and liquidations. The strategy under test is not consulted: the venues are the
books of record, so the accounting identity (net = funding + basis − fees − slippage − borrow) checks the
venues and the ledger against each other.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from hummingbot.core.data_type.common import TradeType
from hummingbot.core.event.event_forwarder import EventForwarder
from hummingbot.core.event.events import MarketEvent, OrderFilledEvent

from ..core.venues import is_perp_connector
from .results import MarginPoint, PositionAction, Side, Trade

ReasonLookup = Callable[[str], str]
_ZERO = Decimal(0)


class RunLedger:
    """Listens to every fill of the run's connectors and samples equity and margin on request."""

    def __init__(self, connectors: dict[str, Any], quote_asset: str, reason_of: ReasonLookup) -> None:
        self._connectors = connectors
        self._quote = quote_asset
        self._reason_of = reason_of
        self.trades: list[Trade] = []
        self.order_ids: list[str] = []  # parallel to `trades`
        self.equity: list[tuple[float, Decimal]] = []
        self.margin: list[MarginPoint] = []
        self.deployed: list[tuple[float, Decimal]] = []  # (ts, deployed notional in quote), sampled with equity
        self.net_base: dict[tuple[str, str], Decimal] = defaultdict(lambda: _ZERO)  # (connector, pair) -> signed
        self.max_hedge_gap_pct = _ZERO
        self.unhedged_seconds = _ZERO
        self._listeners = []
        for name, connector in connectors.items():
            listener = EventForwarder(lambda e, n=name: self._on_fill(n, e))
            connector.add_listener(MarketEvent.OrderFilled, listener)
            self._listeners.append((connector, listener))

    def _on_fill(self, connector_name: str, e: OrderFilledEvent) -> None:
        connector = self._connectors[connector_name]
        mid = connector.mid_price(e.trading_pair)
        price, amount = Decimal(e.price), Decimal(e.amount)
        fee = Decimal(e.trade_fee.fee_amount_in_token(e.trading_pair, price, amount, self._quote))
        side = Side.BUY if e.trade_type == TradeType.BUY else Side.SELL
        perp = is_perp_connector(connector_name)
        position = getattr(e.position, "name", e.position)
        action = PositionAction(str(position).upper()) if perp and position else PositionAction.NIL
        self.trades.append(
            Trade(
                ts=float(e.timestamp),
                token=e.trading_pair.split("-")[0],
                connector=connector_name,
                trading_pair=e.trading_pair,
                side=side,
                amount_base=amount,
                price=price,
                mid_price=Decimal(mid) if mid is not None else price,
                fee_quote=fee,
                position_action=action,
                reason=self._reason_of(e.order_id),
            )
        )
        self.order_ids.append(e.order_id)
        self.net_base[(connector_name, e.trading_pair)] += amount if side is Side.BUY else -amount

    def detach(self) -> None:
        for connector, listener in self._listeners:
            connector.remove_listener(MarketEvent.OrderFilled, listener)
        self._listeners.clear()

    # --- sampling ------------------------------------------------------------------------------------
    def sample(self, ts: float, dt_s: float, lot_of: Callable[[str, str], Decimal]) -> None:
        """Record equity at mid, each perp leg's margin, and the hedge gap per token for the last `dt_s`."""
        equity = _ZERO
        for name, connector in self._connectors.items():
            equity += self._equity_of(name, connector)
        self.equity.append((ts, equity))
        self.deployed.append((ts, self._deployed_quote()))
        self._sample_margin(ts)
        self._sample_hedge(dt_s, lot_of)

    def _equity_of(self, name: str, connector: Any) -> Decimal:
        """Perp: wallet + legs marked at mid. Spot: quote + base marked at mid."""
        if is_perp_connector(name):
            total = Decimal(connector.margin_info(connector.trading_pairs[0])["wallet_balance_quote"])
            for position in connector.account_positions.values():
                mid = connector.mid_price(position.trading_pair)
                if mid is None:  # a data gap: mark at entry (no PnL) rather than inventing a price
                    continue
                total += Decimal(position.amount) * (Decimal(mid) - Decimal(position.entry_price))
            return total
        total = Decimal(connector.get_balance(self._quote))
        for token in {pair.split("-")[0] for (cname, pair) in self.net_base if cname == name}:
            base = Decimal(connector.get_balance(token))
            mid = connector.mid_price(f"{token}-{self._quote}")
            if base and mid is not None:
                total += base * Decimal(mid)
        return total

    def _deployed_quote(self) -> Decimal:
        """Σ over tokens of the larger of its long and short notional at mid (a leg without a mid counts 0)."""
        longs: dict[str, Decimal] = defaultdict(lambda: _ZERO)
        shorts: dict[str, Decimal] = defaultdict(lambda: _ZERO)
        for (name, pair), amount in self.net_base.items():
            if amount == 0:
                continue
            mid = self._connectors[name].mid_price(pair)
            if mid is None:
                continue
            side = longs if amount > 0 else shorts
            side[pair.split("-")[0]] += abs(amount) * Decimal(mid)
        return sum((max(longs[t], shorts[t]) for t in {*longs, *shorts}), _ZERO)

    def _sample_margin(self, ts: float) -> None:
        for name, connector in self._connectors.items():
            if not is_perp_connector(name):
                continue
            for (cname, pair), amount in self.net_base.items():
                if cname != name or amount == 0:
                    continue
                info = connector.margin_info(pair)
                liq = info.get("liquidation_price")
                mid = connector.mid_price(pair)
                distance = None
                if liq is not None and mid:
                    mid = Decimal(mid)
                    distance = ((mid - liq) / mid * 100) if amount > 0 else ((liq - mid) / mid * 100)
                self.margin.append(MarginPoint(ts, name, pair.split("-")[0], info.get("margin_ratio"), distance))

    def _sample_hedge(self, dt_s: float, lot_of: Callable[[str, str], Decimal]) -> None:
        per_token: dict[str, list[tuple[Decimal, Decimal]]] = defaultdict(list)
        for (name, pair), amount in self.net_base.items():
            per_token[pair.split("-")[0]].append((amount, lot_of(name, pair)))
        for legs in per_token.values():
            net = sum((a for a, _ in legs), _ZERO)
            longs = sum((a for a, _ in legs if a > 0), _ZERO)
            shorts = -sum((a for a, _ in legs if a < 0), _ZERO)
            gross = max(longs, shorts)
            if gross == 0:
                continue
            self.max_hedge_gap_pct = max(self.max_hedge_gap_pct, abs(net) / gross * 100)
            if abs(net) > max(lot for _, lot in legs):
                self.unhedged_seconds += Decimal(str(dt_s))

    @property
    def quote(self) -> str:
        return self._quote

    def mid(self, connector: str, trading_pair: str) -> Decimal | None:
        """The market's mid now (None when its book is empty)."""
        mid = self._connectors[connector].mid_price(trading_pair)
        return None if mid is None else Decimal(mid)

    def trades_of(self, order_ids: set[str]) -> list[Trade]:
        return [t for t, oid in zip(self.trades, self.order_ids, strict=False) if oid in order_ids]

    def final_mids(self) -> dict[tuple[str, str], Decimal]:
        out = {}
        for (name, pair), amount in self.net_base.items():
            if amount != 0:
                mid = self._connectors[name].mid_price(pair)
                if mid is not None:
                    out[(name, pair)] = Decimal(mid)
        return out
