"""Perfect-foresight upper bound on funding capture: knows every future settlement, pays the same costs.

Model (documented in docs/replay.md):
  * Per coin, at most one hedged position at a time, `notional_quote` per leg (constant in quote: prices are
    not modelled, so basis PnL is 0 and nothing can be liquidated).
  * Candidate positions: every ordered perp–perp pair (long L, short S; both directions are candidates) and
    carry (long spot on a spot venue, short perp P). Reverse carry (short spot) is not allowed.
  * A venue pays (or charges) funding to whoever holds the position at the settlement instant; a settlement of
    rate r pays the short r × notional and charges the long the same. Reward of a pair at a settlement time t:
        perp–perp: notional × (r_S(t) − r_L(t))  (each term only if that venue settles at t)
        carry:     notional × r_P(t)
  * Costs: a round trip (open + close of both legs) costs `fee_frac + slippage_frac` of one leg's notional,
    per pair type; half is paid on entry, half on exit. A switch pays the old pair's exit and the new pair's
    entry.
  * Dynamic programming over the coin's merged settlement timeline (all venues' settlement times, sorted):
    state = flat or holding pair p. Because a switch costs exit(p) + entry(q), the best move into p is either
    staying in p or entering from the best flat value, which makes each step O(pairs).
  * A hold interval opens right after the previous event of the merged timeline (or at `start_ts`) and closes
    right after its last settlement. With `close_at_end` the exit of a position open at the end is paid.
Sizing: with `caps` (the strategy's capital, exposure caps and leverage, `allocation.ExposureCaps`) the oracle
allocates the same budget as every other run with foresight: a coin's plan is linear in its notional, so the
budget goes to the coins whose plan pays most per unit, each up to the token cap (`allocate_with_foresight`).
Without caps every coin gets `notional_quote`. The oracle's equity is capital + Σ coins' PnL.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_DOWN, Decimal
from typing import Literal

from .allocation import ExposureCaps, allocate_with_foresight
from .results import EquityPoint, PairRow, RunResult, UtilisationPoint, apr_pct, max_drawdown_quote, pair_key

Settlement = tuple[int, Decimal]
PairKind = Literal["perp_perp", "carry"]
_ZERO = Decimal(0)
_TWO = Decimal(2)
_FLAT = -1
_CONSISTENCY_QUOTE = Decimal("1e-9")
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class RoundTripCost:
    """Cost of opening and closing both legs, as fractions of one leg's notional."""

    fee_frac: Decimal
    slippage_frac: Decimal = _ZERO

    def __post_init__(self) -> None:
        if not (self.fee_frac >= 0 and self.slippage_frac >= 0):
            raise ValueError(
                f"RoundTripCost fee_frac ({self.fee_frac}) and slippage_frac ({self.slippage_frac}) must be >= 0"
            )


def taker_round_trip(fee_a: Decimal, fee_b: Decimal, slippage_frac_per_fill: Decimal = _ZERO) -> RoundTripCost:
    """Both legs opened and closed at taker fees: 2 × (fee_a + fee_b), plus four fills of slippage.

    Example: Binance 0.05 % and Bybit 0.055 % -> 0.21 % of notional.
    """
    return RoundTripCost(_TWO * (fee_a + fee_b), 4 * slippage_frac_per_fill)


@dataclass(frozen=True)
class OracleCosts:
    perp_perp: RoundTripCost
    carry: RoundTripCost

    def for_kind(self, kind: PairKind) -> RoundTripCost:
        return self.perp_perp if kind == "perp_perp" else self.carry


@dataclass(frozen=True)
class OraclePair:
    token: str
    long_connector: str
    short_connector: str
    kind: PairKind

    @property
    def key(self) -> str:
        return pair_key(self.token, self.long_connector, self.short_connector)


@dataclass(frozen=True)
class OracleInterval:
    """One hold of the optimal plan."""

    pair: OraclePair
    entry_ts: int
    exit_ts: int
    settlements: int
    funding_quote: Decimal
    fees_quote: Decimal
    slippage_quote: Decimal
    exit_paid: bool

    @property
    def net_quote(self) -> Decimal:
        return self.funding_quote - self.fees_quote - self.slippage_quote


@dataclass(frozen=True)
class CoinPlan:
    """The optimal plan of one coin; `flows` are its dated cash flows (entry/exit costs negative, funding)."""

    token: str
    value_quote: Decimal
    intervals: tuple[OracleInterval, ...]
    flows: tuple[tuple[int, Decimal], ...]


