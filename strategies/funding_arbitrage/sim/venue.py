"""Replay, order matching and event delivery shared by the simulated spot and perp connectors.

A connector class mixes `SimVenueMixin` in front of a real Hummingbot base (`PerpetualDerivativePyBase` or
`ExchangePyBase`); plumbing.py supplies the offline stand-ins for the network parts.

Every state change reaches Hummingbot through its own machinery: fills through
`_order_tracker.process_trade_update` / `process_order_update` (which fire OrderFilled, Buy/SellOrderCompleted,
OrderCancelled and MarketOrderFailure events), other events through `trigger_event`. Deliveries run in order in one
task chain; during a disconnect window they are held back and released at the first connected tick.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bidict import bidict
from hummingbot.connector.trading_rule import TradingRule
from hummingbot.core.data_type.common import OrderType, PositionAction, PriceType, TradeType
from hummingbot.core.data_type.in_flight_order import InFlightOrder, OrderState, OrderUpdate, TradeUpdate
from hummingbot.core.data_type.trade_fee import TradeFeeBase
from hummingbot.core.utils.async_utils import safe_ensure_future

from .book import BookShape, BookSynth, Level, book_synth
from .data import CandleSeries
from .faults import FaultInjector
from .lazybook import SimOrderBook
from .matching import FillPlan, SimOrder, is_marketable, plan_fill
from .plumbing import (
    OFFLINE,
    SimNetworkError,
    SimOfflineMixin,
    SimOrderBookDataSource,
    SimOrderBookTracker,
    SimOrderNotFound,
    SimOrderRejected,
)

__all__ = [
    "OFFLINE",
    "MarketState",
    "SimNetworkError",
    "SimOrderBookDataSource",
    "SimOrderNotFound",
    "SimOrderRejected",
    "SimVenueMixin",
]
log = logging.getLogger(__name__)


@dataclass
class MarketState:
    """One replayed market: its price source, book shape and the book currently shown.

    `bids` / `asks` (Decimal levels, best first) are built from the mid of the last refresh when first read: the
    Hummingbot book gets float rows straight from `BookSynth.rows`, and most ticks nothing reads the Decimal levels.
    """

    trading_pair: str
    coin: str
    candles: CandleSeries
    shape: BookShape
    tick: Decimal
    mid: Decimal | None = None
    last_mid: Decimal | None = None

    def __post_init__(self) -> None:
        self._book_mid: Decimal | None = None  # the mid the current book was synthesized around (None: empty book)
        self._bids: list[Level] | None = []
        self._asks: list[Level] | None = []
        self._synth: BookSynth | None = None
        self._synth_for: tuple[BookShape | None, Decimal | None] = (None, None)  # the shape and tick it was made for

    @property
    def bids(self) -> list[Level]:
        if self._bids is None:
            self._build_levels()
        return self._bids  # type: ignore[return-value]

    @bids.setter
    def bids(self, levels: list[Level]) -> None:
        self._bids = levels

    @property
    def asks(self) -> list[Level]:
        if self._asks is None:
            self._build_levels()
        return self._asks  # type: ignore[return-value]

    @asks.setter
    def asks(self, levels: list[Level]) -> None:
        self._asks = levels

    def synth(self) -> BookSynth:
        synth = self._synth
        if synth is None or self._synth_for[0] is not self.shape or self._synth_for[1] is not self.tick:
            synth = self._synth = book_synth(self.shape, self.tick)
            self._synth_for = (self.shape, self.tick)
        return synth

    def show_book(self, mid: Decimal | None, update_id: int) -> tuple[list[Any], list[Any]]:
        """Synthesize the book around `mid` (None: empty) and return its Hummingbot rows (see BookSynth.rows)."""
        synth = self.set_book(mid)
        return ([], []) if synth is None else synth.rows(mid, update_id)  # type: ignore[arg-type]

    def set_book(self, mid: Decimal | None) -> BookSynth | None:
        """The book is now the one around `mid` (None: empty): returns the synthesizer that writes it (None when
        empty); the Decimal levels are rebuilt from it on first read."""
        self._book_mid = mid
        if mid is None:
            self._bids, self._asks = [], []
            return None
        self._bids = self._asks = None
        synth, made_for = self._synth, self._synth_for
        if synth is not None and made_for[0] is self.shape and made_for[1] is self.tick:  # = synth(), every tick
            return synth
        return self.synth()

    def touch(self) -> tuple[list[Any], list[Any]]:
        """([best bid], [best ask]) (empty where the side is) for matching resting orders, which look no deeper:
        prices equal to bids[0][0] / asks[0][0], without building the Decimal levels. Sizes are not given."""
        if (self._bids is not None and self._asks is not None) or self._book_mid is None:
            return self.bids[:1], self.asks[:1]
        synth = self.synth()
        top = synth.touch(self._book_mid)
        if top is None:
            return self.bids[:1], self.asks[:1]
        kb, ka = top
        return ([(synth.price(kb), None)] if kb > 0 else []), [(synth.price(ka), None)]

    def _build_levels(self) -> None:
        mid = self._book_mid
        bids, asks = ([], []) if mid is None else self.synth().decimal_levels(mid)
        if self._bids is None:
            self._bids = bids
        if self._asks is None:
            self._asks = asks


class SimVenueMixin(SimOfflineMixin, ABC):
    """Replay + matching + delivery for a simulated connector. Subclasses implement the venue hooks below."""

    _sim_name: str
    _markets: dict[str, MarketState]
    _faults: FaultInjector
    _rules: dict[str, TradingRule]

    # --- venue hooks ----------------------------------------------------------------------------------
    @abstractmethod
    def _validate_order(self, order: SimOrder) -> None:
        """Accept `order` (set its reservation) or raise SimOrderRejected with the venue's reason."""

    def _clip_fill(self, order: SimOrder, amount: Decimal, price: Decimal) -> Decimal:
        return amount

    @abstractmethod
    def _apply_fill(self, order: SimOrder, amount: Decimal, price: Decimal, fee_quote: Decimal) -> None:
        """Book a fill in the account (balances, positions)."""

    @abstractmethod
    def _fee_for(self, order: SimOrder, amount: Decimal, price: Decimal, is_maker: bool) -> TradeFeeBase:
        """The Hummingbot fee object for a fill (through the connector's own get_fee)."""

    def _venue_events(self, prev_ts: float | None, ts: float) -> None:
        return None

    @abstractmethod
    def _refresh_account(self) -> None:
        """Publish balances (and positions) to Hummingbot's account state."""

    def _venue_price(self, state: MarketState, price: Decimal | None, ts: float) -> Decimal | None:
        return price

    # --- construction (call before the Hummingbot base __init__, then _sim_finish_init after it) ------------
    def _sim_init(
        self,
        name: str,
        markets: dict[str, MarketState],
        faults: FaultInjector,
        rules: dict[str, TradingRule],
        price_path: str,
        max_staleness_s: int,
    ) -> None:
        self._sim_name, self._markets, self._faults, self._rules = name, markets, faults, rules
        self._price_path, self._max_staleness_s = price_path, max_staleness_s
        self._open_orders: dict[str, SimOrder] = {}
        self._closed_orders: dict[str, OrderState] = {}
        self._trades: dict[str, list[TradeUpdate]] = {}
        self._outbox: list[tuple[TradeUpdate | None, OrderUpdate | None, tuple[Any, Any] | None]] = []
        self._delivery: asyncio.Task | None = None
        self._ids = itertools.count(1)
        self._sim_ts: float | None = None
        self.book_update_id = 0

    def _sim_finish_init(self) -> None:
        tracker = SimOrderBookTracker(data_source=self._orderbook_ds, trading_pairs=self.trading_pairs)
        tracker.install(self.trading_pairs)
        self._set_order_book_tracker(tracker)
        self._sim_books: dict[str, Any] = tracker.order_books  # the tracker's own dict (get_order_book, get_price)
        self._set_trading_pair_symbol_map(bidict({p: p for p in self.trading_pairs}))
        self._trading_rules.update(self._rules)
        self.real_time_balance_update = True

    # --- replay -----------------------------------------------------------------------------------------
    def market(self, trading_pair: str) -> MarketState:
        return self._markets[trading_pair]

    def mid_price(self, trading_pair: str) -> Decimal | None:
        """Sim-only: the replayed mid (None inside a data gap)."""
        return self._markets[trading_pair].mid

    def start(self, clock: Any, timestamp: float) -> None:
        super().start(clock, timestamp)  # type: ignore[misc]
        self._advance(timestamp)

    def tick(self, timestamp: float) -> None:
        super().tick(timestamp)  # type: ignore[misc]
        self._advance(timestamp)

    def advance(self, timestamp: float) -> None:
        """Sim-only: move the replay to `timestamp` without a Clock (tests); a Clock calls tick() itself."""
        self._set_current_timestamp(timestamp)
        self.tick(timestamp)

    def _advance(self, ts: float) -> None:
        prev, self._sim_ts = self._sim_ts, ts
        self._refresh_markets(ts)
        self._venue_events(prev, ts)
        if self._open_orders:
            self._match_orders(ts)
        self._refresh_account()
        if self._outbox and not self._disconnected():
            self._flush()

    def _refresh_markets(self, ts: float) -> None:
        self.book_update_id += 1
        update_id = self.book_update_id
        books = self._sim_books
        staleness, path = self._max_staleness_s, self._price_path
        venue_price = self._venue_price
        if getattr(venue_price, "__func__", None) is SimVenueMixin._venue_price:
            venue_price = None  # the default hook returns the candle price unchanged: skip the call
        for pair, state in self._markets.items():
            price = state.candles.price_at(ts, staleness, path)
            if venue_price is not None:
                price = venue_price(state, price, ts)
            state.mid = price
            if price is not None:
                state.last_mid = price
            book = books[pair]
            if type(book) is SimOrderBook:  # written on first read (lazybook.py)
                book.publish(state.set_book(price), price, update_id)
            else:  # a plain OrderBook put in by hand: written now
                bids, asks = state.show_book(price, update_id)
                book.apply_snapshot(bids, asks, update_id)

    def _apply_book(self, trading_pair: str) -> None:
        """Write the pair's published book into its C++ book before Hummingbot's Cython code reads it there."""
        book = self._sim_books.get(trading_pair)
        if isinstance(book, SimOrderBook):
            book.apply_pending()

    # Hummingbot's ExchangeBase answers these from the C++ book below Python (OrderBook.c_get_price & co).
    def get_order_book(self, trading_pair: str) -> Any:
        """ExchangePyBase.get_order_book (the tracker's book; ValueError for an unknown pair), read from the
        tracker's dict directly: the strategy asks for every book every tick."""
        try:
            return self._sim_books[trading_pair]
        except KeyError:
            raise ValueError(f"No order book exists for '{trading_pair}'.") from None

    def get_price(self, trading_pair: str, is_buy: bool, *args: Any, **kwargs: Any) -> Decimal:
        """ExchangeBase.c_get_price: the best price as a Decimal, quantized; NaN (and a warning) for an empty side.
        Answered from the lazy book's best rows (the same float) without writing the whole book."""
        book = self._sim_books.get(trading_pair)
        if args or kwargs or type(book) is not SimOrderBook:
            self._apply_book(trading_pair)
            return super().get_price(trading_pair, is_buy, *args, **kwargs)  # type: ignore[misc, no-any-return]
        price = book.best_price(is_buy)
        if price is None:
            self.logger().warning(f"{'Ask' if is_buy else 'Bid'} orderbook for {trading_pair} is empty.")  # type: ignore[attr-defined]
            return Decimal("NaN")
        return self.quantize_order_price(trading_pair, Decimal(str(price)))  # type: ignore[attr-defined, no-any-return]

    def get_price_by_type(self, trading_pair: str, price_type: Any) -> Decimal:
        """ExchangeBase.get_price_by_type, its best bid / ask / mid through `get_price` above."""
        if price_type is PriceType.BestBid:
            return self.get_price(trading_pair, False)
        if price_type is PriceType.BestAsk:
            return self.get_price(trading_pair, True)
        if price_type is PriceType.MidPrice:
            return (self.get_price(trading_pair, True) + self.get_price(trading_pair, False)) / Decimal("2")
        self._apply_book(trading_pair)
        return super().get_price_by_type(trading_pair, price_type)  # type: ignore[misc, no-any-return]

    def get_vwap_for_volume(self, trading_pair: str, *args: Any, **kwargs: Any) -> Any:
        self._apply_book(trading_pair)
        return super().get_vwap_for_volume(trading_pair, *args, **kwargs)  # type: ignore[misc]

    def get_price_for_volume(self, trading_pair: str, *args: Any, **kwargs: Any) -> Any:
        self._apply_book(trading_pair)
        return super().get_price_for_volume(trading_pair, *args, **kwargs)  # type: ignore[misc]

    def get_price_for_quote_volume(self, trading_pair: str, *args: Any, **kwargs: Any) -> Any:
        self._apply_book(trading_pair)
        return super().get_price_for_quote_volume(trading_pair, *args, **kwargs)  # type: ignore[misc]

    def get_quote_volume_for_base_amount(self, trading_pair: str, *args: Any, **kwargs: Any) -> Any:
        self._apply_book(trading_pair)
        return super().get_quote_volume_for_base_amount(trading_pair, *args, **kwargs)  # type: ignore[misc]

    def get_volume_for_price(self, trading_pair: str, *args: Any, **kwargs: Any) -> Any:
        self._apply_book(trading_pair)
        return super().get_volume_for_price(trading_pair, *args, **kwargs)  # type: ignore[misc]

    def get_quote_volume_for_price(self, trading_pair: str, *args: Any, **kwargs: Any) -> Any:
        self._apply_book(trading_pair)
        return super().get_quote_volume_for_price(trading_pair, *args, **kwargs)  # type: ignore[misc]

    # --- orders -----------------------------------------------------------------------------------------
    async def _create_order(
        self,
        trade_type: TradeType,
        order_id: str,
        trading_pair: str,
        amount: Decimal,
        order_type: OrderType,
        price: Decimal | None = None,
        **kwargs: Any,
    ) -> None:
        state = self._markets.get(trading_pair)
        if state is not None and state.mid is None and (price is None or price.is_nan()):
            # Hummingbot would price a MARKET order off the empty book (NaN) and crash comparing it; fail it the
            # way Hummingbot fails an order that breaks a trading rule instead.
            self.start_tracking_order(
                order_id=order_id,
                exchange_order_id=None,
                trading_pair=trading_pair,
                trade_type=trade_type,
                price=price,
                amount=amount,
                order_type=order_type,
                **kwargs,
            )
            self._update_order_after_failure(
                order_id,
                trading_pair,
                SimOrderRejected(f"{self.name}: no market data for {trading_pair} at {self.current_timestamp}"),
            )
            return
        await super()._create_order(trade_type, order_id, trading_pair, amount, order_type, price, **kwargs)  # type: ignore[misc]

    def buy(
        self,
        trading_pair: str,
        amount: Decimal,
        order_type: OrderType = OrderType.LIMIT,
        price: Decimal = Decimal("NaN"),
        **kwargs: Any,
    ) -> str:
        self._sync_reject(kwargs)
        return super().buy(trading_pair, amount, order_type, price, **kwargs)  # type: ignore[misc, no-any-return]

    def sell(
        self,
        trading_pair: str,
        amount: Decimal,
        order_type: OrderType = OrderType.LIMIT,
        price: Decimal = Decimal("NaN"),
        **kwargs: Any,
    ) -> str:
        self._sync_reject(kwargs)
        return super().sell(trading_pair, amount, order_type, price, **kwargs)  # type: ignore[misc, no-any-return]

    def _on_order_failure(
        self,
        order_id: str,
        trading_pair: str,
        amount: Decimal,
        trade_type: TradeType,
        order_type: OrderType,
        price: Decimal | None,
        exception: Exception,
        **kwargs: Any,
    ) -> None:
        """A refusal by the venue (`SimOrderRejected`: margin, reduce-only, balance, no market data, an injected
        reject) fails the order with the venue's reason, as an exchange's error response is an answer: one warning
        with the reason, no traceback, no "Check API key and network connection" application warning (Hummingbot's
        text for a request that could not be sent). Other errors (`SimNetworkError`) keep Hummingbot's handling."""
        if not isinstance(exception, SimOrderRejected):
            super()._on_order_failure(  # type: ignore[misc]
                order_id, trading_pair, amount, trade_type, order_type, price, exception, **kwargs
            )
            return
        log.warning(  # the reason names the venue
            "order_rejected %s %s %s for %s %s: %s", order_id, trade_type.name, order_type.name, amount, trading_pair,
            exception,
        )  # fmt: skip
        self._update_order_after_failure(order_id, trading_pair, exception)  # type: ignore[attr-defined]

    def _sync_reject(self, kwargs: dict[str, Any]) -> None:
        """Injected synchronous refusal: raised before any order id exists (see faults.sync_reject)."""
        action = kwargs.get("position_action", PositionAction.NIL)
        if self._faults.config.sync_reject and self._faults.reject(action.name):
            raise SimOrderRejected(f"{self.name}: order refused before submission (injected synchronous fault)")

    async def _place_order(
        self,
        order_id: str,
        trading_pair: str,
        amount: Decimal,
        trade_type: TradeType,
        order_type: OrderType,
        price: Decimal,
        **kwargs: Any,
    ) -> tuple[str, float]:
        now = self.current_timestamp
        if self._disconnected():
            raise SimNetworkError(f"{self.name}: network unavailable (disconnect window) at {now}")
        action = kwargs.get("position_action", PositionAction.NIL)
        if not self._faults.config.sync_reject and self._faults.reject(action.name):
            raise SimOrderRejected(f"{self.name}: order rejected by the venue (injected fault)")
        state = self._markets[trading_pair]
        if state.mid is None:
            raise SimOrderRejected(f"{self.name}: no market data for {trading_pair} at {now}")
        limit = None if order_type is OrderType.MARKET or price is None or price.is_nan() else price
        order = SimOrder(
            order_id,
            f"{self.name}-{next(self._ids)}",
            trading_pair,
            trade_type,
            order_type,
            amount,
            limit,
            kwargs.get("position_action", PositionAction.NIL),
            now,
            now + self._faults.config.fill_delay_s,
        )
        marketable = is_marketable(order_type, order.is_buy, limit, state.bids, state.asks)
        if order_type is OrderType.LIMIT_MAKER and marketable:
            raise SimOrderRejected(f"{self.name}: LIMIT_MAKER order would immediately match and take")
        if order_type is not OrderType.MARKET and limit is None:
            raise SimOrderRejected(f"{self.name}: {order_type.name} order needs a price")
        order.resting = not marketable
        self._validate_order(order)
        self._open_orders[order_id] = order
        return order.exchange_order_id, now

    async def _place_cancel(self, order_id: str, tracked_order: InFlightOrder) -> bool:
        if self._disconnected():
            raise SimNetworkError(f"{self.name}: network unavailable (disconnect window), cancel not sent")
        order = self._open_orders.pop(order_id, None)
        if order is None:
            raise SimOrderNotFound(f"{self.name}: order {order_id} is not open")
        self._closed_orders[order_id] = OrderState.CANCELED
        self._refresh_account()
        return True

    async def _request_order_status(self, tracked_order: InFlightOrder) -> OrderUpdate:
        if self._disconnected():
            raise SimNetworkError(f"{self.name}: network unavailable (disconnect window), order status not read")
        oid = tracked_order.client_order_id
        if oid in self._open_orders:
            state = OrderState.PARTIALLY_FILLED if self._open_orders[oid].filled > 0 else OrderState.OPEN
        elif oid in self._closed_orders:
            state = self._closed_orders[oid]
        else:
            raise SimOrderNotFound(f"{self.name}: order {oid} unknown")
        return OrderUpdate(
            tracked_order.trading_pair, self.current_timestamp, state, oid, tracked_order.exchange_order_id
        )

    async def _all_trade_updates_for_order(self, order: InFlightOrder) -> list[TradeUpdate]:
        if self._disconnected():
            raise SimNetworkError(f"{self.name}: network unavailable (disconnect window), trades not read")
        return list(self._trades.get(order.client_order_id, []))

    def _match_orders(self, ts: float) -> None:
        for order in list(self._open_orders.values()):
            state = self._markets[order.trading_pair]
            if order.eligible_ts > ts or state.mid is None:
                continue
            # a resting order only compares its price with the touch: skip building the whole Decimal book
            bids, asks = (
                state.touch()
                if order.resting and order.order_type is not OrderType.MARKET
                else (state.bids, state.asks)
            )
            plan = plan_fill(order, order.remaining, bids, asks)
            if plan is not None and not order.partial_drawn:
                order.partial_drawn = True  # one draw per order, at its first fill
                if self._faults.partial():
                    part = self.quantize_order_amount(
                        order.trading_pair, order.remaining * self._faults.config.partial_fill_fraction
                    )
                    if 0 < part < plan.amount:
                        plan = plan_fill(order, part, bids, asks)
            order.resting = order.order_type is not OrderType.MARKET
            if plan is not None:
                self._execute(order, plan)

    def _execute(self, order: SimOrder, plan: FillPlan) -> None:
        amount = self.quantize_order_amount(order.trading_pair, self._clip_fill(order, plan.amount, plan.price))
        cancel_rest = plan.cancel_rest or amount < plan.amount
        if amount > 0:
            self.fill_order(order, amount, plan.price, plan.is_maker)
        if order.remaining <= 0:
            self._close(order, OrderState.FILLED)
        elif cancel_rest:
            self._close(order, OrderState.CANCELED)

    def fill_order(
        self, order: SimOrder, amount: Decimal, price: Decimal, is_maker: bool, fee: TradeFeeBase | None = None
    ) -> TradeUpdate:
        """Book a fill in the venue's accounts and queue its TradeUpdate (plus PARTIALLY_FILLED if incomplete)."""
        fee = fee or self._fee_for(order, amount, price, is_maker)
        quote = order.trading_pair.split("-")[1]
        fee_quote = fee.fee_amount_in_token(order.trading_pair, price, amount, quote)
        self._apply_fill(order, amount, price, fee_quote)
        order.filled += amount
        trade = TradeUpdate(
            f"{order.exchange_order_id}-t{len(self._trades.get(order.client_order_id, [])) + 1}",
            order.client_order_id,
            order.exchange_order_id,
            order.trading_pair,
            self.current_timestamp,
            price,
            amount,
            amount * price,
            fee,
            is_taker=not is_maker,
        )
        self._trades.setdefault(order.client_order_id, []).append(trade)
        partial = None
        if order.remaining > 0:
            partial = OrderUpdate(
                order.trading_pair,
                self.current_timestamp,
                OrderState.PARTIALLY_FILLED,
                order.client_order_id,
                order.exchange_order_id,
            )
        self._outbox.append((trade, partial, None))
        self._refresh_account()
        return trade

    def _close(self, order: SimOrder, state: OrderState) -> None:
        self._open_orders.pop(order.client_order_id, None)
        self._closed_orders[order.client_order_id] = state
        self._outbox.append(
            (
                None,
                OrderUpdate(
                    order.trading_pair, self.current_timestamp, state, order.client_order_id, order.exchange_order_id
                ),
                None,
            )
        )

    # --- delivery -----------------------------------------------------------------------------------------
    def _emit(self, event_tag: Any, event: Any) -> None:
        """Queue a venue event (funding payment...) behind the fills already queued."""
        self._outbox.append((None, None, (event_tag, event)))

    def _flush(self) -> None:
        items, self._outbox = self._outbox, []
        previous = self._delivery

        async def deliver() -> None:
            if previous is not None and not previous.done():
                await asyncio.wait([previous])
            for trade, update, event in items:
                if trade is not None:
                    self._order_tracker.process_trade_update(trade)
                if update is not None:
                    await self._order_tracker.process_order_update(update)
                if event is not None:
                    self.trigger_event(*event)

        self._delivery = safe_ensure_future(deliver())

    def sim_open_orders(self) -> list[SimOrder]:
        """Sim-only: orders the venue holds (accepted, not yet filled or cancelled)."""
        return list(self._open_orders.values())

    def _reserved(self, asset: str, exclude: str | None = None) -> Decimal:
        if not self._open_orders:  # asked per asset every tick
            return Decimal(0)
        return sum(
            (
                o.reserved_now()
                for o in self._open_orders.values()
                if o.reserved_asset == asset and o.client_order_id != exclude
            ),
            Decimal(0),
        )
