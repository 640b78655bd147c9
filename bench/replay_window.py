"""The replay window of the profiling scripts (bench/profile_replay.py, bench/profile_sections.py): their shared
arguments and the replay options made from them.

Nothing from `strategies` is imported here at import time: profile_sections.py times its own imports first.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def window_parser(days: float, tick_s: float, out: str) -> argparse.ArgumentParser:
    """--start (UTC date), --days, --tick (s), --runs (comma-separated), --out, with these defaults."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--start", default="2025-07-01")
    parser.add_argument("--days", type=float, default=days)
    parser.add_argument("--tick", type=float, default=tick_s)
    parser.add_argument("--runs", default="funding_arbitrage")
    parser.add_argument("--out", type=Path, default=Path(out))
    return parser


def replay_options(args: argparse.Namespace, out_dir: Path) -> Any:
    """The `ReplayOptions` of the window in `args` on ../shared/data/cross_venue_2025, reports under `out_dir`."""
    from strategies.funding_arbitrage.replay.runner import ReplayOptions
    from strategies.funding_arbitrage.shell.home import project_root

    start = datetime.fromisoformat(args.start).replace(tzinfo=UTC).timestamp()
    return ReplayOptions(
        data_dir=project_root() / ".." / "shared" / "data" / "cross_venue_2025",
        start_ts=start,
        end_ts=start + args.days * 86400,
        tick_s=args.tick,
        out_dir=out_dir,
        runs=tuple(args.runs.split(",")),
    )
