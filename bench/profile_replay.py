"""Profile one replay with cProfile (run on demand, not by pytest).

    .venv/bin/python bench/profile_replay.py [--start 2025-07-01] [--days 7] [--tick 60]
        [--runs funding_arbitrage] [--top 40] [--sort tottime] [--out out/profile_replay]

Times with the process CPU clock (wall time on a shared machine would charge other jobs to us).
Prints the top functions and writes the raw profile to <out>/replay.prof (read it with `python -m pstats`).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from datetime import UTC, datetime
from pathlib import Path

from strategies.funding_arbitrage.replay.runner import ReplayOptions, run_replay
from strategies.funding_arbitrage.shell.home import project_root


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--start", default="2025-07-01")
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--tick", type=float, default=60.0)
    parser.add_argument("--runs", default="funding_arbitrage")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--out", type=Path, default=Path("out/profile_replay"))
    args = parser.parse_args()
    start = datetime.fromisoformat(args.start).replace(tzinfo=UTC).timestamp()
    opts = ReplayOptions(
        data_dir=project_root() / ".." / "shared" / "data" / "cross_venue_2025",
        start_ts=start,
        end_ts=start + args.days * 86400,
        tick_s=args.tick,
        out_dir=args.out / "report",
        runs=tuple(args.runs.split(",")),
    )
    profiler = cProfile.Profile(time.process_time)  # CPU time: the machine is shared, wall time is not ours
    t0, c0 = time.monotonic(), time.process_time()
    profiler.enable()
    run_replay(opts)
    profiler.disable()
    print(f"wall {time.monotonic() - t0:.1f}s  process CPU {time.process_time() - c0:.1f}s")
    args.out.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(str(args.out / "replay.prof"))
    pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
