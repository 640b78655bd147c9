"""The pair lifecycle table (`core/lifecycle.py`): cell by cell, and random event sequences against a fake venue."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strategies.funding_arbitrage.core.lifecycle import (
    EVENT_TYPES,
    IMPOSSIBLE,
    TABLE,
    Alert,
    CancelOrders,
    CloseReason,
    CloseRequested,
    EntryFailed,
    Event,
    HaltEntries,
    Intent,
    LegFilled,
    LegSide,
    LegTimeout,
    LifecycleParams,
    LifecycleState,
    OrderCancelled,
    OrderIntent,
    OrderRejected,
    OrderStateUnknown,
    PairBook,
    PlaceOrder,
    PositionMismatch,
    QueryOrders,
    ReduceRequested,
    Tick,
    is_resting,
    new_entry,
    step,
)

D = Decimal
LONG, SHORT = LegSide.LONG, LegSide.SHORT
S = LifecycleState
PARAMS = LifecycleParams(lot_base=D("0.001"), min_base=D("0.002"))


def _places(intents: list[Intent]) -> list[PlaceOrder]:
    return [i for i in intents if isinstance(i, PlaceOrder)]


def test_every_state_event_cell_is_handled_or_declared_impossible() -> None:
    missing = [
        (s, e.__name__) for s in LifecycleState for e in EVENT_TYPES if (s, e) not in TABLE and (s, e) not in IMPOSSIBLE
    ]
    assert missing == []
    assert not set(TABLE) & IMPOSSIBLE


def test_entry_sends_only_the_first_leg() -> None:
    book, intents = new_entry(SHORT, D("0.01"), PARAMS)

    assert book.state is S.OPENING_FIRST
    assert intents == [PlaceOrder(SHORT, OrderIntent.OPEN, D("0.01"))]


def test_first_leg_synchronous_reject_closes_without_sending_the_second() -> None:
    book, _ = new_entry(SHORT, D("0.01"), PARAMS)

    book, intents = step(book, OrderRejected(1, SHORT, OrderIntent.OPEN, D("0.01")))

    assert book.state is S.CLOSED and book.flat
    assert _places(intents) == []
    assert EntryFailed(CloseReason.ENTRY_REJECTED) in intents


def test_second_leg_follows_the_first_legs_fill_floored_to_the_lot() -> None:
    book, _ = new_entry(SHORT, D("0.01"), PARAMS)

    book, intents = step(book, LegFilled(1, SHORT, OrderIntent.OPEN, D("0.0057")))

    assert book.state is S.OPENING_SECOND
    assert _places(intents) == [PlaceOrder(LONG, OrderIntent.OPEN, D("0.005"))]


def test_partial_first_leg_above_minimum_is_adopted_as_a_smaller_hedge() -> None:
    book, _ = new_entry(SHORT, D("0.01"), PARAMS)
    book, _ = step(book, LegFilled(1, SHORT, OrderIntent.OPEN, D("0.005")))
    book, _ = step(book, OrderCancelled(2, SHORT, OrderIntent.OPEN, D("0.005")))

    book, intents = step(book, LegFilled(3, LONG, OrderIntent.OPEN, D("0.005")))

    assert book.state is S.HEDGED and book.long.held_base == book.short.held_base == D("0.005")
    assert _places(intents) == []


def test_second_leg_rejected_is_retried_then_the_first_is_rolled_back() -> None:
    book, _ = new_entry(SHORT, D("0.01"), PARAMS)
    book, _ = step(book, LegFilled(1, SHORT, OrderIntent.OPEN, D("0.01")))
    retries = []
    for i in range(PARAMS.max_entry_retries + 1):
        book, intents = step(book, OrderRejected(2 + i, LONG, OrderIntent.OPEN, D("0.01")))
        retries.append(_places(intents))

    assert retries[:-1] == [[PlaceOrder(LONG, OrderIntent.OPEN, D("0.01"))]] * PARAMS.max_entry_retries
    assert retries[-1] == [PlaceOrder(SHORT, OrderIntent.CLOSE, D("0.01"))]
    assert book.state is S.CLOSING and book.close_reason is CloseReason.SECOND_LEG_FAILED


def test_maker_first_times_out_cancels_and_replaces_at_market() -> None:
    book, intents = new_entry(SHORT, D("0.01"), PARAMS, maker_first=True)
    assert intents == [PlaceOrder(SHORT, OrderIntent.OPEN, D("0.01"), taker=False)]

    book, intents = step(book, LegTimeout(30, SHORT))
    assert intents == [CancelOrders(SHORT)]
    book, intents = step(book, OrderCancelled(31, SHORT, OrderIntent.OPEN, D("0.01")))

    assert intents == [PlaceOrder(SHORT, OrderIntent.OPEN, D("0.01"), taker=True)]
    assert book.state is S.OPENING_FIRST


def _hedged(amount: str = "0.01") -> PairBook:
    book, _ = new_entry(SHORT, D(amount), PARAMS)
    book, _ = step(book, LegFilled(1, SHORT, OrderIntent.OPEN, D(amount)))
    book, _ = step(book, LegFilled(2, LONG, OrderIntent.OPEN, D(amount)))
    assert book.state is S.HEDGED
    return book


def test_reduction_below_the_minimum_is_raised_to_the_smallest_closable_size() -> None:
    book, intents = step(_hedged(), ReduceRequested(3, D("0.05"), CloseReason.RISK_REDUCTION))  # 0.0005 < min

    assert book.state is S.REDUCING
    assert sorted(p.amount_base for p in _places(intents)) == [D("0.002"), D("0.002")]


def test_reduction_leaving_less_than_the_minimum_becomes_a_full_close() -> None:
    book, intents = step(_hedged("0.003"), ReduceRequested(3, D("0.5"), CloseReason.RISK_REDUCTION))

    assert book.state is S.CLOSING
    assert {(p.leg, p.intent, p.amount_base) for p in _places(intents)} == {
        (LONG, OrderIntent.CLOSE, D("0.003")),
        (SHORT, OrderIntent.CLOSE, D("0.003")),
    }


def test_failed_close_is_retried_with_backoff_from_the_live_position_and_escalates() -> None:
    book, _ = step(_hedged(), CloseRequested(10, CloseReason.EDGE_DECAYED))
    book, _ = step(book, LegFilled(11, SHORT, OrderIntent.CLOSE, D("0.01")))
    ts, retry_times, escalations = 11.0, [], []
    for _ in range(5):
        book, intents = step(book, OrderRejected(ts, LONG, OrderIntent.CLOSE, D("0.01")))
        escalations += [i for i in intents if isinstance(i, Alert | HaltEntries)]
        assert book.state is S.CLOSING and book.retry_at_ts is not None
        retry_times.append(book.retry_at_ts - ts)
        book, early = step(book, Tick(book.retry_at_ts - 0.5))
        assert _places(early) == []  # never retried before its backoff
        ts = book.retry_at_ts
        book, intents = step(book, Tick(ts))
        assert _places(intents) == [PlaceOrder(LONG, OrderIntent.CLOSE, D("0.01"))]

    assert retry_times == [5.0, 10.0, 20.0, 40.0, 80.0]
    assert len([i for i in escalations if isinstance(i, HaltEntries)]) == 1
    book, _ = step(book, LegFilled(ts + 1, LONG, OrderIntent.CLOSE, D("0.01")))
    assert book.state is S.CLOSED


def test_late_entry_fill_after_close_is_closed() -> None:
    book, _ = new_entry(SHORT, D("0.01"), PARAMS)
    book, _ = step(book, OrderStateUnknown(1, SHORT))
    book, _ = step(book, OrderCancelled(2, SHORT, OrderIntent.OPEN, D("0.01")))
    assert book.state is S.CLOSED

    book, intents = step(book, LegFilled(3, SHORT, OrderIntent.OPEN, D("0.01")))

    assert book.state is S.CLOSING
    assert _places(intents) == [PlaceOrder(SHORT, OrderIntent.CLOSE, D("0.01"))]


def test_unknown_order_state_holds_decisions_until_the_venue_answers() -> None:
    book, _ = new_entry(SHORT, D("0.01"), PARAMS)
    book, intents = step(book, OrderStateUnknown(1, SHORT))
    assert intents == [QueryOrders(SHORT)]
    book, intents = step(book, Tick(2))
    assert intents == [QueryOrders(SHORT)]

    book, on_fill = step(book, LegFilled(3, SHORT, OrderIntent.OPEN, D("0.01")))  # hidden fill, from trade history
    book, on_answer = step(book, OrderStateUnknown(3, SHORT, resolved=True))

    assert book.state is S.OPENING_SECOND  # never assumed unfilled: the hedge follows the hidden fill
    assert _places(on_fill + on_answer) == [PlaceOrder(LONG, OrderIntent.OPEN, D("0.01"))]


def test_exit_after_a_position_reduced_by_hand_closes_only_what_the_venue_holds() -> None:
    book, intents = step(_hedged(), PositionMismatch(3, D("0.01"), D("0.004")))
    assert book.state is S.REDUCING  # rebalanced down to the smaller leg
    assert _places(intents) == [PlaceOrder(LONG, OrderIntent.REBALANCE, D("0.006"))]
    book, _ = step(book, LegFilled(4, LONG, OrderIntent.REBALANCE, D("0.006")))
    assert book.state is S.HEDGED

    book, intents = step(book, CloseRequested(5, CloseReason.MAX_HOLDING))

    assert {(p.leg, p.amount_base) for p in _places(intents)} == {(LONG, D("0.004")), (SHORT, D("0.004"))}


# --- random sequences against a fake venue ------------------------------------------------------------------------
@dataclass
class FakeOrder:
    leg: LegSide
    intent: OrderIntent
    remaining: Decimal


@dataclass
class FakeVenue:
    """Holds orders and the true positions; reduce-only orders never take a leg below zero."""

    held: dict[LegSide, Decimal] = field(default_factory=lambda: {LONG: D(0), SHORT: D(0)})
    orders: list[FakeOrder] = field(default_factory=list)

    def accept(self, intents: list[Intent]) -> list[Event]:
        out: list[Event] = []
        for i in intents:
            if isinstance(i, PlaceOrder):
                assert i.amount_base > 0
                self.orders.append(FakeOrder(i.leg, i.intent, i.amount_base))
            elif isinstance(i, CancelOrders):
                for o in [o for o in self.orders if o.leg is i.leg]:
                    out.append(self.end(o, cancelled=True))
        return out

    def end(self, order: FakeOrder, cancelled: bool) -> Event:
        self.orders.remove(order)
        if cancelled:
            return OrderCancelled(0, order.leg, order.intent, order.remaining)
        return OrderRejected(0, order.leg, order.intent, order.remaining)

    def fill(self, order: FakeOrder, amount: Decimal) -> list[Event]:
        if order.intent.reduces:
            amount = min(amount, self.held[order.leg])
        out: list[Event] = []
        if amount > 0:
            order.remaining -= amount
            self.held[order.leg] += amount if order.intent is OrderIntent.OPEN else -amount
            out.append(LegFilled(0, order.leg, order.intent, amount))
        if order.remaining <= 0:
            self.orders.remove(order)
        elif order.intent.reduces and self.held[order.leg] == 0:
            out.append(self.end(order, cancelled=True))  # reduce-only rest cancelled: nothing left to reduce
        return out


ACTIONS = st.sampled_from(
    ["fill", "fill_all", "reject", "cancel", "timeout", "unknown", "hand", "close", "reduce", "tick", "mismatch"]
)


@dataclass
class Driver:
    book: PairBook
    venue: FakeVenue
    ts: float = 0.0
    pending_resolve: set[LegSide] = field(default_factory=set)

    def send(self, event: Event) -> None:
        queue = [event]
        while queue:
            e = queue.pop(0)
            before = self.book
            self.book, intents = step(self.book, e)
            check_intents(before, self.book, intents)
            queue += self.venue.accept(intents)


def check_intents(before: PairBook, after: PairBook, intents: list[Intent]) -> None:
    """No intent adds exposure once a pair is exiting; no reducing order exceeds what the leg holds."""
    for p in _places(intents):
        if after.state in (S.REDUCING, S.CLOSING, S.CLOSED):
            assert p.intent is not OrderIntent.OPEN, (before.state, after.state, p)
        if p.intent.reduces:
            leg = after.leg(p.leg)
            assert leg.working_close_base <= max(leg.held_base, before.leg(p.leg).working_close_base), p


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    first=st.sampled_from([LONG, SHORT]),
    target_lots=st.integers(1, 30),
    maker=st.booleans(),
    script=st.lists(st.tuples(ACTIONS, st.integers(0, 9), st.integers(1, 100)), max_size=40),
)
def test_random_event_sequences_end_flat_or_hedged_with_bounded_gap(
    first: LegSide, target_lots: int, maker: bool, script: list[tuple[str, int, int]]
) -> None:
    book, intents = new_entry(first, PARAMS.lot_base * target_lots, PARAMS, maker_first=maker)
    venue = FakeVenue()
    d = Driver(book, venue)
    for e in venue.accept(intents):
        d.send(e)
    for action, index, pct in script:
        d.ts += 7
        _act(d, action, index, pct)
    _recover(d)

    assert is_resting(d.book), d.book
    assert d.venue.orders == []
    assert (d.book.long.held_base, d.book.short.held_base) == (venue.held[LONG], venue.held[SHORT])
    if d.book.state is S.CLOSED:
        assert venue.held == {LONG: 0, SHORT: 0}
    else:
        assert PARAMS.within_tolerance(abs(venue.held[LONG] - venue.held[SHORT]))
        assert min(venue.held.values()) >= PARAMS.min_base


def _act(d: Driver, action: str, index: int, pct: int) -> None:
    orders = d.venue.orders
    order = orders[index % len(orders)] if orders else None
    if action in ("fill", "fill_all") and order is not None:
        amount = order.remaining if action == "fill_all" else PARAMS.ceil_lot(order.remaining * pct / 100)
        for e in d.venue.fill(order, min(amount, order.remaining)):
            d.send(e)
    elif action in ("reject", "cancel") and order is not None:
        d.send(d.venue.end(order, cancelled=action == "cancel"))
    elif action == "timeout":
        d.send(LegTimeout(d.ts, LONG if index % 2 else SHORT))
    elif action == "unknown":
        leg = LONG if index % 2 else SHORT
        d.send(OrderStateUnknown(d.ts, leg))
        d.pending_resolve.add(leg)
    elif action == "hand":
        leg = LONG if index % 2 else SHORT
        cut = PARAMS.floor_lot(d.venue.held[leg] * pct / 100)
        d.venue.held[leg] -= cut
        d.send(PositionMismatch(d.ts, d.venue.held[LONG], d.venue.held[SHORT]))
    elif action == "mismatch":
        d.send(PositionMismatch(d.ts, d.venue.held[LONG], d.venue.held[SHORT]))
    elif action == "close":
        d.send(CloseRequested(d.ts, CloseReason.OPERATOR))
    elif action == "reduce":
        d.send(ReduceRequested(d.ts, D(pct) / 100, CloseReason.RISK_REDUCTION))
    elif action == "tick":
        d.send(Tick(d.ts))
    if d.pending_resolve and index == 0:
        _resolve(d)


def _resolve(d: Driver) -> None:
    for leg in sorted(d.pending_resolve):
        d.send(OrderStateUnknown(d.ts, leg, resolved=True))
    d.pending_resolve.clear()


def _recover(d: Driver) -> None:
    """The venue cooperates: every order fills, the clock runs past every backoff, unknowns are answered."""
    for _ in range(60):
        _resolve(d)
        if is_resting(d.book) and not d.venue.orders:
            return
        for order in list(d.venue.orders):
            if order in d.venue.orders:
                for e in d.venue.fill(order, order.remaining):
                    d.send(e)
        d.ts += PARAMS.max_backoff_s
        d.send(Tick(d.ts))
        d.send(PositionMismatch(d.ts, d.venue.held[LONG], d.venue.held[SHORT]))
