"""Tests of replay/oracle.py: the perfect-foresight bound, checked against brute force and simple policies."""

from __future__ import annotations

import csv
import gzip
import itertools
from collections.abc import Mapping, Sequence
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategies.funding_arbitrage.replay.oracle import (
    OracleCosts,
    OraclePair,
    RoundTripCost,
    candidate_pairs,
    plan_coin,
    run_oracle,
    taker_round_trip,
)
from strategies.funding_arbitrage.replay.results import check_invariant

BN, BY, HL = "sim_binance_perpetual", "sim_bybit_perpetual", "sim_hyperliquid_perpetual"
SPOT = "sim_binance"
H = 3600
N = D(1000)
Series = Mapping[str, Sequence[tuple[int, D]]]


def _costs(perp: str = "0.002", carry: str = "0.003", slip: str = "0") -> OracleCosts:
    return OracleCosts(RoundTripCost(D(perp), D(slip)), RoundTripCost(D(carry), D(slip)))


# --- an independent evaluator of any plan (a state per merged settlement event) -----------------------------
def _events(series: Series) -> list[int]:
    return sorted({ts for s in series.values() for ts, _ in s})


def _reward(pair: OraclePair | None, series: Series, ts: int) -> D:
    if pair is None:
        return D(0)
    rate = {c: r for c, s in series.items() for t, r in s if t == ts}
    short = rate.get(pair.short_connector, D(0)) * N
    long = rate.get(pair.long_connector, D(0)) * N if pair.kind == "perp_perp" else D(0)
    return short - long


def _policy_value(
    plan: Sequence[OraclePair | None], series: Series, costs: OracleCosts, close_at_end: bool = True
) -> D:
    def leg(p: OraclePair) -> D:
        c = costs.perp_perp if p.kind == "perp_perp" else costs.carry
        return (c.fee_frac + c.slippage_frac) * N / 2

    value, prev = D(0), None
    for state, ts in zip(plan, _events(series), strict=True):
        if state != prev:
            value -= (leg(prev) if prev else D(0)) + (leg(state) if state else D(0))
        value += _reward(state, series, ts)
        prev = state
    if prev is not None and close_at_end:
        value -= leg(prev)
    return value


# --- random small markets --------------------------------------------------------------------------------
_rate = st.integers(-8, 8).map(lambda k: D(k) / 10_000)


@st.composite
def markets(draw: st.DrawFn, max_hours: int = 5) -> tuple[Series, list[str]]:
    perps = draw(st.sampled_from([[BN, BY], [BN, HL], [BN, BY, HL]]))
    series: dict[str, list[tuple[int, D]]] = {}
    for c in perps:
        hours = draw(st.lists(st.integers(1, max_hours), min_size=1, max_size=max_hours, unique=True))
        series[c] = [(h * H, draw(_rate)) for h in sorted(hours)]
    spots = draw(st.sampled_from([[], [SPOT]])) if len(perps) == 2 else []
    return series, spots


@settings(max_examples=40, deadline=None)
@given(markets(max_hours=4), st.sampled_from(["0", "0.001", "0.004"]), st.booleans())
def test_oracle_equals_brute_force_best_plan(market, cost: str, close_at_end: bool) -> None:  # type: ignore[no-untyped-def]
    series, spots = market
    costs = _costs(cost, str(D(cost) * 2))
    pairs = candidate_pairs("BTC", sorted(series), spots)

    plan = plan_coin("BTC", series, pairs, N, costs, 0, 10 * H, close_at_end)

    states: list[OraclePair | None] = [None, *pairs]
    best = max(
        _policy_value(seq, series, costs, close_at_end)
        for seq in itertools.product(states, repeat=len(_events(series)))
    )
    assert plan.value_quote == best


@settings(max_examples=60, deadline=None)
@given(markets(max_hours=24), st.sampled_from(["0", "0.0005", "0.002", "0.01"]), st.data())
def test_oracle_beats_never_trading_holding_any_single_pair_and_random_plans(market, cost: str, data) -> None:  # type: ignore[no-untyped-def]
    series, spots = market
    costs = _costs(cost, cost)
    pairs = candidate_pairs("BTC", sorted(series), spots)
    n = len(_events(series))

    value = plan_coin("BTC", series, pairs, N, costs, 0, 30 * H).value_quote

    assert value >= 0  # never trading
    for p in pairs:
        assert value >= _policy_value([p] * n, series, costs)
    random_plan = data.draw(st.lists(st.sampled_from([None, *pairs]), min_size=n, max_size=n))
    assert value >= _policy_value(random_plan, series, costs)


