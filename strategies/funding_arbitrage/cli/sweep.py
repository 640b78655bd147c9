"""`funding-arb sweep` arguments (the launcher adds this subcommand). See docs/sweep.md.

Exit codes: 0 done, 1 bad input (nothing started) or a failure, 130 interrupted (the same command resumes).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .exit_codes import EXIT_FAILED, EXIT_OK

DEFAULT_DATA = "../shared/data/cross_venue_2025"
EXIT_INTERRUPTED = 130


def _ts(value: str) -> float:
    try:
        dt = datetime.fromisoformat(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not an ISO date/time: {value!r}") from e
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def _csv(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def add_sweep_parser(sub: Any, func: Callable[[argparse.Namespace], int]) -> None:
    p = sub.add_parser(
        "sweep",
        help="walk-forward tuning of the strategy's settings (Optuna trials on Ray)",
        description="Tune on a window, evaluate the best settings on the next unseen window, roll "
        "forward. Trials are replays of the strategy on the simulated venues, run in parallel on Ray.",
    )
    p.add_argument("--data", default=None, help=f"data directory (default {DEFAULT_DATA}, relative to the project)")
    p.add_argument("--venues", type=_csv, default=("binance", "bybit"), help="perp venues, comma separated")
    p.add_argument("--coins", type=_csv, default=("BTC", "ETH", "SOL", "DOGE", "HYPE"))
    p.add_argument("--spot", type=_csv, default=("binance",), help="spot venues for carry ('' for none)")
    p.add_argument(
        "--start", type=_ts, default=None, help="ISO start of the first training window (default: first common data)"
    )
    p.add_argument("--end", type=_ts, default=None, help="ISO end of the period (default: last common data)")
    p.add_argument("--folds", type=int, default=3, help="walk-forward folds (default 3)")
    p.add_argument("--train-days", type=float, default=30.0, help="training window, days (default 30)")
    p.add_argument("--test-days", type=float, default=30.0, help="out-of-sample window, days (default 30)")
    p.add_argument("--trials", type=int, default=10, help="trials per fold (default 10)")
    p.add_argument("--workers", type=int, default=2, help="replays in parallel; a local Ray gets this many CPUs")
    p.add_argument("--tick", type=float, default=300.0, help="replay clock tick, seconds (default 300)")
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        help="base strategy config (default: the sample config); settings outside the space keep its values",
    )
    p.add_argument("--space", type=Path, default=None, help="search space YAML (default tune/space.yaml)")
    p.add_argument("--out", type=Path, default=Path("out/sweep"), help="output directory (default out/sweep)")
    p.add_argument(
        "--storage",
        default=None,
        help="Optuna storage: a SQLite file or an SQLAlchemy URL "
        "(default <out>/study.sqlite3); the same storage resumes a stopped sweep",
    )
    p.add_argument(
        "--address",
        default=None,
        help="join this Ray cluster (e.g. ray://head:10001 or auto) instead "
        "of starting a local Ray; every node needs this project installed and the data at the same path",
    )
    p.add_argument("--seed", type=int, default=7, help="sampler seed (fold k uses seed + k)")
    p.add_argument("--no-progress", action="store_true", help="no progress output")
    p.add_argument(
        "--write-sample",
        action="store_true",
        help="when the sweep is finished, write its chosen settings into the sample configs (conf/scripts/, "
        "comments kept) and its fold table to docs/sweep_result.json (docs/sweep.md)",
    )
    p.set_defaults(func=func)


def run_sweep_command(args: argparse.Namespace) -> int:
    from ..shell.home import project_root
    from ..tune.space import DEFAULT_SPACE
    from ..tune.sweep import SweepInputError, SweepInterrupted, SweepOptions, plan_sweep, run_sweep

    data = Path(args.data) if args.data else project_root() / DEFAULT_DATA
    if not data.exists():
        return _fail(f"sweep: data directory {data} does not exist")
    opts = SweepOptions(
        data_dir=data,
        out_dir=args.out,
        venues=args.venues,
        coins=args.coins,
        spot=args.spot,
        start_ts=args.start,
        end_ts=args.end,
        folds=args.folds,
        train_days=args.train_days,
        test_days=args.test_days,
        trials=args.trials,
        workers=args.workers,
        tick_s=args.tick,
        config_path=args.config,
        space_path=args.space or DEFAULT_SPACE,
        storage=args.storage,
        address=args.address,
        seed=args.seed,
        progress=not args.no_progress,
    )
    if args.write_sample:
        problem = _sample_mismatch(args, project_root())
        if problem:
            return _fail(f"sweep: --write-sample: {problem}")
    try:
        plan = plan_sweep(opts)
        result = run_sweep(plan)
    except SweepInputError as e:
        return _fail(f"sweep: {e}")
    except SweepInterrupted as e:
        print(f"sweep: {e}", file=sys.stderr)
        return EXIT_INTERRUPTED
    _print_summary(result.files, result.ran)
    if args.write_sample:
        return _write_sample(result.files["folds.json"], project_root())
    return EXIT_OK


def _sample_mismatch(args: argparse.Namespace, root: Path) -> str | None:
    """Why this sweep's choice may not become the sample config (another base config, other markets), or None."""
    from ..core.config import ConfigError, load_settings_dict

    sample = root / "conf" / "scripts" / "conf_funding_arbitrage.yml"
    if args.config is not None and Path(args.config).resolve() != sample.resolve():
        return f"the base config must be the sample config {sample} (got --config {args.config})"
    try:
        conf = load_settings_dict(sample)
    except ConfigError as e:
        return str(e)
    wanted = {
        "tokens": sorted(args.coins),
        "perp_connectors": sorted(f"{v}_perpetual" for v in args.venues),
        "spot_connectors": sorted(args.spot),
    }
    for key, value in wanted.items():
        if sorted(conf.get(key) or []) != value:
            return f"the sweep's markets differ from the sample config's {key} ({conf.get(key)} vs {value})"
    return None


