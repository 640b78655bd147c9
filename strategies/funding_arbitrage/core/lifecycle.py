"""The hedged-pair lifecycle: (state, typed event) -> (new state, order intents), as one table (pure core).

A `PairBook` holds what the lifecycle needs to decide: the amount each leg holds (base, absolute), the amount
its working orders may still add or remove, timers and retry counters. The shell turns venue events into the
events below and the returned intents into orders; nothing here places an order or reads a clock.

States (IDLE is implicit: no book):

    OPENING_FIRST --fill--> OPENING_SECOND --both matched, nothing working--> HEDGED
    HEDGED --ReduceRequested--> REDUCING --done--> HEDGED | CLOSED
    any --CloseRequested / failed entry / unhedgeable gap--> CLOSING --flat, nothing working--> CLOSED
    CLOSED --late fill or venue position--> CLOSING

There is no FAILED resting state: a close or reduction that is rejected is retried from the live position with
exponential backoff (`LifecycleParams.retry_backoff_s`, doubling up to `max_backoff_s`); after `escalate_after`
failures the intents add an `Alert` and `HaltEntries`, and the retries go on.

Entry follows fills: the FIRST leg (the less liquid one, chosen by the shell) is sent alone; the SECOND is sent
only for what the first actually filled, floored to the common lot. A second leg that fails is retried
`max_entry_retries` times at market, then the first leg is rolled back to what the second holds (reduce-only);
an entry whose hedged size is below `min_base` is closed whole.

Worked example (lot 0.001, min 0.002): the first leg fills 0.0057 of 0.01 and its rest is cancelled; the second
is sent for 0.005 (floor to lot); it fills 0.005; the pair is HEDGED at 0.005 with a 0.0007 gap, which is under
one lot and within tolerance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from .lifecycle_model import (
    EVENT_TYPES,
    ZERO,
    Alert,
    CancelOrders,
    CloseReason,
    CloseRequested,
    EntryFailed,
    Event,
    HaltEntries,
    Intent,
    LegBook,
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
)

__all__ = [
    "EVENT_TYPES",
    "IMPOSSIBLE",
    "TABLE",
    "ZERO",
    "Alert",
    "CancelOrders",
    "CloseReason",
    "CloseRequested",
    "EntryFailed",
    "Event",
    "HaltEntries",
    "Handler",
    "Intent",
    "LegBook",
    "LegFilled",
    "LegSide",
    "LegTimeout",
    "LifecycleParams",
    "LifecycleState",
    "OrderCancelled",
    "OrderIntent",
    "OrderRejected",
    "OrderStateUnknown",
    "PairBook",
    "PlaceOrder",
    "PositionMismatch",
    "QueryOrders",
    "ReduceRequested",
    "Result",
    "Tick",
    "is_resting",
    "new_entry",
    "step",
]


def new_entry(
    first: LegSide, target_base: Decimal, params: LifecycleParams, maker_first: bool = False
) -> tuple[PairBook, list[Intent]]:
    """Start an entry: only the first leg is sent (maker-first when asked; `LegTimeout` falls back to taker)."""
    book = PairBook(
        LifecycleState.OPENING_FIRST,
        first,
        target_base,
        params,
        maker_first=frozenset({first}) if maker_first else frozenset(),
    )
    return _place(book, PlaceOrder(first, OrderIntent.OPEN, target_base, taker=not maker_first))


# --- bookkeeping helpers -----------------------------------------------------------------------------------------
Result = tuple[PairBook, list[Intent]]


def _place(book: PairBook, order: PlaceOrder) -> Result:
    leg = book.leg(order.leg)
    if order.intent is OrderIntent.OPEN:
        leg = replace(leg, working_open_base=leg.working_open_base + order.amount_base)
    else:
        leg = replace(leg, working_close_base=leg.working_close_base + order.amount_base)
    return book.with_leg(order.leg, leg), [order]


def _order_ended(book: PairBook, side: LegSide, intent: OrderIntent, unfilled: Decimal) -> PairBook:
    leg = book.leg(side)
    if intent is OrderIntent.OPEN:
        leg = replace(leg, working_open_base=max(ZERO, leg.working_open_base - unfilled))
    else:
        leg = replace(leg, working_close_base=max(ZERO, leg.working_close_base - unfilled))
    return replace(book.with_leg(side, leg), unknown=book.unknown - {side})


def _apply_fill(book: PairBook, e: LegFilled) -> PairBook:
    leg = book.leg(e.leg)
    if e.intent is OrderIntent.OPEN:
        leg = replace(
            leg,
            held_base=leg.held_base + e.amount_base,
            working_open_base=max(ZERO, leg.working_open_base - e.amount_base),
        )
    else:
        leg = replace(
            leg,
            held_base=max(ZERO, leg.held_base - e.amount_base),
            working_close_base=max(ZERO, leg.working_close_base - e.amount_base),
        )
    return book.with_leg(e.leg, leg)


def _backoff_s(book: PairBook) -> float:
    return float(min(book.params.max_backoff_s, book.params.retry_backoff_s * 2 ** max(0, book.failures - 1)))


def _failed_reducing(book: PairBook, ts: float, what: str) -> Result:
    """A reducing order failed: retry later from the live position; escalate past `escalate_after` failures."""
    book = replace(book, failures=book.failures + 1)
    book = replace(book, retry_at_ts=ts + _backoff_s(book))
    intents: list[Intent] = []
    if book.failures == book.params.escalate_after:
        msg = f"{what} failed {book.failures} times; retrying every {book.params.max_backoff_s:g}s at most"
        intents += [Alert("critical", msg), HaltEntries(msg)]
    return book, intents


# --- closing -----------------------------------------------------------------------------------------------------
def _closable(book: PairBook, side: LegSide) -> Decimal:
    """What a close may still send on `side`: held minus what working closes already take, never below 0."""
    leg = book.leg(side)
    return max(ZERO, leg.held_base - leg.working_close_base)


def _send_closes(book: PairBook) -> Result:
    intents: list[Intent] = []
    for side in (LegSide.LONG, LegSide.SHORT):
        amount = _closable(book, side)
        if amount > 0 and side not in book.unknown:
            book, out = _place(book, PlaceOrder(side, OrderIntent.CLOSE, amount))
            intents += out
    return book, intents


def _start_close(book: PairBook, reason: CloseReason) -> Result:
    """Cancel working entries, close what is held (reduce-only), then CLOSED once flat and idle."""
    book = replace(
        book,
        state=LifecycleState.CLOSING,
        close_reason=book.close_reason or reason,
        reduce_to_base=None,
        retry_at_ts=None,
    )
    intents: list[Intent] = [
        CancelOrders(s) for s in (LegSide.LONG, LegSide.SHORT) if book.leg(s).working_open_base > 0
    ]
    book, out = _send_closes(book)
    return _settle(book, intents + out)


def _too_small(book: PairBook) -> bool:
    """A leg holds something, but less than the smallest tradable size: the pair cannot be kept as a hedge."""
    return not book.flat and min(book.long.held_base, book.short.held_base) < book.params.min_base


def _settle(book: PairBook, intents: list[Intent]) -> Result:
    """Level-triggered end states: a closing or reducing pair that is done moves on."""
    if book.state is LifecycleState.CLOSING and book.flat and book.idle:
        return replace(book, state=LifecycleState.CLOSED, failures=0, retry_at_ts=None), intents
    if book.state is LifecycleState.REDUCING and book.idle and book.retry_at_ts is None and not book.unknown:
        if book.flat:
            return replace(book, state=LifecycleState.CLOSED, reduce_to_base=None, failures=0), intents
        if _too_small(book):
            book, out = _start_close(book, CloseReason.IMBALANCED)
            return book, intents + out
        if book.params.within_tolerance(book.gap_base):
            return replace(
                book, state=LifecycleState.HEDGED, reduce_to_base=None, failures=0, retry_at_ts=None
            ), intents
        book, out = _rebalance(book)
        return book, intents + out
    return book, intents


# --- reducing ----------------------------------------------------------------------------------------------------
def _reduce_to(book: PairBook, size_base: Decimal, intent: OrderIntent, reason: CloseReason) -> Result:
    """Bring both legs down to `size_base` (reduce-only). A size below the minimum becomes a full close;
    a cut below the minimum is raised to the minimum (the smallest closable size), never sent unchanged."""
    p = book.params
    size_base = p.floor_lot(size_base)
    if size_base < p.min_base:
        return _start_close(book, reason)
    book = replace(book, state=LifecycleState.REDUCING, reduce_to_base=size_base, close_reason=None)
    intents: list[Intent] = []
    for side in (LegSide.LONG, LegSide.SHORT):
        cut = book.leg(side).held_base - book.leg(side).working_close_base - size_base
        if cut <= 0 or side in book.unknown:
            continue
        cut = min(max(cut, p.min_base), _closable(book, side))
        book, out = _place(book, PlaceOrder(side, intent, cut))
        intents += out
    return _settle(book, intents)


def _rebalance(book: PairBook) -> Result:
    """Bring the larger leg down to the smaller one (never adds to a leg); close whole when that is too small."""
    smaller = min(book.long.held_base, book.short.held_base)
    if smaller < book.params.min_base:
        return _start_close(book, CloseReason.IMBALANCED)
    return _reduce_to(book, smaller, OrderIntent.REBALANCE, CloseReason.IMBALANCED)


# --- opening -----------------------------------------------------------------------------------------------------
def _follow_first(book: PairBook) -> Result:
    """Send the second leg for the first leg's fills not yet followed, floored to the lot (once per fill: a
    failed second-leg order is retried by `_opening_progress`, counted)."""
    second = book.first.other
    covered = book.params.floor_lot(book.leg(book.first).held_base)
    need = covered - book.followed_base
    if need >= book.params.min_base and second not in book.unknown:
        return _place(replace(book, followed_base=covered), PlaceOrder(second, OrderIntent.OPEN, need))
    return book, []


def _opening_progress(book: PairBook) -> Result:
    """After any opening event: follow the first leg's fills; decide once nothing is working."""
    first, second = book.leg(book.first), book.leg(book.first.other)
    if book.state is LifecycleState.OPENING_FIRST and first.held_base > 0:
        book = replace(book, state=LifecycleState.OPENING_SECOND)
    if book.state is LifecycleState.OPENING_FIRST:
        if first.idle and not book.unknown:
            book, out = _start_close(book, CloseReason.ENTRY_REJECTED)
            return book, [*out, EntryFailed(CloseReason.ENTRY_REJECTED)]
        return book, []
    book, intents = _follow_first(book)
    first, second = book.leg(book.first), book.leg(book.first.other)
    if not book.idle or book.unknown:
        return book, intents
    if book.params.floor_lot(first.held_base) < book.params.min_base:  # the first leg filled too little to hedge
        book, out = _start_close(book, CloseReason.ENTRY_TOO_SMALL)
        return book, [*intents, *out, EntryFailed(CloseReason.ENTRY_TOO_SMALL)]
    if book.params.within_tolerance(book.gap_base) and _too_small(book):  # hedged, but a leg under the minimum
        book, out = _start_close(book, CloseReason.ENTRY_TOO_SMALL)
        return book, [*intents, *out, EntryFailed(CloseReason.ENTRY_TOO_SMALL)]
    if book.params.within_tolerance(book.gap_base):
        return replace(book, state=LifecycleState.HEDGED, target_base=second.held_base, entry_retries=0), intents
    if second.held_base < first.held_base and book.entry_retries < book.params.max_entry_retries:
        shortfall = book.params.floor_lot(first.held_base) - second.held_base
        book = replace(book, entry_retries=book.entry_retries + 1)
        book, out = _place(book, PlaceOrder(book.first.other, OrderIntent.OPEN, shortfall, taker=True))
        return book, intents + out
    # the second leg cannot follow: roll the first back to what the second holds (or close both)
    book, out = _rebalance(replace(book, close_reason=CloseReason.SECOND_LEG_FAILED))
    extra: list[Intent] = [EntryFailed(CloseReason.SECOND_LEG_FAILED)]
    return book, intents + out + extra


