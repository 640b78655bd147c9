"""The hedge-gap monitor (`core/hedge.py`): exposure per token, tolerance, rebalance cooldown, halt, bad data."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from strategies.funding_arbitrage.core.hedge import HedgeMonitor, HeldLeg, exposures

D = Decimal
LOT = D("0.001")


def _legs(long: str, short: str, token: str = "BTC", unmanaged: str | None = None) -> list[HeldLeg]:
    out = [HeldLeg("a", f"{token}-USDT", token, D(long), LOT), HeldLeg("b", f"{token}-USDT", token, -D(short), LOT)]
    if unmanaged is not None:
        out.append(HeldLeg("c", f"{token}-USDT", token, D(unmanaged), LOT, managed=False))
    return out


def test_gap_is_net_over_gross_with_one_lot_tolerated() -> None:
    expo, bad = exposures(_legs("0.012", "0.010"), D("1"))

    assert bad == {}
    assert expo["BTC"].net_base == D("0.002") and expo["BTC"].gross_base == D("0.012")
    assert round(expo["BTC"].gap_pct or 0, 2) == D("16.67") and expo["BTC"].unhedged
    assert not exposures(_legs("0.0125", "0.012"), D("1"))[0]["BTC"].unhedged  # half a lot: cannot do better


def test_beyond_tolerance_rebalances_once_per_cooldown_and_counts_unhedged_time() -> None:
    m = HedgeMonitor(D("1"), D("50"), 300)

    first = m.update(0, _legs("0.012", "0.010"))
    again = m.update(60, _legs("0.012", "0.010"))
    later = m.update(360, _legs("0.012", "0.010"))

    assert (first.rebalance, again.rebalance, later.rebalance) == (("BTC",), (), ("BTC",))
    assert m.unhedged_seconds == 360 and first.halt_reason is None


def test_beyond_the_hard_limit_halts_unless_the_token_is_settling() -> None:
    m = HedgeMonitor(D("1"), D("20"), 300)

    settling = m.update(0, _legs("0.012", "0"), settling={"BTC"})
    settled = m.update(60, _legs("0.012", "0"))

    assert settling.halt_reason is None and settling.rebalance == ()
    assert settled.halt_reason is not None and "BTC" in settled.halt_reason
    assert m.max_gap_pct == 100


def test_bad_data_on_one_token_leaves_the_others_measured() -> None:
    legs = [*_legs("0.012", "0.012"), HeldLeg("a", "ETH-USDT", "ETH", D("NaN"), LOT), *_legs("1", "0.5", "SOL")]

    verdict = HedgeMonitor(D("1"), D("20"), 300).update(0, legs)

    assert set(verdict.bad_data) == {"ETH"}
    assert set(verdict.exposures) == {"BTC", "SOL"} and verdict.rebalance == ("SOL",)


def test_unmanaged_positions_count_in_the_net() -> None:
    expo, _ = exposures(_legs("0.01", "0.01", unmanaged="0.005"), D("1"))

    assert expo["BTC"].net_base == D("0.005") and expo["BTC"].unmanaged_base == D("0.005")


@given(st.lists(st.tuples(st.integers(-1000, 1000), st.booleans()), min_size=1, max_size=6))
def test_gap_pct_is_between_0_and_100(raw: list[tuple[int, bool]]) -> None:
    legs = [HeldLeg(f"v{i}", "BTC-USDT", "BTC", D(a) * LOT, LOT, m) for i, (a, m) in enumerate(raw)]
    e = exposures(legs, D("1"))[0]["BTC"]
    assert e.gap_pct is None or 0 <= e.gap_pct <= 100
