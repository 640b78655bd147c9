"""recost.py: a token's costing and a held pair's exit cost are reused only while every input they depend on holds."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from edge_builders import BINANCE, BYBIT, FEES, HOUR, RULES, T0, held, perp, settings, tick
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from strategies.funding_arbitrage.core import decisions, recost, review
from strategies.funding_arbitrage.core.decisions import EdgeEngine, Reason
from strategies.funding_arbitrage.core.snapshots import TickSnapshot

D = Decimal
NEXT = T0 + 4 * HOUR  # one settlement time for every tick below (unless a test moves it)


def refused_engine(**kw: Any) -> EdgeEngine:
    """Costs BTC binance/bybit and refuses it on its economics, 0.4 percentage points short (a reusable refusal)."""
    return EdgeEngine(settings(funding_forecast="mean_reverting", entry_uncertainty_z=D("2"), **kw))


def market_tick(ts: float, short_rate: str = "0.001", mid: str = "60000", **perp_kw: Any) -> TickSnapshot:
    return tick(
        ts,
        perp(BINANCE, "0.0001", mid=mid, next_funding_ts=NEXT, ts=ts),
        perp(BYBIT, short_rate, mid=mid, next_funding_ts=NEXT, ts=ts, **perp_kw),
    )


@pytest.fixture
def costings(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Timestamps of every candidate the engine sizes and costs."""
    calls: list[float] = []
    real = decisions.evaluate_pair

    def counting(t: Any, *args: Any) -> Any:
        calls.append(t.ts)
        return real(t, *args)

    monkeypatch.setattr(decisions, "evaluate_pair", counting)
    return calls


def test_an_unchanged_refusal_is_reused_and_stamped_with_the_new_tick(costings: list[float]) -> None:
    engine = refused_engine()

    first = engine.evaluate(market_tick(T0))
    second = engine.evaluate(market_tick(T0 + 60, mid="60020"))  # 3.3 bps: below the 5 bps threshold

    assert costings == [T0]
    assert first.candidates[0].reason is Reason.EDGE_BELOW_MIN
    assert second.candidates[0]._replace(ts=T0) == first.candidates[0]
    assert second.candidates[0].ts == T0 + 60


NEW_MIN = {"min_net_edge_pct": D("0.3")}
CHANGES: list[tuple[str, Callable[[EdgeEngine, float], TickSnapshot]]] = [
    ("funding rate", lambda e, ts: market_tick(ts, short_rate="0.0011")),
    ("mid beyond 5 bps", lambda e, ts: market_tick(ts, mid="60040")),
    ("mark beyond 5 bps", lambda e, ts: market_tick(ts, mark="60040")),
    ("fees", lambda e, ts: market_tick(ts, fees=dataclasses.replace(FEES, taker_open=D("0.0004")))),
    ("trading rules", lambda e, ts: market_tick(ts, rules=dataclasses.replace(RULES, lot_size=D("0.01")))),
    ("maximum age", lambda e, ts: market_tick(ts + recost.MAX_AGE_S)),
    ("chosen leverage", lambda e, ts: (e.market_leverage.update({(BYBIT, "BTC-USDT"): D(2)}), market_tick(ts))[1]),
    (
        "settings",
        lambda e, ts: (e.reconfigure(e.settings.model_copy(update={"min_net_edge_pct": D("0.3")})), market_tick(ts))[1],
    ),
]


@pytest.mark.parametrize("change", [c[1] for c in CHANGES], ids=[c[0] for c in CHANGES])
def test_a_change_of_any_input_forces_a_re_cost(
    costings: list[float], change: Callable[[EdgeEngine, float], TickSnapshot]
) -> None:
    engine = refused_engine()
    engine.evaluate(market_tick(T0))

    t = change(engine, T0 + 60)
    engine.evaluate(t)

    assert costings == [T0, t.ts]


def test_a_recorded_settlement_forces_a_re_cost(costings: list[float]) -> None:
    engine = refused_engine()
    engine.evaluate(market_tick(NEXT - 60))
    after = NEXT + 60  # the venues now announce the settlement after NEXT: NEXT's rates are recorded as settled
    moved = tick(
        after,
        perp(BINANCE, "0.0001", next_funding_ts=NEXT + 8 * HOUR, ts=after),
        perp(BYBIT, "0.001", next_funding_ts=NEXT + 8 * HOUR, ts=after),
    )

    engine.evaluate(moved)

    assert engine.forecaster.recorded((BYBIT, "BTC-USDT")) == 1
    assert costings == [NEXT - 60, after]