# --- handlers: one per cell family -------------------------------------------------------------------------------
Handler = Callable[[PairBook, Event], Result]


def _opening_fill(book: PairBook, e: Event) -> Result:
    assert isinstance(e, LegFilled)
    book = _apply_fill(book, e)
    if e.intent.reduces:  # a reducing fill while opening (a rollback already sent): just account for it
        return book, []
    return _opening_progress(book)


def _opening_order_ended(book: PairBook, e: Event) -> Result:
    assert isinstance(e, OrderRejected | OrderCancelled)
    unfilled = e.amount_base if isinstance(e, OrderRejected) else e.unfilled_base
    book = _order_ended(book, e.leg, e.intent, unfilled)
    if e.leg in book.maker_first and e.intent is OrderIntent.OPEN and isinstance(e, OrderCancelled):
        # maker timed out and was cancelled: replace the rest at market
        book = replace(book, maker_first=book.maker_first - {e.leg})
        rest = book.target_base - book.leg(e.leg).held_base - book.leg(e.leg).working_open_base
        if e.leg is book.first and rest >= book.params.min_base:
            return _place(book, PlaceOrder(e.leg, OrderIntent.OPEN, book.params.floor_lot(rest), taker=True))
    return _opening_progress(book)


def _ask_venue(book: PairBook, e: Event) -> Result:
    """Hold the leg's decisions and ask the venue; its answer (`resolved=True`) lets the state's rule run again."""
    assert isinstance(e, OrderStateUnknown)
    if not e.resolved:
        return replace(book, unknown=book.unknown | {e.leg}), [QueryOrders(e.leg)]
    book = replace(book, unknown=book.unknown - {e.leg})
    if book.state in OPENING:
        return _opening_progress(book)
    if book.state is LifecycleState.HEDGED:
        return _rebalance(book) if not book.params.within_tolerance(book.gap_base) and book.idle else (book, [])
    if book.state is LifecycleState.CLOSED:
        return (book, []) if book.flat else _start_close(book, CloseReason.LATE_FILL)
    if book.state is LifecycleState.CLOSING:
        book, out = _send_closes(book)
        return _settle(book, out)
    return _settle(book, [])


