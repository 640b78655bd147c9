"""Leverage from volatility (core/leverage.py): the rule, its bounds, and the guard on held legs."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategies.funding_arbitrage.core.leverage import (
    ACTION_LOWER,
    ACTION_REDUCE,
    STATUS_CAPPED,
    STATUS_FLOORED,
    STATUS_UNKNOWN,
    STATUS_VOLATILITY,
    GuardParams,
    HeldLeg,
    choose_leverage,
    distance_at_leverage_pct,
    guard_leg,
    leverage_cap,
    sigma_horizon_pct,
)
from strategies.funding_arbitrage.core.margin import Bracket, BracketTable, estimate_liquidation_price

D = Decimal
FEE = D("0.0005")
# BTCUSDT-like: 0.4 % up to 300k (150x), then 0.5 % with cum 300 (100x)
TABLE = BracketTable(
    "BTCUSDT",
    (
        Bracket(1, D(0), D(300000), D("0.004"), D(150), D(0)),
        Bracket(2, D(300000), D(800000), D("0.005"), D(100), D(300)),
        Bracket(3, D(800000), D(10**9), D("0.01"), D(50), D(4300)),
    ),
)
vols = st.decimals(min_value=D("0.01"), max_value=D("20"), places=3)
multiples = st.decimals(min_value=D(1), max_value=D(50), places=2)
horizons = st.decimals(min_value=D(1), max_value=D(720), places=1)
caps = st.integers(min_value=1, max_value=125)
notionals = st.decimals(min_value=D(10), max_value=D(2000000), places=2)


FOUR, THOUSAND = D(4), D(1000)


def choose(vol: Decimal | None, cap: int = 20, multiple: Decimal = FOUR, notional: Decimal = THOUSAND, **kw: object):
    return choose_leverage(
        vol,
        multiple=multiple,
        horizon_hours=D(24),
        cap=cap,
        notional_quote=notional,
        table=TABLE,
        close_fee=FEE,
        **kw,  # type: ignore[arg-type]
    )


def test_distance_worked_example_and_consistency_with_the_liquidation_price() -> None:
    assert distance_at_leverage_pct(D(5), D(1000), TABLE, FEE, is_long=False).quantize(D("0.01")) == D("19.46")
    # without the close fee it is exactly the isolated liquidation estimate of margin.py
    for lev in (1, 3, 10, 50):
        for is_long in (True, False):
            amount = D("0.1") if is_long else D("-0.1")
            liq = estimate_liquidation_price(amount, D(60000), D(6000) / lev, TABLE)
            assert liq is not None
            expected = (D(60000) - liq if is_long else liq - D(60000)) / D(60000) * 100
            got = distance_at_leverage_pct(D(lev), D(6000), TABLE, D(0), is_long=is_long)
            assert abs(got - expected) < D("1e-12")


def test_unknown_volatility_is_1x_and_reported_unknown_never_zero() -> None:
    c = choose(None)

    assert c.leverage == 1 and c.status == STATUS_UNKNOWN
    assert c.sigma_horizon_pct is None and c.required_distance_pct is None
    assert sigma_horizon_pct(None, D(24)) is None


def test_calm_market_is_capped_and_volatile_market_is_floored() -> None:
    calm, wild = choose(D("0.05")), choose(D("6"))

    assert calm.leverage == 20 and calm.status == STATUS_CAPPED
    assert wild.leverage == 1 and wild.status == STATUS_FLOORED and wild.distance_pct < wild.required_distance_pct
    mid = choose(D("1.5"))
    assert mid.status == STATUS_VOLATILITY and 1 < mid.leverage < 20  # sigma(24h) 7.35 %, 4 sigma = 29.4 % -> 3x
    assert mid.leverage == 3 and mid.distance_pct >= mid.required_distance_pct


def test_cap_is_the_lowest_of_configured_venue_and_bracket() -> None:
    assert leverage_cap(10, 125, TABLE, D(1000)) == 10
    assert leverage_cap(125, 20, TABLE, D(1000)) == 20
    assert leverage_cap(125, 125, TABLE, D(900000)) == 50  # tier 3 of the table allows 50x
    assert leverage_cap(0, None, TABLE, D(1000)) == 1


@settings(max_examples=200, deadline=None)
@given(vols, vols, multiples, caps, notionals, st.booleans())
def test_higher_volatility_never_gives_higher_leverage(
    v1: Decimal, v2: Decimal, multiple: Decimal, cap: int, notional: Decimal, is_long: bool
) -> None:
    lo, hi = sorted((v1, v2))
    a = choose(lo, cap=cap, multiple=multiple, notional=notional, is_long=is_long)
    b = choose(hi, cap=cap, multiple=multiple, notional=notional, is_long=is_long)

    assert b.leverage <= a.leverage


@settings(max_examples=200, deadline=None)
@given(vols, multiples, horizons, caps, notionals, st.booleans())
def test_choice_keeps_the_distance_unless_floored_and_respects_the_cap(
    vol: Decimal, multiple: Decimal, horizon: Decimal, cap: int, notional: Decimal, is_long: bool
) -> None:
    c = choose_leverage(
        vol,
        multiple=multiple,
        horizon_hours=horizon,
        cap=cap,
        notional_quote=notional,
        table=TABLE,
        close_fee=FEE,
        is_long=is_long,
    )
    required = multiple * sigma_horizon_pct(vol, horizon)  # type: ignore[operator]

    assert 1 <= c.leverage <= cap
    assert c.required_distance_pct == required
    if c.status == STATUS_FLOORED:
        assert c.leverage == 1 and c.distance_pct < required
    else:
        assert c.distance_pct >= required
        assert distance_at_leverage_pct(D(c.leverage), notional, TABLE, FEE, is_long=is_long) >= required
        if c.leverage < cap:  # the highest such leverage: one more would be nearer than required
            assert distance_at_leverage_pct(D(c.leverage + 1), notional, TABLE, FEE, is_long=is_long) < required


# --- the guard ---------------------------------------------------------------------------------------------------
PARAMS = GuardParams(multiple=D(4), gate_pct=D(15), hysteresis_pct=D(20))


def short_leg(mark: str, leverage: int, entry: str = "60000", amount: str = "-0.1") -> HeldLeg:
    margin = abs(D(amount)) * D(entry) / leverage
    return HeldLeg(D(amount), D(entry), D(mark), margin, leverage, TABLE, D("0.001"))


def test_guard_threshold_is_above_the_risk_gates_cut() -> None:
    reachable = D(99)
    assert PARAMS.threshold_pct(None, reachable) == D(18)  # 15 % x 1.2
    assert PARAMS.threshold_pct(D("1"), reachable) == D(18)  # 4 sigma = 4 % < 18 %
    assert PARAMS.threshold_pct(D("7.5"), reachable) == D(30)
    assert PARAMS.threshold_pct(D(50), reachable) == D(99) / D("1.2")  # unreachable ask: what 1x can reach


def test_guard_leaves_a_leg_beyond_the_threshold_alone() -> None:
    assert guard_leg(short_leg("60000", 3), D("5"), PARAMS) is None  # 3x: ~32.9 % away, threshold 20 %


def test_guard_lowers_leverage_when_volatility_rises() -> None:
    leg = short_leg("60000", 5)  # ~19.5 % away
    action = guard_leg(leg, D("7.5"), PARAMS)  # threshold 30 %, target 36 %

    assert action is not None and action.action == ACTION_LOWER and action.leverage == 2
    assert leg.distance_pct(abs(leg.amount) * leg.entry_price / 2) >= action.target_pct
    assert leg.distance_pct(abs(leg.amount) * leg.entry_price / 3) < action.target_pct  # 3x would not do


def test_guard_closes_the_pair_at_1x_since_a_cut_keeps_the_liquidation_price() -> None:
    leg = short_leg("110000", 1)  # price +83 %: ~8.5 % from liquidation at 1x
    action = guard_leg(leg, D("1"), PARAMS)

    assert action is not None and action.action == ACTION_REDUCE
    assert action.fraction == 1 and "close the pair" in action.reason
    assert action.distance_pct < PARAMS.gate_pct < action.threshold_pct
    half = HeldLeg(leg.amount / 2, leg.entry_price, leg.mark_price, leg.margin_quote / 2, 1, TABLE)  # pro rata
    assert half.distance_pct() == leg.distance_pct()  # what a partial cut would leave: just as near


@settings(max_examples=150, deadline=None)
@given(
    st.decimals(min_value=D("0.5"), max_value=D("2.5"), places=3),
    st.integers(min_value=1, max_value=20),
    st.decimals(min_value=D("0.1"), max_value=D("15"), places=2),
)
def test_guard_acts_before_the_gate_and_its_action_restores_the_threshold(
    move: Decimal, leverage: int, vol: Decimal
) -> None:
    leg = short_leg(str(D(60000) * move), leverage)
    if leg.equity_quote <= 0:
        return
    action = guard_leg(leg, vol, PARAMS)
    distance = leg.distance_pct()
    if distance < PARAMS.gate_pct * D("1.2"):
        assert action is not None  # never left for the risk gate's cut
    if action is None:
        return
    assert action.threshold_pct > PARAMS.gate_pct and action.target_pct > action.threshold_pct
    if action.action == ACTION_LOWER and action.leverage is not None:
        assert action.leverage < leverage
    else:
        assert leverage == 1 and action.fraction is not None and 0 < action.fraction <= 1


def test_distance_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="leverage"):
        distance_at_leverage_pct(D("0.5"), D(1000), TABLE, FEE, is_long=True)
