"""The objective: carry capture against the oracle, minus drawdown, liquidation and unhedged-time penalties."""

from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from strategies.funding_arbitrage.tune.objective import (
    ObjectiveWeights,
    RunSummary,
    carry_capture,
    pooled_capture,
    score,
)


def _run(
    name="funding_arbitrage",
    funding="10",
    fees="2",
    slippage="1",
    borrow="0",
    dd="0",
    liq=0,
    gap="0",
    basis="0",
    peak="0",
):
    """`gap`: seconds unhedged in a 30-day window; `peak`: the largest hedge gap seen, %."""
    return RunSummary(
        name,
        D(10000),
        D(funding) - D(fees) - D(slippage) + D(basis),
        D(funding),
        D(fees),
        D(slippage),
        D(borrow),
        D(basis),
        D(dd),
        1,
        liq,
        D(peak),
        None if gap is None else D(gap),
        D(MONTH_S),
    )


MONTH_S = 30 * 86400
ORACLE = _run("oracle", funding="20", fees="4", slippage="0")


def test_capture_is_carry_over_the_oracles_carry_and_ignores_basis():
    assert carry_capture(_run(basis="500"), ORACLE) == D(7) / D(16)


def test_capture_is_unknown_when_the_oracle_earned_nothing():
    assert carry_capture(_run(), _run("oracle", funding="1", fees="1", slippage="0")) is None
    value, why = score(_run(), _run("oracle", funding="0", fees="0", slippage="0"))
    assert value is None and "not positive" in why


def test_penalties_lower_the_score_as_documented():
    unhedged_2pct = str(MONTH_S * D("0.02"))
    value, _ = score(_run(dd="150", liq=1, gap=unhedged_2pct), ORACLE)
    assert value == D(7) / D(16) - D(5) * D("0.015") - D("0.5") - D(5) * D("0.02")


def test_a_one_tick_peak_gap_of_an_entry_does_not_make_trading_score_below_staying_flat():
    """The second leg follows the first's fill on the next 300 s tick: a 100 % gap for one tick is not a risk."""
    flat = _run(funding="0", fees="0", slippage="0")
    traded, _ = score(_run(peak="100", gap="300"), ORACLE)
    assert traded > score(flat, ORACLE)[0] == 0


def test_unknown_unhedged_time_or_window_is_not_scored_as_zero():
    value, why = score(_run(gap=None), ORACLE)
    assert value is None and why
    value, why = score(RunSummary(*list(vars(_run()).values())[:-1], period_s=None), ORACLE)
    assert value is None and why


@given(st.integers(0, 2000), st.integers(0, 5), st.integers(0, 100))
def test_more_risk_never_scores_higher(dd, liq, gap):
    base, _ = score(_run(), ORACLE, ObjectiveWeights())
    risky, _ = score(_run(dd=str(dd), liq=liq, gap=str(gap * 3600)), ORACLE, ObjectiveWeights())
    assert risky <= base


def test_pooled_capture_sums_carry_before_dividing():
    pairs = [
        (_run(funding="10", fees="0", slippage="0"), _run("oracle", funding="10", fees="0", slippage="0")),
        (_run(funding="0", fees="0", slippage="0"), _run("oracle", funding="30", fees="0", slippage="0")),
    ]
    assert pooled_capture(pairs) == D("0.25")
