"""`funding-arb`: the operator's command line.

    funding-arb cli [--v2 CONF]                 Hummingbot's interactive client rooted at the project
    funding-arb run --conf CONF [--sim ...]     the strategy headless on Hummingbot's engine
    funding-arb check-config FILE               validate a strategy config, print every problem
    funding-arb replay [...]                    replay recorded history through the strategy (see replay)

Exit codes (run): 0 stopped cleanly, 1 strategy failed to start or crashed, 2 invalid configuration,
4 missing or wrong keystore password.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_PASSWORD = 4
PASSWORD_ENV = "FUNDING_ARB_PASSWORD"
DEFAULT_CONF = "conf_funding_arbitrage.yml"


def _resolve_conf(conf: str, root: Path) -> Path:
    path = Path(conf)
    if path.exists():
        return path.resolve()
    return root / "conf" / "scripts" / conf


def cmd_check_config(args: argparse.Namespace) -> int:
    from .config import ConfigError, check_settings, load_settings_dict
    from .home import project_root

    path = _resolve_conf(args.file, project_root())
    try:
        data = load_settings_dict(path)
    except ConfigError as e:
        print(f"{path}: {e}", file=sys.stderr)
        return EXIT_FAILED
    settings, problems = check_settings(data)
    if settings is None:
        print(f"{path}: {len(problems)} problem(s)", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return EXIT_FAILED
    print(f"{path}: OK ({len(settings.tokens)} tokens on {', '.join(settings.all_connectors)})")
    return EXIT_OK


def cmd_cli(args: argparse.Namespace) -> int:
    from .home import use_project_home

    use_project_home()
    from .hb_app import run_client

    return run_client(v2_conf=args.v2)


def cmd_run(args: argparse.Namespace) -> int:
    from .config import ConfigError, load_settings
    from .home import use_project_home

    root = use_project_home()
    conf_path = root / "conf" / "scripts" / args.conf
    try:
        load_settings(conf_path)
    except ConfigError as e:
        print(f"invalid configuration: {e}", file=sys.stderr)
        return EXIT_CONFIG
    from .hb_app import run_headless

    sim = None
    if args.sim:
        from .hb_app import SimOptions

        sim = SimOptions(data_dir=args.data, speed=args.speed, start=args.start)
    return run_headless(args.conf, sim=sim)


def cmd_replay(args: argparse.Namespace) -> int:
    from .replay.cli import run_replay_command

    return run_replay_command(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="funding-arb", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p_cli = sub.add_parser("cli", help="Hummingbot's interactive client with this project as its home")
    p_cli.add_argument("--v2", default=None, help="start this conf/scripts/ config right after login")
    p_cli.set_defaults(func=cmd_cli)

    p_run = sub.add_parser("run", help="run the strategy headless (password from $" + PASSWORD_ENV + ")")
    p_run.add_argument("--conf", default=DEFAULT_CONF, help="config file name under conf/scripts/")
    p_run.add_argument("--sim", action="store_true", help="trade simulated venues replaying recorded data")
    p_run.add_argument("--data", default=None, help="(--sim) market data directory")
    p_run.add_argument("--speed", type=float, default=60.0, help="(--sim) simulated seconds per wall second")
    p_run.add_argument("--start", default=None, help="(--sim) ISO start time of the replayed data")
    p_run.set_defaults(func=cmd_run)

    p_check = sub.add_parser("check-config", help="validate a strategy config file")
    p_check.add_argument("file", help="path, or a file name under conf/scripts/")
    p_check.set_defaults(func=cmd_check_config)

    try:
        from .replay.cli import add_replay_parser
    except ImportError as e:  # the replay package failed to import: say why instead of hiding the command
        p_rep = sub.add_parser("replay", help=f"unavailable: {e}")
        p_rep.set_defaults(func=lambda _a, _e=e: _fail(f"replay is unavailable: {_e}"))
    else:
        add_replay_parser(sub, cmd_replay)
    return parser


def _fail(msg: str) -> int:
    print(msg, file=sys.stderr)
    return EXIT_FAILED


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    return func(args)


if __name__ == "__main__":
    sys.exit(main())