def _write_sample(folds_json: Path, root: Path) -> int:
    """Adopt the finished sweep's choice into the sample configs (tune/adopt.py) and say what changed."""
    import json

    from ..tune.adopt import RECORD, AdoptError, adopt_sample

    try:
        report = adopt_sample(json.loads(folds_json.read_text()), root)
    except (AdoptError, OSError) as e:
        return _fail(f"sweep: --write-sample: {e}")
    for path, changed in report.items():
        what = ", ".join(f"{k} {old} -> {new}" for k, (old, new) in changed.items()) or "already the chosen values"
        print(f"{path}: {what}")
    print(f"sweep record: {root / RECORD}")
    return EXIT_OK


def _print_summary(files: dict[str, Path], ran: int) -> None:
    import json

    doc = json.loads(files["folds.json"].read_text())
    for row in doc["folds"]:
        print(
            f"fold {row['fold']}: IS capture {_na(row['is_capture'])}  OOS capture {_na(row['oos_capture'])}  "
            f"OOS net {_na(row['oos_net_pnl_quote'])}  trials {row['trials_complete']} ok / "
            f"{row['trials_failed']} failed"
        )
    pooled = doc["pooled"]
    print(
        f"pooled OOS capture {_na(pooled['oos_capture'])} (baseline {_na(pooled['oos_baseline_capture'])}, "
        f"passive_carry {_na(pooled['oos_passive_carry_capture'])}); {ran} replays run now"
    )
    for name in ("conf_funding_arbitrage_sweep.yml", "folds.md"):
        if name in files:
            print(f"{name}: {files[name]}")


def _na(value: str | None) -> str:
    return "N/A" if value is None else str(value)


def _fail(msg: str) -> int:
    print(msg, file=sys.stderr)
    return EXIT_FAILED
