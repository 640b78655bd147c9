"""Does the outcome hang on how often the clock ticks? The same replay at two tick sizes, figure by figure.

    .venv/bin/python bench/bench_tick_tolerance.py [--ticks 60,300] [--runs funding_arbitrage,passive_carry,oracle]
        [--start ISO] [--end ISO] [--out out/bench_tick_tolerance]
    .venv/bin/python bench/bench_tick_tolerance.py --reports out/a/report.json out/b/report.json   (compare only)

Prints, per run, each economic figure at both tick sizes and the difference in quote and in % of capital. The
tolerance the project states (docs/performance.md) is on carry (funding − fees − slippage − borrow) and net:
|difference| <= TOLERANCE_PCT_OF_CAPITAL % of capital, and the same count of liquidations.
"""

from __future__ import annotations

import argparse
import json
from decimal import Decimal
from pathlib import Path

from strategies.funding_arbitrage.replay.results import RUN_NAMES

FIGURES = (
    "net_pnl_quote",
    "carry_quote",
    "carry_capture",
    "funding_pnl_quote",
    "fees_quote",
    "slippage_quote",
    "basis_pnl_quote",
    "pairs_opened",
    "liquidations",
)
TOLERANCE_PCT_OF_CAPITAL = Decimal("0.05")  # 5 quote on 10 000


def _run(tick: float, runs: str, start: str | None, end: str | None, out: Path) -> Path:
    from bench_replay import _ts  # type: ignore[import-not-found]

    from strategies.funding_arbitrage.replay.runner import ReplayOptions, run_replay
    from strategies.funding_arbitrage.shell.home import project_root

    opts = ReplayOptions(
        data_dir=project_root() / ".." / "shared" / "data" / "cross_venue_2025",
        tick_s=tick,
        out_dir=out / f"tick{tick:g}",
        runs=tuple(runs.split(",")),
        start_ts=_ts(start),
        end_ts=_ts(end),
    )
    _, paths = run_replay(opts)
    return paths["report.json"]


def compare(a: Path, b: Path) -> bool:
    """Print the comparison; True when every run is within the stated tolerance."""
    ra, rb = (json.loads(p.read_text(), parse_float=Decimal) for p in (a, b))
    ok = True
    for name in RUN_NAMES:
        x, y = ra["runs"].get(name), rb["runs"].get(name)
        if x is None or y is None:
            continue
        limit = x["capital_quote"] * TOLERANCE_PCT_OF_CAPITAL / 100
        print(f"{name}: (limit {limit} quote on carry and net, same liquidations)")
        for figure in FIGURES:
            u, v = x.get(figure), y.get(figure)
            diff = None if u is None or v is None else v - u
            print(f"  {figure:<18} {u!s:>14} {v!s:>14}  diff {diff}")
        within = (
            all(
                x[f] is not None and y[f] is not None and abs(y[f] - x[f]) <= limit
                for f in ("carry_quote", "net_pnl_quote")
            )
            and x["liquidations"] == y["liquidations"]
        )
        print(f"  within tolerance: {within}")
        ok = ok and within
    return ok


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ticks", default="60,300")
    parser.add_argument("--runs", default="funding_arbitrage,passive_carry,oracle")
    parser.add_argument("--start", default=None)
    parser.add_argument("--end", default=None)
    parser.add_argument("--out", type=Path, default=Path("out/bench_tick_tolerance"))
    parser.add_argument("--reports", type=Path, nargs=2, default=None)
    args = parser.parse_args()
    if args.reports is not None:
        a, b = args.reports
    else:
        first, second = (float(t) for t in args.ticks.split(","))
        a = _run(first, args.runs, args.start, args.end, args.out)
        b = _run(second, args.runs, args.start, args.end, args.out)
    print(f"{a}  vs  {b}")
    compare(a, b)


if __name__ == "__main__":
    main()
