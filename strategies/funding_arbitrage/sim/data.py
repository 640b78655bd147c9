"""Recorded market data for the simulated venues: funding settlements and hourly candles (no hummingbot import).

Two layouts are understood, recognised by the columns of `funding_rates.csv.gz` (extra columns are ignored):

* cross-venue (`cross_venue_2025/`): `funding_rates.csv.gz` with timestamp_ms, venue, coin, funding_rate (one row
  per settlement) and, optionally, `candles_1h.csv.gz` with timestamp_ms, venue, coin, o, h, l, c, v (hour-open
  times, v in base units).
* legacy (`funding_2020_2023/`): `funding_rates.csv.gz` with venue, symbol (BTC-USDT), ts_utc, funding_rate. It has
  no candles, so such a dataset is FUNDING-ONLY: it can drive funding analysis but cannot price a trade
  (`MarketData.candle_series` raises `DataError` saying so).

Any other directory holding the same files and columns loads unchanged. Pandas does the parsing; the API hands out
`Decimal` prices and rates (built from the file's text, so a rate is exactly what the venue published) and integer
second timestamps. Settlement times are rounded to the nearest second (the files carry a few ms of jitter).
"""

from __future__ import annotations

import bisect
import itertools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

FUNDING_FILE = "funding_rates.csv.gz"
CANDLES_FILE = "candles_1h.csv.gz"
HOUR_S = 3600
DEFAULT_MAX_STALENESS_S = 2 * HOUR_S
CROSS_VENUE_FUNDING_COLUMNS = ("timestamp_ms", "venue", "coin", "funding_rate")
LEGACY_FUNDING_COLUMNS = ("venue", "symbol", "ts_utc", "funding_rate")
CANDLE_COLUMNS = ("timestamp_ms", "venue", "coin", "o", "h", "l", "c", "v")
PRICE_PATHS = ("ohlc", "linear")


class DataError(ValueError):
    """Malformed or missing market data; the message names the file, column and row (1-based file line)."""


@dataclass(frozen=True)
class Settlement:
    """One recorded funding settlement. `interval_s` is the gap to the previous settlement (None if unknown)."""

    ts: int
    rate: Decimal
    interval_s: int | None


@dataclass(frozen=True)
class Candle:
    """One hourly candle opening at `open_ts` (seconds); prices in quote, volume in base."""

    open_ts: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume_base: Decimal
    rising: bool | None = None  # path order shared by every venue of the coin this hour (None: own candle's)


class FundingSeries:
    """Sorted settlements of one (venue, coin); the interval is derived per settlement from the gaps.

    A gap cannot tell a missing row from an interval change: kraken's two 7200 s gaps read as 2h intervals.
    """

    def __init__(self, venue: str, coin: str, times: Sequence[int], rates: Sequence[Decimal]) -> None:
        if len(times) != len(rates) or not times:
            raise DataError(f"funding series {venue}/{coin} must hold at least one settlement")
        self.venue, self.coin = venue, coin
        self.times: tuple[int, ...] = tuple(times)
        self.rates: tuple[Decimal, ...] = tuple(rates)
        gaps = [b - a for a, b in zip(self.times, self.times[1:], strict=False)]
        first: int | None = gaps[0] if gaps else None
        self.intervals_s: tuple[int | None, ...] = (first, *gaps)
        self._settlements: list[Settlement | None] = [None] * len(self.times)  # built on first use (immutable)

    def __len__(self) -> int:
        return len(self.times)

    def settlement(self, index: int) -> Settlement:
        found = self._settlements[index]
        if found is None:
            found = self._settlements[index] = Settlement(self.times[index], self.rates[index], self.intervals_s[index])
        return found

    def next_settlement(self, ts: float) -> Settlement | None:
        """The first settlement strictly after `ts`; None after the last one."""
        i = bisect.bisect_right(self.times, ts)
        return self.settlement(i) if i < len(self.times) else None

    def last_settlement(self, ts: float) -> Settlement | None:
        """The latest settlement at or before `ts`; None before the first one."""
        i = bisect.bisect_right(self.times, ts) - 1
        return self.settlement(i) if i >= 0 else None

    def settlements_between(self, start_ts: float, end_ts: float) -> list[Settlement]:
        """Settlements with start_ts < ts <= end_ts, in time order."""
        lo = bisect.bisect_right(self.times, start_ts)
        if lo == len(self.times) or self.times[lo] > end_ts:  # the usual case, asked every tick: none
            return []
        hi = bisect.bisect_right(self.times, end_ts)
        return [self.settlement(i) for i in range(lo, hi)]