def _cancel_on_timeout(book: PairBook, e: Event) -> Result:
    assert isinstance(e, LegTimeout)
    if book.leg(e.leg).idle:
        return book, []
    return book, [CancelOrders(e.leg)]


def _adopt_venue(book: PairBook, e: Event) -> Result:
    """The venue's amounts replace the book's; then the state's own rule decides."""
    assert isinstance(e, PositionMismatch)
    book = replace(
        book, long=replace(book.long, held_base=e.long_base), short=replace(book.short, held_base=e.short_base)
    )
    if book.state in (LifecycleState.OPENING_FIRST, LifecycleState.OPENING_SECOND):
        return _opening_progress(book)
    if book.state is LifecycleState.HEDGED:
        if book.flat:
            return replace(book, state=LifecycleState.CLOSED, close_reason=CloseReason.IMBALANCED), [
                Alert("critical", "both legs were closed on the venues outside the strategy")
            ]
        if _too_small(book):
            book, out = _start_close(book, CloseReason.IMBALANCED)
            return book, [Alert("warning", "venue positions fell below the minimum order: closing the pair"), *out]
        if not book.params.within_tolerance(book.gap_base):
            book, out = _rebalance(book)
            return book, [Alert("warning", f"venue positions differ: rebalancing to {book.reduce_to_base}"), *out]
        return book, []
    if book.state is LifecycleState.CLOSED:
        return _start_close(book, CloseReason.LATE_FILL) if not book.flat else (book, [])
    if book.state is LifecycleState.CLOSING:
        book, out = _send_closes(book)
        return _settle(book, out)
    return _settle(book, [])


