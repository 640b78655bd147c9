"""The `baseline` run: Hummingbot's upstream funding-arbitrage example's decision rules (`baseline.py`) trading
the same simulated venues through the same Hummingbot order path (`buy`/`sell` at market, both legs, OPEN to
enter and CLOSE to exit), so the comparison differs only in the decisions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hummingbot.core.data_type.common import OrderType, PositionAction, PositionMode, PriceType, TradeType
from hummingbot.strategy.strategy_v2_base import StrategyV2Base, StrategyV2ConfigBase

from .baseline import BaselineConfig, BaselineHeld, BaselineRules, FundingObs

log = logging.getLogger(__name__)


class BaselineStrategyConfig(StrategyV2ConfigBase):
    """Markets of the baseline run: {connector: [pairs]}."""

    script_file_name: str = "baseline"
    baseline_markets: dict[str, list[str]] = {}  # noqa: RUF012 - pydantic copies field defaults per instance

    def update_markets(self, markets: Any) -> Any:
        for connector, pairs in self.baseline_markets.items():
            markets.setdefault(connector, set()).update(pairs)
        return markets


@dataclass
class _Position:
    long_connector: str
    short_connector: str
    opened_ts: float
    size_quote: Decimal
    long_base: Decimal = Decimal(0)
    short_base: Decimal = Decimal(0)  # positive amount held short
    long_cost: Decimal = Decimal(0)
    short_proceeds: Decimal = Decimal(0)
    funding: Decimal = Decimal(0)
    closing: bool = False
    orders: set[str] = field(default_factory=set)
    pending: set[str] = field(default_factory=set)  # orders not yet completed or failed
    first_fill_ts: float | None = None
    token: str = ""
    close_reason: str | None = None
    closed_ts: float | None = None  # when both legs were flat and every order done


class BaselineStrategy(StrategyV2Base):
    """Runs `BaselineRules` every tick on the perp connectors it was given."""

    def __init__(
        self, connectors: dict[str, Any], config: BaselineStrategyConfig, rules: BaselineConfig, quote_asset: str
    ) -> None:
        super().__init__(connectors, config)
        self.rules = BaselineRules(rules)
        self.quote = quote_asset
        self.positions: dict[str, _Position] = {}
        self.order_reason: dict[str, str] = {}
        self.pairs_opened = 0
        self.history: list[_Position] = []  # every position opened, in order (for the report's pairs table)
        self._initialised = False

    def _pair(self, token: str) -> str:
        return f"{token}-{self.quote}"

    def on_tick(self) -> None:
        ts = self.current_timestamp
        if not self._initialised:
            for name in self.rules.config.connectors:
                self.set_position_mode(name, PositionMode.ONEWAY)
                for token in self.rules.config.tokens:
                    self.set_leverage(name, self._pair(token), self.rules.config.leverage)
            self._initialised = True
        rates = self._observations()
        held = {t: self._held(t, p) for t, p in self.positions.items() if not p.closing}
        enters, exits = self.rules.decide(ts, rates, held, self._taker_fee)
        for ex in exits:
            self._close(ex.token, ex.reason.value)
        for en in enters:
            if en.token in self.positions:
                continue
            mid = rates[(en.long_connector, en.token)].mid_price
            if mid is None or mid <= 0:
                continue
            amount = en.size_quote / mid
            pos = _Position(en.long_connector, en.short_connector, ts, en.size_quote, token=en.token)
            self.positions[en.token] = pos
            self.history.append(pos)
            self.pairs_opened += 1
            pair = self._pair(en.token)
            for buy, connector in ((True, en.long_connector), (False, en.short_connector)):
                self._track(pos, self._order(buy, connector, pair, amount, PositionAction.OPEN, "baseline open"))

    def _order(self, buy: bool, connector: str, pair: str, amount: Decimal, action: PositionAction, reason: str) -> str:
        amount = self.connectors[connector].quantize_order_amount(pair, amount)
        fn = self.buy if buy else self.sell
        order_id = fn(connector, pair, amount, OrderType.MARKET, position_action=action)
        self.order_reason[order_id] = reason
        return order_id

    @staticmethod
    def _track(pos: _Position, order_id: str) -> None:
        pos.orders.add(order_id)
        pos.pending.add(order_id)

    def _close(self, token: str, reason: str) -> None:
        """Close both legs; entry orders still working are closed as they fill (see did_fill_order)."""
        pos = self.positions[token]
        pos.closing = True
        pos.close_reason = reason
        pair = self._pair(token)
        if pos.long_base > 0:
            self._track(
                pos,
                self._order(
                    False, pos.long_connector, pair, pos.long_base, PositionAction.CLOSE, f"baseline close: {reason}"
                ),
            )
        if pos.short_base > 0:
            self._track(
                pos,
                self._order(
                    True, pos.short_connector, pair, pos.short_base, PositionAction.CLOSE, f"baseline close: {reason}"
                ),
            )
        self._forget_if_done(token)

    def _forget_if_done(self, token: str) -> None:
        pos = self.positions.get(token)
        if pos is not None and pos.closing and not pos.pending and pos.long_base <= 0 and pos.short_base <= 0:
            pos.closed_ts = float(self.current_timestamp)
            del self.positions[token]

    def _observations(self) -> dict[tuple[str, str], FundingObs]:
        out = {}
        pairs = [(token, self._pair(token)) for token in self.rules.config.tokens]
        for name in self.rules.config.connectors:
            connector = self.connectors[name]
            for token, pair in pairs:
                try:
                    info = connector.get_funding_info(pair)
                except KeyError:
                    continue
                bid = connector.get_price_by_type(pair, PriceType.BestBid)
                ask = connector.get_price_by_type(pair, PriceType.BestAsk)
                if not (bid == bid and ask == ask) or bid <= 0 or ask <= 0:
                    continue
                out[(name, token)] = FundingObs(Decimal(info.rate), (bid + ask) / 2, bid, ask)
        return out

    def _taker_fee(self, connector: str, token: str) -> Decimal:
        fee = self.connectors[connector].get_fee(
            base_currency=token,
            quote_currency=self.quote,
            order_type=OrderType.MARKET,
            order_side=TradeType.BUY,
            position_action=PositionAction.OPEN,
            amount=Decimal(1),
            price=Decimal(1),
            is_maker=False,
        )
        return Decimal(fee.percent)

    def _held(self, token: str, pos: _Position) -> BaselineHeld:
        pair = self._pair(token)
        pnl = Decimal(0)
        for connector, base, signed in (
            (pos.long_connector, pos.long_base, 1),
            (pos.short_connector, pos.short_base, -1),
        ):
            mid = self.connectors[connector].mid_price(pair)
            if mid is not None and base:
                pnl += signed * base * Decimal(mid)
        pnl += pos.short_proceeds - pos.long_cost
        # As upstream's executors: the single-leg timer runs from the first fill, while the partner is missing.
        none_yet = pos.first_fill_ts is None
        timer_ts = pos.opened_ts if pos.first_fill_ts is None else pos.first_fill_ts
        return BaselineHeld(
            pos.long_connector,
            pos.short_connector,
            timer_ts,
            pos.size_quote,
            pnl,
            pos.funding,
            none_yet or pos.long_base > 0,
            none_yet or pos.short_base > 0,
        )

    # --- events --------------------------------------------------------------------------------------
    def did_fill_order(self, event: Any) -> None:
        for token, pos in list(self.positions.items()):
            if event.order_id not in pos.orders:
                continue
            amount, price = Decimal(event.amount), Decimal(event.price)
            buy = event.trade_type == TradeType.BUY
            opening = str(getattr(event.position, "name", event.position)).upper() == PositionAction.OPEN.name
            if pos.first_fill_ts is None:
                pos.first_fill_ts = float(event.timestamp)
            sign = 1 if opening else -1
            if buy == opening:  # long leg: bought to open, sold to close
                pos.long_base += sign * amount
                pos.long_cost += sign * amount * price
            else:
                pos.short_base += sign * amount
                pos.short_proceeds += sign * amount * price
            if opening and pos.closing:  # an entry that filled after the exit decision: close it at once
                connector = pos.long_connector if buy else pos.short_connector
                self._track(
                    pos,
                    self._order(
                        not buy,
                        connector,
                        self._pair(token),
                        amount,
                        PositionAction.CLOSE,
                        "baseline close: late entry fill",
                    ),
                )
            return

    def did_complete_buy_order(self, event: Any) -> None:
        self._order_done(event.order_id)

    def did_complete_sell_order(self, event: Any) -> None:
        self._order_done(event.order_id)

    def did_fail_order(self, event: Any) -> None:
        log.info("baseline order failed %s: %s", event.order_id, event.error_message)
        self._order_done(event.order_id)

    def _order_done(self, order_id: str) -> None:
        for token, pos in list(self.positions.items()):
            if order_id in pos.pending:
                pos.pending.discard(order_id)
                self._forget_if_done(token)
                return

    def did_complete_funding_payment(self, event: Any) -> None:
        token = event.trading_pair.split("-")[0]
        pos = self.positions.get(token)
        if pos is not None and event.market in (pos.long_connector, pos.short_connector):
            pos.funding += Decimal(event.amount)
