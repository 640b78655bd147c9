"""Calibrate the funding forecast (core/forecast.py) and measure it out of sample (run on demand, not by pytest).

    .venv/bin/python bench/forecast_calibration.py [--cut 2025-06-01] [--end 2025-09-30]

In sample: funding_2020_2023 (every venue, BTC/ETH, 2020-2023) and cross_venue_2025 binance + bybit settlements
before --cut. Prints the LEVEL and SPREAD parameters that `core/forecast.py` ships as constants. Out of sample:
every binance/bybit settlement of cross_venue_2025 from --cut to --end; for each, the mean per-hour rate realised
over the next H hours against (a) the OU forecast with the shipped constants (long-run mean shrunk towards the
market's settled history since --cut, as the strategy does) and (b) "the last rate persists". Prints MAE/RMSE per
horizon, in APR percentage points. Documented in docs/forecast.md.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import itertools
import math
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from strategies.funding_arbitrage.core.forecast import (
    LEVEL_DEFAULTS,
    SPREAD_DEFAULTS,
    FundingForecaster,
    calibrate,
    forecast,
)

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
Series = list[tuple[float, float]]


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).astimezone(UTC).timestamp()


def _per_hour(rows: list[tuple[float, float]]) -> Series:
    """(settlement ts, rate per interval) -> (ts, rate per hour), interval = gap to the previous settlement."""
    rows.sort()
    out: Series = []
    for prev, cur in itertools.pairwise(rows):
        gap_h = round((cur[0] - prev[0]) / 3600)
        if 1 <= gap_h <= 24:
            out.append((cur[0], cur[1] / gap_h))
    return out


def load_raw(cut_ts: float | None = None, end_ts: float | None = None) -> dict[tuple[str, str], Series]:
    """Per (venue, coin): per-hour settled rates from both data sets (2025: binance and bybit only)."""
    raw: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    with gzip.open(DATA / "funding_2020_2023" / "funding_rates.csv.gz", "rt") as f:
        for r in csv.DictReader(f):
            raw[(r["venue"] + "_2020", r["symbol"].split("-")[0])].append((_ts(r["ts_utc"]), float(r["funding_rate"])))
    with gzip.open(DATA / "cross_venue_2025" / "funding_rates.csv.gz", "rt") as f:
        for r in csv.DictReader(f):
            if r["venue"] not in ("binance", "bybit"):
                continue
            ts = int(r["timestamp_ms"]) / 1000
            if (cut_ts is None or ts < cut_ts) and (end_ts is None or ts <= end_ts):
                raw[(r["venue"], r["coin"])].append((ts, float(r["funding_rate"])))
    return {k: _per_hour(v) for k, v in raw.items()}


def spreads(level: dict[tuple[str, str], Series]) -> list[Series]:
    """Cross-venue spreads of the same coin at common settlement hours, both orientations (the mean is symmetric)."""
    out: list[Series] = []
    keys = sorted(level)
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            if a[1] != b[1] or a[0].endswith("_2020") != b[0].endswith("_2020"):
                continue
            bh = {round(t / 3600): x for t, x in level[b]}
            s = [(t, x - bh[round(t / 3600)]) for t, x in level[a] if round(t / 3600) in bh]
            out += [s, [(t, -x) for t, x in s]]
    return out


def out_of_sample(cut_ts: float, end_ts: float, horizons: tuple[int, ...]) -> dict[int, dict[str, float]]:
    """MAE / RMSE (APR points) of the mean rate over the next H hours: OU forecast vs last rate persists."""
    full = {k: v for k, v in load_raw(None, end_ts).items() if not k[0].endswith("_2020")}
    errs: dict[int, dict[str, list[float]]] = {h: {"ou": [], "persist": []} for h in horizons}
    for key, series in full.items():
        fc = FundingForecaster()
        for i, (ts, x) in enumerate(series):
            if ts < cut_ts:
                continue
            params = fc.market_params(key)
            for h in horizons:
                future = [(t, y) for t, y in series[i + 1 :] if t <= ts + h * 3600]
                if not future or future[-1][0] < ts + h * 3600 - 8 * 3600:
                    continue  # horizon runs past the data
                realised = _time_weighted(ts, future)
                ou = float(forecast(params, Decimal(str(x)), Decimal(h)).mean_rate_per_hour)
                errs[h]["ou"].append((ou - realised) * 876000)
                errs[h]["persist"].append((x - realised) * 876000)
            fc.observe(key, int(ts) + 1, Decimal(str(x)))
            fc.observe(key, int(ts) + 2, Decimal(str(x)))  # records x as settled
    return {
        h: {f"{m}_{stat}": fn(v) for m, v in d.items() for stat, fn in (("mae", _mae), ("rmse", _rmse))}
        | {"n": float(len(d["ou"]))}
        for h, d in errs.items()
    }


def _time_weighted(ts: float, future: list[tuple[float, float]]) -> float:
    """Mean per-hour rate over the settlements that follow `ts`, weighted by their intervals."""
    total, hours, prev = 0.0, 0.0, ts
    for t, y in future:
        gap = (t - prev) / 3600
        total += y * gap
        hours += gap
        prev = t
    return total / hours


def _mae(v: list[float]) -> float:
    return sum(abs(x) for x in v) / len(v) if v else math.nan


def _rmse(v: list[float]) -> float:
    return math.sqrt(sum(x * x for x in v) / len(v)) if v else math.nan


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cut", default="2025-06-01")
    parser.add_argument("--end", default="2025-09-30")
    args = parser.parse_args()
    cut, end = _ts(args.cut), _ts(args.end)
    level = load_raw(cut)
    print("LEVEL  ", calibrate(level.values()))
    print("SPREAD ", calibrate(spreads(level)))
    print("shipped LEVEL ", LEVEL_DEFAULTS)
    print("shipped SPREAD", SPREAD_DEFAULTS)
    print(
        f"out of sample {args.cut} -> {args.end}, binance+bybit, error of the mean rate over the next H hours "
        "(APR percentage points)"
    )
    for h, row in out_of_sample(cut, end, (8, 24, 72, 168, 720)).items():
        print(
            f"  H={h:>4}h n={int(row['n']):>5}  OU mae {row['ou_mae']:6.2f} rmse {row['ou_rmse']:6.2f}   "
            f"persist mae {row['persist_mae']:6.2f} rmse {row['persist_rmse']:6.2f}"
        )


if __name__ == "__main__":
    main()
