"""Walk-forward folds: tune on a window, evaluate on the next unseen window, roll forward by one test window.

    fold k: train [start + k*test, start + k*test + train)   test [train end, train end + test)

Example: start 2025-06-01, --train-days 30, --test-days 30, --folds 3 -> trains on June, July, August and tests on
July, August, September; no test window is ever part of its own fold's training window. Every window is checked
against the data before anything runs: inside every selected market's data, and long enough to hold at least one
funding settlement of every selected perp market.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from ..sim.data import DataError, MarketData

DAY_S = 86400.0


class FoldError(ValueError):
    """The requested folds cannot be built on this data; the message names the window and the reason."""


@dataclass(frozen=True)
class Fold:
    """One walk-forward step; timestamps in UTC seconds, windows are [start, end)."""

    index: int
    train_start_ts: float
    train_end_ts: float
    test_start_ts: float
    test_end_ts: float

    def windows(self) -> tuple[tuple[str, float, float], ...]:
        return (("train", self.train_start_ts, self.train_end_ts), ("test", self.test_start_ts, self.test_end_ts))


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_folds(start_ts: float, end_ts: float, folds: int, train_days: float, test_days: float) -> list[Fold]:
    """The folds of a sweep over [start_ts, end_ts).

    Raises:
        FoldError: no folds, an empty window, or folds that need more time than the period holds.
    """
    if folds < 1:
        raise FoldError(f"--folds ({folds}) must be at least 1")
    for name, days in (("--train-days", train_days), ("--test-days", test_days)):
        if not days > 0:
            raise FoldError(f"{name} ({days}) must be positive: an empty window holds nothing to tune or test on")
    if not start_ts < end_ts:
        raise FoldError(f"the period is empty: --start ({iso(start_ts)}) must be before --end ({iso(end_ts)})")
    train_s, test_s = train_days * DAY_S, test_days * DAY_S
    needed_s = train_s + folds * test_s
    if start_ts + needed_s > end_ts:
        raise FoldError(
            f"--folds {folds} with --train-days {train_days:g} and --test-days {test_days:g} need "
            f"{needed_s / DAY_S:g} days ({iso(start_ts)} -> {iso(start_ts + needed_s)}), but the period "
            f"{iso(start_ts)} -> {iso(end_ts)} holds {(end_ts - start_ts) / DAY_S:g}: fewer folds or shorter windows"
        )
    out = []
    for k in range(folds):
        train_start = start_ts + k * test_s
        train_end = train_start + train_s
        out.append(Fold(k, train_start, train_end, train_end, train_end + test_s))
    return out


def data_span(md: MarketData, venues: Iterable[str], spot: Iterable[str], coins: Iterable[str]) -> tuple[float, float]:
    """Where every selected market has both prices and (perps) funding: (first_ts, last_ts).

    Raises:
        FoldError: a selected market is not in the data at all.
    """
    venues, spot, coins = list(venues), list(spot), list(coins)
    first, last = float("-inf"), float("inf")
    for venue in sorted({*venues, *spot}):
        for coin in coins:
            try:
                candles = md.candle_series(venue, coin)
                lo, hi = float(candles.first_ts), float(candles.end_ts)
                if venue in venues:
                    times = md.funding_series(venue, coin).times
                    lo, hi = max(lo, float(times[0])), min(hi, float(times[-1]))
            except DataError as e:
                raise FoldError(f"market {venue} {coin} is not in the data: {e}") from e
            first, last = max(first, lo), min(last, hi)
    return first, last


def check_folds(
    folds: list[Fold], md: MarketData, venues: Iterable[str], spot: Iterable[str], coins: Iterable[str]
) -> None:
    """Every window inside the data and holding at least one funding settlement of every selected perp market.

    Raises:
        FoldError: naming the fold, the window and the market.
    """
    venues, coins = list(venues), list(coins)
    first, last = data_span(md, venues, spot, coins)
    for fold in folds:
        for kind, start, end in fold.windows():
            where = f"fold {fold.index + 1} {kind} window {iso(start)} -> {iso(end)}"
            if start < first or end > last:
                raise FoldError(
                    f"{where} is outside the data of the selected markets ({iso(first)} -> "
                    f"{iso(last)}): move --start/--end or use fewer/shorter folds"
                )
            missing = _without_settlement(md, venues, coins, start, end)
            if missing:
                raise FoldError(
                    f"{where} ({(end - start) / 3600:g} h) is too short for one funding settlement of "
                    f"{missing}: nothing could be earned or measured in it; use longer windows"
                )


def _without_settlement(md: MarketData, venues: list[str], coins: list[str], start: float, end: float) -> str | None:
    for venue in venues:
        for coin in coins:
            if not md.funding_series(venue, coin).settlements_between(start, end):
                return f"{venue} {coin}"
    return None


def check_calibration_cut(folds: list[Fold], cut_ts: float) -> None:
    """No look-ahead through the forecast's shipped constants: every test window starts at or after the last data
    they were calibrated on (`core.forecast.CALIBRATION_CUT_TS`). Training windows may overlap it (tuning may use
    anything before its test window).

    Raises:
        FoldError: naming the fold, its test window and the cut.
    """
    for fold in folds:
        if fold.test_start_ts < cut_ts:
            raise FoldError(
                f"fold {fold.index + 1} test window {iso(fold.test_start_ts)} -> {iso(fold.test_end_ts)} starts "
                f"before the funding forecast's calibration cut {iso(cut_ts)}: its constants were fitted on data "
                "up to the cut, so this window would not be out of sample; move --start later (or use "
                "funding_forecast: persistent in the base config)"
            )
