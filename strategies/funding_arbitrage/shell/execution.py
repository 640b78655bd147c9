"""Order intents -> orders, venue events -> lifecycle events (shell layer; nothing is decided here).

Each pair's behaviour is the pure table in `core/lifecycle.py`; its orders are tracked once, by client order id,
in `core/orders.OrderTracker` (persisted with the pair store). This module:

* turns fills, rejects, cancels and completions into lifecycle events, counting a fill once per trade id;
* places what the lifecycle asks: entries `PositionAction.OPEN`, every reducing intent `PositionAction.CLOSE`
  (reduce-only), sized never above what the venue holds; for connectors that send no reduce-only flag
  (`NO_REDUCE_ONLY`) that same pre-submit check is what keeps an order from flipping the position;
* asks the venue (order status, trade history) about orders whose state is unknown (after a disconnect or a
  restart) before the lifecycle may decide on that leg; nothing is assumed unfilled;
* times working orders out (`LegTimeout`) and ticks every open pair (retries with backoff).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hummingbot.core.data_type.common import OrderType, PositionAction, TradeType
from hummingbot.core.data_type.in_flight_order import InFlightOrder, OrderState

from ..core import lifecycle as lc
from ..core.orders import OrderStatus, TrackedOrder
from .state import VIEW, PairRecord, PairState, PairStore, book_of_record, decode_book, encode_book

log = logging.getLogger(__name__)
NO_REDUCE_ONLY = ("okx_perpetual", "gate_io_perpetual")  # 20260922: PositionAction.CLOSE sends no reduce-only flag
CLOSE_REASONS = {r.value: r for r in lc.CloseReason}


@dataclass
class ExecutionHooks:
    """What execution reports back to the runtime (errors count toward the error-burst halt)."""

    on_error: Callable[[float, str, str], None]
    on_alert: Callable[[float, str, str, str], None] = lambda ts, name, severity, msg: None
    on_halt: Callable[[float, str], None] = lambda ts, reason: None
    on_entry_failed: Callable[[float, str, str], None] = lambda ts, token, reason: None
    venue_amount: Callable[[str, str], Decimal | None] = lambda connector, pair: None  # signed perp position
    maker_price: Callable[[str, str, bool], Decimal | None] = lambda connector, pair, is_buy: None


def lifecycle_params(settings: Any, lot_base: Decimal, min_base: Decimal) -> lc.LifecycleParams:
    """The lifecycle's sizes and timers for one pair: `min_base` rounded up to the lot; retries and backoff from
    the settings (entry_max_retries, close_retry_backoff_s, close_retry_max_backoff_s, close_escalate_after)."""
    params = lc.LifecycleParams(
        lot_base,
        min_base,
        settings.entry_max_retries,
        float(settings.close_retry_backoff_s),
        float(settings.close_retry_max_backoff_s),
        settings.close_escalate_after,
    )
    return lc.LifecycleParams(
        lot_base,
        params.ceil_lot(min_base),
        params.max_entry_retries,
        params.retry_backoff_s,
        params.max_backoff_s,
        params.escalate_after,
    )


class LegExecutor:
    """Runs pair lifecycles: events in, orders out, through the strategy's `buy` / `sell` / `cancel`."""

    def __init__(
        self,
        strategy: Any,
        store: PairStore,
        on_error: Callable[[float, str, str], None],
        timeout_s: float = 30.0,
        maker_timeout_s: float = 30.0,
    ) -> None:
        self._strategy = strategy
        self._store = store
        self.hooks = ExecutionHooks(on_error)
        self.timeout_s, self.maker_timeout_s = timeout_s, maker_timeout_s
        self._timed_out: dict[str, float] = {}  # order id -> when its last LegTimeout fired
        self._querying: set[str] = set()
        self._prev_tick_ts: float | None = None  # an order is timed out only once a whole tick could deliver fills
        self._resting: dict[str, dict[str, Any]] = {}  # pair id -> the book a Tick was seen to leave unchanged

    @property
    def tracker(self) -> Any:
        return self._store.tracker

    # --- entry points from the runtime ----------------------------------------------------------------------
    def open_pair(
        self, record: PairRecord, ts: float, params: lc.LifecycleParams, first: lc.LegSide, maker_first: bool = False
    ) -> None:
        """Start an entry: only the `first` leg is sent; the other follows its fills."""
        book, intents = lc.new_entry(first, record.long.target_base, params, maker_first)
        self._store.add(record)
        self._apply(record, book, intents, ts)

    def close_pair(self, record: PairRecord, ts: float, reason: str) -> None:
        record.close_reason = record.close_reason or reason
        self.send(record, lc.CloseRequested(ts, CLOSE_REASONS.get(reason, lc.CloseReason.OPERATOR)), ts)

    def reduce_pair(self, record: PairRecord, ts: float, fraction: Decimal, reason: str) -> None:
        """Reduce both legs by `fraction` (1: close the pair), hedged; one `risk_reduce` log line per reduction sent
        (the risk gate asks every tick while a leg is near liquidation; its callers send one at a time)."""
        log.warning("risk_reduce ts=%s pair=%s fraction=%.6f reason=%r", ts, record.pair_id, fraction, reason)
        self.send(record, lc.ReduceRequested(ts, fraction, lc.CloseReason.RISK_REDUCTION), ts, reason)

    def position_mismatch(self, record: PairRecord, ts: float, long_base: Decimal, short_base: Decimal) -> None:
        self.send(record, lc.PositionMismatch(ts, long_base, short_base), ts)

    def send(self, record: PairRecord, event: lc.Event, ts: float, reason: str | None = None) -> None:
        book = self.book(record)
        book, intents = lc.step(book, event)
        self._apply(record, book, intents, ts, reason)

    def book(self, record: PairRecord) -> lc.PairBook:
        if not record.book:  # a record from a version-1 state file
            record.book = book_of_record(record)
        return decode_book(record.book, self.tracker.open_orders(record.pair_id))

    # --- intents -> orders ----------------------------------------------------------------------------------
    def _apply(
        self, record: PairRecord, book: lc.PairBook, intents: list[lc.Intent], ts: float, reason: str | None = None
    ) -> None:
        queue: list[lc.Event] = []
        before = (record.book, record.state, record.close_reason)
        self._show(record, book, ts, reason)
        for intent in intents:
            queue += self._execute(record, intent, ts)
        if intents or before != (record.book, record.state, record.close_reason):
            self._store.save()  # nothing changed (most ticks of a resting pair): no write
        for event in queue:  # synchronous outcomes (refused orders, venue holds less) go back through the table
            self.send(record, event, ts)

    def _show(self, record: PairRecord, book: lc.PairBook, ts: float, reason: str | None) -> None:
        record.book = encode_book(book)
        for leg, held in ((record.long, book.long.held_base), (record.short, -book.short.held_base)):
            if abs(held) < abs(leg.filled_base):  # closed, reduced or found smaller: entry cost in proportion
                leg.cost_quote = leg.cost_quote * abs(held) / abs(leg.filled_base)
            leg.filled_base = held
        why = reason or (book.close_reason.value if book.close_reason else None)
        record.transition(VIEW[book.state], ts, why)
        if book.state is lc.LifecycleState.HEDGED:
            record.long.target_base = record.short.target_base = book.long.held_base

    def _execute(self, record: PairRecord, intent: lc.Intent, ts: float) -> list[lc.Event]:
        if isinstance(intent, lc.PlaceOrder):
            return self._place(record, intent, ts)
        if isinstance(intent, lc.CancelOrders):
            for o in self.tracker.open_orders(record.pair_id, intent.leg):
                log.info("cancel pair=%s leg=%s id=%s", record.pair_id, o.leg.value, o.client_order_id)
                self._strategy.cancel(o.connector, o.trading_pair, o.client_order_id)
        elif isinstance(intent, lc.QueryOrders):
            for o in self.tracker.open_orders(record.pair_id, intent.leg):
                if o.status is OrderStatus.UNKNOWN:
                    self._query(o, ts)
        elif isinstance(intent, lc.Alert):
            self.hooks.on_alert(ts, f"pair.{record.pair_id}", intent.severity, f"{record.pair_id}: {intent.message}")
        elif isinstance(intent, lc.HaltEntries):
            self.hooks.on_halt(ts, f"{record.pair_id}: {intent.reason}")
        elif isinstance(intent, lc.EntryFailed):
            self.hooks.on_entry_failed(ts, record.token, intent.reason.value)
        return []

    def _place(self, record: PairRecord, p: lc.PlaceOrder, ts: float) -> list[lc.Event]:
        leg = record.leg(p.leg.value)
        amount = p.amount_base
        if p.intent.reduces and leg.kind == "perp":
            held = self._venue_held(leg.connector, leg.trading_pair, p.leg)
            if held is None and leg.connector in NO_REDUCE_ONLY:  # no reduce-only flag and no position: could flip
                log.warning(
                    "close_deferred pair=%s leg=%s: %s position unknown and the connector sends no reduce-only flag",
                    record.pair_id,
                    p.leg.value,
                    leg.connector,
                )
                return [lc.OrderCancelled(ts, p.leg, p.intent, amount)]
            if held is not None and amount > held:  # never more than the venue holds (no flip, reduce-only or not)
                log.warning(
                    "reduce_capped pair=%s leg=%s asked=%s venue_holds=%s", record.pair_id, p.leg.value, amount, held
                )
                return [lc.OrderCancelled(ts, p.leg, p.intent, amount), self._mismatch(record, ts)]
        buy = (p.leg is lc.LegSide.LONG) == (p.intent is lc.OrderIntent.OPEN)
        price = None if p.taker else self.hooks.maker_price(leg.connector, leg.trading_pair, buy)
        order_type = OrderType.MARKET if price is None else OrderType.LIMIT_MAKER
        kwargs: dict[str, Any] = {} if price is None else {"price": price}
        if leg.kind == "perp":
            kwargs["position_action"] = PositionAction.OPEN if p.intent is lc.OrderIntent.OPEN else PositionAction.CLOSE
        try:
            fn = self._strategy.buy if buy else self._strategy.sell
            order_id = fn(leg.connector, leg.trading_pair, amount, order_type, **kwargs)
        except Exception as e:  # refused synchronously: the lifecycle hears a reject
            self.hooks.on_error(ts, "order_place_failed", f"{leg.connector} {leg.trading_pair}: {e!r}")
            return [lc.OrderRejected(ts, p.leg, p.intent, amount)]
        self.tracker.add(
            TrackedOrder(
                order_id, record.pair_id, p.leg, p.intent, leg.connector, leg.trading_pair, amount, ts, updated_ts=ts
            )
        )
        log.info(
            "order_placed pair=%s leg=%s connector=%s pair=%s side=%s amount=%s intent=%s type=%s id=%s",
            record.pair_id,
            p.leg.value,
            leg.connector,
            leg.trading_pair,
            "BUY" if buy else "SELL",
            amount,
            p.intent.value,
            order_type.name,
            order_id,
        )
        return []

    def _venue_held(self, connector: str, pair: str, side: lc.LegSide) -> Decimal | None:
        """What the venue holds on this leg's side (absolute; 0 when it holds the other side); None: unknown."""
        signed = self.hooks.venue_amount(connector, pair)
        if signed is None:
            return None
        return max(Decimal(0), signed if side is lc.LegSide.LONG else -signed)

    def _mismatch(self, record: PairRecord, ts: float) -> lc.PositionMismatch:
        amounts = []
        for side in (lc.LegSide.LONG, lc.LegSide.SHORT):
            leg = record.leg(side.value)
            held = self._venue_held(leg.connector, leg.trading_pair, side) if leg.kind == "perp" else None
            amounts.append(abs(leg.filled_base) if held is None else held)
        return lc.PositionMismatch(ts, amounts[0], amounts[1])

    # --- venue events -> lifecycle events -------------------------------------------------------------------
    def on_fill(
        self,
        order_id: str,
        trade_id: str,
        trade_type: TradeType,
        price: Decimal,
        amount: Decimal,
        fee_quote: Decimal,
        ts: float,
    ) -> PairRecord | None:
        found = self._store.by_order(order_id)
        result = self.tracker.fill(order_id, trade_id or f"{order_id}@{ts}:{amount}", amount, ts)
        if found is None or result is None or result.new_base <= 0:
            return None
        record, side = found
        leg = record.leg(side)
        if result.order.intent is lc.OrderIntent.OPEN:
            leg.cost_quote += price * result.new_base
        leg.fees_quote += fee_quote
        if record.first_fill_ts is None:
            record.first_fill_ts = ts
        self.send(record, lc.LegFilled(ts, result.order.leg, result.order.intent, result.new_base), ts)
        return record

    def on_order_done(self, order_id: str, ts: float) -> None:
        """Completed: a rest the venue did not fill ends as cancelled for the lifecycle."""
        order = self.tracker.get(order_id)
        if order is None or order.status.done:  # unknown, or already ended (cancel / reject / fill count)
            return
        self._end(order_id, OrderStatus.FILLED if order.remaining_base <= 0 else OrderStatus.CANCELLED, ts)

    def on_failure(self, order_id: str, ts: float, message: str) -> PairRecord | None:
        order = self.tracker.get(order_id)
        if order is None:
            return None
        self.hooks.on_error(ts, "order_failed", f"pair={order.pair_id} leg={order.leg.value}: {message}")
        return self._end(order_id, OrderStatus.REJECTED, ts)

    def on_cancel(self, order_id: str, ts: float) -> PairRecord | None:
        return self._end(order_id, OrderStatus.CANCELLED, ts)

    def _end(self, order_id: str, status: OrderStatus, ts: float) -> PairRecord | None:
        order = self.tracker.end(order_id, status, ts)
        record = self._store.records.get(order.pair_id) if order is not None else None
        if order is None or record is None:
            return None
        self._timed_out.pop(order_id, None)
        rest = order.remaining_base
        if status is OrderStatus.REJECTED:
            self.send(record, lc.OrderRejected(ts, order.leg, order.intent, rest), ts)
        elif rest > 0 or status is OrderStatus.CANCELLED:
            self.send(record, lc.OrderCancelled(ts, order.leg, order.intent, rest), ts)
        else:
            self._store.save()
        return record

    # --- every tick -----------------------------------------------------------------------------------------
    def tick(self, ts: float, ready: dict[str, bool]) -> None:
        """Mark orders on disconnected venues unknown, ask the venue about unknown ones, fire timeouts, tick."""
        down = [c for c, ok in ready.items() if not ok]
        for order in self.tracker.mark_unknown(ts, down) if down else []:
            record = self._store.records.get(order.pair_id)
            if record is not None:
                log.warning(
                    "order_state_unknown id=%s connector=%s (venue not ready)", order.client_order_id, order.connector
                )
                self.send(record, lc.OrderStateUnknown(ts, order.leg), ts)
        records = self._store.open_records()
        for record in records:
            orders = self.tracker.open_orders(record.pair_id)
            for order in orders:
                if order.status is OrderStatus.UNKNOWN and ready.get(order.connector, False):
                    self._query(order, ts)
                elif order.status is OrderStatus.WORKING and self._overdue(order, ts):
                    self._timed_out[order.client_order_id] = ts
                    self.send(record, lc.LegTimeout(ts, order.leg), ts)
            if record.is_open and (orders or not self._is_resting(record)):
                self.send(record, lc.Tick(ts), ts)
                self._note_resting(record)
        if len(self._resting) > len(records):  # a pair that closed between two ticks (fills, events) rested last
            open_ids = {r.pair_id for r in records}
            self._resting = {k: v for k, v in self._resting.items() if k in open_ids}
        self._prev_tick_ts = ts

    def _is_resting(self, record: PairRecord) -> bool:
        """A HEDGED pair with no order working or unknown whose book a Tick already left unchanged: the lifecycle's
        HEDGED Tick only asks about unknown orders, so another Tick changes nothing (no decode, step, encode)."""
        return record.state is PairState.HEDGED and self._resting.get(record.pair_id) is record.book

    def _note_resting(self, record: PairRecord) -> None:
        """After a Tick: remember the book (by identity: every lifecycle step writes a new one) while resting."""
        resting = (
            record.state is PairState.HEDGED
            and record.book.get("state") == lc.LifecycleState.HEDGED.value
            and not self.tracker.open_orders(record.pair_id)
        )
        if resting:
            self._resting[record.pair_id] = record.book
        else:
            self._resting.pop(record.pair_id, None)

    def _overdue(self, order: TrackedOrder, ts: float) -> bool:
        limit = (
            self.maker_timeout_s
            if order.leg in self.book(self._store.records[order.pair_id]).maker_first
            else self.timeout_s
        )
        if self._prev_tick_ts is None or order.placed_ts >= self._prev_tick_ts:
            return False  # placed on the previous tick: its venue events may not have been delivered yet
        since = self._timed_out.get(order.client_order_id, order.placed_ts)
        return ts - since >= limit

    def restart_unknown(self, ts: float) -> list[TrackedOrder]:
        """After a restart every order that was working is unknown until the venue is asked."""
        orders = self.tracker.mark_unknown(ts)
        for order in orders:
            record = self._store.records.get(order.pair_id)
            if record is not None:
                self.send(record, lc.OrderStateUnknown(ts, order.leg), ts)
        return orders

    # --- asking the venue -----------------------------------------------------------------------------------
    def _query(self, order: TrackedOrder, ts: float) -> None:
        if order.client_order_id in self._querying:
            return
        connector = self._strategy.connectors.get(order.connector)
        if connector is None:
            return
        self._querying.add(order.client_order_id)
        task = asyncio.ensure_future(self._resolve(connector, order, ts))
        task.add_done_callback(lambda _t, oid=order.client_order_id: self._querying.discard(oid))

    async def _resolve(self, connector: Any, order: TrackedOrder, ts: float) -> None:
        """Order status and trade history from the connector; their fills and end go to the lifecycle."""
        tracked = connector._order_tracker.fetch_order(client_order_id=order.client_order_id)
        ifo = tracked or InFlightOrder(
            order.client_order_id,
            order.trading_pair,
            OrderType.MARKET,
            TradeType.BUY if order.is_buy else TradeType.SELL,
            order.amount_base,
            order.placed_ts,
            initial_state=OrderState.OPEN,
        )
        try:
            trades = await connector._all_trade_updates_for_order(ifo)
            status = await connector._request_order_status(ifo)
        except Exception as e:  # still unreachable, or the venue does not know it yet: ask again next tick
            log.warning("order_query_failed id=%s connector=%s: %r", order.client_order_id, order.connector, e)
            return
        now = float(self._strategy.current_timestamp)
        quote = order.trading_pair.split("-")[1]
        for t in trades:
            try:
                fee = Decimal(t.fee.fee_amount_in_token(order.trading_pair, t.fill_price, t.fill_base_amount, quote))
            except Exception as e:  # no rate to convert: keep the percent part, as the fill event path does
                log.warning("fee of trade %s not convertible (%r): booked its percent part", t.trade_id, e)
                fee = Decimal(t.fee.percent) * t.fill_price * t.fill_base_amount
            self.on_fill(order.client_order_id, t.trade_id, ifo.trade_type, t.fill_price, t.fill_base_amount, fee, now)
        self._answer(order, status.new_state, now)

    def _answer(self, order: TrackedOrder, state: OrderState, ts: float) -> None:
        ended = {
            OrderState.FILLED: OrderStatus.FILLED,
            OrderState.CANCELED: OrderStatus.CANCELLED,
            OrderState.FAILED: OrderStatus.REJECTED,
        }
        if state in ended:
            current = self.tracker.get(order.client_order_id)
            if current is not None and not current.status.done:
                self._end(order.client_order_id, ended[state], ts)
        else:
            self.tracker.confirm_working(order.client_order_id, ts)
        record = self._store.records.get(order.pair_id)
        if record is not None and not any(
            o.status is OrderStatus.UNKNOWN for o in self.tracker.open_orders(order.pair_id, order.leg)
        ):
            log.info("order_state_resolved id=%s state=%s", order.client_order_id, state.name)
            self.send(record, lc.OrderStateUnknown(ts, order.leg, resolved=True), ts)

    # --- views for the runtime ------------------------------------------------------------------------------
    def working_entry_orders(self) -> dict[str, tuple[str, str]]:
        """Entry orders of pairs that hold nothing yet (cancelling them adds no risk): order_id -> (connector,
        trading_pair). A second leg following a fill is not one of them: cancelling it would leave a naked leg."""
        out = {}
        for o in self.tracker.open_orders():
            record = self._store.records.get(o.pair_id)
            if (
                o.intent is lc.OrderIntent.OPEN
                and record is not None
                and record.long.filled_base == 0
                and record.short.filled_base == 0
            ):
                out[o.client_order_id] = (o.connector, o.trading_pair)
        return out

    def working_markets(self) -> set[tuple[str, str]]:
        return {(o.connector, o.trading_pair) for o in self.tracker.open_orders()}

    def has_pending(self, record: PairRecord) -> bool:
        return bool(self.tracker.open_orders(record.pair_id))