def _close(book: PairBook, e: Event) -> Result:
    assert isinstance(e, CloseRequested)
    return _start_close(book, e.reason)


def _close_partial_entry(book: PairBook, e: Event) -> Result:
    """A reduction asked of a pair still opening: a full cut closes it, a partial one waits for HEDGED."""
    assert isinstance(e, ReduceRequested)
    if e.fraction >= 1:
        return _start_close(book, e.reason)
    return book, []


def _reduce(book: PairBook, e: Event) -> Result:
    assert isinstance(e, ReduceRequested)
    if e.fraction >= 1:
        return _start_close(book, e.reason)
    held = min(book.long.held_base, book.short.held_base)
    return _reduce_to(book, held - held * e.fraction, OrderIntent.REDUCE, e.reason)


def _ignore(book: PairBook, e: Event) -> Result:
    """Handled by doing nothing (e.g. a second reduction while one is working: reductions are level-triggered)."""
    return book, []


def _query_unknown(book: PairBook, e: Event) -> Result:
    """Keep asking the venue about legs whose order state is unknown."""
    return book, [QueryOrders(s) for s in sorted(book.unknown)]


def _hedged_fill(book: PairBook, e: Event) -> Result:
    """A fill reaching a HEDGED pair (a late or resolved order): account for it, rebalance a gap."""
    assert isinstance(e, LegFilled)
    book = _apply_fill(book, e)
    if not book.params.within_tolerance(book.gap_base) and book.idle:
        return _rebalance(book)
    return book, []