def test_a_candidate_near_passing_or_passing_is_costed_every_tick(costings: list[float]) -> None:
    near = EdgeEngine(settings(funding_forecast="mean_reverting", persistence_observations=3))  # 0.03 pp short
    for i in range(3):
        near.evaluate(market_tick(T0 + 60 * i, short_rate="0.003"))
    passing = EdgeEngine(settings(persistence_observations=3))
    for i in range(3):
        passing.evaluate(market_tick(T0 + 60 * i))

    assert len(costings) == 6


def test_reused_refusals_never_enter_and_a_passing_change_enters_at_once(costings: list[float]) -> None:
    engine = refused_engine(persistence_observations=1)
    quiet = [engine.evaluate(market_tick(T0 + 60 * i)) for i in range(5)]
    wide = engine.evaluate(market_tick(T0 + 300, short_rate="0.01"))

    assert all(d.enters == () for d in quiet)
    assert len(wide.enters) == 1
    assert costings == [T0, T0 + 300]


@hsettings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["0.001", "0.0012", "0.003", "0.01"]),
            st.integers(min_value=-12, max_value=12),  # mid move in bps from 60000
            st.sampled_from([60, 300, 900]),
        ),
        min_size=2,
        max_size=12,
    )
)
def test_entries_and_verdicts_are_those_of_an_engine_that_always_re_costs(
    steps: list[tuple[str, int, int]],
) -> None:
    cached, fresh = refused_engine(persistence_observations=2), refused_engine(persistence_observations=2)
    fresh._costings.reuse_if_unchanged = lambda *a: None  # type: ignore[method-assign]
    ts = T0
    for rate, bps, dt in steps:
        ts += dt
        t = market_tick(ts, short_rate=rate, mid=str(D(60000) * (1 + D(bps) / 10000)))
        a, b = cached.evaluate(t, ()), fresh.evaluate(t, ())

        assert a.enters == b.enters
        assert [c.reason for c in a.candidates] == [c.reason for c in b.candidates]


# --- held pairs' exit costs -------------------------------------------------------------------------------------
@pytest.fixture
def exit_costings(monkeypatch: pytest.MonkeyPatch) -> list[Decimal]:
    """The amount of every exit the engine costs on the books."""
    calls: list[Decimal] = []
    real = review.exit_cost

    def counting(long: Any, short: Any, amount: Decimal) -> Any:
        calls.append(amount)
        return real(long, short, amount)

    monkeypatch.setattr(review, "exit_cost", counting)
    return calls


def test_a_held_pairs_exit_cost_is_reused_scaled_to_the_mids_while_its_inputs_hold(
    exit_costings: list[Decimal],
) -> None:
    engine = EdgeEngine(settings())
    pair = held()

    a = engine.evaluate(market_tick(T0), (pair,))
    b = engine.evaluate(market_tick(T0 + 60, mid="60500"), (pair,))  # 0.83 %: below the 1 % threshold

    assert len(exit_costings) == 1
    assert a.holds[0].exit_cost_quote is not None
    assert b.holds[0].exit_cost_quote == a.holds[0].exit_cost_quote * D("121000") / D("120000")


EXIT_CHANGES: list[tuple[str, Callable[[float], tuple[TickSnapshot, Any]]]] = [
    ("amount", lambda ts: (market_tick(ts), held(amount="0.017"))),
    ("mid beyond 1 %", lambda ts: (market_tick(ts, mid="60700"), held())),
    ("fees", lambda ts: (market_tick(ts, fees=dataclasses.replace(FEES, taker_close=D("0.0004"))), held())),
    ("maximum age", lambda ts: (market_tick(ts + recost.EXIT_MAX_AGE_S), held())),
    ("negative forecast", lambda ts: (market_tick(ts, short_rate="0.00005"), held())),
    ("take-profit near", lambda ts: (market_tick(ts), held(funding_received="1000"))),
]


@pytest.mark.parametrize("change", [c[1] for c in EXIT_CHANGES], ids=[c[0] for c in EXIT_CHANGES])
def test_a_change_of_any_input_re_costs_the_exit(
    exit_costings: list[Decimal], change: Callable[[float], tuple[TickSnapshot, Any]]
) -> None:
    engine = EdgeEngine(settings())
    engine.evaluate(market_tick(T0), (held(),))

    t, pair = change(T0 + 60)
    engine.evaluate(t, (pair,))

    assert len(exit_costings) == 2


