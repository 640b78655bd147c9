"""Review of held pairs, one per tick each: the expected-value hold rule, take-profit, max holding (pure core).

Split out of `decisions.py` (the `EdgeEngine` calls `HoldReviewer.review` once per tick with every pair the shell
holds). Per pair: the forward value of its funding spread (`holding.ForwardValue`) over `exit_forward_hours`, the
exit cost (fees and slippage of closing both legs now, `recost.ExitCosts` for when it is reused), the hysteresis
count of ticks in a row calling for an exit (`actions.ExitMonitor`), take-profit and max holding
(`actions.exit_decision`).

Exact memo (`_ForwardMemo`): the forecast of a pair's spread depends only on its markets' per-hour rates, the
forecaster's recorded settlements (its `revision` grows with any market's), the horizon and the forecaster itself,
none of which moves between two settlements or rate updates; the notional (amount x the short leg's mark) moves
every tick and is applied every tick with the same arithmetic as `ForwardValue.of`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import NamedTuple

from .actions import ExitAction, ExitMonitor, HeldPair, HoldReview, exit_decision, held_hours, take_profit_reached
from .candidates import EngineParams, TickScratch
from .costs import Infeasible, exit_cost
from .forecast import Forecast, FundingForecaster
from .holding import ForwardValue, confidently_negative, should_exit
from .market_data import MarketKey, MarketQuote
from .orderbook import BookDataError, check_book
from .reasons import SkipReason
from .recost import ExitCosts
from .snapshots import MarketKind

logger = logging.getLogger(__name__)

_ZERO = Decimal(0)
_MINUS_ONE = Decimal(-1)
_ONE = Decimal(1)
_HOURS_PER_YEAR = Decimal(8760)
_HUNDRED = Decimal(100)
_new_tuple = tuple.__new__  # a NamedTuple without its Python-level constructor (hot path)


class _ForwardMemo(NamedTuple):
    """A held pair's forecast and the parts of `ForwardValue.of` that do not depend on its notional."""

    inputs: tuple[object, ...]  # forecaster, long key, short key, start rate, horizon, its revision, exit z
    expected_fraction: Decimal
    sd_fraction: Decimal
    upper_apr_pct: Decimal


class HoldReviewer:
    """Per-pair state of the hold review: hysteresis counts, last exit costs, forecast memos (pairs no longer
    held are forgotten every tick)."""

    def __init__(self) -> None:
        self.monitor = ExitMonitor()
        self.exit_costs = ExitCosts()
        self._forward: dict[str, _ForwardMemo] = {}
        self._tp_line: dict[str, tuple[Decimal, Decimal, Decimal]] = {}  # (entry notional, take-profit %, line)

    def reset_costs(self) -> None:
        """Forget every reusable exit cost and forecast (settings changed: they may depend on any of them)."""
        self.exit_costs = ExitCosts()
        self._forward.clear()
        self._tp_line.clear()

    def review(
        self,
        t: TickScratch,
        p: EngineParams,
        forecaster: FundingForecaster,
        switching: bool,
        held: Sequence[HeldPair],
        by_key: dict[MarketKey, MarketQuote],
    ) -> tuple[list[ExitAction], list[HoldReview]]:
        """Every held pair's exit action (or None) and review; a pair whose review fails is counted and skipped."""
        exits: list[ExitAction] = []
        reviews: list[HoldReview] = []
        for pair in held:
            try:
                action, review = self._review_one(t, p, forecaster, switching, pair, by_key)
            except Exception:
                logger.exception("hold_review reason=internal_error pair_id=%s", pair.pair_id)
                t.skipped[SkipReason.INTERNAL_ERROR] += 1
                continue
            reviews.append(review)
            if action is not None:
                exits.append(action)
        ids = {p.pair_id for p in held}
        self.monitor.retain(ids)
        self.exit_costs.retain(ids)
        for memo in (self._forward, self._tp_line):
            if len(memo) > len(ids):
                for gone in [k for k in memo if k not in ids]:
                    del memo[gone]
        return exits, reviews

    def _review_one(
        self,
        t: TickScratch,
        p: EngineParams,
        forecaster: FundingForecaster,
        switching: bool,
        pair: HeldPair,
        by_key: dict[MarketKey, MarketQuote],
    ) -> tuple[ExitAction | None, HoldReview]:
        """Expected-value hold rule (`holding`): exit only on a confidently negative forward carry, confirmed."""
        long = by_key.get((pair.long_connector, pair.long_pair))
        short = by_key.get((pair.short_connector, pair.short_pair))
        value = self._forward_value(forecaster, p, pair, long, short)
        cost, note = None, ""
        if long is None or short is None:
            note = "a leg's market is not usable this tick"
        elif t.bad_book(long) or t.bad_book(short):
            note = "a leg's book failed validation"
        else:
            inputs, mids = (pair.amount_base, long.market.fees, short.market.fees), (long.mid, short.mid)
            cost = self.exit_costs.get(pair.pair_id, t.ts, inputs, mids)
            if cost is not None and (switching or self._cost_decides(pair, value, p)):
                cost = None  # an exit (or the switch gain, which reads it too) may hang on it: cost it on the books
            if cost is None:
                cost, note = live_exit_cost(t, pair, long, short)
                self.exit_costs.put(pair.pair_id, t.ts, inputs, mids, cost)
        forward_apr = None if value is None else value.upper_apr_pct
        signal, floor_hit = None, False  # the monitor counts consecutive ticks that call for an exit
        if value is not None and forward_apr is not None:
            # an operator's positive exit_edge_apr_pct is an explicit floor: exit when even the optimistic
            # forecast is below it; otherwise only the expected-value rule (`holding`) exits
            floor_hit = p.exit_apr_pct > _ZERO and forward_apr < p.exit_apr_pct
            negative = confidently_negative(value, cost, p.exit_z) and forward_apr < min(p.exit_apr_pct, _ZERO)
            signal = _MINUS_ONE if negative or floor_hit else _ONE
        below = self.monitor.update(pair.pair_id, signal, _ZERO)
        tp_hit, tp_value = take_profit_reached(pair, cost, p.take_profit_pct)
        hours = held_hours(pair, t.ts)
        exiting = value is not None and (
            should_exit(value, cost, p.exit_z, below, p.exit_confirmations)
            or (floor_hit and below >= p.exit_confirmations)
        )
        action = exit_decision(
            pair,
            hours,
            below if exiting else 0,
            tp_hit,
            tp_value,
            p.max_holding_hours,
            p.exit_confirmations,
            forward_apr,
        )
        return action, _new_tuple(HoldReview, (pair.pair_id, hours, forward_apr, below, cost, tp_value, note))

    def _cost_decides(self, pair: HeldPair, value: ForwardValue | None, p: EngineParams) -> bool:
        """Whether a held pair's exit cost can decide an exit this tick (then it is costed on the live books, never
        reused): the forecast carry is negative beyond its uncertainty (the hold rule compares it with the cost), or
        funding + leg PnL has reached take-profit's line (take-profit fires when funding + PnL - cost >= the line, so
        below the line no cost >= 0 can fire it, and at or above it the cost decides). The line is kept per pair
        while its entry notional and the setting are the same."""
        if value is not None and value.carry_quote + p.exit_z * value.sd_quote < _ZERO:
            return True
        funding, pnl = pair.funding_received_quote, pair.unrealized_pnl_quote
        if funding is None or pnl is None:
            return False
        notional, pct = pair.entry_notional_quote, p.take_profit_pct
        line = self._tp_line.get(pair.pair_id)
        if line is None or line[0] != notional or line[1] != pct:
            line = self._tp_line[pair.pair_id] = (notional, pct, pct / 100 * notional)
        return funding + pnl >= line[2]

    def _forward_value(
        self,
        forecaster: FundingForecaster,
        p: EngineParams,
        pair: HeldPair,
        long: MarketQuote | None,
        short: MarketQuote | None,
    ) -> ForwardValue | None:
        """`forward_value` over `exit_forward_hours`, the forecast part reused while its inputs are the same."""
        found = _forward_start(pair, long, short)
        if found is None or short is None:
            return None
        start, long_key = found
        short_key, hours = short.key, p.exit_forward_hours
        inputs = (forecaster, long_key, short_key, start, hours, forecaster.revision, p.exit_z)
        memo = self._forward.get(pair.pair_id)
        if memo is None or memo.inputs != inputs:
            fc = forecaster.forward(long_key, short_key, start, hours)
            memo = self._forward[pair.pair_id] = _ForwardMemo(
                inputs, fc.expected_fraction, fc.sd_fraction, _upper_apr_pct(fc, p.exit_z)
            )
        notional = pair.amount_base * short.mark
        return _new_tuple(
            ForwardValue, (memo.expected_fraction * notional, memo.sd_fraction * notional, memo.upper_apr_pct)
        )


