"""sim/calibration.py and sim/book.py: the stored book profiles match the captures; synthetic books follow them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sim_helpers import SHARED_DATA

from strategies.funding_arbitrage.sim.book import book_shape, default_lot_size, synthesize, walk
from strategies.funding_arbitrage.sim.calibration import (
    BAND_EDGES_BPS,
    CALIBRATED_PROFILES,
    BookProfile,
    measure_all,
)
from strategies.funding_arbitrage.sim.data import MarketData

TOLERANCE = Decimal("0.01")  # constants are stored to 3 significant digits


def _close(a: Decimal, b: Decimal) -> bool:
    return abs(a - b) <= TOLERANCE * max(abs(a), abs(b))


def test_stored_profiles_match_a_recomputation_from_the_captures() -> None:
    measured = measure_all(SHARED_DATA / "orderbooks")

    assert measured.keys() == CALIBRATED_PROFILES.keys()
    for key, stored in CALIBRATED_PROFILES.items():
        fresh = measured[key]
        assert _close(fresh.spread_bps, stored.spread_bps), key
        assert fresh.samples == stored.samples, key
        for band, (a, b) in enumerate(zip(fresh.band_depth_quote, stored.band_depth_quote, strict=False)):
            assert (a is None) == (b is None), (key, band)
            assert a is None or b is None or _close(a, b), (key, band, a, b)


def test_unmeasured_bands_are_extrapolated_from_measured_density() -> None:
    profile = BookProfile(
        "t", Decimal(1), (Decimal(100), Decimal(100), Decimal(200), None) + (None,) * 7, 1, Decimal(1)
    )
    depths = profile.completed_depths()

    # measured: 400 quote over bands 0-0.5, 0.5-1, 1-2 bps = 2 bps of width -> 200 quote per bps
    assert depths[:3] == (Decimal(100), Decimal(100), Decimal(200))
    assert depths[3] == 200 * (BAND_EDGES_BPS[4] - BAND_EDGES_BPS[3])
    assert depths[-1] == 200 * (BAND_EDGES_BPS[-1] - BAND_EDGES_BPS[-2])


def test_synthetic_book_has_calibrated_spread_tick_grid_and_band_depth(market_data: MarketData) -> None:
    shape = book_shape("binance", "BTC", market_data)
    mid, tick = Decimal("86371.05"), Decimal("0.1")

    bids, asks = synthesize(mid, shape, tick)

    assert shape.depth_scale == 1 and shape.profile == "binance_btcusdt"
    assert asks[0][0] - bids[0][0] == tick  # 0.0162 bps of 86k is below one tick: spread = one tick
    assert all(p % tick == 0 for p, _ in bids + asks)
    assert [p for p, _ in bids] == sorted((p for p, _ in bids), reverse=True)
    assert [p for p, _ in asks] == sorted(p for p, _ in asks)
    assert abs(asks[0][0] * asks[0][1] - shape.band_depth_quote[0]) < Decimal("1e-9")
    assert len(asks) == len(BAND_EDGES_BPS) - 1


def test_thinner_markets_get_proportionally_thinner_books(market_data: MarketData) -> None:
    btc = market_data.candle_series("binance", "BTC").median_quote_volume()
    bybit = market_data.candle_series("bybit", "BTC").median_quote_volume()

    shape = book_shape("bybit", "BTC", market_data)

    assert shape.depth_scale == bybit / btc
    assert shape.band_depth_quote[0] == CALIBRATED_PROFILES["binance_btcusdt"].completed_depths()[0] * (bybit / btc)


def test_walk_gives_vwap_and_respects_limit() -> None:
    asks = [(Decimal(100), Decimal(1)), (Decimal(101), Decimal(1)), (Decimal(103), Decimal(5))]

    full = walk(asks, Decimal(3), None, is_buy=True)
    limited = walk(asks, Decimal(3), Decimal(101), is_buy=True)

    assert full.filled == 3 and full.average_price == Decimal(304) / 3
    assert limited.filled == 2 and limited.average_price == Decimal("100.5")


@pytest.mark.parametrize(("price", "lot"), [("90000", "0.0001"), ("2000", "0.001"), ("0.2", "10"), ("15", "0.1")])
def test_default_lot_is_worth_one_to_ten_quote(price: str, lot: str) -> None:
    assert default_lot_size(Decimal(price)) == Decimal(lot)