def candidate_pairs(token: str, perp_connectors: Sequence[str], spot_connectors: Sequence[str]) -> list[OraclePair]:
    """Every perp–perp direction and every (spot, perp) carry, in a fixed order."""
    perps, spots = sorted(perp_connectors), sorted(spot_connectors)
    pairs = [OraclePair(token, a, b, "perp_perp") for a in perps for b in perps if a != b]
    pairs += [OraclePair(token, s, p, "carry") for s in spots for p in perps]
    return pairs


def settlement_reward_quote(pair: OraclePair, rates_at_t: Mapping[str, Decimal], notional_quote: Decimal) -> Decimal:
    """Funding the pair earns at one settlement time; `rates_at_t` holds only venues settling then."""
    reward = rates_at_t.get(pair.short_connector, _ZERO)
    if pair.kind == "perp_perp":
        reward -= rates_at_t.get(pair.long_connector, _ZERO)
    return reward * notional_quote


def _timeline(
    series: Mapping[str, Sequence[Settlement]], start_ts: int, end_ts: int
) -> list[tuple[int, dict[str, Decimal]]]:
    """Merged settlement events within [start_ts, end_ts]: (ts, {connector: rate})."""
    merged: dict[int, dict[str, Decimal]] = {}
    for connector in sorted(series):
        for ts, rate in series[connector]:
            if not start_ts <= ts <= end_ts:
                continue
            slot = merged.setdefault(ts, {})
            if connector in slot:
                raise ValueError(f"{connector} has two settlements at ts {ts}")
            slot[connector] = rate
    return sorted(merged.items())


def plan_coin(
    token: str,
    series: Mapping[str, Sequence[Settlement]],
    pairs: Sequence[OraclePair],
    notional_quote: Decimal,
    costs: OracleCosts,
    start_ts: int,
    end_ts: int,
    close_at_end: bool = True,
) -> CoinPlan:
    """Best non-overlapping hold intervals of one coin (value = funding − entry/exit costs)."""
    events = _timeline(series, start_ts, end_ts)
    half = [
        (
            costs.for_kind(p.kind).fee_frac * notional_quote / _TWO,
            costs.for_kind(p.kind).slippage_frac * notional_quote / _TWO,
        )
        for p in pairs
    ]
    leg_cost = [fee + slip for fee, slip in half]
    flat_value = _ZERO
    values: list[Decimal | None] = [None] * len(pairs)  # None: not reachable yet
    flat_from: list[int] = []  # per step: _FLAT (stayed flat) or the pair exited just before the step
    entered: list[list[bool]] = []
    for _, rates in events:
        best, src = flat_value, _FLAT
        for i, v in enumerate(values):
            if v is not None and v - leg_cost[i] > best:
                best, src = v - leg_cost[i], i
        step_entered = []
        for i, pair in enumerate(pairs):
            stay, enter = values[i], best - leg_cost[i]
            step_entered.append(stay is None or enter > stay)
            held = enter if stay is None or enter > stay else stay
            values[i] = held + settlement_reward_quote(pair, rates, notional_quote)
        flat_value = best
        flat_from.append(src)
        entered.append(step_entered)
    final_value, final_state = flat_value, _FLAT
    for i, v in enumerate(values):
        end_value = (v - leg_cost[i]) if close_at_end and v is not None else v
        if end_value is not None and end_value > final_value:
            final_value, final_state = end_value, i
    states = _backtrack(final_state, flat_from, entered)
    intervals, flows = _intervals(states, events, pairs, half, notional_quote, start_ts, close_at_end)
    total = sum((iv.net_quote for iv in intervals), _ZERO)
    if abs(total - final_value) > _CONSISTENCY_QUOTE:  # pragma: no cover - the DP and its backtrack agree
        raise AssertionError(f"oracle {token}: plan value {total} != DP value {final_value}")
    return CoinPlan(token, final_value, tuple(intervals), tuple(flows))


def _backtrack(final_state: int, flat_from: list[int], entered: list[list[bool]]) -> list[int]:
    """State held through each event (pair index or _FLAT), from the DP's recorded choices."""
    states = [_FLAT] * len(flat_from)
    state = final_state
    for k in range(len(flat_from) - 1, -1, -1):
        states[k] = state
        if state == _FLAT or entered[k][state]:
            state = flat_from[k]
    return states


