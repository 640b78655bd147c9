"""`SimPerpetualDerivative`: a real Hummingbot perpetual connector that replays one venue from recorded data.

* Mark price: the venue's hourly candles on the "ohlc" path (data.CandleSeries); index price = mark (no index data).
* Book: synthetic L2 around the mark, calibrated from real captures (book.py), applied with OrderBook.apply_snapshot.
* Funding: settled at the recorded settlement times with the recorded rates. `get_funding_info(pair)` shows the next
  recorded settlement and its rate. At settlement every position receives -amount x mark x rate (amount signed:
  a long pays a positive rate) and FundingPaymentCompletedEvent(timestamp=settlement, amount, funding_rate) fires.
* Fees: the venue's maker/taker (venues.venue_spec) through Hummingbot's build_perpetual_trade_fee.
* Margin: wallet (quote) += realised PnL - fees + funding; each position holds margin = entry notional / leverage;
  available = wallet + uPnL - position margin - margin reserved by open orders; an OPEN order needing more than
  available is rejected ("Margin is insufficient") with MarketOrderFailureEvent.
* Liquidation: Binance maintenance brackets (brackets.py); a position whose margin + uPnL falls to its maintenance
  margin anywhere on the price path since the last tick is closed at its liquidation price by a venue MARKET order
  (`sim-liquidation-N`: created, filled, completed events); its remaining margin is forfeited as a clearance fee,
  as Binance does for isolated positions. Records in `liquidations`.
* Sim-only extensions (real connectors lack them; see docs/simulation.md): `margin_info(pair)`, `liquidations`,
  `funding_payments`, `mid_price(pair)`, `sim_open_orders()`, `advance(ts)`.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hummingbot.connector.derivative.position import Position
from hummingbot.connector.perpetual_derivative_py_base import PerpetualDerivativePyBase
from hummingbot.connector.trading_rule import TradingRule
from hummingbot.core.data_type.common import OrderType, PositionAction, PositionMode, TradeType
from hummingbot.core.data_type.funding_info import FundingInfo
from hummingbot.core.data_type.in_flight_order import OrderState, OrderUpdate
from hummingbot.core.data_type.perpetual_api_order_book_data_source import PerpetualAPIOrderBookDataSource
from hummingbot.core.data_type.trade_fee import TokenAmount, TradeFeeBase
from hummingbot.core.event.events import FundingPaymentCompletedEvent, MarketEvent

from ..core.venues import venue_spec
from .book import walk
from .brackets import MaintenanceBrackets, default_brackets_path, load_brackets
from .data import DEFAULT_MAX_STALENESS_S, FundingSeries, MarketData, Settlement
from .faults import NO_FAULTS, FaultConfig, FaultInjector
from .markets import DEFAULT_MIN_NOTIONAL_QUOTE, build_markets, default_trading_rules
from .matching import SimOrder
from .positions import PositionBook, SimPosition
from .reach import LiquidationReach
from .registry import perpetual_trade_fee, register_connector_settings
from .venue import OFFLINE, SimNetworkError, SimOrderBookDataSource, SimOrderRejected, SimVenueMixin

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SimFundingPayment:
    ts: int
    trading_pair: str
    rate: Decimal
    mark_price: Decimal
    amount_quote: Decimal  # > 0 received
    position_amount: Decimal
    stale_mark: bool  # the mark came from the last price before a data gap


@dataclass(frozen=True)
class SimLiquidation:
    ts: float
    trading_pair: str
    position_amount: Decimal
    entry_price: Decimal
    liquidation_price: Decimal | None
    fill_price: Decimal
    margin_quote: Decimal
    maintenance_margin_quote: Decimal
    forfeited_quote: Decimal
    order_id: str


class SimPerpOrderBookDataSource(SimOrderBookDataSource, PerpetualAPIOrderBookDataSource):
    async def get_funding_info(self, trading_pair: str) -> FundingInfo:
        return self._connector.get_funding_info(trading_pair)  # type: ignore[attr-defined]

    async def _parse_funding_info_message(self, raw_message: dict[str, Any], message_queue: Any) -> None:
        raise RuntimeError(OFFLINE.format("the funding websocket"))


class SimPerpetualDerivative(SimVenueMixin, PerpetualDerivativePyBase):
    """Replays `venue`'s perp markets for `coins` (pairs `<COIN>-<quote_asset>`), named `sim_<venue>_perpetual`."""

    def __init__(
        self,
        venue: str,
        market_data: MarketData,
        coins: Sequence[str],
        quote_asset: str = "USDT",
        initial_balance_quote: Decimal = Decimal(10000),
        faults: FaultConfig = NO_FAULTS,
        brackets: Mapping[str, MaintenanceBrackets] | None = None,
        trading_rules: Mapping[str, TradingRule] | None = None,
        depth_scale: Decimal | None = None,
        fees: tuple[Decimal, Decimal] | None = None,
        name: str | None = None,
        price_path: str = "ohlc",
        max_staleness_s: int = DEFAULT_MAX_STALENESS_S,
        min_notional_quote: Decimal = DEFAULT_MIN_NOTIONAL_QUOTE,
    ) -> None:
        name = name or f"sim_{venue}_perpetual"
        spec = venue_spec(name)
        if fees is None and spec is None:
            raise ValueError(f"{name}: no venue spec for {venue}; pass fees=(maker, taker)")
        self._maker_fee, self._taker_fee = fees or (spec.maker_fee, spec.taker_fee)  # type: ignore[union-attr]
        self._max_leverage = spec.max_leverage if spec else 20
        self._modes = [PositionMode[m] for m in spec.position_modes] if spec else [PositionMode.ONEWAY]
        self._quote = quote_asset
        markets = build_markets(venue, market_data, coins, quote_asset, depth_scale)
        self._funding = {pair: market_data.funding_series(venue, m.coin) for pair, m in markets.items()}
        symbols = {pair: f"{m.coin}USDT" for pair, m in markets.items()}
        loaded = brackets or load_brackets(default_brackets_path(), symbols.values())
        self._brackets = {pair: loaded[symbol] for pair, symbol in symbols.items()}
        rules = default_trading_rules(markets, min_notional_quote, quote_asset, trading_rules)
        self._sim_init(name, markets, FaultInjector(faults, name), rules, price_path, max_staleness_s)
        self._wallet = initial_balance_quote
        self._book = PositionBook()
        self._liq_ids = itertools.count(1)
        self.liquidations: list[SimLiquidation] = []
        self.funding_payments: list[SimFundingPayment] = []
        self._reach = LiquidationReach()  # the liquidation check's fast path (reach.py)
        # pair -> (series, ts of the last tick, its first settlement after that ts or None): see _venue_events
        self._next_settlement: dict[str, tuple[FundingSeries, float, Settlement | None]] = {}
        self.register_settings()
        super().__init__()
        self._sim_finish_init()
        self._refresh_account()

    def register_settings(self) -> None:
        """Register this connector's fee schema in AllConnectorSettings (idempotent)."""
        register_connector_settings(self.name, True, self._maker_fee, self._taker_fee, self.trading_pairs[0])

    # --- Hummingbot perp members ------------------------------------------------------------------------
    @property
    def funding_fee_poll_interval(self) -> int:
        return 120

    def supported_position_modes(self) -> list[PositionMode]:
        return list(self._modes)

    def get_buy_collateral_token(self, trading_pair: str) -> str:
        return self._quote

    def get_sell_collateral_token(self, trading_pair: str) -> str:
        return self._quote

    def _create_order_book_data_source(self) -> SimPerpOrderBookDataSource:
        return SimPerpOrderBookDataSource(self.trading_pairs, self)

    def _get_fee(
        self,
        base_currency: str,
        quote_currency: str,
        order_type: OrderType,
        order_side: TradeType,
        position_action: PositionAction,
        amount: Decimal,
        price: Decimal = Decimal("NaN"),
        is_maker: bool | None = None,
    ) -> TradeFeeBase:
        is_maker = bool(is_maker) or order_type is OrderType.LIMIT_MAKER
        return perpetual_trade_fee(self.name, is_maker, position_action)  # = build_perpetual_trade_fee(...)

    async def _update_positions(self) -> None:
        self._refresh_account()

    async def _fetch_account_position_mode(self) -> PositionMode | None:
        if self._disconnected():
            raise SimNetworkError(f"{self.name}: network unavailable (disconnect window)")
        return self._book.mode

    async def _trading_pair_position_mode_set(self, mode: PositionMode, trading_pair: str) -> tuple[bool, str]:
        if self._disconnected():
            return False, "network unavailable (disconnect window)"
        if self._book.positions or self._open_orders:
            return False, "position mode cannot change while positions or open orders exist"
        self._book.mode = mode
        return True, ""

    async def _set_trading_pair_leverage(self, trading_pair: str, leverage: int) -> tuple[bool, str]:
        if self._disconnected():
            return False, "network unavailable (disconnect window)"
        limit = min(self._max_leverage, self._brackets[trading_pair].max_leverage)
        if not 1 <= leverage <= limit:
            return False, f"leverage {leverage} is outside 1..{limit}"
        cost = self._book.leverage_change_cost(trading_pair, leverage)
        if cost > self._available():
            return False, f"Margin is insufficient to change leverage (needs {cost} {self._quote})"
        self._book.set_leverage(trading_pair, leverage)
        self._refresh_account()
        return True, ""

    async def _fetch_last_fee_payment(self, trading_pair: str) -> tuple[float, Decimal, Decimal]:
        paid = [p for p in self.funding_payments if p.trading_pair == trading_pair]
        if not paid:
            return 0, Decimal(-1), Decimal(-1)
        return paid[-1].ts, paid[-1].rate, paid[-1].amount_quote

    def funding_payment_history(self, trading_pair: str, start_ts: float, end_ts: float) -> list[SimFundingPayment]:
        """This account's funding payments on `trading_pair` settled within [start_ts, end_ts], oldest first: what a
        venue's REST income history returns (Binance `GET /fapi/v1/income?incomeType=FUNDING_FEE`, Bybit
        `GET /v5/account/transaction-log?type=SETTLEMENT`), which Hummingbot's connectors do not expose (they keep
        only the last payment, `_fetch_last_fee_payment`). The strategy books funding paid while it was down from it.

        Raises:
            SimNetworkError: inside a disconnect window, like any REST call.
        """
        if self._disconnected():
            raise SimNetworkError(f"{self.name}: network unavailable (disconnect window)")
        return [p for p in self.funding_payments if p.trading_pair == trading_pair and start_ts <= p.ts <= end_ts]

    # --- venue hooks --------------------------------------------------------------------------------------
    def _validate_order(self, order: SimOrder) -> None:
        action = order.position_action
        if action not in (PositionAction.OPEN, PositionAction.CLOSE):
            raise SimOrderRejected(f"{self.name}: position action {action} is not OPEN or CLOSE")
        if action is PositionAction.CLOSE:
            if self._book.reducible(order.trading_pair, order.is_buy, action) <= 0:
                raise SimOrderRejected(f"{self.name}: ReduceOnly Order is rejected: no position this order reduces")
            return
        price = order.price if order.price is not None else self._estimate_price(order)
        need = self._book.margin_increase(
            order.trading_pair, order.is_buy, action, order.amount, price, self.get_leverage(order.trading_pair)
        )
        fee = order.amount * price * self._taker_fee
        available = self._available()
        if max(need, Decimal(0)) + fee > available:
            raise SimOrderRejected(
                f"{self.name}: Margin is insufficient: order needs {max(need, Decimal(0)) + fee} "
                f"{self._quote}, available {available}"
            )
        order.reserved, order.reserved_asset = max(need, Decimal(0)), self._quote

    def _estimate_price(self, order: SimOrder) -> Decimal:
        state = self._markets[order.trading_pair]
        levels = state.asks if order.is_buy else state.bids
        taken = walk(levels, order.amount, None, order.is_buy)
        return levels[-1][0] if taken.filled < order.amount or taken.average_price is None else taken.average_price

    def _clip_fill(self, order: SimOrder, amount: Decimal, price: Decimal) -> Decimal:
        if order.position_action is PositionAction.CLOSE:
            return min(amount, self._book.reducible(order.trading_pair, order.is_buy, PositionAction.CLOSE))
        return amount

    def _apply_fill(self, order: SimOrder, amount: Decimal, price: Decimal, fee_quote: Decimal) -> None:
        realized = self._book.apply(
            order.trading_pair,
            order.is_buy,
            order.position_action,
            amount,
            price,
            self.get_leverage(order.trading_pair),
        )
        self._wallet += realized - fee_quote

    def _fee_for(self, order: SimOrder, amount: Decimal, price: Decimal, is_maker: bool) -> TradeFeeBase:
        base, quote = order.trading_pair.split("-")
        return self.get_fee(
            base_currency=base,
            quote_currency=quote,
            order_type=order.order_type,
            order_side=order.trade_type,
            position_action=order.position_action,
            amount=amount,
            price=price,
            is_maker=is_maker,
        )

    def _venue_events(self, prev_ts: float | None, ts: float) -> None:
        known_next = self._next_settlement
        for pair, series in self._funding.items():
            known = known_next.get(pair)
            if prev_ts is not None and known is not None and known[0] is series and known[1] == prev_ts:
                upcoming = known[2]  # the first settlement after prev_ts, found last tick: no search unless passed
                if upcoming is not None and upcoming.ts <= ts:
                    for settlement in series.settlements_between(prev_ts, ts):
                        self._settle(pair, settlement)
                    upcoming = series.next_settlement(ts)
                elif ts < prev_ts:  # time went back (tests): none to pay, search again
                    upcoming = series.next_settlement(ts)
            else:
                if prev_ts is not None:
                    for settlement in series.settlements_between(prev_ts, ts):
                        self._settle(pair, settlement)
                upcoming = series.next_settlement(ts)
            known_next[pair] = (series, ts, upcoming)
            self._update_funding_info(pair, ts, upcoming)
        if prev_ts is not None and self._book.positions:
            self._check_liquidations(prev_ts, ts)

    # --- funding ------------------------------------------------------------------------------------------
    def _settle(self, pair: str, settlement: Settlement) -> None:
        state = self._markets[pair]
        mark = state.candles.price_at(settlement.ts, self._max_staleness_s, self._price_path)
        stale = mark is None
        mark = mark if mark is not None else state.last_mid
        positions = self._book.for_pair(pair)
        if not positions:
            return
        if mark is None:
            log.warning("%s: no price ever seen for %s: funding at %s not settled", self.name, pair, settlement.ts)
            return
        if stale:
            log.warning(
                "%s: funding %s at %s settled on the last price before a data gap", self.name, pair, settlement.ts
            )
        amount = sum((-p.amount * mark * settlement.rate for p in positions), Decimal(0))
        self._wallet += amount
        net = sum((p.amount for p in positions), Decimal(0))
        self.funding_payments.append(SimFundingPayment(settlement.ts, pair, settlement.rate, mark, amount, net, stale))
        self._last_funding_fee_payment_ts[pair] = settlement.ts
        self._emit(
            MarketEvent.FundingPaymentCompleted,
            FundingPaymentCompletedEvent(
                timestamp=settlement.ts,
                market=self.name,
                trading_pair=pair,
                amount=amount,
                funding_rate=settlement.rate,
            ),
        )

    def _update_funding_info(self, pair: str, ts: float, upcoming: Settlement | None) -> None:
        """Show `upcoming` (the pair's next settlement after ts) and the mark in the pair's FundingInfo."""
        try:
            info: FundingInfo | None = self._perpetual_trading.get_funding_info(pair)
        except KeyError:
            info = None
        state = self._markets[pair]
        mark = state.mid if state.mid is not None else state.last_mid
        faults = self._faults.config
        if (
            mark is None
            or upcoming is None
            or (info is not None and faults.stale_funding_windows and self._faults.funding_stale(ts))
        ):
            return  # no price yet, past the recorded data (info frozen), or an injected stale-funding window
        if info is None:
            self._perpetual_trading.initialize_funding_info(FundingInfo(pair, mark, mark, upcoming.ts, upcoming.rate))
        else:  # what FundingInfo.update(FundingInfoUpdate(...)) does, without its dataclasses.asdict per tick
            if faults.bad_mark_windows and self._faults.mark_bad(ts, pair):
                mark = Decimal("NaN")  # injected broken mark feed (faults.bad_mark_windows)
            info.index_price = mark
            info.mark_price = mark
            info.next_funding_utc_timestamp = upcoming.ts
            info.rate = upcoming.rate

    # --- liquidation --------------------------------------------------------------------------------------
    def _check_liquidations(self, prev_ts: float, ts: float) -> None:
        for pos in list(self._book.positions.values()):
            state = self._markets[pos.trading_pair]
            brackets = self._brackets[pos.trading_pair]
            if self._reach.out_of_reach(pos, brackets, state.candles, prev_ts, ts, self._max_staleness_s):
                continue  # no price of the tick reaches its liquidation price: the path below would find nothing
            extremes = state.candles.path_extremes(prev_ts, ts, self._price_path, self._max_staleness_s)
            if extremes is None:
                continue
            low, high = extremes
            worst = low if pos.amount > 0 else high
            if brackets.is_liquidatable(pos.amount, pos.entry_price, pos.margin, worst):
                price = brackets.liquidation_price(pos.amount, pos.entry_price, pos.margin)
                fill = price if price is not None and low <= price <= high else (state.mid or worst)
                self._liquidate(pos, price, fill)

    def _liquidate(self, pos: SimPosition, liquidation_price: Decimal | None, fill: Decimal) -> None:
        n = next(self._liq_ids)
        is_buy = pos.amount < 0
        amount, pair, now = abs(pos.amount), pos.trading_pair, self.current_timestamp
        order = SimOrder(
            f"sim-liquidation-{n}",
            f"{self.name}-liq-{n}",
            pair,
            TradeType.BUY if is_buy else TradeType.SELL,
            OrderType.MARKET,
            amount,
            None,
            PositionAction.CLOSE,
            now,
            now,
        )
        realized = pos.amount * (fill - pos.entry_price)
        fee = self._fee_for(order, amount, fill, is_maker=False)
        forfeited = max(Decimal(0), pos.margin + realized - amount * fill * fee.percent)
        fee = type(fee)(
            percent=fee.percent, percent_token=fee.percent_token, flat_fees=[TokenAmount(self._quote, forfeited)]
        )
        maintenance = self._brackets[pair].maintenance_margin(amount * fill)
        self.start_tracking_order(
            order_id=order.client_order_id,
            exchange_order_id=order.exchange_order_id,
            trading_pair=pair,
            trade_type=order.trade_type,
            price=fill,
            amount=amount,
            order_type=OrderType.MARKET,
            position_action=PositionAction.CLOSE,
        )
        self._outbox.append(
            (None, OrderUpdate(pair, now, OrderState.OPEN, order.client_order_id, order.exchange_order_id), None)
        )
        self.liquidations.append(
            SimLiquidation(
                now,
                pair,
                pos.amount,
                pos.entry_price,
                liquidation_price,
                fill,
                pos.margin,
                maintenance,
                forfeited,
                order.client_order_id,
            )
        )
        log.warning(
            "%s: liquidated %s %s at %s (liquidation price %s)", self.name, pos.amount, pair, fill, liquidation_price
        )
        self.fill_order(order, amount, fill, is_maker=False, fee=fee)
        self._close(order, OrderState.FILLED)

    # --- account view -------------------------------------------------------------------------------------
    def _mark(self, pair: str, fallback: Decimal) -> Decimal:
        state = self._markets[pair]
        return state.mid if state.mid is not None else state.last_mid if state.last_mid is not None else fallback

    def _available(self) -> Decimal:
        upnl = sum(
            (p.unrealized_pnl(self._mark(p.trading_pair, p.entry_price)) for p in self._book.positions.values()),
            Decimal(0),
        )
        margin = sum((p.margin for p in self._book.positions.values()), Decimal(0))
        return self._wallet + upnl - margin - self._reserved(self._quote)

    def _refresh_account(self) -> None:
        tracked = self._perpetual_trading.account_positions
        positions = self._book.positions
        for key in [k for k in tracked if k not in positions]:
            self._perpetual_trading.remove_position(key)
        upnl_total = margin_total = Decimal(0)  # summed in `_available`'s order, so the same Decimal result
        for key, p in positions.items():
            upnl = p.unrealized_pnl(self._mark(p.trading_pair, p.entry_price))
            upnl_total += upnl
            if key in tracked:
                tracked[key].update_position(p.side, upnl, p.entry_price, p.amount, Decimal(p.leverage))
            else:
                self._perpetual_trading.set_position(
                    key, Position(p.trading_pair, p.side, upnl, p.entry_price, p.amount, Decimal(p.leverage))
                )
        for p in positions.values():
            margin_total += p.margin
        self._account_balances[self._quote] = self._wallet
        available = self._wallet + upnl_total - margin_total - self._reserved(self._quote)  # = self._available()
        self._account_available_balances[self._quote] = max(Decimal(0), available)

    def margin_info(self, trading_pair: str) -> dict[str, Any]:
        """Sim-only: wallet, uPnL, margins, margin ratio (maintenance / (margin + uPnL); >= 1 liquidates) and
        liquidation prices for the pair's positions. Real connectors expose none of this (notes section 2.5)."""
        brackets = self._brackets[trading_pair]
        rows = {}
        for key, p in self._book.positions.items():
            if p.trading_pair != trading_pair:
                continue
            mark = self._mark(trading_pair, p.entry_price)
            rows[key] = {
                "amount": p.amount,
                "entry_price": p.entry_price,
                "margin_quote": p.margin,
                "unrealized_pnl_quote": p.unrealized_pnl(mark),
                "leverage": p.leverage,
                "maintenance_margin_quote": brackets.maintenance_margin(abs(p.amount) * mark),
                "liquidation_price": brackets.liquidation_price(p.amount, p.entry_price, p.margin),
            }
        upnl = sum((r["unrealized_pnl_quote"] for r in rows.values()), Decimal(0))
        margin = sum((r["margin_quote"] for r in rows.values()), Decimal(0))
        maintenance = sum((r["maintenance_margin_quote"] for r in rows.values()), Decimal(0))
        equity = margin + upnl
        ratio: Decimal | None = None  # no position: no ratio
        if rows:
            ratio = maintenance / equity if equity > 0 else Decimal("Infinity")
        single = next(iter(rows.values()))["liquidation_price"] if len(rows) == 1 else None  # HEDGE: see positions
        return {
            "wallet_balance_quote": self._wallet,
            "available_balance_quote": self._available(),
            "unrealized_pnl_quote": upnl,
            "position_margin_quote": margin,
            "maintenance_margin_quote": maintenance,
            "margin_ratio": ratio,
            "liquidation_price": single,
            "positions": rows,
        }
