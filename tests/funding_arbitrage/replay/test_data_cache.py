"""The on-disk cache of parsed market data (replay/data_cache.py): the same data as a parse, parsed again when a
file or the parser changes, and a corrupt or unwritable cache never stops a replay."""

from __future__ import annotations

import gzip
import logging
import os
import pickle
from decimal import Decimal
from pathlib import Path

import pytest

from strategies.funding_arbitrage.replay import data_cache
from strategies.funding_arbitrage.sim.data import MarketData, load_market_data

FUNDING = "timestamp_ms,venue,coin,funding_rate\n" + "".join(
    f"{1751328000000 + i * 28800000},binance,BTC,0.0001{i}\n" for i in range(6)
)
CANDLES = "timestamp_ms,venue,coin,o,h,l,c,v\n" + "".join(
    f"{1751328000000 + i * 3600000},binance,BTC,100.{i},101.5,99.25,100.{i + 1},12.5\n" for i in range(48)
)


def _dataset(directory: Path, funding: str = FUNDING) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in (("funding_rates.csv.gz", funding), ("candles_1h.csv.gz", CANDLES)):
        with gzip.open(directory / name, "wt") as fh:
            fh.write(text)
    return directory


def _same(a: MarketData, b: MarketData) -> None:
    assert a.funding.keys() == b.funding.keys() and a.candles.keys() == b.candles.keys()
    for key, series in a.funding.items():
        assert series.times == b.funding[key].times and repr(series.rates) == repr(b.funding[key].rates)
    for key, candles in a.candles.items():
        assert repr(candles.candles) == repr(b.candles[key].candles)
        assert candles.price_decimals == b.candles[key].price_decimals
    assert a.quotes == b.quotes and a.funding_only == b.funding_only


@pytest.fixture
def parses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Parses done by the cache (it calls load_market_data on a miss); the cache directory is private to the test."""
    monkeypatch.setenv("FUNDING_ARB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv(data_cache.SWITCH_ENV, raising=False)
    seen: list[Path] = []
    monkeypatch.setattr(data_cache, "load_market_data", lambda d: seen.append(Path(d)) or load_market_data(d))
    return seen


def test_a_second_load_reads_the_cache_and_gives_the_same_data(tmp_path: Path, parses: list[Path]) -> None:
    data = _dataset(tmp_path / "data")
    first = data_cache.load_cached_market_data(data)
    second = data_cache.load_cached_market_data(data)
    assert len(parses) == 1 and data_cache.cache_file(data).is_file()
    _same(first, second)
    _same(second, load_market_data(data))
    assert second.source_dir == data
    assert second.candle_series("binance", "BTC").price_at(1751328000 + 1800) == first.candle_series(
        "binance", "BTC"
    ).price_at(1751328000 + 1800)


def test_a_changed_file_is_parsed_again(tmp_path: Path, parses: list[Path]) -> None:
    data = _dataset(tmp_path / "data")
    data_cache.load_cached_market_data(data)
    _dataset(data, FUNDING.replace("0.00010", "0.00099"))  # new content (size may stay: mtime differs)
    funding = data / "funding_rates.csv.gz"
    os.utime(funding, ns=(funding.stat().st_atime_ns, funding.stat().st_mtime_ns + 1_000_000_000))
    changed = data_cache.load_cached_market_data(data)
    assert len(parses) == 2
    assert changed.funding_series("binance", "BTC").rates[0] == Decimal("0.00099")
    data_cache.load_cached_market_data(data)
    assert len(parses) == 2  # and the new parse is what the cache holds now


def test_a_cache_made_by_another_parser_is_not_used(
    tmp_path: Path, parses: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _dataset(tmp_path / "data")
    data_cache.load_cached_market_data(data)
    real = data_cache.source_key
    monkeypatch.setattr(data_cache, "source_key", lambda d: (*real(d)[:3], "another parser"))
    data_cache.load_cached_market_data(data)
    assert len(parses) == 2


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "wrong object"])
def test_a_corrupt_cache_is_reported_and_replaced(
    tmp_path: Path, parses: list[Path], damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    data = _dataset(tmp_path / "data")
    data_cache.load_cached_market_data(data)
    path = data_cache.cache_file(data)
    content = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(content[: len(content) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x80\x05not a pickle at all" * 10)
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        with path.open("wb") as fh:
            pickle.dump(data_cache.source_key(data), fh)
            pickle.dump({"not": "market data"}, fh)
    with caplog.at_level(logging.WARNING, logger=data_cache.__name__):
        loaded = data_cache.load_cached_market_data(data)
    assert len(parses) == 2
    _same(loaded, load_market_data(data))
    assert any(r.levelno == logging.WARNING for r in caplog.records)  # said once, clearly
    data_cache.load_cached_market_data(data)
    assert len(parses) == 2  # replaced by a good one


def test_an_unwritable_cache_directory_only_costs_the_parse(
    tmp_path: Path, parses: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("FUNDING_ARB_CACHE_DIR", str(blocker / "cache"))
    data = _dataset(tmp_path / "data")
    _same(data_cache.load_cached_market_data(data), load_market_data(data))
    data_cache.load_cached_market_data(data)
    assert len(parses) == 2


def test_switched_off_it_parses_and_writes_nothing(
    tmp_path: Path, parses: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(data_cache.SWITCH_ENV, "0")
    data = _dataset(tmp_path / "data")
    data_cache.load_cached_market_data(data)
    data_cache.load_cached_market_data(data)
    assert len(parses) == 2 and not data_cache.cache_file(data).exists()


def test_only_the_most_recent_directories_are_kept(tmp_path: Path, parses: list[Path]) -> None:
    dirs = [_dataset(tmp_path / f"data{i}") for i in range(data_cache.KEEP_FILES + 2)]
    for i, d in enumerate(dirs):
        data_cache.load_cached_market_data(d)
        path = data_cache.cache_file(d)
        os.utime(path, ns=(path.stat().st_atime_ns, 1_000_000_000 * (i + 1)))  # written in this order
    kept = sorted(p.name for p in data_cache.cache_dir().glob("*.pickle"))
    assert len(kept) == data_cache.KEEP_FILES
    assert data_cache.cache_file(dirs[-1]).name in kept and data_cache.cache_file(dirs[0]).name not in kept


def test_a_same_size_rewrite_with_the_old_mtime_is_parsed_again(tmp_path: Path, parses: list[Path]) -> None:
    """`cp -p` or `touch -r` over a data file: same size, same modification time, other content."""
    data = _dataset(tmp_path / "data")
    funding = data / "funding_rates.csv.gz"
    before = funding.stat()
    data_cache.load_cached_market_data(data)
    for rate in (f"0.000{d}0" for d in range(2, 10)):  # a content whose gzip has the same size (deterministic)
        _dataset(tmp_path / "scratch", FUNDING.replace("0.00010", rate))
        if (tmp_path / "scratch" / funding.name).stat().st_size == before.st_size:
            break
    else:
        pytest.fail("no same-size variant of the funding file")
    funding.write_bytes((tmp_path / "scratch" / funding.name).read_bytes())
    os.utime(funding, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = funding.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)  # what the old key compared
    reloaded = data_cache.load_cached_market_data(data)
    assert len(parses) == 2
    assert reloaded.funding_series("binance", "BTC").rates[0] == Decimal(rate)
    _same(reloaded, load_market_data(data))