class CandleSeries:
    """Hourly candles of one (venue, coin) and the intra-hour price path built from them.

    Path "ohlc" (default) visits open -> low -> high -> close for a rising hour (open -> high -> low -> close for a
    falling one) at 0, 1/3, 2/3 and 1 of the hour, linearly in between, so wicks reach the simulated mark price
    (liquidations see them). Path "linear" goes straight from open to close. Neither invents data across gaps:
    after the last candle's close the close is held for at most `max_staleness_s`, then prices are None.
    """

    def __init__(self, venue: str, coin: str, candles: Sequence[Candle], price_decimals: int) -> None:
        if not candles:
            raise DataError(f"candle series {venue}/{coin} must hold at least one candle")
        self.venue, self.coin = venue, coin
        self.candles: tuple[Candle, ...] = tuple(candles)
        self.open_times: tuple[int, ...] = tuple(c.open_ts for c in candles)
        self.price_decimals = price_decimals
        # Caches for price_at / path_extremes (same Decimal operations, done once): per (candle, path) the path's
        # segments and vertices, per (offset into the hour, path) the segment and its fractions, the last answer.
        self._segments: dict[tuple[int, str], tuple[tuple[Decimal, Decimal], ...]] = {}
        self._vertex_times: dict[tuple[int, str], tuple[tuple[Decimal, Decimal], ...]] = {}
        self._last_price: tuple[Any, ...] | None = None
        self._before_price: tuple[Any, ...] | None = None

    def __len__(self) -> int:
        return len(self.candles)

    @property
    def first_ts(self) -> int:
        return self.open_times[0]

    @property
    def end_ts(self) -> int:
        """Close time of the last candle."""
        return self.open_times[-1] + HOUR_S

    @property
    def tick_size(self) -> Decimal:
        """Price step implied by the recorded prices (most fractional digits seen), e.g. 0.1 for binance BTC."""
        return Decimal(1).scaleb(-self.price_decimals)

    def candle_at(self, ts: float) -> Candle | None:
        """The candle whose hour contains `ts`; None inside a gap or outside the series."""
        i = bisect.bisect_right(self.open_times, ts) - 1
        if i >= 0 and ts < self.open_times[i] + HOUR_S:
            return self.candles[i]
        return None

    def price_at(self, ts: float, max_staleness_s: int = DEFAULT_MAX_STALENESS_S, path: str = "ohlc") -> Decimal | None:
        """Mark price at `ts` on the candle path; None before the data, or more than `max_staleness_s` past a close."""
        # The same question comes twice in a row (a spot priced off its perp; the liquidation check after the tick's
        # refresh asks for the previous and the current tick): keep the last two answers.
        last = self._last_price
        if (
            last is not None
            and last[0] == ts
            and last[1] is type(ts)
            and last[2] == max_staleness_s
            and last[3] == path
        ):
            return last[4]
        before = self._before_price
        if (
            before is not None
            and before[0] == ts
            and before[1] is type(ts)
            and before[2] == max_staleness_s
            and before[3] == path
        ):
            self._before_price, self._last_price = last, before
            return before[4]
        price = self._price_at(ts, max_staleness_s, path)
        self._before_price, self._last_price = last, (ts, type(ts), max_staleness_s, path, price)
        return price

    # (i, open_ts, end, path, segments): the candle the last interpolated answer came from, valid for
    # open_ts <= ts < end (its hour, cut short by a next candle opening inside it); a class default for old pickles
    _cursor: tuple[int, int, float, str, tuple[tuple[Decimal, Decimal], ...]] | None = None

    def _price_at(self, ts: float, max_staleness_s: int, path: str) -> Decimal | None:
        cursor = self._cursor
        if cursor is not None and cursor[1] <= ts < cursor[2] and cursor[3] == path:
            # a replay asks for one hour's prices tick after tick: the candle bisect would find, without the search
            at = _segment_at(ts - cursor[1], path)
            if at is None:
                return self.candles[cursor[0]].close
            segment, into, width = at
            start, rise = cursor[4][segment]
            return start + rise * into / width
        i = bisect.bisect_right(self.open_times, ts) - 1
        if i < 0:
            return None
        open_ts = self.open_times[i]
        if ts < open_ts + HOUR_S:
            # = _path_price(candle, Decimal(str(ts - open_ts)) / HOUR_S, path), from cached parts
            at = _segment_at(ts - open_ts, path)
            if at is None:
                return self.candles[i].close
            segment, into, width = at
            key = (i, path)
            segments = self._segments.get(key)
            if segments is None:
                segments = self._segments[key] = _segments(self.candles[i], path)
            following = self.open_times[i + 1] if i + 1 < len(self.open_times) else math.inf
            self._cursor = (i, open_ts, min(open_ts + HOUR_S, following), path, segments)
            start, rise = segments[segment]
            return start + rise * into / width
        if ts - (open_ts + HOUR_S) <= max_staleness_s:
            return self.candles[i].close
        return None

    def path_extremes(
        self, start_ts: float, end_ts: float, path: str = "ohlc", max_staleness_s: int = DEFAULT_MAX_STALENESS_S
    ) -> tuple[Decimal, Decimal] | None:
        """(lowest, highest) price on the path over [start_ts, end_ts]; None if no price is known in that span."""
        points = [
            p
            for p in (self.price_at(start_ts, max_staleness_s, path), self.price_at(end_ts, max_staleness_s, path))
            if p is not None
        ]
        lo, hi = self._candle_span(start_ts - HOUR_S, end_ts)
        numeric = type(start_ts) in (int, float) and type(end_ts) in (int, float)  # else compare exactly only
        lo_in, hi_in = (start_ts - _VERTEX_SLACK_S, end_ts + _VERTEX_SLACK_S) if numeric else (0, 0)
        lo_sure, hi_sure = (start_ts + _VERTEX_SLACK_S, end_ts - _VERTEX_SLACK_S) if numeric else (0, 0)
        open_times = self.open_times
        for i in range(lo, hi):
            if numeric and not (lo_in < open_times[i] + HOUR_S and open_times[i] < hi_in):
                continue  # every vertex lies in [open, open + 1 h], so none strictly inside (lo_in, hi_in)
            key = (i, path)
            vertices = self._vertex_times.get(key)
            if vertices is None:  # (time as float, time, price) of each vertex; time = open_ts + frac x HOUR_S
                candle = self.candles[i]
                vertices = self._vertex_times[key] = tuple(
                    (float(candle.open_ts + frac * HOUR_S), candle.open_ts + frac * HOUR_S, price)
                    for frac, price in _path_vertices(candle, path)
                )
            for at_f, at, price in vertices:
                # start_ts <= at <= end_ts, exactly; the float compare settles it unless at is within a hair of an end
                if not numeric:
                    if start_ts <= at <= end_ts:
                        points.append(price)
                elif lo_in < at_f < hi_in and (lo_sure < at_f < hi_sure or start_ts <= at <= end_ts):
                    points.append(price)
        return (min(points), max(points)) if points else None

    # the last price_bounds answer and where it holds: (q_after, q_upto, end_from, end_before, low, high) for
    # q_after < start_ts - 1 h - staleness - 1 <= q_upto and end_from <= end_ts < end_before (the two bisections'
    # results unchanged): ticks within an hour ask about the same candles (a class default for old pickles)
    _last_bounds: tuple[float, float, float, float, Decimal, Decimal] | None = None

    def price_bounds(self, start_ts: float, end_ts: float, max_staleness_s: int) -> tuple[Decimal, Decimal] | None:
        """(low, high) bounding every price `price_at` and `path_extremes` can give for a time in [start_ts, end_ts]
        (to the last of Decimal's 28 digits); None when no candle can price that span. Cheap: the lowest and highest
        open / high / low / close of the few candles whose hour or stale close reaches the span, not the path.

        Every such price is a candle's open, high, low or close, or lies between two of them on the path; the candles
        concerned open no earlier than start_ts - 1 h - max_staleness_s (a close is held for at most
        max_staleness_s) and no later than end_ts."""
        earliest = start_ts - HOUR_S - max(max_staleness_s, 0) - 1
        last = self._last_bounds
        if last is not None and last[0] < earliest <= last[1] and last[2] <= end_ts < last[3]:
            return last[4], last[5]
        times = self.open_times
        first = bisect.bisect_left(times, earliest)
        stop = bisect.bisect_right(times, end_ts)
        if first >= stop:
            return None
        window = self.candles[first:stop]
        low = min(min(c.open, c.high, c.low, c.close) for c in window)
        high = max(max(c.open, c.high, c.low, c.close) for c in window)
        self._last_bounds = (
            times[first - 1] if first > 0 else -math.inf,
            times[first],
            times[stop - 1],
            times[stop] if stop < len(times) else math.inf,
            low,
            high,
        )
        return low, high

    def _candle_span(self, low: Any, high: Any) -> tuple[int, int]:
        """(bisect_right(open_times, low), bisect_right(open_times, high)), read off the candle cursor when `high`
        lies in its candle (the price at the span's end was just asked) and `low` in the hour before it."""
        open_times = self.open_times
        cursor = self._cursor
        if cursor is not None and cursor[1] <= high < cursor[2]:
            i = cursor[0]  # open_times[i] <= high < open_times[i + 1]
            if (i == 0 or open_times[i - 1] <= low) and low < open_times[i]:
                return i, i + 1
            return bisect.bisect_right(open_times, low), i + 1
        return bisect.bisect_right(open_times, low), bisect.bisect_right(open_times, high)

    def median_quote_volume(self) -> Decimal:
        """Median hourly traded value in quote (v x close), the liquidity yardstick used to scale book depth."""
        values = sorted(c.volume_base * c.close for c in self.candles)
        return values[len(values) // 2]


_THIRD = Decimal(1) / 3
_VERTEX_SLACK_S = 1e-3  # far above float error on epoch seconds (~1e-7)
_FRACTIONS = {"linear": (Decimal(0), Decimal(1)), "ohlc": (Decimal(0), _THIRD, 2 * _THIRD, Decimal(1))}


def _path_vertices(candle: Candle, path: str) -> list[tuple[Decimal, Decimal]]:
    if path == "linear":
        return [(Decimal(0), candle.open), (Decimal(1), candle.close)]
    rising = candle.close >= candle.open if candle.rising is None else candle.rising
    first, second = (candle.low, candle.high) if rising else (candle.high, candle.low)
    return [(Decimal(0), candle.open), (_THIRD, first), (2 * _THIRD, second), (Decimal(1), candle.close)]


def _path_price(candle: Candle, frac: Decimal, path: str) -> Decimal:
    if path not in PRICE_PATHS:
        raise ValueError(f"path ({path!r}) must be one of {PRICE_PATHS}")
    vertices = _path_vertices(candle, path)
    for (f0, p0), (f1, p1) in itertools.pairwise(vertices):
        if frac <= f1:
            return p0 + (p1 - p0) * (frac - f0) / (f1 - f0)
    return candle.close


def _segments(candle: Candle, path: str) -> tuple[tuple[Decimal, Decimal], ...]:
    """(p0, p1 - p0) of each segment of the candle's path (the parts of _path_price that depend on the candle)."""
    return tuple((p0, p1 - p0) for (_, p0), (_, p1) in itertools.pairwise(_path_vertices(candle, path)))


_SEGMENT_AT: dict[tuple[type, float | int, str], tuple[int, Decimal, Decimal] | None] = {}
_SEGMENT_AT_MAX = 1 << 14


def _segment_at(offset: Any, path: str) -> tuple[int, Decimal, Decimal] | None:
    """For `offset` seconds into the hour: (segment, frac - f0, f1 - f0) as _path_price computes them, with
    frac = Decimal(str(offset)) / HOUR_S; None where _path_price falls through to the close. Raises ValueError for an
    unknown path. Cached for int and float offsets (a tick grid revisits the same few offsets every hour)."""
    kind = type(offset)
    cacheable = kind is float or kind is int
    if cacheable:
        key = (kind, offset, path)
        if key in _SEGMENT_AT:
            return _SEGMENT_AT[key]
    if path not in PRICE_PATHS:
        raise ValueError(f"path ({path!r}) must be one of {PRICE_PATHS}")
    frac = Decimal(str(offset)) / HOUR_S
    found = None
    for segment, (f0, f1) in enumerate(itertools.pairwise(_FRACTIONS[path])):
        if frac <= f1:
            found = (segment, frac - f0, f1 - f0)
            break
    if cacheable:
        if len(_SEGMENT_AT) >= _SEGMENT_AT_MAX:
            _SEGMENT_AT.clear()
        _SEGMENT_AT[key] = found
    return found


@dataclass
class MarketData:
    """Everything loaded from one data directory, keyed by (venue, coin)."""

    source_dir: Path
    funding: dict[tuple[str, str], FundingSeries]
    candles: dict[tuple[str, str], CandleSeries]
    quotes: dict[tuple[str, str], str | None]
    funding_only: bool

    def venues(self) -> list[str]:
        return sorted({v for v, _ in self.funding} | {v for v, _ in self.candles})

    def coins(self, venue: str | None = None) -> list[str]:
        keys = set(self.funding) | set(self.candles)
        return sorted({c for v, c in keys if venue is None or v == venue})

    def funding_series(self, venue: str, coin: str) -> FundingSeries:
        try:
            return self.funding[(venue, coin)]
        except KeyError:
            raise DataError(
                f"{self.source_dir / FUNDING_FILE}: no funding rows for venue={venue} coin={coin}"
            ) from None

    def has_candles(self, venue: str, coin: str) -> bool:
        return (venue, coin) in self.candles

    def candle_series(self, venue: str, coin: str) -> CandleSeries:
        if self.funding_only:
            raise DataError(
                f"{self.source_dir} is a funding-only dataset (no {CANDLES_FILE}): it has no prices, "
                "so it cannot be used to simulate trading"
            )
        try:
            return self.candles[(venue, coin)]
        except KeyError:
            raise DataError(f"{self.source_dir / CANDLES_FILE}: no candle rows for venue={venue} coin={coin}") from None


def project_root() -> Path:
    """The checkout this package lives in (strategies/funding_arbitrage/sim/data.py -> the project root)."""
    return Path(__file__).resolve().parents[3]


def default_data_dir(root: Path | None = None) -> Path:
    """`<project>/../shared/data`, where the shared market data lives (never copied into the project)."""
    return ((root or project_root()) / ".." / "shared" / "data").resolve()


def load_market_data(data_dir: Path | str) -> MarketData:
    """Load one dataset directory. Raises DataError naming file, column and row for anything malformed."""
    directory = Path(data_dir)
    funding_path = directory / FUNDING_FILE
    if not funding_path.is_file():
        raise DataError(f"{funding_path}: file not found (a dataset directory needs {FUNDING_FILE})")
    funding, quotes = _load_funding(funding_path)
    candles_path = directory / CANDLES_FILE
    candles = _load_candles(candles_path) if candles_path.is_file() else {}
    if not candles:
        log.info("dataset %s has no %s: funding-only, it cannot price trades", directory, CANDLES_FILE)
    return MarketData(directory, funding, candles, quotes, funding_only=not candles_path.is_file())


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    except (OSError, ValueError, pd.errors.ParserError) as e:
        raise DataError(f"{path}: cannot be read as CSV: {e}") from e


def _require_columns(path: Path, df: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(map(str, df.columns))}")


def _bad_row(path: Path, column: str, df: pd.DataFrame, mask: pd.Series[bool], what: str) -> DataError:
    pos = int(np.flatnonzero(mask.to_numpy())[0])
    return DataError(f"{path}: column '{column}' row {pos + 2}: {what} {df[column].iloc[pos]!r}")


def _numbers(path: Path, df: pd.DataFrame, column: str) -> np.ndarray:
    """Column as float64 (for validation and sorting); a blank, non-numeric, NaN or infinite cell raises."""
    values = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        raise _bad_row(path, column, df, pd.Series(bad), "not a finite number:")
    return values


def _decimals(path: Path, df: pd.DataFrame, column: str) -> list[Decimal]:
    _numbers(path, df, column)
    try:
        return [Decimal(text.strip()) for text in df[column]]
    except InvalidOperation as e:  # pragma: no cover - _numbers already rejected anything unparsable
        raise DataError(f"{path}: column '{column}' holds a value Decimal cannot parse") from e


def _text(path: Path, df: pd.DataFrame, column: str) -> pd.Series[str]:
    values = df[column].str.strip()
    blank = values == ""
    if blank.any():
        raise _bad_row(path, column, df, blank, "blank value:")
    return values


def _load_funding(path: Path) -> tuple[dict[tuple[str, str], FundingSeries], dict[tuple[str, str], str | None]]:
    df = _read_csv(path)
    if "symbol" in df.columns or "ts_utc" in df.columns:
        _require_columns(path, df, LEGACY_FUNDING_COLUMNS)
        pairs = _text(path, df, "symbol").str.split("-", n=1)
        bad_symbol = pairs.str.len() != 2
        if bad_symbol.any():
            raise _bad_row(path, "symbol", df, bad_symbol, "symbol is not BASE-QUOTE:")
        coins, quote_col = pairs.str[0], pairs.str[1]
        parsed = pd.to_datetime(df["ts_utc"], utc=True, format="ISO8601", errors="coerce")
        if parsed.isna().any():
            raise _bad_row(path, "ts_utc", df, parsed.isna(), "not an ISO-8601 UTC time:")
        seconds = ((parsed - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(milliseconds=1)).to_numpy(dtype=float) / 1000
    else:
        _require_columns(path, df, CROSS_VENUE_FUNDING_COLUMNS)
        coins, quote_col = _text(path, df, "coin"), None
        seconds = _numbers(path, df, "timestamp_ms") / 1000
    venues = _text(path, df, "venue")
    rates = _decimals(path, df, "funding_rate")
    table = pd.DataFrame(
        {"venue": venues, "coin": coins, "ts": np.rint(seconds).astype(np.int64), "row": np.arange(len(df))}
    )
    table["quote"] = quote_col if quote_col is not None else ""
    series: dict[tuple[str, str], FundingSeries] = {}
    quotes: dict[tuple[str, str], str | None] = {}
    for (venue, coin), group in table.sort_values(["venue", "coin", "ts"], kind="stable").groupby(
        ["venue", "coin"], sort=False
    ):
        ts = group["ts"].to_numpy()
        dup = np.flatnonzero(np.diff(ts) == 0)
        if dup.size:
            rows = group["row"].to_numpy()[dup[0] : dup[0] + 2] + 2
            raise DataError(
                f"{path}: rows {rows[0]} and {rows[1]}: two settlements for {venue}/{coin} at ts={ts[dup[0]]}"
            )
        series[(venue, coin)] = FundingSeries(venue, coin, ts.tolist(), [rates[r] for r in group["row"]])
        quotes[(venue, coin)] = group["quote"].iloc[0] or None
    return series, quotes


def _load_candles(path: Path) -> dict[tuple[str, str], CandleSeries]:
    df = _read_csv(path)
    _require_columns(path, df, CANDLE_COLUMNS)
    venues, coins = _text(path, df, "venue"), _text(path, df, "coin")
    open_ts = np.rint(_numbers(path, df, "timestamp_ms") / 1000).astype(np.int64)
    cols = {c: _decimals(path, df, c) for c in ("o", "h", "l", "c", "v")}
    _check_candle_shapes(path, df, cols)
    fractional = pd.concat([df[c].str.strip().str.partition(".")[2].str.rstrip("0").str.len() for c in "ohlc"], axis=1)
    table = pd.DataFrame(
        {
            "venue": venues,
            "coin": coins,
            "ts": open_ts,
            "row": np.arange(len(df)),
            "decimals": fractional.max(axis=1).to_numpy(),
        }
    )
    rising = _shared_direction(table, cols)
    result: dict[tuple[str, str], CandleSeries] = {}
    for (venue, coin), group in table.sort_values(["venue", "coin", "ts"], kind="stable").groupby(
        ["venue", "coin"], sort=False
    ):
        ts = group["ts"].to_numpy()
        dup = np.flatnonzero(np.diff(ts) == 0)
        if dup.size:
            rows = group["row"].to_numpy()[dup[0] : dup[0] + 2] + 2
            raise DataError(f"{path}: rows {rows[0]} and {rows[1]}: two candles for {venue}/{coin} at ts={ts[dup[0]]}")
        candles = [
            Candle(
                int(t), cols["o"][r], cols["h"][r], cols["l"][r], cols["c"][r], cols["v"][r], rising.get((coin, int(t)))
            )
            for t, r in zip(ts.tolist(), group["row"].tolist(), strict=False)
        ]
        result[(venue, coin)] = CandleSeries(venue, coin, candles, int(group["decimals"].max()))
    return result


def _shared_direction(table: pd.DataFrame, cols: dict[str, list[Decimal]]) -> dict[tuple[str, int], bool]:
    """Per (coin, hour), whether the intra-hour path visits the low first, decided once for every venue from the
    first venue (alphabetically) with that candle. Venues quote the same coin within a few bps, so deciding the
    order per venue would put one venue at its low while another sits at its high: a fake cross-venue basis of
    up to an hour's range."""
    out: dict[tuple[str, int], bool] = {}
    ordered = table.sort_values(["coin", "ts", "venue"], kind="stable")
    for coin, ts, row in zip(ordered["coin"].tolist(), ordered["ts"].tolist(), ordered["row"].tolist(), strict=False):
        key = (coin, int(ts))
        if key not in out:
            out[key] = cols["c"][row] >= cols["o"][row]
    return out


def _check_candle_shapes(path: Path, df: pd.DataFrame, cols: dict[str, list[Decimal]]) -> None:
    """Prices must be positive and low <= open, close <= high; volume must not be negative."""
    for i, (o, h, lo, c, v) in enumerate(zip(cols["o"], cols["h"], cols["l"], cols["c"], cols["v"], strict=False)):
        if lo <= 0 or not (lo <= o <= h and lo <= c <= h) or v < 0:
            column = "v" if v < 0 else "l" if lo <= 0 else "h"
            raise DataError(
                f"{path}: column '{column}' row {i + 2}: inconsistent candle o={o} h={h} l={lo} c={c} v={v}"
            )