@settings(max_examples=60, deadline=None)
@given(markets(max_hours=24))
def test_free_switching_collects_the_best_positive_reward_of_every_settlement(market) -> None:  # type: ignore[no-untyped-def]
    series, spots = market
    pairs = candidate_pairs("BTC", sorted(series), spots)

    value = plan_coin("BTC", series, pairs, N, _costs("0", "0"), 0, 30 * H).value_quote

    expected = sum((max([D(0)] + [_reward(p, series, ts) for p in pairs]) for ts in _events(series)), D(0))
    assert value == expected


@settings(max_examples=60, deadline=None)
@given(markets(max_hours=24), st.integers(0, 50), st.integers(0, 50), st.integers(0, 10))
def test_higher_costs_never_raise_the_oracle(market, low: int, extra: int, slip: int) -> None:  # type: ignore[no-untyped-def]
    series, spots = market
    pairs = candidate_pairs("BTC", sorted(series), spots)
    cheap = _costs(str(D(low) / 10_000), str(D(low) / 10_000), str(D(slip) / 10_000))
    dear = _costs(str(D(low + extra) / 10_000), str(D(low + extra) / 10_000), str(D(slip) / 5_000))

    v_cheap = plan_coin("BTC", series, pairs, N, cheap, 0, 30 * H).value_quote
    v_dear = plan_coin("BTC", series, pairs, N, dear, 0, 30 * H).value_quote

    assert v_dear <= v_cheap


def test_hourly_short_against_8h_long_collects_the_merged_timeline() -> None:
    series = {
        (BN, "BTC"): [(8 * H * i, D("0.0001")) for i in range(1, 10)],
        (HL, "BTC"): [(H * i, D("0.00005")) for i in range(1, 73)],
    }
    costs = OracleCosts(taker_round_trip(D("0.0005"), D("0.00045")), taker_round_trip(D("0.001"), D("0.0005")))

    result = run_oracle(
        series,
        perp_connectors=[BN, HL],
        spot_connectors=[SPOT],
        capital_quote=D(10_000),
        costs=costs,
        start_ts=0,
        end_ts=72 * H,
        notional_quote=N,
    )

    # long binance / short hyperliquid through 71 h: 71 × 0.05 − 8 × 0.10 = 2.75; costs 0.19 % of 1000 = 1.90.
    # (carry would earn 3.60 − 3.00; the 72 h settlement is skipped: binance charges 0.10, hyperliquid
    # pays 0.05)
    assert [r.pair_key for r in result.pairs] == ["BTC binance/hyperliquid"]
    assert (result.funding_pnl_quote, result.fees_quote) == (D("2.75"), D("1.9"))
    assert result.net_pnl_quote == D("0.85")
    assert result.pairs[0].opened_ts == 0 and result.pairs[0].closed_ts == 71 * H
    assert result.equity[0].equity_quote == D("9999.05") and result.equity[-1].equity_quote == D("10000.85")
    assert result.max_drawdown_quote == D("0.95") - D("0.05")  # the entry cost, less the first hour's funding
    assert result.liquidations is None and result.max_hedge_gap_pct is None and result.basis_pnl_quote == 0
    check_invariant(result, D(0))


def test_carry_only_uses_positive_funding_and_never_shorts_spot() -> None:
    negative = {(BN, "ETH"): [(8 * H * i, D("-0.002")) for i in range(1, 10)]}

    result = run_oracle(
        negative,
        perp_connectors=[BN],
        spot_connectors=[SPOT],
        capital_quote=D(1000),
        costs=_costs("0", "0"),
        start_ts=0,
        end_ts=80 * H,
        notional_quote=N,
    )

    assert result.net_pnl_quote == 0 and result.pairs_opened == 0
    positive = {(BN, "ETH"): [(8 * H * i, D("0.002")) for i in range(1, 10)]}
    result = run_oracle(
        positive,
        perp_connectors=[BN],
        spot_connectors=[SPOT],
        capital_quote=D(1000),
        costs=_costs("0", "0.003"),
        start_ts=0,
        end_ts=80 * H,
        notional_quote=N,
    )
    assert [r.pair_key for r in result.pairs] == ["ETH binance-spot/binance"]
    assert result.net_pnl_quote == D(18) - D(3)


def test_spot_coins_limit_carry_candidates() -> None:
    positive = {(BN, "HYPE"): [(8 * H * i, D("0.002")) for i in range(1, 4)]}

    result = run_oracle(
        positive,
        perp_connectors=[BN],
        spot_connectors=[SPOT],
        capital_quote=D(1000),
        costs=_costs("0", "0"),
        start_ts=0,
        end_ts=30 * H,
        notional_quote=N,
        spot_coins={SPOT: ["BTC"]},
    )

    assert result.pairs_opened == 0


