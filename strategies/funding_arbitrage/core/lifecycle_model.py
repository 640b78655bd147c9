"""The pair lifecycle's data (pure core): states, typed events, order intents, sizes and the per-pair book.

`core/lifecycle.py` holds the behaviour: one table (state, event) -> handler -> (new state, intents).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum

ZERO = Decimal(0)


class LifecycleState(StrEnum):
    OPENING_FIRST = "OPENING_FIRST"  # the first leg's entry order is working; nothing filled yet
    OPENING_SECOND = "OPENING_SECOND"  # the first leg filled (some); the second follows its fills
    HEDGED = "HEDGED"
    REDUCING = "REDUCING"  # reduce-only orders on one or both legs (risk reduction or rebalance)
    CLOSING = "CLOSING"  # reduce-only closes of everything held, retried until flat
    CLOSED = "CLOSED"  # flat, nothing working


class LegSide(StrEnum):
    LONG = "long"
    SHORT = "short"

    @property
    def other(self) -> LegSide:
        return LegSide.SHORT if self is LegSide.LONG else LegSide.LONG


class OrderIntent(StrEnum):
    """Why an order was placed; only OPEN may increase a leg."""

    OPEN = "open"
    CLOSE = "close"
    REDUCE = "reduce"
    REBALANCE = "rebalance"

    @property
    def reduces(self) -> bool:
        return self is not OrderIntent.OPEN


class CloseReason(StrEnum):
    ENTRY_REJECTED = "entry_rejected"  # the first leg never filled (rejected, cancelled, timed out)
    ENTRY_TOO_SMALL = "entry_too_small"  # what could be hedged is below the venue minimum
    SECOND_LEG_FAILED = "second_leg_failed"  # the second leg could not follow: first leg rolled back
    MAX_HOLDING = "max_holding"
    TAKE_PROFIT = "take_profit"
    EDGE_DECAYED = "edge_decayed"
    SWITCH = "switch"  # closed for a better pair (core/switching.py)
    RISK_REDUCTION = "risk_reduction"  # a reduction that left less than the minimum: closed whole
    IMBALANCED = "imbalanced"  # venue positions no longer hedge each other and cannot be rebalanced
    OPERATOR = "operator"
    ORPHAN = "orphan"  # restart recovery found a leg nobody can pair
    LATE_FILL = "late_fill"  # an entry order filled after the pair was given up or closed


# --- events ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LegFilled:
    """`amount_base` (> 0) of an order of `intent` on `leg` filled."""

    ts: float
    leg: LegSide
    intent: OrderIntent
    amount_base: Decimal


@dataclass(frozen=True)
class OrderRejected:
    """An order was refused (synchronously or by the venue); `amount_base` of it will never fill."""

    ts: float
    leg: LegSide
    intent: OrderIntent
    amount_base: Decimal


@dataclass(frozen=True)
class OrderCancelled:
    """An order ended without filling `unfilled_base` (cancelled by us, by the venue, or expired)."""

    ts: float
    leg: LegSide
    intent: OrderIntent
    unfilled_base: Decimal


@dataclass(frozen=True)
class OrderStateUnknown:
    """An order's state cannot be known from events (disconnect, restart): ask the venue before anything else.

    `resolved=True` is the venue's answer having been delivered (its fills and ends sent as the events above):
    the leg's decisions, held back meanwhile, resume."""

    ts: float
    leg: LegSide
    resolved: bool = False


@dataclass(frozen=True)
class LegTimeout:
    """A working order on `leg` has been working longer than the timeout (the shell's timer)."""

    ts: float
    leg: LegSide


@dataclass(frozen=True)
class PositionMismatch:
    """The venues hold other amounts than the book (absolute base per leg): the venue is the truth."""

    ts: float
    long_base: Decimal
    short_base: Decimal


@dataclass(frozen=True)
class CloseRequested:
    ts: float
    reason: CloseReason


@dataclass(frozen=True)
class ReduceRequested:
    """Cut both legs by `fraction` (0 < f <= 1) of what they hold."""

    ts: float
    fraction: Decimal
    reason: CloseReason


@dataclass(frozen=True)
class Tick:
    ts: float


