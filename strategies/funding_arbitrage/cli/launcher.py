"""`funding-arb`: the operator's command line.

    funding-arb cli [--v2 CONF] [--sim ...]     Hummingbot's interactive client rooted at the project
    funding-arb run --conf CONF [--sim ...]     the strategy headless on Hummingbot's engine
        --sim [--speed S] [--start ISO] [--data DIR]: on simulated venues replaying recorded data (sim/live.py)
    funding-arb check-config FILE               validate a strategy config, print every problem (exit 2 if any)
    funding-arb ctl [--conf CONF] COMMAND       operator controls: pause | resume | exit PAIR | flatten | kill | status
    funding-arb summary [--conf CONF]           funding PnL per pair and UTC day, one line per day (the journal)
    funding-arb replay [...]                    replay recorded history through the strategy (see replay)
    funding-arb dashboard [INPUT] [-o OUT]      metrics export or replay report.json as an offline HTML page
    funding-arb sweep [...]                     walk-forward tuning of the settings on Ray (see docs/sweep.md)

Exit codes (run, check-config): 0 stopped cleanly / valid, 1 strategy failed to start or crashed, 2 invalid
configuration, 4 missing or wrong keystore password.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .exit_codes import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, PASSWORD_ENV

DEFAULT_CONF = "conf_funding_arbitrage.yml"
DEFAULT_SIM_CONF = "conf_funding_arbitrage_sim.yml"


def _resolve_conf(conf: str, root: Path) -> Path:
    path = Path(conf)
    if path.exists():
        return path.resolve()
    return root / "conf" / "scripts" / conf


def cmd_check_config(args: argparse.Namespace) -> int:
    """Every problem of the file (duplicate keys), its fields and their combinations, in one run; exit 2 like `run`."""
    from ..core.config import ConfigError, check_settings_file
    from ..shell.home import project_root

    root = project_root()
    path = _resolve_conf(args.file, root)
    try:
        settings, problems = check_settings_file(path, home=root)
    except ConfigError as e:
        print(f"{path}: {e}", file=sys.stderr)
        return EXIT_CONFIG
    if settings is not None:
        problems = _leverage_problems(settings, root)
        settings = None if problems else settings
    if settings is None:
        print(f"{path}: {len(problems)} problem(s)", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return EXIT_CONFIG
    print(f"{path}: OK ({len(settings.tokens)} tokens on {', '.join(settings.all_connectors)})")
    return EXIT_OK


def _leverage_problems(settings: Any, root: Path) -> list[str]:
    """Fixed leverage that would open legs within the risk gate's cut (`core.leverage.fixed_leverage_problems`),
    judged on the maintenance brackets the run will load (a missing or malformed table is itself a problem: the run
    stops on it)."""
    from ..core.leverage import fixed_leverage_problems
    from ..core.margin import MarginBrackets, MarginDataError, locate_brackets
    from ..core.risk import CUT_MARGIN

    try:
        brackets = MarginBrackets.load(locate_brackets(root))
    except MarginDataError as e:
        return [f"maintenance brackets (needed for the liquidation checks): {e}"]
    return fixed_leverage_problems(settings, brackets, CUT_MARGIN)


def _check_sim(args: argparse.Namespace, conf_path: Path) -> str | None:
    """Why `--sim` cannot run this config with these options (None: it can). Reads the config, not the data."""
    from ..core.config import ConfigError, load_settings
    from ..sim.live import SimSetupError, check_speed, parse_start, plan_from_settings

    try:
        plan_from_settings(load_settings(conf_path, home=conf_path.parents[2]))
        check_speed(args.speed)
        if args.start is not None:
            parse_start(args.start)
    except (ConfigError, SimSetupError) as e:
        return str(e)
    return None


def _sim_options(args: argparse.Namespace):  # -> shell.app.SimOptions (imported after use_project_home)
    from ..shell.app import SimOptions

    return SimOptions(data_dir=args.data, speed=args.speed, start=args.start)


def _absolute_data_dir(args: argparse.Namespace) -> None:
    """Resolve --data against the caller's working directory (use_project_home() changes it)."""
    if getattr(args, "data", None):
        args.data = str(Path(args.data).expanduser().resolve())


