"""Profile one replay with cProfile (run on demand, not by pytest).

    .venv/bin/python bench/profile_replay.py [--start 2025-07-01] [--days 7] [--tick 60]
        [--runs funding_arbitrage] [--top 40] [--sort tottime] [--out out/profile_replay]

Times with the process CPU clock (wall time on a shared machine would charge other jobs to us).
Prints the top functions and writes the raw profile to <out>/replay.prof (read it with `python -m pstats`).
"""

from __future__ import annotations

import cProfile
import pstats
import time

from replay_window import replay_options, window_parser

from strategies.funding_arbitrage.replay.runner import run_replay


def main() -> None:
    parser = window_parser(days=7.0, tick_s=60.0, out="out/profile_replay")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="tottime")
    args = parser.parse_args()
    opts = replay_options(args, args.out / "report")
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
