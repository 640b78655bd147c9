"""The hold rule: never exits a pair whose expected forward carry exceeds its exit cost; exits on a confident
negative forecast; a short dip does not close a pair in the engine."""

from __future__ import annotations

from decimal import Decimal as D

from edge_builders import BINANCE, BYBIT, T0, held, perp, tick
from edge_builders import settings as engine_settings
from hypothesis import given, settings
from hypothesis import strategies as st

from strategies.funding_arbitrage.core.decisions import EdgeEngine, ExitReason
from strategies.funding_arbitrage.core.holding import ForwardValue, confidently_negative, should_exit, switch_gain

money = st.decimals(D(-1000), D(1000), places=4)
positive = st.decimals(D(0), D(1000), places=4)
zs = st.decimals(D(0), D(5), places=2)


@settings(max_examples=300, deadline=None)
@given(carry=money, sd=positive, exit_cost=positive, z=zs, ticks=st.integers(0, 100), need=st.integers(1, 100))
def test_never_exits_a_pair_whose_forward_carry_exceeds_its_exit_cost(
    carry: D, sd: D, exit_cost: D, z: D, ticks: int, need: int
) -> None:
    value = ForwardValue(carry, sd, D(0))
    if carry > exit_cost:
        assert not should_exit(value, exit_cost, z, ticks, need)


@settings(max_examples=300, deadline=None)
@given(
    carry=st.decimals(D(-1000), D("-0.01"), places=4),
    exit_cost=positive,
    z=zs,
    extra=st.integers(0, 50),
    need=st.integers(1, 50),
)
def test_exits_on_a_confident_negative_forecast_once_confirmed(
    carry: D, exit_cost: D, z: D, extra: int, need: int
) -> None:
    sd = -carry / (z + 1) if z > 0 else D("0.5") * -carry  # carry + z * sd < 0: confidently negative
    value = ForwardValue(carry, sd, D(0))

    assert confidently_negative(value, exit_cost, z)
    assert should_exit(value, exit_cost, z, need + extra, need)
    assert not should_exit(value, exit_cost, z, need - 1, need)  # not before the confirmations


@settings(max_examples=200, deadline=None)
@given(carry=st.decimals(D(-100), D("-0.01"), places=4), z=st.decimals(D("0.1"), D(5), places=2))
def test_an_uncertain_negative_forecast_is_held(carry: D, z: D) -> None:
    value = ForwardValue(carry, -carry / z * 2, D(0))  # carry + z * sd = -carry > 0
    assert not should_exit(value, D(0), z, 1000, 1)


def test_a_switch_must_pay_the_exit_the_forgone_carry_and_the_uncertainty() -> None:
    held_value = ForwardValue(D(5), D(3), D(0))
    assert switch_gain(held_value, D(2), D(8), D(4), D(0)) == D(1)
    assert switch_gain(held_value, D(2), D(8), D(4), D(1)) == D(-4)  # 1 - sqrt(9 + 16)


def test_a_short_dip_of_the_spread_does_not_close_the_pair_in_the_engine() -> None:
    """Mean-reverting forecast: one settlement's negative spread is not a confident negative forward carry."""
    engine = EdgeEngine(
        engine_settings(funding_forecast="mean_reverting", exit_uncertainty_z=D(1), exit_confirmations=1)
    )
    pair = held()
    dip = tick(T0, perp(BINANCE, "0.0001"), perp(BYBIT, "0.00005"))  # spread -5.5 % APR for a moment

    decision = engine.evaluate(dip, (pair,))

    assert decision.exits == ()
    assert decision.holds[0].forward_edge_apr_pct is not None


def test_a_deep_lasting_negative_spread_closes_the_pair_in_the_engine() -> None:
    engine = EdgeEngine(engine_settings(funding_forecast="persistent", exit_uncertainty_z=D(1), exit_confirmations=2))
    pair = held()
    negative = [tick(T0 + i, perp(BINANCE, "0.001"), perp(BYBIT, "0.0001")) for i in range(2)]

    decisions = [engine.evaluate(t, (pair,)) for t in negative]

    assert decisions[0].exits == ()
    assert decisions[1].exits[0].reason is ExitReason.EDGE_DECAYED
