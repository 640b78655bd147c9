"""Benchmark: the development period through `funding-arb replay` (run on demand, not by pytest).

    .venv/bin/python bench/bench_replay.py [--tick 60] [--runs funding_arbitrage,baseline,passive_carry,oracle]
        [--start ISO] [--end ISO] [--jobs 2] [--out out/bench_replay]

Replays cross_venue_2025 (BTC ETH SOL DOGE HYPE, binance+bybit perps, binance spot, default period unless
--start/--end) with the chosen runs (default all), and prints wall time, process CPU time, the machine's load
and simulated seconds per wall second, for the replay and for the whole process (start-up included), then the
verdict against the issue's wall-time target when the options are the target's (default period, 300 s ticks with
`--runs funding_arbitrage`, or 60 s ticks with all runs), then each run's headline figures. The lead's targets are
wall times on an idle machine; on a shared machine read the CPU figures.
"""

from __future__ import annotations

import time

PROCESS_T0 = time.monotonic()  # before any heavy import: the wall time a user waits includes start-up

import argparse  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

if "--no-bytecode-cache" not in sys.argv:  # what `funding-arb` does at start (cli/bytecode_cache.py)
    from strategies.funding_arbitrage.cli.bytecode_cache import enable_bytecode_cache

    enable_bytecode_cache()

from strategies.funding_arbitrage.replay.results import RUN_NAMES  # noqa: E402
from strategies.funding_arbitrage.replay.runner import ReplayOptions, run_replay  # noqa: E402
from strategies.funding_arbitrage.shell.home import project_root  # noqa: E402

IMPORTED_T = time.monotonic()
TARGETS = {  # (tick s, runs) -> wall-time target in s (issue 7 item 8), for the default period only
    (300.0, ("funding_arbitrage",)): 60.0,
    (60.0, RUN_NAMES): 150.0,
}


def _ts(text: str | None) -> float | None:
    return None if text is None else datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def _cpu_s() -> float:
    """User + system CPU seconds of this process and its finished child processes (the --jobs workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tick", type=float, default=60.0)
    parser.add_argument("--runs", default=",".join(RUN_NAMES))
    parser.add_argument("--start", default=None)
    parser.add_argument("--end", default=None)
    parser.add_argument("--out", type=Path, default=Path("out/bench_replay"))
    parser.add_argument("--jobs", type=int, default=2, help="simulated runs at once (the CLI's default: 2)")
    parser.add_argument(
        "--no-bytecode-cache", action="store_true", help="compile every module at start (PYTHONDONTWRITEBYTECODE)"
    )
    args = parser.parse_args()
    opts = ReplayOptions(
        data_dir=project_root() / ".." / "shared" / "data" / "cross_venue_2025",
        tick_s=args.tick,
        out_dir=args.out,
        progress=False,
        runs=tuple(args.runs.split(",")),
        start_ts=_ts(args.start),
        end_ts=_ts(args.end),
        jobs=args.jobs,
    )
    load0 = os.getloadavg()[0]
    t0, c0 = time.monotonic(), _cpu_s()
    report, _ = run_replay(opts)
    end = time.monotonic()
    wall, cpu, cpu_all = end - t0, _cpu_s() - c0, _cpu_s()
    sim = float(report.sim_seconds)
    print(
        f"period {report.period['start']} -> {report.period['end']} ({sim / 86400:.1f} days), tick {args.tick:g}s, "
        f"runs {args.runs}, jobs {args.jobs}, bytecode cache {'off' if args.no_bytecode_cache else 'on'}"
    )
    print(
        f"replay: wall {wall:.1f}s, CPU {cpu:.1f}s (this process and its workers); "
        f"simulated seconds per wall second: {sim / wall:,.0f}"
    )
    print(
        f"whole process (start-up and imports included, as `funding-arb replay`): wall {end - PROCESS_T0:.1f}s, "
        f"CPU {cpu_all:.1f}s (start-up {IMPORTED_T - PROCESS_T0:.1f}s wall); "
        f"load {load0:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    target = TARGETS.get((args.tick, tuple(opts.runs))) if args.start is None and args.end is None else None
    if target is not None:
        verdict = "met" if end - PROCESS_T0 <= target else "NOT met"
        print(f"target (issue 7 item 8): whole process <= {target:.0f}s wall: {verdict} ({end - PROCESS_T0:.1f}s)")
    for name, run in report.runs.items():
        capture = "N/A" if run.carry_capture is None else f"{run.carry_capture * 100:.1f}%"
        print(
            f"  {name:<18} net {run.net_pnl_quote:10.2f}  carry {run.carry_quote:9.2f}  capture {capture:>7}  "
            f"funding {run.funding_pnl_quote:9.2f}  fees {run.fees_quote:8.2f}  slippage {run.slippage_quote:7.2f}  "
            f"basis {run.basis_pnl_quote:8.2f}  pairs {run.pairs_opened}  liquidations {run.liquidations}"
        )


if __name__ == "__main__":
    main()