def _stale_order_end(book: PairBook, e: Event) -> Result:
    assert isinstance(e, OrderRejected | OrderCancelled)
    unfilled = e.amount_base if isinstance(e, OrderRejected) else e.unfilled_base
    return _order_ended(book, e.leg, e.intent, unfilled), []


def _exiting_fill(book: PairBook, e: Event) -> Result:
    """REDUCING / CLOSING: account the fill; an entry fill landing now is closed as well."""
    assert isinstance(e, LegFilled)
    book = _apply_fill(book, e)
    intents: list[Intent] = []
    if e.intent is OrderIntent.OPEN:
        if book.state is LifecycleState.CLOSING:
            book, intents = _send_closes(book)
        elif book.reduce_to_base is not None:
            book, intents = _reduce_to(book, book.reduce_to_base, OrderIntent.REBALANCE, CloseReason.LATE_FILL)
            return book, intents
    return _settle(book, intents)


def _exiting_order_failed(book: PairBook, e: Event) -> Result:
    assert isinstance(e, OrderRejected | OrderCancelled)
    unfilled = e.amount_base if isinstance(e, OrderRejected) else e.unfilled_base
    book = _order_ended(book, e.leg, e.intent, unfilled)
    if not e.intent.reduces:
        return _settle(book, [])
    book, intents = _failed_reducing(book, e.ts, f"{e.intent.value} order on the {e.leg.value} leg")
    book, out = _settle(book, intents)
    return book, out