Event = (
    LegFilled
    | OrderRejected
    | OrderCancelled
    | OrderStateUnknown
    | LegTimeout
    | PositionMismatch
    | CloseRequested
    | ReduceRequested
    | Tick
)
EVENT_TYPES: tuple[type, ...] = (
    LegFilled,
    OrderRejected,
    OrderCancelled,
    OrderStateUnknown,
    LegTimeout,
    PositionMismatch,
    CloseRequested,
    ReduceRequested,
    Tick,
)


# --- intents -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlaceOrder:
    """Send an order on `leg`. Side follows from leg and intent (OPEN on LONG buys; any reducing intent on LONG
    sells); reducing intents go out reduce-only (`PositionAction.CLOSE`). `taker`: at market, else maker-first."""

    leg: LegSide
    intent: OrderIntent
    amount_base: Decimal
    taker: bool = True


@dataclass(frozen=True)
class CancelOrders:
    leg: LegSide


@dataclass(frozen=True)
class QueryOrders:
    """Ask the venue (order status, trade history) for the true state of the leg's orders."""

    leg: LegSide


@dataclass(frozen=True)
class Alert:
    severity: str  # "warning" | "critical"
    message: str


@dataclass(frozen=True)
class HaltEntries:
    reason: str


@dataclass(frozen=True)
class EntryFailed:
    """The entry failed: the shell starts (or extends) the token's cooldown."""

    reason: CloseReason


Intent = PlaceOrder | CancelOrders | QueryOrders | Alert | HaltEntries | EntryFailed


# --- the book ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LifecycleParams:
    """Per-pair sizes and timers. `lot_base`: the coarser lot of the two legs; `min_base`: the smallest amount
    both venues accept (min order size, min notional / price); seconds for timers."""

    lot_base: Decimal
    min_base: Decimal
    max_entry_retries: int = 2
    retry_backoff_s: float = 5.0
    max_backoff_s: float = 300.0
    escalate_after: int = 3

    def floor_lot(self, amount: Decimal) -> Decimal:
        if self.lot_base <= 0:
            return amount
        return (amount / self.lot_base).to_integral_value(rounding=ROUND_FLOOR) * self.lot_base

    def ceil_lot(self, amount: Decimal) -> Decimal:
        if self.lot_base <= 0:
            return amount
        return (amount / self.lot_base).to_integral_value(rounding=ROUND_CEILING) * self.lot_base

    def within_tolerance(self, gap_base: Decimal) -> bool:
        """A gap counts as hedged when it is at most one lot (lot matching cannot do better) or below the minimum
        order (no reduce-only order can trade it away)."""
        return gap_base <= self.lot_base or gap_base < self.min_base


@dataclass(frozen=True)
class LegBook:
    held_base: Decimal = ZERO  # absolute amount held (from fills; the venue's when they differ)
    working_open_base: Decimal = ZERO  # entry orders still working (may add)
    working_close_base: Decimal = ZERO  # reducing orders still working (may remove)

    @property
    def idle(self) -> bool:
        return self.working_open_base <= 0 and self.working_close_base <= 0


@dataclass(frozen=True)
class PairBook:
    state: LifecycleState
    first: LegSide  # the leg sent first (less liquid)
    target_base: Decimal  # the wanted size of each leg while opening (absolute)
    params: LifecycleParams
    long: LegBook = field(default_factory=LegBook)
    short: LegBook = field(default_factory=LegBook)
    close_reason: CloseReason | None = None
    failures: int = 0  # consecutive failed reducing orders (backoff, escalation)
    entry_retries: int = 0  # second-leg retries so far
    retry_at_ts: float | None = None  # when to re-place failed reducing orders
    unknown: frozenset[LegSide] = frozenset()  # legs whose order state is being asked of the venue
    reduce_to_base: Decimal | None = None  # REDUCING: the size both legs end at
    maker_first: frozenset[LegSide] = frozenset()  # legs whose working entry order rests as maker
    followed_base: Decimal = ZERO  # how much of the first leg's fills second-leg orders were sent for

    def leg(self, side: LegSide) -> LegBook:
        return self.long if side is LegSide.LONG else self.short

    def with_leg(self, side: LegSide, leg: LegBook) -> PairBook:
        return replace(self, long=leg) if side is LegSide.LONG else replace(self, short=leg)

    @property
    def gap_base(self) -> Decimal:
        return abs(self.long.held_base - self.short.held_base)

    @property
    def idle(self) -> bool:
        return self.long.idle and self.short.idle

    @property
    def flat(self) -> bool:
        return self.long.held_base <= 0 and self.short.held_base <= 0
