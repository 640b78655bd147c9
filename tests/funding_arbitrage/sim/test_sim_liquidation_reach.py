"""The liquidation check's fast path (`sim/reach.py`) only skips positions the full check would not liquidate.

Property on the real data: for random positions (long and short, 1x to 125x, entered anywhere in the BTC series) and
random windows, whenever the fast path says "out of reach", `is_liquidatable` at the path's extreme is False.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sim_helpers import PAIR

from strategies.funding_arbitrage.sim.brackets import MaintenanceBrackets
from strategies.funding_arbitrage.sim.data import MarketData
from strategies.funding_arbitrage.sim.perp import SimPerpetualDerivative
from strategies.funding_arbitrage.sim.positions import SimPosition
from strategies.funding_arbitrage.sim.reach import LiquidationReach, monotone


@pytest.fixture(scope="module")
def perp(market_data: MarketData) -> Iterator[SimPerpetualDerivative]:
    loop = asyncio.new_event_loop()  # Hummingbot's connector base asks for the current loop
    asyncio.set_event_loop(loop)
    try:
        yield SimPerpetualDerivative("binance", market_data, ["BTC"])
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def _reach(perp: SimPerpetualDerivative, pos: SimPosition, prev_ts: float, ts: float) -> bool:
    candles = perp.market(PAIR).candles
    return LiquidationReach().out_of_reach(pos, perp._brackets[PAIR], candles, prev_ts, ts, perp._max_staleness_s)


def _full_check_liquidates(perp: SimPerpetualDerivative, pos: SimPosition, prev_ts: float, ts: float) -> bool:
    candles = perp.market(PAIR).candles
    extremes = candles.path_extremes(prev_ts, ts, perp._price_path, perp._max_staleness_s)
    if extremes is None:
        return False
    worst = extremes[0] if pos.amount > 0 else extremes[1]
    return perp._brackets[PAIR].is_liquidatable(pos.amount, pos.entry_price, pos.margin, worst)


@settings(max_examples=400, deadline=None)
@given(
    where=st.floats(min_value=0, max_value=1),
    entry_at=st.floats(min_value=0, max_value=1),
    step_s=st.sampled_from([60, 300, 3600, 7200, 4 * 3600]),
    leverage=st.sampled_from([1, 2, 3, 5, 10, 20, 50, 100, 125]),
    amount=st.decimals(min_value=Decimal("0.001"), max_value=Decimal("40"), places=3),
    short=st.booleans(),
    margin_scale=st.sampled_from([Decimal(1), Decimal("0.999"), Decimal("1.5")]),
)
def test_a_position_out_of_reach_is_never_liquidatable_on_the_path(
    perp: SimPerpetualDerivative,
    where: float,
    entry_at: float,
    step_s: int,
    leverage: int,
    amount: Decimal,
    short: bool,
    margin_scale: Decimal,
) -> None:
    candles = perp.market(PAIR).candles
    span = candles.end_ts + 3 * 3600 - candles.first_ts
    ts = candles.first_ts + round(where * span)
    prev_ts = ts - step_s
    entry = candles.candles[min(len(candles) - 1, int(entry_at * len(candles)))].close
    signed = -amount if short else amount
    pos = SimPosition(PAIR, signed, entry, amount * entry / leverage * margin_scale, leverage)

    if _reach(perp, pos, prev_ts, ts):
        assert not _full_check_liquidates(perp, pos, prev_ts, ts)


def test_a_position_near_its_liquidation_price_is_checked(perp: SimPerpetualDerivative) -> None:
    candles = perp.market(PAIR).candles
    windows = (candles.first_ts + h * 3600 + 1800 for h in range(100, 2000))
    ts, low, high = next(
        (t, *b)
        for t in windows
        if (b := candles.price_bounds(t - 300, t, perp._max_staleness_s)) and b[1] > b[0] * 101 / 100
    )
    # a 125x long entered at the window's highest price: liquidated about 0.4 % below it, inside the window's range
    pos = SimPosition(PAIR, Decimal("0.05"), high, Decimal("0.05") * high / 125, 125)
    liquidation = perp._brackets[PAIR].liquidation_price(pos.amount, pos.entry_price, pos.margin)

    assert liquidation is not None and low < liquidation < high
    assert not _reach(perp, pos, ts - 300, ts)


def test_brackets_whose_tiers_do_not_meet_are_never_assumedmonotone(perp: SimPerpetualDerivative) -> None:
    brackets = perp._brackets[PAIR]
    first, second, *rest = brackets.brackets
    broken = MaintenanceBrackets(brackets.symbol, (first, replace(second, cum=second.cum + 1), *rest))
    starts_late = MaintenanceBrackets(brackets.symbol, (replace(first, min_notional=Decimal(1)), second, *rest))

    assert monotone(brackets)
    assert not monotone(broken) and not monotone(starts_late)


@settings(max_examples=200, deadline=None)
@given(
    where=st.floats(min_value=0, max_value=1),
    step_s=st.sampled_from([60, 300, 3600]),
    ticks=st.integers(min_value=1, max_value=30),
    staleness_s=st.sampled_from([0, 600, 7200]),
)
def test_price_bounds_hold_every_path_price_and_a_kept_answer_equals_a_fresh_one(
    perp: SimPerpetualDerivative, where: float, step_s: int, ticks: int, staleness_s: int
) -> None:
    candles = perp.market(PAIR).candles
    start = candles.first_ts - 2 * 3600 + round(where * (candles.end_ts - candles.first_ts + 4 * 3600))
    for n in range(ticks):  # successive ticks: the kept answer is reused while its candles are the same
        prev_ts, ts = float(start + n * step_s), float(start + (n + 1) * step_s)
        bounds = candles.price_bounds(prev_ts, ts, staleness_s)
        candles._last_bounds = None
        assert candles.price_bounds(prev_ts, ts, staleness_s) == bounds
        extremes = candles.path_extremes(prev_ts, ts, perp._price_path, staleness_s)
        if extremes is not None:
            assert bounds is not None and bounds[0] <= extremes[0] and extremes[1] <= bounds[1]
