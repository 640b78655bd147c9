"""`funding-arb replay` arguments (the launcher adds this subcommand)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..shell.home import project_root
from .results import RUN_NAMES

DEFAULT_DATA = "../shared/data/cross_venue_2025"


def _ts(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(value)  # Python 3.11+ reads a trailing Z
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not an ISO date/time: {value!r}") from e
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def _csv(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def add_replay_parser(sub: Any, func: Callable[[argparse.Namespace], int]) -> None:
    p = sub.add_parser("replay", help="replay recorded market history through the strategy (offline)")
    p.add_argument("--data", default=None, help=f"data directory (default {DEFAULT_DATA}, relative to the project)")
    p.add_argument("--venues", type=_csv, default=("binance", "bybit"), help="perp venues, comma separated")
    p.add_argument("--coins", type=_csv, default=("BTC", "ETH", "SOL", "DOGE", "HYPE"))
    p.add_argument("--spot", type=_csv, default=("binance",), help="spot venues for carry ('' for none)")
    p.add_argument("--start", type=_ts, default=None, help="ISO start (default: first common data)")
    p.add_argument("--end", type=_ts, default=None, help="ISO end (default: last common data)")
    p.add_argument("--config", type=Path, default=None, help="strategy config (default: the sample config)")
    p.add_argument("--tick", type=float, default=60.0, help="clock tick in seconds")
    p.add_argument("--out", type=Path, default=Path("out/replay"), help="report directory")
    p.add_argument(
        "--runs",
        type=_csv,
        default=RUN_NAMES,
        help=f"runs to execute, comma separated (default all: {','.join(RUN_NAMES)})",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="simulated runs at once, in worker processes (default: 2, or 1 on a 1-CPU machine); "
        "results do not depend on it",
    )
    p.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress (default: a bar with ETA on a terminal, a line every 30 s otherwise)",
    )
    p.set_defaults(func=func)


def run_replay_command(args: argparse.Namespace) -> int:
    from .runner import ReplayOptions, run_replay

    data = Path(args.data) if args.data else project_root() / DEFAULT_DATA
    if not data.exists():
        print(f"replay: data directory {data} does not exist", file=sys.stderr)
        return 1
    if args.jobs < 1:
        print(f"replay: --jobs ({args.jobs}) must be at least 1", file=sys.stderr)
        return 1
    unknown = set(args.runs) - set(RUN_NAMES)
    if unknown or not args.runs:
        print(f"replay: --runs ({','.join(args.runs)}) must name runs among {','.join(RUN_NAMES)}", file=sys.stderr)
        return 1
    opts = ReplayOptions(
        data_dir=data,
        venues=args.venues,
        coins=args.coins,
        spot=args.spot,
        start_ts=args.start,
        end_ts=args.end,
        config_path=args.config,
        tick_s=args.tick,
        out_dir=args.out,
        progress=not args.no_progress,
        runs=tuple(args.runs),
        jobs=args.jobs,
    )
    try:
        report, files = run_replay(opts)
    except (ValueError, KeyError) as e:
        print(f"replay: {e}", file=sys.stderr)
        return 1
    for name, run in report.runs.items():
        print(
            f"{name:<18} net {run.net_pnl_quote:>12.2f}  funding {run.funding_pnl_quote:>10.2f}  fees "
            f"{run.fees_quote:>9.2f}  slippage {run.slippage_quote:>8.2f}  APR "
            f"{'N/A' if run.apr_pct is None else f'{run.apr_pct:.2f}%'}  carry {run.carry_quote:>9.2f}  capture "
            f"{'N/A' if run.carry_capture is None else f'{run.carry_capture * 100:.1f}%'}  pairs {run.pairs_opened}"
            f"  lost to fees {run.pairs_lost_to_fees}  switches {run.switches}"
        )
    print(f"report: {files['report.html']}")
    return 0
