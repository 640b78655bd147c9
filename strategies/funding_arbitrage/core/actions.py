"""Decisions as data: what to enter, what to exit, and the rules with memory (persistence, hysteresis).

Pure core. `EdgeEngine.evaluate` (decisions.py, which re-exports these types) returns a
`TickDecision`; the strategy shell executes its `enters` and `exits` and passes every pair it holds back in
as `HeldPair`s.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from .edge import EdgeResult, OpportunityKind, ScreenedPair
from .reasons import ExitReason, Reason, SkipReason
from .snapshots import MarketKind

__all__ = [
    "EnterAction",
    "ExitAction",
    "ExitMonitor",
    "HeldPair",
    "HoldReview",
    "Streaks",
    "TickDecision",
    "held_pair",
    "take_profit_reached",
    "tick_decision",
]

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
_SECONDS_PER_HOUR = Decimal(3600)


@dataclass(frozen=True, slots=True)
class HeldPair:
    """A hedge the shell holds (or is opening): both legs carry `amount_base`."""

    pair_id: str
    token: str
    long_connector: str
    long_pair: str
    long_kind: MarketKind
    short_connector: str
    short_pair: str
    amount_base: Decimal
    entry_ts: float
    entry_notional_quote: Decimal
    funding_received_quote: Decimal | None  # None when unknown (funding paid while the bot was down, no history)
    unrealized_pnl_quote: Decimal | None  # both legs' price PnL; None when unknown

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.token, self.long_connector, self.short_connector)


_HELD_SETTERS = tuple(HeldPair.__dict__[name].__set__ for name in HeldPair.__slots__)  # slot descriptors, in order
assert tuple(HeldPair.__slots__) == tuple(HeldPair.__dataclass_fields__)
_new_object = object.__new__


def held_pair(
    pair_id: str,
    token: str,
    long_connector: str,
    long_pair: str,
    long_kind: MarketKind,
    short_connector: str,
    short_pair: str,
    amount_base: Decimal,
    entry_ts: float,
    entry_notional_quote: Decimal,
    funding_received_quote: Decimal | None,
    unrealized_pnl_quote: Decimal | None,
) -> HeldPair:
    """`HeldPair(...)`, equal in every field, without the frozen dataclass's `__init__` (one `object.__setattr__`
    per field, ~6 µs here): the shell builds one per open pair every tick. Writes each slot once, as `__init__`."""
    pair = _new_object(HeldPair)
    s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11 = _HELD_SETTERS
    s0(pair, pair_id)
    s1(pair, token)
    s2(pair, long_connector)
    s3(pair, long_pair)
    s4(pair, long_kind)
    s5(pair, short_connector)
    s6(pair, short_pair)
    s7(pair, amount_base)
    s8(pair, entry_ts)
    s9(pair, entry_notional_quote)
    s10(pair, funding_received_quote)
    s11(pair, unrealized_pnl_quote)
    return pair


@dataclass(frozen=True, slots=True)
class EnterAction:
    """Open a hedge with taker orders: buy `long_amount_base` on the long leg, sell `short_amount_base`."""

    token: str
    kind: OpportunityKind
    long_connector: str
    long_pair: str
    long_kind: MarketKind
    short_connector: str
    short_pair: str
    amount_base: Decimal  # common amount; legs differ from it by less than their own lot
    long_amount_base: Decimal
    short_amount_base: Decimal
    notional_quote: Decimal
    edge: EdgeResult


@dataclass(frozen=True, slots=True)
class ExitAction:
    pair_id: str
    reason: ExitReason
    detail: str


class HoldReview(NamedTuple):
    """A held pair at this tick (for status): forward edge, hysteresis count, take-profit figures."""

    pair_id: str
    held_hours: Decimal
    forward_edge_apr_pct: Decimal | None  # None: a leg's funding or interval is unknown this tick
    below_exit_count: int
    exit_cost_quote: Decimal | None  # None: a book is missing or too thin
    take_profit_value_quote: Decimal | None  # funding + leg PnL - exit cost; None when any part is unknown
    note: str = ""


@dataclass(frozen=True, slots=True)
class TickDecision:
    """Everything one evaluation decided; `skipped` counts markets left out, by reason."""

    ts: float
    candidates: tuple[EdgeResult, ...]
    screened: tuple[ScreenedPair, ...]
    enters: tuple[EnterAction, ...]
    exits: tuple[ExitAction, ...]
    holds: tuple[HoldReview, ...]
    skipped: dict[SkipReason, int] = field(default_factory=dict)
    screened_out: int = 0  # candidates rejected by the funding-vs-cost floor (best per token in `screened`)

    @property
    def accepted(self) -> tuple[EdgeResult, ...]:
        return tuple(c for c in self.candidates if c.reason is Reason.ACCEPTED)


_DECISION_SETTERS = tuple(TickDecision.__dict__[name].__set__ for name in TickDecision.__slots__)
assert tuple(TickDecision.__slots__) == tuple(TickDecision.__dataclass_fields__)


def tick_decision(
    ts: float,
    candidates: tuple[EdgeResult, ...],
    screened: tuple[ScreenedPair, ...],
    enters: tuple[EnterAction, ...],
    exits: tuple[ExitAction, ...],
    holds: tuple[HoldReview, ...],
    skipped: dict[SkipReason, int],
    screened_out: int,
) -> TickDecision:
    """`TickDecision(...)`, equal in every field, without the frozen dataclass's `__init__` (one per tick)."""
    decision = _new_object(TickDecision)
    for setter, value in zip(
        _DECISION_SETTERS, (ts, candidates, screened, enters, exits, holds, skipped, screened_out), strict=True
    ):
        setter(decision, value)
    return decision


