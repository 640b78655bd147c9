"""funding.py: interval tracking, normalisation, rate sanity bounds."""

from __future__ import annotations

import gzip
from decimal import Decimal

import pytest
from edge_builders import BINANCE, BYBIT, DATA_DIR, HOUR, T0, perp, settings, tick
from hypothesis import given
from hypothesis import strategies as st

from strategies.funding_arbitrage.core.decisions import EdgeEngine
from strategies.funding_arbitrage.core.funding import (
    SANE_RATE_BOUND,
    IntervalSource,
    IntervalTracker,
    apr_pct,
    rate_bound,
    rate_per_hour,
)
from strategies.funding_arbitrage.core.reasons import SkipReason

D = Decimal


@pytest.mark.parametrize(("rate", "hours"), [("0.0008", 8), ("0.0004", 4), ("0.0001", 1)])
def test_edge_with_8h_4h_and_1h_intervals_normalises_per_hour(rate: str, hours: int) -> None:
    hourly = rate_per_hour(D(rate), hours * HOUR)

    assert hourly == D("0.0001")
    assert apr_pct(hourly) == D("87.6")  # 0.0001 * 8760 * 100


@given(st.sampled_from([1, 2, 4, 8]), st.decimals(min_value=D("-0.03"), max_value=D("0.03"), places=8))
def test_per_hour_rate_times_interval_hours_gives_back_the_venue_rate(hours: int, rate: Decimal) -> None:
    assert rate_per_hour(rate, hours * HOUR) * hours == rate


def test_interval_is_the_hint_until_an_advance_is_observed() -> None:
    tracker = IntervalTracker()
    nf = int(T0) + 600

    first = tracker.observe(BINANCE, "BTC-USDT", nf, T0, hint_s=8 * HOUR)
    after = tracker.observe(BINANCE, "BTC-USDT", nf + 4 * HOUR, nf + 5, hint_s=8 * HOUR)

    assert (first.interval_s, first.source) == (8 * HOUR, IntervalSource.HINT)
    assert (after.interval_s, after.source) == (4 * HOUR, IntervalSource.OBSERVED)


def test_interval_switch_to_1h_at_the_cap_is_picked_up_at_the_next_settlement() -> None:
    tracker = IntervalTracker()
    t1 = int(T0) + 60
    tracker.observe(BYBIT, "X-USDT", t1, T0, None)
    tracker.observe(BYBIT, "X-USDT", t1 + 8 * HOUR, t1 + 1, None)  # 8h observed

    switched = tracker.observe(BYBIT, "X-USDT", t1 + 9 * HOUR, t1 + 8 * HOUR + 2, None)

    assert (switched.interval_s, switched.source) == (HOUR, IntervalSource.OBSERVED)


def test_an_advance_first_seen_late_is_not_taken_as_the_interval() -> None:
    tracker = IntervalTracker()
    t1 = int(T0) + 60
    tracker.observe(BINANCE, "BTC-USDT", t1, T0, None)

    # bot was down: first sighting 3 intervals later shows T1 + 4 * 8h
    late = tracker.observe(BINANCE, "BTC-USDT", t1 + 32 * HOUR, t1 + 25 * HOUR, None)

    assert late.interval_s is None
    assert late.source is IntervalSource.UNKNOWN


def test_without_hint_or_observation_the_interval_is_unknown_not_8h() -> None:
    info = IntervalTracker().observe(BINANCE, "BTC-USDT", int(T0) + 600, T0, None)

    assert info.interval_s is None
    assert info.source is IntervalSource.UNKNOWN


def test_next_settlement_moving_earlier_drops_the_observed_interval() -> None:
    tracker = IntervalTracker()
    t1 = int(T0) + 60
    tracker.observe(BINANCE, "BTC-USDT", t1, T0, None)
    tracker.observe(BINANCE, "BTC-USDT", t1 + 8 * HOUR, t1 + 1, None)

    moved = tracker.observe(BINANCE, "BTC-USDT", t1 + 2 * HOUR, t1 + HOUR, None)

    assert moved.interval_s is None


def test_a_hint_contradicted_by_the_next_settlement_time_is_not_used() -> None:
    tracker = IntervalTracker()

    info = tracker.observe(BINANCE, "BTC-USDT", int(T0) + 7 * HOUR, T0, hint_s=4 * HOUR)

    assert info.interval_s is None
    assert "contradicted" in info.note


@pytest.mark.parametrize(
    ("venue", "coin", "hours"),
    [("binance", "HYPE", 4), ("bybit", "BTC", 8), ("hyperliquid", "SOL", 1), ("kraken", "ETH", 1)],
)
def test_intervals_derived_from_real_settlement_times(venue: str, coin: str, hours: int) -> None:
    """Feed the settlement times of ../shared/data/cross_venue_2025 as successive next_funding_ts."""
    stamps = []
    with gzip.open(DATA_DIR / "cross_venue_2025" / "funding_rates.csv.gz", "rt") as fh:
        for line in fh:
            parts = line.rstrip().split(",")
            if parts[2] == venue and parts[3] == coin:
                stamps.append(int(parts[1]) // 1000)
            if len(stamps) == 6:
                break
    tracker = IntervalTracker()
    infos = [
        tracker.observe(venue, coin, ts, ts - 1800 if i == 0 else stamps[i - 1] + 1, None)
        for i, ts in enumerate(stamps)
    ]

    assert infos[-1].interval_s == hours * HOUR
    assert infos[-1].source is IntervalSource.OBSERVED


def test_rate_bound_is_the_venue_cap_or_the_sane_bound() -> None:
    assert rate_bound(BINANCE) == D("0.03")
    assert rate_bound("dydx_v4_perpetual") == SANE_RATE_BOUND


def test_unknown_interval_blocks_trading_until_observed() -> None:
    engine = EdgeEngine(settings(funding_interval_hints_hours={}))  # binance and bybit publish no default
    nf = int(T0) + 60

    blind = engine.evaluate(
        tick(T0, perp(BINANCE, "0.0001", next_funding_ts=nf), perp(BYBIT, "0.001", next_funding_ts=nf))
    )
    later = T0 + 61
    seen = engine.evaluate(
        tick(
            later,
            perp(BINANCE, "0.0001", next_funding_ts=nf + 8 * HOUR, ts=later),
            perp(BYBIT, "0.001", next_funding_ts=nf + 8 * HOUR, ts=later),
        )
    )

    assert blind.candidates == () and blind.enters == ()
    assert blind.skipped[SkipReason.INTERVAL_UNKNOWN] == 2
    assert len(seen.enters) == 1
    assert seen.enters[0].edge.short_funding.interval.source is IntervalSource.OBSERVED


def test_funding_views_report_interval_source_and_apr() -> None:
    engine = EdgeEngine(settings())
    engine.evaluate(tick(T0, perp(BINANCE, "0.0008"), perp(BYBIT, "0.0001")))

    views = {v.connector: v for v in engine.funding_views()}

    assert views[BINANCE].interval.source is IntervalSource.HINT
    assert views[BINANCE].rate_per_hour == D("0.0001")
    assert views[BINANCE].apr_pct == D("87.6")
