"""sim/data.py: loading both dataset layouts, derived intervals, the price path, gaps and malformed files."""

from __future__ import annotations

import gzip
from decimal import Decimal
from pathlib import Path

import pytest
from sim_helpers import CROSS_VENUE, SHARED_DATA

from strategies.funding_arbitrage.sim.data import DataError, MarketData, default_data_dir, load_market_data

HL_GAP_LAST_OPEN = 1742598000  # hyperliquid BTC: last candle before an 11h gap opens 2025-03-21T23:00Z
HL_GAP_NEXT_OPEN = 1742637600  # ... and the next one opens 2025-03-22T10:00Z


def _write_gz(path: Path, text: str) -> Path:
    with gzip.open(path, "wt") as fh:
        fh.write(text)
    return path


def test_default_data_dir_is_shared_data_next_to_the_project() -> None:
    assert default_data_dir() == SHARED_DATA


def test_full_cross_venue_set_loads_with_decimal_api() -> None:
    # load time is measured in bench/, never asserted here (a loaded CI box would fail a timed test)
    data = load_market_data(CROSS_VENUE)

    assert data.venues() == ["binance", "bybit", "hyperliquid", "kraken", "lighter"]
    assert not data.funding_only
    series = data.funding_series("binance", "BTC")
    assert isinstance(series.rates[0], Decimal) and isinstance(series.times[0], int)
    assert series.times == tuple(sorted(series.times))


def test_first_binance_btc_settlement_matches_the_file_row(market_data: MarketData, raw_funding) -> None:
    row = raw_funding[(raw_funding.venue == "binance") & (raw_funding.coin == "BTC")].iloc[0]

    first = market_data.funding_series("binance", "BTC").settlement(0)

    assert first.ts == round(int(row.timestamp_ms) / 1000) == 1741449600
    assert first.rate == Decimal(row.funding_rate) == Decimal("0.00001208")


def test_intervals_are_derived_per_settlement(market_data: MarketData) -> None:
    hype_binance = market_data.funding_series("binance", "HYPE")
    kraken = market_data.funding_series("kraken", "BTC")

    assert set(hype_binance.intervals_s) == {14400}  # binance HYPE settles every 4h
    assert set(market_data.funding_series("bybit", "BTC").intervals_s) == {28800}
    assert set(kraken.intervals_s) == {3600, 7200}  # two 2h gaps in kraken's record read as 2h intervals
    nxt = kraken.next_settlement(kraken.times[0])
    assert nxt is not None and nxt.ts == kraken.times[1] and nxt.interval_s == 3600


def test_settlement_queries_are_strictly_after_and_half_open(market_data: MarketData) -> None:
    series = market_data.funding_series("binance", "BTC")
    t0, t1 = series.times[0], series.times[1]

    assert series.next_settlement(t0).ts == t1  # type: ignore[union-attr]
    assert series.next_settlement(t0 - 1).ts == t0  # type: ignore[union-attr]
    assert [s.ts for s in series.settlements_between(t0, t1)] == [t1]
    assert series.last_settlement(t0 - 1) is None


def test_price_path_visits_open_extremes_and_close(market_data: MarketData, raw_candles) -> None:
    row = raw_candles[(raw_candles.venue == "binance") & (raw_candles.coin == "BTC")].iloc[0]
    candles = market_data.candle_series("binance", "BTC")
    start = int(row.timestamp_ms) // 1000
    o, h, low, c = (Decimal(row[k]) for k in ("o", "h", "l", "c"))
    assert c >= o  # a rising hour: open -> low -> high -> close

    assert candles.price_at(start) == o
    assert candles.price_at(start + 1200) == low
    assert candles.price_at(start + 2400) == h
    assert candles.price_at(start + 600) == o + (low - o) / 2
    assert candles.price_at(start, path="linear") == o
    assert candles.price_at(start + 1800, path="linear") == (o + c) / 2
    assert candles.path_extremes(start, start + 3600) == (low, h)
    assert candles.tick_size == Decimal("0.1")


def test_gap_holds_the_last_close_for_bounded_staleness_then_returns_none(market_data: MarketData) -> None:
    candles = market_data.candle_series("hyperliquid", "BTC")
    last_close = candles.candle_at(HL_GAP_LAST_OPEN).close  # type: ignore[union-attr]
    gap_start = HL_GAP_LAST_OPEN + 3600

    assert candles.candle_at(gap_start + 60) is None
    assert candles.price_at(gap_start + 7200) == last_close
    assert candles.price_at(gap_start + 7201) is None
    assert candles.price_at(gap_start + 7201, max_staleness_s=0) is None
    assert candles.price_at(gap_start + 1, max_staleness_s=0) is None
    assert candles.price_at(HL_GAP_NEXT_OPEN) == candles.candle_at(HL_GAP_NEXT_OPEN).open  # type: ignore[union-attr]
    assert candles.price_at(candles.first_ts - 1) is None