class Streaks[K: Hashable]:
    """Consecutive passing evaluations per key; a key not passing (or not evaluated) restarts at 0."""

    def __init__(self) -> None:
        self._counts: dict[K, int] = {}

    def update(self, passing: Iterable[K]) -> dict[K, int]:
        self._counts = {k: self._counts.get(k, 0) + 1 for k in passing}
        return self._counts

    def count(self, key: K) -> int:
        return self._counts.get(key, 0)

    def reset(self, key: K) -> None:
        self._counts.pop(key, None)


class ExitMonitor:
    """Hysteresis of the exit rule: ticks in a row a held pair's forward edge stayed below the threshold.

    Unknown forward edge leaves the count as it is; pairs no longer held are forgotten.
    """

    def __init__(self) -> None:
        self._below: dict[str, int] = {}

    def update(self, pair_id: str, forward_apr_pct: Decimal | None, threshold_apr_pct: Decimal) -> int:
        count = self._below.get(pair_id, 0)
        if forward_apr_pct is not None:
            count = count + 1 if forward_apr_pct < threshold_apr_pct else 0
        self._below[pair_id] = count
        return count

    def retain(self, pair_ids: Iterable[str]) -> None:
        keep = set(pair_ids)
        for pid in [p for p in self._below if p not in keep]:
            del self._below[pid]

    def count(self, pair_id: str) -> int:
        return self._below.get(pair_id, 0)


def held_hours(pair: HeldPair, ts: float) -> Decimal:
    return Decimal(str(ts - pair.entry_ts)) / _SECONDS_PER_HOUR


def take_profit_reached(
    pair: HeldPair, exit_cost_quote: Decimal | None, take_profit_pct: Decimal
) -> tuple[bool, Decimal | None]:
    """funding + leg PnL - exit cost >= take_profit_pct % of entry notional; (False, None) when any part is unknown
    (an unknown funding total is never taken as what was booked: that would understate it)."""
    if pair.unrealized_pnl_quote is None or exit_cost_quote is None or pair.funding_received_quote is None:
        return False, None
    value = pair.funding_received_quote + pair.unrealized_pnl_quote - exit_cost_quote
    return value >= take_profit_pct / _HUNDRED * pair.entry_notional_quote, value


def exit_decision(
    pair: HeldPair,
    hours: Decimal,
    below_count: int,
    tp_hit: bool,
    tp_value: Decimal | None,
    max_holding_hours: Decimal,
    exit_confirmations: int,
    forward_apr: Decimal | None,
) -> ExitAction | None:
    """Max holding first (needs no market data), then take profit, then the decayed edge."""
    if hours >= max_holding_hours:
        return ExitAction(pair.pair_id, ExitReason.MAX_HOLDING, f"held {hours:.2f}h >= max {max_holding_hours}h")
    if tp_hit:
        return ExitAction(pair.pair_id, ExitReason.TAKE_PROFIT, f"funding+pnl-exit cost {tp_value:.4f} quote")
    if below_count >= exit_confirmations:
        shown = "unknown now" if forward_apr is None else f"{forward_apr:.4f}%"
        return ExitAction(
            pair.pair_id,
            ExitReason.EDGE_DECAYED,
            f"forward APR below threshold for {below_count} ticks (last {shown})",
        )
    return None