def _intervals(
    states: list[int],
    events: list[tuple[int, dict[str, Decimal]]],
    pairs: Sequence[OraclePair],
    half: list[tuple[Decimal, Decimal]],
    notional_quote: Decimal,
    start_ts: int,
    close_at_end: bool,
) -> tuple[list[OracleInterval], list[tuple[int, Decimal]]]:
    """Hold intervals from the per-event states, and their cash flows (ts, quote)."""
    out: list[OracleInterval] = []
    flows: list[tuple[int, Decimal]] = []
    k = 0
    while k < len(states):
        p = states[k]
        if p == _FLAT:
            k += 1
            continue
        first = k
        fee, slip = half[p]
        entry_ts = events[first - 1][0] if first > 0 else start_ts
        flows.append((entry_ts, -(fee + slip)))
        funding = _ZERO
        while k < len(states) and states[k] == p:
            reward = settlement_reward_quote(pairs[p], events[k][1], notional_quote)
            if reward:
                flows.append((events[k][0], reward))
            funding += reward
            k += 1
        exit_paid = k < len(states) or close_at_end
        if exit_paid:
            flows.append((events[k - 1][0], -(fee + slip)))
        n_paid = 2 if exit_paid else 1
        out.append(
            OracleInterval(
                pair=pairs[p],
                entry_ts=entry_ts,
                exit_ts=events[k - 1][0],
                settlements=k - first,
                funding_quote=funding,
                fees_quote=fee * n_paid,
                slippage_quote=slip * n_paid,
                exit_paid=exit_paid,
            )
        )
    return out, flows


def run_oracle(
    settlements: Mapping[tuple[str, str], Sequence[Settlement]],
    *,
    perp_connectors: Sequence[str],
    spot_connectors: Sequence[str],
    capital_quote: Decimal,
    costs: OracleCosts,
    start_ts: int,
    end_ts: int,
    notional_quote: Decimal | None = None,
    close_at_end: bool = True,
    spot_coins: Mapping[str, Collection[str]] | None = None,
    caps: ExposureCaps | None = None,
    sample_s: int = 3600,
) -> RunResult:
    """The oracle run over every coin in `settlements` ((connector, coin) -> [(ts, rate per interval)]).

    `notional_quote` per leg; None: capital / coins / 2 rounded down to a cent (each coin's share over its
    two legs, unlevered). `caps`: allocate the strategy's budget with foresight instead (module docstring);
    `notional_quote` is then only the reference size the plans are searched at. `sample_s`: spacing of the
    capital-utilisation samples.
    Fees and slippage are the configured round-trip fractions (slippage reported separately; 0 if configured
    0). `spot_coins` (spot connector -> coins it lists) limits carry candidates; None: every spot venue lists
    every coin.

    Raises:
        ValueError: non-positive capital or notional, end before start, or two settlements at one ts.
    """
    if end_ts < start_ts:
        raise ValueError(f"end_ts ({end_ts}) must not be before start_ts ({start_ts})")
    coins = sorted({coin for _, coin in settlements})
    if capital_quote <= 0:
        raise ValueError(f"capital_quote ({capital_quote}) must be positive")
    if notional_quote is None:
        notional = (capital_quote / max(len(coins), 1) / _TWO).quantize(_CENT, rounding=ROUND_DOWN)
    else:
        notional = notional_quote
    if notional <= 0:
        raise ValueError(f"notional_quote ({notional}) must be positive")
    perps = set(perp_connectors)
    pairs_of: dict[str, tuple[dict[str, Sequence[Settlement]], list[OraclePair]]] = {}
    for coin in coins:
        series = {c: s for (c, k), s in settlements.items() if k == coin and c in perps}
        spots = [c for c in spot_connectors if spot_coins is None or coin in spot_coins.get(c, ())]
        pairs_of[coin] = (series, candidate_pairs(coin, sorted(series), spots))
    sizes = {coin: notional for coin in coins}
    if caps is not None:
        reference = {
            coin: plan_coin(coin, *pairs_of[coin], notional, costs, start_ts, end_ts, close_at_end) for coin in coins
        }
        sizes = allocate_with_foresight(
            {c: p.value_quote / notional for c, p in reference.items()}, caps, with_spot=bool(spot_connectors)
        )
    plans = [
        plan_coin(coin, *pairs_of[coin], sizes[coin], costs, start_ts, end_ts, close_at_end)
        for coin in coins
        if sizes[coin] > 0
    ]
    flows = [flow for plan in plans for flow in plan.flows]
    result = _oracle_result(plans, flows, capital_quote, sizes, start_ts, end_ts, close_at_end)
    return replace(result, utilisation=_utilisation(plans, sizes, capital_quote, start_ts, end_ts, sample_s))