def test_position_open_at_the_end_pays_its_exit_only_when_asked() -> None:
    series = {(BN, "BTC"): [(H, D(0)), (2 * H, D(0))], (BY, "BTC"): [(H, D("0.01")), (2 * H, D("0.01"))]}
    kwargs = {
        "perp_connectors": [BN, BY],
        "spot_connectors": [],
        "capital_quote": D(1000),
        "costs": _costs("0.002"),
        "start_ts": 0,
        "end_ts": 2 * H,
        "notional_quote": N,
    }

    closed = run_oracle(series, **kwargs)  # type: ignore[arg-type]
    left_open = run_oracle(series, close_at_end=False, **kwargs)  # type: ignore[arg-type]

    assert closed.net_pnl_quote == D(20) - D(2)
    assert left_open.net_pnl_quote == D(20) - D(1)
    assert left_open.pairs[0].closed_ts is None


def test_default_notional_splits_capital_equally_over_coins_and_legs() -> None:
    series = {(BN, c): [(H, D(0))] for c in ("BTC", "ETH")}
    series |= {(BY, c): [(H, D("0.001"))] for c in ("BTC", "ETH")}

    result = run_oracle(
        series,
        perp_connectors=[BN, BY],
        spot_connectors=[],
        capital_quote=D(4000),
        costs=_costs("0"),
        start_ts=0,
        end_ts=H,
    )

    assert result.funding_pnl_quote == 2 * D("0.001") * D(1000)  # 4000 / 2 coins / 2 legs = 1000 per leg


@settings(max_examples=30, deadline=None)
@given(markets(max_hours=24))
def test_inexact_notional_keeps_the_books_exact(market) -> None:  # type: ignore[no-untyped-def]
    series, spots = market
    by_coin = {(c, coin): s for c, s in series.items() for coin in ("BTC", "ETH", "SOL")}

    result = run_oracle(
        by_coin,
        perp_connectors=sorted(series),
        spot_connectors=spots,
        capital_quote=D(10_000),
        costs=_costs("0.0021", "0.003", "0.0004"),
        start_ts=0,
        end_ts=30 * H,
    )

    assert any("1666.66 quote per leg" in note for note in result.notes)
    check_invariant(result, D(0))
    assert result.equity[-1].equity_quote == result.capital_quote + result.net_pnl_quote


def test_rejects_duplicate_settlements_and_inverted_periods() -> None:
    with pytest.raises(ValueError, match="two settlements"):
        run_oracle(
            {(BN, "BTC"): [(H, D(0)), (H, D(0))]},
            perp_connectors=[BN],
            spot_connectors=[],
            capital_quote=D(1),
            costs=_costs(),
            start_ts=0,
            end_ts=H,
        )
    with pytest.raises(ValueError, match="end_ts"):
        run_oracle(
            {}, perp_connectors=[BN], spot_connectors=[], capital_quote=D(1), costs=_costs(), start_ts=1, end_ts=0
        )


def _load_real_funding(
    path: Path, coins: set[str], start_ms: int, end_ms: int
) -> dict[tuple[str, str], list[tuple[int, D]]]:
    venues = {"binance": BN, "bybit": BY, "hyperliquid": HL}
    out: dict[tuple[str, str], list[tuple[int, D]]] = {}
    with gzip.open(path, "rt", newline="") as fh:
        for row in csv.DictReader(fh):
            ms = int(row["timestamp_ms"])
            if row["coin"] in coins and row["venue"] in venues and start_ms <= ms < end_ms:
                out.setdefault((venues[row["venue"]], row["coin"]), []).append(
                    (round(ms / 1000), D(row["funding_rate"]))
                )
    return out


def test_oracle_on_a_month_of_real_funding(data_dir: Path) -> None:
    start, end = 1_743_465_600, 1_746_057_600  # April 2025
    series = _load_real_funding(
        data_dir / "cross_venue_2025" / "funding_rates.csv.gz", {"BTC", "HYPE"}, start * 1000, end * 1000
    )
    costs = OracleCosts(
        taker_round_trip(D("0.0005"), D("0.00055"), D("0.0001")), taker_round_trip(D("0.001"), D("0.0005"), D("0.0001"))
    )

    result = run_oracle(
        series,
        perp_connectors=[BN, BY, HL],
        spot_connectors=[SPOT],
        capital_quote=D(10_000),
        costs=costs,
        start_ts=start,
        end_ts=end,
        notional_quote=D(2000),
    )

    check_invariant(result, D(0))
    assert result.net_pnl_quote > 0 and result.pairs_opened > 0
    assert result.equity[-1].equity_quote == result.capital_quote + result.net_pnl_quote
    assert result.fees_quote + result.slippage_quote >= result.pairs_opened * D(2000) * D("0.0021")
    for coin in ("BTC", "HYPE"):
        coin_series = {c: s for (c, k), s in series.items() if k == coin}
        pairs = candidate_pairs(coin, sorted(coin_series), [SPOT])
        n = len(_events(coin_series))
        # notional 2000 = 2 × N
        best_static = max(_policy_value([p] * n, coin_series, costs) * 2 for p in pairs)
        assert sum(r.net_quote for r in result.pairs if r.token == coin) >= best_static