def _exiting_tick(book: PairBook, e: Event) -> Result:
    """Re-place failed reducing orders once their backoff has passed, sized from what the legs hold now. Without a
    pending retry the state is level-triggered: a closing leg no working order covers gets its close now (e.g. a
    pair restored from a state file)."""
    assert isinstance(e, Tick)
    intents: list[Intent] = [QueryOrders(s) for s in sorted(book.unknown)]
    if book.retry_at_ts is None:
        if book.state is LifecycleState.CLOSING:
            book, out = _send_closes(book)
            return _settle(book, intents + out)
        return _settle(book, intents)
    if e.ts < book.retry_at_ts:
        return book, intents
    book = replace(book, retry_at_ts=None)
    if book.state is LifecycleState.CLOSING:
        book, out = _send_closes(book)
        return _settle(book, intents + out)
    assert book.reduce_to_base is not None
    book, out = _reduce_to(book, book.reduce_to_base, OrderIntent.REDUCE, CloseReason.RISK_REDUCTION)
    return book, intents + out


def _closed_fill(book: PairBook, e: Event) -> Result:
    """A fill after CLOSED: an entry order landed late (or a close we no longer expected): close what is held."""
    assert isinstance(e, LegFilled)
    book = _apply_fill(book, e)
    if book.flat:
        return book, []
    book, out = _start_close(replace(book, close_reason=None), CloseReason.LATE_FILL)
    return book, [
        Alert(
            "warning",
            f"late {e.intent.value} fill of {e.amount_base} on the {e.leg.value} leg after the pair closed: closing it",
        ),
        *out,
    ]


# --- the table ---------------------------------------------------------------------------------------------------
S = LifecycleState
OPENING = (S.OPENING_FIRST, S.OPENING_SECOND)
EXITING = (S.REDUCING, S.CLOSING)

TABLE: dict[tuple[LifecycleState, type], Handler] = {
    **{(s, LegFilled): _opening_fill for s in OPENING},
    **{(s, OrderRejected): _opening_order_ended for s in OPENING},
    **{(s, OrderCancelled): _opening_order_ended for s in OPENING},
    **{(s, OrderStateUnknown): _ask_venue for s in S},
    **{(s, LegTimeout): _cancel_on_timeout for s in S},
    **{(s, PositionMismatch): _adopt_venue for s in S},
    **{(s, CloseRequested): _close for s in (*OPENING, S.HEDGED, S.REDUCING)},
    (S.CLOSING, CloseRequested): _ignore,
    (S.CLOSED, CloseRequested): _ignore,
    **{(s, ReduceRequested): _close_partial_entry for s in OPENING},
    (S.HEDGED, ReduceRequested): _reduce,
    **{(s, ReduceRequested): _ignore for s in (*EXITING, S.CLOSED)},
    **{(s, Tick): _query_unknown for s in OPENING},
    (S.HEDGED, Tick): _query_unknown,
    **{(s, Tick): _exiting_tick for s in EXITING},
    (S.CLOSED, Tick): _ignore,
    (S.HEDGED, LegFilled): _hedged_fill,
    (S.HEDGED, OrderRejected): _stale_order_end,
    (S.HEDGED, OrderCancelled): _stale_order_end,
    **{(s, LegFilled): _exiting_fill for s in EXITING},
    **{(s, OrderRejected): _exiting_order_failed for s in EXITING},
    **{(s, OrderCancelled): _exiting_order_failed for s in EXITING},
    (S.CLOSED, LegFilled): _closed_fill,
    (S.CLOSED, OrderRejected): _stale_order_end,
    (S.CLOSED, OrderCancelled): _stale_order_end,
}
IMPOSSIBLE: frozenset[tuple[LifecycleState, type]] = frozenset()  # every cell is reachable from venue events


def step(book: PairBook, event: Event) -> Result:
    """Apply one event. Raises KeyError only for a cell declared IMPOSSIBLE (none today)."""
    return TABLE[(book.state, type(event))](book, event)


def is_resting(book: PairBook) -> bool:
    """HEDGED or CLOSED with nothing working: what every event sequence must end in."""
    return book.state in (S.HEDGED, S.CLOSED) and book.idle