def test_legacy_funding_dataset_is_funding_only() -> None:
    data = load_market_data(SHARED_DATA / "funding_2020_2023")

    dydx = data.funding_series("dydx", "BTC")
    assert data.funding_only and data.quotes[("dydx", "BTC")] == "USDT"
    assert set(dydx.intervals_s) == {3600}
    with pytest.raises(DataError, match="funding-only dataset"):
        data.candle_series("binance", "BTC")


def test_another_directory_with_the_same_layout_loads_unchanged(tmp_path: Path) -> None:
    _write_gz(
        tmp_path / "funding_rates.csv.gz",
        "timestamp,timestamp_ms,venue,coin,funding_rate\n"
        "x,1700000000000,v,AAA,0.0001\nx,1700003600000,v,AAA,-2E-5\nx,1700010800000,v,AAA,0.00003\n",
    )
    _write_gz(
        tmp_path / "candles_1h.csv.gz",
        "timestamp,timestamp_ms,venue,coin,o,h,l,c,v\nx,1700000000000,v,AAA,10.00,10.50,9.95,10.20,5\n",
    )

    data = load_market_data(tmp_path)

    assert data.funding_series("v", "AAA").rates == (Decimal("0.0001"), Decimal("-0.00002"), Decimal("0.00003"))
    assert data.funding_series("v", "AAA").intervals_s == (3600, 3600, 7200)
    assert data.candle_series("v", "AAA").tick_size == Decimal("0.01")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("timestamp,timestamp_ms,venue,coin\nx,1700000000000,v,AAA\n", "missing column(s) funding_rate"),
        (
            "timestamp_ms,venue,coin,funding_rate\n1700000000000,v,AAA,0.1\n1700003600000,v,AAA,abc\n",
            "column 'funding_rate' row 3: not a finite number: 'abc'",
        ),
        ("timestamp_ms,venue,coin,funding_rate\n1700000000000,v,AAA,NaN\n", "column 'funding_rate' row 2"),
        ("timestamp_ms,venue,coin,funding_rate\n1700000000000,v,AAA,\n", "column 'funding_rate' row 2"),
        ("timestamp_ms,venue,coin,funding_rate\nsoon,v,AAA,0.1\n", "column 'timestamp_ms' row 2"),
        ("timestamp_ms,venue,coin,funding_rate\n1700000000000,v,,0.1\n", "column 'coin' row 2: blank value"),
        (
            "timestamp_ms,venue,coin,funding_rate\n1700000000000,v,AAA,0.1\n1700000000000,v,AAA,0.2\n",
            "rows 2 and 3: two settlements for v/AAA",
        ),
        ("venue,symbol,ts_utc,funding_rate\nv,AAA-USDT,yesterday,0.1\n", "column 'ts_utc' row 2"),
        ("venue,symbol,funding_rate\nv,AAA-USDT,0.1\n", "missing column(s) ts_utc"),
    ],
)
def test_malformed_funding_file_errors_name_file_column_and_row(tmp_path: Path, text: str, message: str) -> None:
    path = _write_gz(tmp_path / "funding_rates.csv.gz", text)

    with pytest.raises(DataError) as err:
        load_market_data(tmp_path)

    assert str(path) in str(err.value) and message in str(err.value)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("timestamp_ms,venue,coin,o,h,l,v\n1700000000000,v,AAA,1,1,1,1\n", "missing column(s) c"),
        ("timestamp_ms,venue,coin,o,h,l,c,v\n1700000000000,v,AAA,1,1,1,inf,1\n", "column 'c' row 2"),
        ("timestamp_ms,venue,coin,o,h,l,c,v\n1700000000000,v,AAA,1,0.5,1,1,1\n", "row 2: inconsistent candle"),
    ],
)
def test_malformed_candle_file_errors_name_file_column_and_row(tmp_path: Path, body: str, message: str) -> None:
    _write_gz(tmp_path / "funding_rates.csv.gz", "timestamp_ms,venue,coin,funding_rate\n1700000000000,v,AAA,0.1\n")
    path = _write_gz(tmp_path / "candles_1h.csv.gz", body)

    with pytest.raises(DataError) as err:
        load_market_data(tmp_path)

    assert str(path) in str(err.value) and message in str(err.value)


def test_missing_directory_and_unknown_market_are_clear(tmp_path: Path, market_data: MarketData) -> None:
    with pytest.raises(DataError, match=r"funding_rates\.csv\.gz: file not found"):
        load_market_data(tmp_path / "nowhere")
    with pytest.raises(DataError, match="no candle rows for venue=kraken coin=BTC"):
        market_data.candle_series("kraken", "BTC")
