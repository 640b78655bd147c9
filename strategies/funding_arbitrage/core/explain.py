"""Why the nearest candidates are not entered: the full edge breakdown and every blocking reason (pure core).

`status` asks for it on demand; nothing here runs in the tick. Candidates the engine costed this tick come with their
`EdgeResult`; the best pair of each token that the cost floor screened out (`TickDecision.screened`, never sized) is
sized and costed here on the last tick's books with the engine's own `candidates.evaluate_pair` (same sizing,
fees, slippage, forecast and verdict: no second cost model). Gates outside the engine (risk state, operator pause,
a token already held, a cooldown after a failed entry) are passed in by the shell as `EntryGates`.

Figures are in quote over the expected holding period (`holding_hours`, from the funding forecast, capped at the
horizon); unknown figures are None (printed N/A), never 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from .candidates import EngineParams, TickScratch, evaluate_pair
from .edge import EdgeResult, ScreenedPair
from .market_data import MarketKey, MarketQuote
from .reasons import Reason

DEFAULT_NEAREST = 8
_CAPS = (Reason.TOKEN_CAP, Reason.VENUE_CAP, Reason.TOTAL_CAP)


@dataclass(frozen=True)
class EntryGates:
    """What stops any entry besides the edge, as the shell sees it now.

    `denial`: the risk gate's answer for new entries (None: allowed), e.g. "halted: ..." or "paused: ...".
    `held_tokens`: tokens with an open pair (one pair per token). `cooling_until_ts`: token -> end of its cooldown.
    """

    now_ts: float
    denial: str | None = None
    held_tokens: frozenset[str] = frozenset()
    cooling_until_ts: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Explanation:
    """One candidate's edge over its expected holding period, in quote, and why it is not entered."""

    token: str
    kind: str
    long_connector: str
    short_connector: str
    spread_apr_pct: Decimal  # short funding APR minus long funding APR now
    notional_quote: Decimal | None
    holding_hours: Decimal | None
    funding_quote: Decimal | None  # expected funding received net of paid over holding_hours
    fees_quote: Decimal | None  # entry + exit
    slippage_quote: Decimal | None  # entry + exit
    basis_quote: Decimal | None  # gain from entry basis minus assumed exit basis
    borrow_quote: Decimal | None
    net_quote: Decimal | None
    net_pct: Decimal | None
    required_pct: Decimal | None  # min_net_edge_pct + the uncertainty margin
    break_even_hours: Decimal | None
    reasons: tuple[str, ...]  # empty: it enters

    @property
    def margin_pct(self) -> Decimal | None:
        """Net minus required, percentage points (negative: short of entry)."""
        return None if self.net_pct is None or self.required_pct is None else self.net_pct - self.required_pct


def cost_screened(
    t: TickScratch, p: EngineParams, quotes: Mapping[MarketKey, MarketQuote], screened: Iterable[ScreenedPair]
) -> list[EdgeResult]:
    """Size and cost each screened pair on the books of the tick `t` belongs to (`evaluate_pair`)."""
    by_leg = {(k[0], q.market.token): q for k, q in quotes.items()}
    out: list[EdgeResult] = []
    for s in screened:
        long, short = by_leg.get((s.long_connector, s.token)), by_leg.get((s.short_connector, s.token))
        if long is None or short is None or short.rate_per_hour is None:
            continue
        out.append(evaluate_pair(t, p, s.token, long, short, p.order_quote, 0))
    return out


def nearest(results: Sequence[EdgeResult], n: int = DEFAULT_NEAREST) -> list[EdgeResult]:
    """The `n` results closest to entry: accepted first, then by net edge minus required (unknown last)."""

    def key(r: EdgeResult) -> tuple[int, Decimal]:
        if r.edge_margin_pct is not None:
            return (0 if r.accepted else 1, -r.edge_margin_pct)
        return (2, -(r.net_edge_pct if r.net_edge_pct is not None else Decimal("-1e9")))

    return sorted(results, key=key)[:n]


def explain(result: EdgeResult, gates: EntryGates) -> Explanation:
    """The breakdown of `result` and every reason it is not entered now (engine verdict first, then gates)."""
    c = result.components
    required = None
    if result.net_edge_pct is not None and result.edge_margin_pct is not None:
        required = result.net_edge_pct - result.edge_margin_pct
    return Explanation(
        result.token,
        result.kind.value,
        result.long_connector,
        result.short_connector,
        result.funding_spread_apr_pct,
        result.notional_quote,
        result.horizon_hours if c is not None else None,
        None if c is None else c.funding_quote,
        None if c is None else c.entry_fees_quote + c.exit_fees_quote,
        None if c is None else c.entry_slippage_quote + c.exit_slippage_quote,
        None if c is None else c.basis_quote,
        None if c is None else c.borrow_quote,
        None if c is None else c.net_quote,
        result.net_edge_pct,
        required,
        result.break_even_hours,
        (*_engine_reasons(result, required), *_gate_reasons(result.token, gates)),
    )


def _engine_reasons(r: EdgeResult, required_pct: Decimal | None) -> tuple[str, ...]:
    if r.reason is Reason.ACCEPTED:
        return ()
    if r.reason is Reason.EDGE_BELOW_MIN and r.net_edge_pct is not None and required_pct is not None:
        minimum = r.threshold_pct
        if r.net_edge_pct < minimum:
            return (f"below floor: net {r.net_edge_pct:.3f}% < min {minimum:g}%",)
        return (
            f"uncertainty margin: net {r.net_edge_pct:.3f}% >= min {minimum:g}% but < required "
            f"{required_pct:.3f}% (min + entry_uncertainty_z std errors of the funding forecast)",
        )
    if r.reason is Reason.BREAK_EVEN_TOO_LONG and r.break_even_hours is not None:
        return (f"break-even too long: {r.break_even_hours:.0f}h > max_break_even_hours",)
    if r.reason in _CAPS:
        return (f"cap ({r.reason.value}): {r.detail}",)
    if r.reason is Reason.AWAITING_PERSISTENCE:
        return (f"persistence: {r.detail.split(';', 1)[0]}",)
    return (f"{r.reason.value}: {r.detail}" if r.detail else r.reason.value,)


def _gate_reasons(token: str, gates: EntryGates) -> tuple[str, ...]:
    out: list[str] = []
    if gates.denial is not None:
        out.append(gates.denial)
    if token in gates.held_tokens:
        out.append(f"{token} already held (one pair per token)")
    until = gates.cooling_until_ts.get(token)
    if until is not None and until > gates.now_ts:
        out.append(f"cooldown after a failed entry: {_duration(until - gates.now_ts)} left")
    return tuple(out)


def _duration(seconds: float) -> str:
    """'2d 3h', '3h 12m', '4m 5s', '20s'."""
    s = int(seconds)
    d, h, m, sec = s // 86400, s % 86400 // 3600, s % 3600 // 60, s % 60
    if d:
        return f"{d}d {h}h"
    if h:
        return f"{h}h {m}m"
    return f"{m}m {sec}s" if m else f"{sec}s"