def cmd_cli(args: argparse.Namespace) -> int:
    from ..shell.home import use_project_home

    _absolute_data_dir(args)
    root = use_project_home()
    sim = None
    if args.sim:
        args.v2 = args.v2 or DEFAULT_SIM_CONF
        problem = _check_sim(args, root / "conf" / "scripts" / args.v2)
        if problem:
            print(f"--sim cannot start: {problem}", file=sys.stderr)
            return EXIT_CONFIG
        sim = _sim_options(args)
    if args.v2:
        from ..core.config import ConfigError, load_settings

        try:
            load_settings(root / "conf" / "scripts" / args.v2, home=root)
        except ConfigError as e:
            print(f"invalid configuration: {e}", file=sys.stderr)
            return EXIT_CONFIG
    from ..shell.app import run_client

    return run_client(v2_conf=args.v2, sim=sim)


def cmd_run(args: argparse.Namespace) -> int:
    from ..core.config import ConfigError, load_settings
    from ..shell.home import use_project_home

    _absolute_data_dir(args)
    root = use_project_home()
    conf_path = root / "conf" / "scripts" / args.conf
    try:
        load_settings(conf_path, home=root)
    except ConfigError as e:
        print(f"invalid configuration: {e}", file=sys.stderr)
        return EXIT_CONFIG
    sim = None
    if args.sim:
        problem = _check_sim(args, conf_path)
        if problem:
            print(f"--sim cannot start: {problem}", file=sys.stderr)
            return EXIT_CONFIG
        sim = _sim_options(args)
    from ..shell.app import run_headless

    return run_headless(args.conf, sim=sim)


def cmd_replay(args: argparse.Namespace) -> int:
    from ..replay.cli import run_replay_command

    return run_replay_command(args)


def cmd_sweep(args: argparse.Namespace) -> int:
    from .sweep import run_sweep_command

    return run_sweep_command(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="funding-arb", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p_cli = sub.add_parser("cli", help="Hummingbot's interactive client with this project as its home")
    p_cli.add_argument(
        "--v2",
        default=None,
        help=f"start this conf/scripts/ config right after login (with --sim default {DEFAULT_SIM_CONF})",
    )
    _add_sim_arguments(p_cli)
    p_cli.set_defaults(func=cmd_cli)

    p_run = sub.add_parser("run", help="run the strategy headless (password from $" + PASSWORD_ENV + ")")
    p_run.add_argument("--conf", default=DEFAULT_CONF, help="config file name under conf/scripts/")
    _add_sim_arguments(p_run)
    p_run.set_defaults(func=cmd_run)

    p_check = sub.add_parser("check-config", help="validate a strategy config file")
    p_check.add_argument("file", help="path, or a file name under conf/scripts/")
    p_check.set_defaults(func=cmd_check_config)

    from .dashboard import add_parser as add_dashboard_parser

    add_dashboard_parser(sub)

    from .ctl import add_ctl_parser

    add_ctl_parser(sub, DEFAULT_CONF)
    from .summary import add_summary_parser

    add_summary_parser(sub, DEFAULT_CONF)

    try:
        from ..replay.cli import add_replay_parser
    except ImportError as e:  # the replay package failed to import: say why instead of hiding the command
        p_rep = sub.add_parser("replay", help=f"unavailable: {e}")
        p_rep.set_defaults(func=lambda _a, _e=e: _fail(f"replay is unavailable: {_e}"))
    else:
        add_replay_parser(sub, cmd_replay)
    from .sweep import add_sweep_parser

    add_sweep_parser(sub, cmd_sweep)
    return parser


def _add_sim_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sim",
        action="store_true",
        help="trade simulated venues replaying recorded data in real "
        f"time (needs a sim config, e.g. {DEFAULT_SIM_CONF})",
    )
    parser.add_argument(
        "--data", default=None, help="(--sim) market data directory (default: the shared cross_venue_2025 data)"
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=60.0,
        help="(--sim) data seconds per wall second; at a "
        "speed other than 1 funding comes that much faster: for watching, not for judging returns",
    )
    parser.add_argument(
        "--start",
        default=None,
        help="(--sim) ISO date/time (UTC) in the data to start from (default: where every market has data)",
    )


def _fail(msg: str) -> int:
    print(msg, file=sys.stderr)
    return EXIT_FAILED


def main(argv: list[str] | None = None) -> int:
    from .bytecode_cache import enable_bytecode_cache

    if argv is None:  # the command line itself (not a caller passing arguments): before any heavy import
        enable_bytecode_cache()
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    return func(args)


if __name__ == "__main__":
    sys.exit(main())
