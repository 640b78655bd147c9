"""sizing.py: lot matching, depth share, volatility multiplier, venue minimums, exposure book."""

from __future__ import annotations

import math
from decimal import Decimal

from edge_builders import BINANCE, BYBIT, HOUR, SPOT, T0, book
from hypothesis import given
from hypothesis import strategies as st

from strategies.funding_arbitrage.core.costs import Infeasible
from strategies.funding_arbitrage.core.reasons import Reason
from strategies.funding_arbitrage.core.sizing import (
    ExposureBook,
    HedgeSize,
    LegLimits,
    VolatilityTracker,
    matched_amounts,
    size_hedge,
    volatility_multiplier,
)
from strategies.funding_arbitrage.core.snapshots import MarketRules

D = Decimal
LOTS = st.sampled_from([D("0.001"), D("0.002"), D("0.0025"), D("0.01"), D("0.1"), D("1"), D("5")])


@given(st.decimals(min_value=D("0.0001"), max_value=D("100000"), places=4), LOTS, LOTS)
def test_hedged_legs_differ_by_at_most_one_lot_step(amount: Decimal, long_lot: Decimal, short_lot: Decimal) -> None:
    common, long_amt, short_amt = matched_amounts(amount, long_lot, short_lot)
    coarse = max(long_lot, short_lot)

    assert common <= amount < common + coarse
    assert long_amt % long_lot == 0 and short_amt % short_lot == 0
    assert abs(long_amt - short_amt) < coarse
    assert common - long_lot < long_amt <= common and common - short_lot < short_amt <= common


def rules(lot: str = "0.001", min_size: str = "0.001", min_notional: str = "5") -> MarketRules:
    return MarketRules(D(min_size), D(lot), D("0.1"), D(min_notional))


def limits(size: str = "1", levels: int = 20, r: MarketRules | None = None, bids: bool = False) -> LegLimits:
    b = book(BINANCE, "BTC-USDT", size=size, levels=levels)
    return LegLimits(b.bids if bids else b.asks, bids, r or rules(), D("60000"), BINANCE, "BTC-USDT")


def test_size_is_capped_at_the_depth_share_of_the_thinner_taking_side() -> None:
    # target 60000 quote = 1 BTC; the short side shows 5 x 0.1 = 0.5 BTC; 20 % of it = 0.1 BTC
    size = size_hedge(
        D("60000"), D("60000"), limits(), limits(size="0.1", levels=5, bids=True), D("20"), None, D("1.5")
    )

    assert isinstance(size, HedgeSize)
    assert size.depth_cap_base == D("0.1")
    assert size.amount_base == D("0.1") and size.liquidity_multiplier == D("0.1")


def test_depth_does_not_bind_when_the_book_is_deep_enough() -> None:
    size = size_hedge(D("600"), D("60000"), limits(), limits(bids=True), D("20"), None, D("1.5"))

    assert isinstance(size, HedgeSize)
    assert size.depth_cap_base is None and size.liquidity_multiplier == 1 and size.amount_base == D("0.01")


def test_volatility_above_the_reference_scales_size_down_proportionally() -> None:
    calm = size_hedge(D("6000"), D("60000"), limits(), limits(bids=True), D("20"), D("1.0"), D("1.5"))
    wild = size_hedge(D("6000"), D("60000"), limits(), limits(bids=True), D("20"), D("3.0"), D("1.5"))
    unknown_mult, note = volatility_multiplier(None, D("1.5"))

    assert isinstance(calm, HedgeSize) and isinstance(wild, HedgeSize)
    assert calm.amount_base == D("0.1") and calm.volatility_multiplier == 1
    assert wild.volatility_multiplier == D("0.5") and wild.amount_base == D("0.05")
    assert unknown_mult == 1 and "unknown" in note


def test_venue_minimums_make_a_size_infeasible_with_reason() -> None:
    tiny = size_hedge(D("30"), D("60000"), limits(), limits(bids=True), D("20"), None, D("1.5"))
    big_min = size_hedge(
        D("600"), D("60000"), limits(r=rules(min_size="0.05")), limits(bids=True), D("20"), None, D("1.5")
    )
    notional = size_hedge(
        D("600"),
        D("60000"),
        limits(),
        limits(r=rules(min_notional="1000"), bids=True),
        D("20"),
        None,
        D("1.5"),
    )

    assert isinstance(tiny, Infeasible) and tiny.reason is Reason.SIZE_ROUNDS_TO_ZERO
    assert isinstance(big_min, Infeasible) and big_min.reason is Reason.BELOW_MIN_ORDER_SIZE
    assert isinstance(notional, Infeasible) and notional.reason is Reason.BELOW_MIN_NOTIONAL


def test_volatility_tracker_samples_at_most_once_an_hour_and_measures_hourly_vol() -> None:
    vt = VolatilityTracker(min_returns=4)
    key = (BINANCE, "BTC-USDT")
    price = D("100")
    for i in range(6):
        for s in range(0, HOUR, 600):  # ticks every 10 minutes: only one sample per hour is kept
            vt.observe(key, T0 + i * HOUR + s, price + (1 if s else 0))
        price = price * (D("1.02") if i % 2 else D("0.98"))

    vol = vt.hourly_vol_pct(key)

    assert vt.samples(key) == 6
    assert vol is not None
    assert math.isclose(float(vol), 2.19, rel_tol=0.05)  # alternating -2 %/+2 % moves


def test_volatility_is_unknown_without_enough_samples_or_across_gaps() -> None:
    vt = VolatilityTracker(min_returns=3, max_gap_s=3 * HOUR)
    key = (BYBIT, "BTC-USDT")
    for i, hours in enumerate([0, 5, 10, 15]):  # 5h gaps are not measured
        vt.observe(key, T0 + hours * HOUR, D(100 + i))

    assert vt.hourly_vol_pct(key) is None
    assert vt.hourly_vol_pct(("nowhere", "X-Y")) is None


def test_volatility_history_is_bounded() -> None:
    vt = VolatilityTracker(max_samples=10)
    for i in range(50):
        vt.observe((SPOT, "BTC-USDT"), T0 + i * HOUR, D(100 + i))

    assert vt.samples((SPOT, "BTC-USDT")) == 10


def test_exposure_book_reports_the_binding_cap() -> None:
    eb = ExposureBook(token_cap=D("3000"), venue_cap=D("5000"), total_cap=D("9000"))
    eb.add("BTC", BINANCE, BYBIT, D("2500"))
    eb.add("ETH", BINANCE, "okx_perpetual", D("2000"))

    assert eb.headroom("BTC", BINANCE, BYBIT) == (D("500"), Reason.TOKEN_CAP)
    assert eb.headroom("SOL", BINANCE, BYBIT) == (D("500"), Reason.VENUE_CAP)  # binance holds 4500
    assert eb.headroom("SOL", SPOT, BINANCE) == (D("250"), Reason.VENUE_CAP)  # both legs on binance
    eb.add("SOL", BYBIT, "okx_perpetual", D("3000"))
    assert eb.headroom("DOGE", "gate_io_perpetual", "kucoin_perpetual") == (D("1500"), Reason.TOTAL_CAP)