def _utilisation(
    plans: Sequence[CoinPlan],
    sizes: Mapping[str, Decimal],
    capital_quote: Decimal,
    start_ts: int,
    end_ts: int,
    sample_s: int,
) -> tuple[UtilisationPoint, ...]:
    """Deployed notional ÷ capital every `sample_s` from start to end (a coin counts while it holds a pair)."""
    holds = [(iv.entry_ts, iv.exit_ts, sizes[plan.token]) for plan in plans for iv in plan.intervals]
    times = [*list(range(start_ts, end_ts, max(sample_s, 1))), end_ts]
    return tuple(
        UtilisationPoint(float(ts), sum((n for a, b, n in holds if a <= ts < b), _ZERO) / capital_quote) for ts in times
    )


def _equity(
    flows: list[tuple[int, Decimal]], capital_quote: Decimal, start_ts: int, end_ts: int
) -> tuple[EquityPoint, ...]:
    by_ts: dict[int, Decimal] = {}
    for ts, amount in flows:
        by_ts[ts] = by_ts.get(ts, _ZERO) + amount
    points = [EquityPoint(start_ts, capital_quote)]
    equity = capital_quote
    for ts in sorted(by_ts):
        equity += by_ts[ts]
        if ts == start_ts:
            points[0] = EquityPoint(ts, equity)
        else:
            points.append(EquityPoint(ts, equity))
    if points[-1].ts < end_ts:
        points.append(EquityPoint(end_ts, equity))
    return tuple(points)


def _oracle_result(
    plans: list[CoinPlan],
    flows: list[tuple[int, Decimal]],
    capital_quote: Decimal,
    sizes: Mapping[str, Decimal],
    start_ts: int,
    end_ts: int,
    close_at_end: bool,
) -> RunResult:
    intervals = [iv for plan in plans for iv in plan.intervals]
    rows = tuple(
        sorted(
            (
                PairRow(
                    pair_key=iv.pair.key,
                    token=iv.pair.token,
                    opened_ts=iv.entry_ts,
                    closed_ts=iv.exit_ts if iv.exit_paid else None,
                    funding_quote=iv.funding_quote,
                    fees_quote=iv.fees_quote,
                    slippage_quote=iv.slippage_quote,
                    basis_quote=_ZERO,
                    net_quote=iv.net_quote,
                    close_reason="oracle_exit" if iv.exit_paid else None,
                )
                for iv in intervals
            ),
            key=lambda r: (r.opened_ts, r.pair_key),
        )
    )
    funding = sum((iv.funding_quote for iv in intervals), _ZERO)
    fees = sum((iv.fees_quote for iv in intervals), _ZERO)
    slippage = sum((iv.slippage_quote for iv in intervals), _ZERO)
    equity = _equity(flows, capital_quote, start_ts, end_ts)
    net = funding - fees - slippage
    sizing = ", ".join(f"{coin} {sizes[coin]} quote per leg" for coin in sorted(sizes)) or "no coin"
    notes = (
        f"Perfect foresight of funding, at most one position per coin; notional: {sizing}.",
        (
            "Prices are not modelled: basis is 0, nothing is liquidated and the hedge is always exact (those "
            "figures are N/A)."
        ),
        (
            "Entry and exit each pay half of the round-trip taker fees of the cheapest venues"
            + ("; positions open at the end pay their exit." if close_at_end else "; no exit is paid at the end.")
        ),
    )
    return RunResult(
        name="oracle",
        capital_quote=capital_quote,
        net_pnl_quote=net,
        funding_pnl_quote=funding,
        fees_quote=fees,
        slippage_quote=slippage,
        borrow_quote=_ZERO,
        basis_pnl_quote=_ZERO,
        max_drawdown_quote=max_drawdown_quote(equity),
        apr_pct=apr_pct(net, capital_quote, end_ts - start_ts),
        pairs_opened=len(intervals),
        liquidations=None,
        max_hedge_gap_pct=None,
        unhedged_seconds=None,
        equity=equity,
        trades=(),
        pairs=rows,
        margin=(),
        events=(),
        notes=notes,
        trades_modelled=False,
    )