def test_an_exit_cost_is_costed_live_once_funding_and_pnl_reach_take_profit_and_reused_below(
    exit_costings: list[Decimal],
) -> None:
    """Take-profit fires when funding + PnL - exit cost >= its line: at the line (and above, where the cost decides)
    the cost comes from the live books; just below the line no cost can fire it, so the last one is reused."""
    s = settings()
    line = s.take_profit_pct / 100 * D("960")  # held()'s entry notional
    engine = EdgeEngine(s)
    engine.evaluate(market_tick(T0), (held(),))

    engine.evaluate(market_tick(T0 + 60), (held(funding_received=str(line - D("0.01"))),))
    assert len(exit_costings) == 1  # below the line: reused
    engine.evaluate(market_tick(T0 + 120), (held(funding_received=str(line + D("0.0001"))),))
    assert len(exit_costings) == 2  # in the band where the exact cost decides: costed live


def test_an_unknown_exit_cost_is_never_reused(exit_costings: list[Decimal]) -> None:
    engine = EdgeEngine(settings())
    too_big = held(amount="100")  # more than the visible book: the cost is unknown

    decisions_ = [engine.evaluate(market_tick(T0 + 60 * i), (too_big,)) for i in range(3)]

    assert [d.holds[0].exit_cost_quote for d in decisions_] == [None, None, None]
    assert len(exit_costings) == 3


# --- the in-place signature comparison ---------------------------------------------------------------------------
def _quotes_and_scratch(
    engine: EdgeEngine, short_rate: str, next_ts: float, fees: Any, rules: Any, vol: Decimal | None, lev: Any
) -> tuple[list[Any], Any]:
    from collections import Counter

    from strategies.funding_arbitrage.core.candidates import TickScratch

    t = tick(
        T0,
        perp(BINANCE, "0.0001", next_funding_ts=NEXT),
        perp(BYBIT, short_rate, next_funding_ts=next_ts, fees=fees, rules=rules),
    )
    by_token, _ = engine._intake.intake(t, Counter())
    scratch = TickScratch(T0, {}, engine._p, lambda key: vol, engine.forecaster)
    scratch.market_leverage = lev
    return by_token["BTC"][0], scratch


@hsettings(max_examples=80, deadline=None)
@given(
    st.tuples(
        st.sampled_from(["0.001", "0.0011"]),
        st.sampled_from([NEXT, NEXT + 8 * HOUR]),
        st.booleans(),  # other fees
        st.booleans(),  # other rules
        st.sampled_from([None, D("0.5"), D("0.6")]),  # volatility
        st.sampled_from([{}, {(BYBIT, "BTC-USDT"): D(2)}]),  # chosen leverage
        st.integers(0, 1),  # settlements recorded
        st.sampled_from([None, ("BTC", BINANCE, BYBIT)]),  # switch target
        st.booleans(),  # one market fewer
    ),
    st.tuples(st.sampled_from(["0.001", "0.0011"]), st.sampled_from([NEXT, NEXT + 8 * HOUR]), st.booleans()),
)
def test_the_in_place_signature_check_is_tuple_equality(change: tuple[Any, ...], base: tuple[Any, ...]) -> None:
    """`signature_matches(old, ...)` answers exactly `old == token_signature(...)`, whatever input differs."""
    engine = EdgeEngine(settings())
    rate, next_ts, other_fees, other_rules, vol, lev, settled, target, fewer = change
    q0, t0 = _quotes_and_scratch(engine, base[0], base[1], FEES, RULES, None, {})
    old = recost.token_signature(t0, q0, lambda key: 0, None)
    fees = dataclasses.replace(FEES, taker_open=D("0.0009")) if other_fees else FEES
    rules = dataclasses.replace(RULES, lot_size=D("0.01")) if other_rules else RULES
    q1, t1 = _quotes_and_scratch(engine, rate, next_ts, fees, rules, vol, lev)
    q1 = q1[:1] if fewer else q1

    def recorded(key: Any) -> int:
        return settled

    assert recost.signature_matches(old, t1, q1, recorded, target) == (
        old == recost.token_signature(t1, q1, recorded, target)
    )


def test_the_in_place_signature_check_matches_the_same_inputs_of_another_tick() -> None:
    engine = EdgeEngine(settings())
    q0, t0 = _quotes_and_scratch(engine, "0.001", NEXT, FEES, RULES, D("0.5"), {})
    q1, t1 = _quotes_and_scratch(engine, "0.001", NEXT, FEES, RULES, D("0.5"), {})  # new objects, same values

    assert recost.signature_matches(recost.token_signature(t0, q0, lambda k: 1, None), t1, q1, lambda k: 1, None)
    assert not recost.signature_matches(recost.token_signature(t0, q0, lambda k: 1, None), t1, q1, lambda k: 2, None)
