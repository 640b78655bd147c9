"""Switch a held pair for a better one on expected value, without churn (pure core).

A held pair A is compared with a candidate B that passes the entry rules this tick (edge and break-even; the
persistence the entry asks for in ticks, the switch asks for in time: `switch_confirm_hours`). B's value is its
expected net over its own expected holding period H (funding minus entry and exit costs on the live books, plus
basis), scaled to A's notional; A's value is its forecast funding over
the same H. The switch gain (`holding.switch_gain`) subtracts A's exit cost on the live books and
`switch_uncertainty_z` combined std errors of both forecasts. Candidates are

* pairs of A's token on other venues, or carry instead of perp-perp (and back);
* with capital binding (B of another token refused by the total or a venue cap), B scaled to the capital
  closing A frees (A's notional at most).

No churn: A is switched out only after `switch_min_hold_hours` held, and only once the gain stayed positive for
`switch_confirm_hours` without a break (a dip shorter than that never switches; the hold rule's forecast already
reverts such dips). After the switch, the pair switched out is not re-entered while its replacement is on offer,
for `switch_min_hold_hours`; the replacement is itself held at least that long, so A -> B -> A needs the gain to
pay two full switches in both directions, confirmed twice.

Example: A carries 0.8 quote over H, its exit costs 0.5; B nets 2.6 after its own costs over H; std errors 0.6
and 0.8, z = 1: gain = 2.6 - 0.8 - 0.5 - 1.0 = +0.3 > 0, so A is closed with reason `switch` and B enters once A
is flat.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from .actions import ExitAction, HeldPair
from .edge import EdgeResult, PairKey
from .holding import ForwardValue, switch_gain
from .reasons import ExitReason, Reason

logger = logging.getLogger(__name__)
_ZERO = Decimal(0)
_ONE = Decimal(1)
_SECONDS_PER_HOUR = Decimal(3600)
CAPITAL_BOUND = (Reason.TOTAL_CAP, Reason.VENUE_CAP)  # refusals that mean capital, not the token, binds

# (held pair, horizon hours) -> its forecast funding over that horizon; None when a rate or leg is unknown
ForwardAt = Callable[[HeldPair, Decimal], ForwardValue | None]


@dataclass(frozen=True, slots=True)
class SwitchOption:
    """The best switch for one held pair at one tick."""

    pair_id: str
    token: str
    target: PairKey
    gain_quote: Decimal
    detail: str


@dataclass(frozen=True, slots=True)
class SwitchParams:
    enabled: bool
    z: Decimal
    min_hold_s: float
    confirm_s: float

    @classmethod
    def of(cls, enabled: bool, z: Decimal, min_hold_hours: Decimal, confirm_hours: Decimal) -> SwitchParams:
        return cls(enabled, z, float(min_hold_hours * _SECONDS_PER_HOUR), float(confirm_hours * _SECONDS_PER_HOUR))


def candidate_gain(
    held: HeldPair,
    held_value: ForwardValue,
    exit_cost_quote: Decimal,
    new: EdgeResult,
    z: Decimal,
    scale_to_quote: Decimal,
) -> Decimal | None:
    """Switch gain of held -> new with new scaled to `scale_to_quote` notional; None when new has no figures."""
    if new.net_edge_quote is None or new.size is None or new.funding_sd_quote is None:
        return None
    if new.size.notional_quote <= _ZERO:
        return None
    k = scale_to_quote / new.size.notional_quote
    return switch_gain(held_value, exit_cost_quote, new.net_edge_quote * k, new.funding_sd_quote * k, z)


def best_switch(
    held: HeldPair,
    exit_cost_quote: Decimal | None,
    notional_quote: Decimal,
    options: Iterable[tuple[EdgeResult, Decimal]],
    forward_at: ForwardAt,
    z: Decimal,
) -> SwitchOption | None:
    """The option (candidate, notional it is compared at) with the largest gain > 0, or None.

    An unknown exit cost or forward value never switches (the cost of the switch must come from the books)."""
    if exit_cost_quote is None:
        return None
    best: SwitchOption | None = None
    for new, scale in options:
        if new.key == held.key or new.horizon_hours <= _ZERO:
            continue
        value = forward_at(held, new.horizon_hours)
        if value is None:
            return None
        gain = candidate_gain(held, value, exit_cost_quote, new, z, min(scale, notional_quote))
        if gain is not None and gain > _ZERO and (best is None or gain > best.gain_quote):
            best = SwitchOption(
                held.pair_id,
                new.token,
                new.key,
                gain,
                f"switch to {new.long_connector}/{new.short_connector} {new.token}: gain {gain:.4f} quote over "
                f"{new.horizon_hours:.1f}h after exit cost {exit_cost_quote:.4f}, held forward {value.carry_quote:.4f}",
            )
    return best


class SwitchMonitor:
    """Memory of the switch rule: since when each held pair's switch gain has stayed positive, and the pairs
    recently switched out (token -> (key switched out, key switched to, until ts))."""

    def __init__(self) -> None:
        self._since: dict[str, float] = {}
        self.pending: dict[str, tuple[PairKey, PairKey, float]] = {}

    def decide(
        self,
        ts: float,
        params: SwitchParams,
        held: Sequence[HeldPair],
        exit_costs: Mapping[str, Decimal | None],
        closing: set[str],
        passing: Sequence[EdgeResult],
        results: Sequence[EdgeResult],
        notional_of: Callable[[HeldPair], Decimal | None],
        forward_at: ForwardAt,
    ) -> list[ExitAction]:
        """The switches due this tick, as exits with reason `switch`. `exit_costs`: each held pair's exit cost on
        the books (None: unknown); `closing`: pairs the hold rule closes this tick (never switched); `passing`:
        candidates passing the entry rules; `results`: this tick's verdicts after the allocation (the cap-refused
        ones are the capital-binding options). A pair whose review fails is logged and left held."""
        refused = [r for r in results if r.reason in CAPITAL_BOUND]
        tokens = {h.token for h in held}
        options = {}
        for pair in held:
            try:
                notional = notional_of(pair)
                if pair.pair_id in closing or notional is None:
                    continue
                candidates = options_for(pair, passing, refused, tokens)
                found = best_switch(pair, exit_costs.get(pair.pair_id), notional, candidates, forward_at, params.z)
            except Exception:  # one pair's bad figures never stop another pair's review
                logger.exception("switch_review reason=internal_error pair_id=%s", pair.pair_id)
                continue
            if found is not None:
                options[pair.pair_id] = found
        due = self.step(ts, params, [h for h in held if h.pair_id not in closing], options)
        out: list[ExitAction] = []
        targets: set[str] = set()
        for pair, option in sorted(due, key=lambda d: d[1].gain_quote, reverse=True):
            if option.target[0] != pair.token and option.target[0] in targets:
                continue  # one freed slot per refused token this tick
            targets.add(option.target[0])
            out.append(self.switched(ts, params, pair, option))
        return out

    def step(
        self, ts: float, params: SwitchParams, held: Sequence[HeldPair], options: dict[str, SwitchOption]
    ) -> list[tuple[HeldPair, SwitchOption]]:
        """Update the confirmation clocks with this tick's best options; return the switches due now."""
        due: list[tuple[HeldPair, SwitchOption]] = []
        since: dict[str, float] = {}
        for pair in held:
            option = options.get(pair.pair_id)
            if option is None:
                continue  # no positive gain this tick (or unknown): the clock restarts
            start = self._since.get(pair.pair_id, ts)
            since[pair.pair_id] = start
            if ts - pair.entry_ts >= params.min_hold_s and ts - start >= params.confirm_s:
                due.append((pair, option))
        self._since = since
        for token in [t for t, p in self.pending.items() if p[2] <= ts]:
            del self.pending[token]
        return due

    def switched(self, ts: float, params: SwitchParams, pair: HeldPair, option: SwitchOption) -> ExitAction:
        """Record a switch decided now; the exit action that starts it."""
        self._since.pop(pair.pair_id, None)
        self.pending[pair.token] = (pair.key, option.target, ts + params.min_hold_s)
        return ExitAction(pair.pair_id, ExitReason.SWITCH, option.detail)

    def target(self, token: str) -> PairKey | None:
        """The pair a held pair of `token` was recently switched for, if any."""
        pending = self.pending.get(token)
        return None if pending is None else pending[1]

    def blocks(self, result: EdgeResult, on_offer: set[PairKey]) -> str | None:
        """Why `result` must not enter now: it is the pair just switched out and its replacement is on offer."""
        pending = self.pending.get(result.token)
        if pending is None or result.key != pending[0] or pending[1] not in on_offer:
            return None
        return f"switched out for {pending[1][1]}/{pending[1][2]}, which is still on offer"


def options_for(
    held: HeldPair,
    passing: Sequence[EdgeResult],
    capital_refused: Sequence[EdgeResult],
    held_tokens: set[str],
) -> list[tuple[EdgeResult, Decimal]]:
    """Candidates a held pair may be switched for, each with the notional it is compared at: the passing pairs of
    its token at their own notional, and (capital binding) refused pairs of tokens not held at the notional freed."""
    same = [(r, _notional(r)) for r in passing if r.token == held.token]
    other = [(r, held.entry_notional_quote) for r in capital_refused if r.token not in held_tokens and _frees(held, r)]
    return same + other


def _frees(held: HeldPair, refused: EdgeResult) -> bool:
    """Closing `held` frees room for `refused`: always under the total cap, under a venue cap only on a shared venue."""
    if refused.reason is Reason.TOTAL_CAP:
        return True
    venues = {held.long_connector, held.short_connector}
    return refused.long_connector in venues or refused.short_connector in venues


def _notional(r: EdgeResult) -> Decimal:
    return r.size.notional_quote if r.size is not None else _ONE