def _upper_apr_pct(fc: Forecast, z: Decimal) -> Decimal:
    """`ForwardValue.of`'s upper APR % (the same arithmetic, in the same order)."""
    return (fc.mean_rate_per_hour + z * fc.sd_mean_rate_per_hour) * _HOURS_PER_YEAR * _HUNDRED


def forward_value(
    forecaster: FundingForecaster,
    p: EngineParams,
    pair: HeldPair,
    long: MarketQuote | None,
    short: MarketQuote | None,
    hours: Decimal | None = None,
) -> ForwardValue | None:
    """Forecast funding of the held pair over `hours` (default `exit_forward_hours`); None when a rate is
    unknown."""
    found = _forward_start(pair, long, short)
    if found is None or short is None:
        return None
    start, long_key = found
    fc = forecaster.forward(long_key, short.key, start, p.exit_forward_hours if hours is None else hours)
    return ForwardValue.of(fc, pair.amount_base * short.mark, p.exit_z)


def _forward_start(
    pair: HeldPair, long: MarketQuote | None, short: MarketQuote | None
) -> tuple[Decimal, MarketKey | None] | None:
    """The held pair's funding rate per hour now (short minus long; the short's alone for a spot long) and the
    long leg's market key for the forecast (None for spot); None when a rate is unknown."""
    if short is None or short.rate_per_hour is None or long is None:
        return None
    if pair.long_kind == MarketKind.SPOT:
        return short.rate_per_hour, None
    if long.rate_per_hour is None:
        return None
    return short.rate_per_hour - long.rate_per_hour, long.key


def live_exit_cost(t: TickScratch, pair: HeldPair, long: MarketQuote, short: MarketQuote) -> tuple[Decimal | None, str]:
    """Fees and slippage of closing both legs now on the current books; None with a note when unknown."""
    if t.bad_book(long) or t.bad_book(short):
        return None, "a leg's book failed validation"
    try:
        closing = exit_cost(t.leg(long), t.leg(short), pair.amount_base)
    except BookDataError as e:
        t.mark_bad_book(long if check_book(t.leg(long).book) else short, e.reason)
        return None, f"a leg's book failed validation: {e}"
    if isinstance(closing, Infeasible):
        return None, closing.detail
    return sum((c.fee_quote + c.slippage_quote for c in closing), Decimal(0)), ""
