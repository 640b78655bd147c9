"""`funding-arb ctl`: operator controls for a running (or stopped) bot, through its journal.

    funding-arb ctl [--conf CONF] pause         no new entries; exits, reductions and unwinds continue
    funding-arb ctl [--conf CONF] resume        clear a pause or a halt (the only way to clear a halt)
    funding-arb ctl [--conf CONF] exit PAIR     close one pair (reduce-only, the normal close path)
    funding-arb ctl [--conf CONF] flatten       pause and close every pair; acknowledged "flat" once none is open
    funding-arb ctl [--conf CONF] kill          halt at once: entry orders cancelled, reduce-only orders continue
    funding-arb ctl [--conf CONF] status        trading state, recent commands and their acknowledgements

A command is written to the journal of CONF (`journal_file`) and acted on by the bot at its next tick, whether it
runs headless (`funding-arb run`) or in the client (`funding-arb cli`): it reads the journal every tick. A command
given while the bot is stopped is acted on when it starts. `--wait S` waits up to S seconds for the
acknowledgement. Exit codes: 0 queued / acknowledged done, 1 rejected or not acknowledged in time, 2 invalid
configuration or journal.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time

from .exit_codes import EXIT_CONFIG, EXIT_FAILED, EXIT_OK

ACTIONS = ("pause", "resume", "exit", "flatten", "kill", "status")
POLL_S = 0.5


def add_ctl_parser(sub: argparse._SubParsersAction, default_conf: str) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("ctl", help="operator controls: pause | resume | exit PAIR | flatten | kill | status")
    p.add_argument("--conf", default=default_conf, help="config file name under conf/scripts/ (selects the journal)")
    p.add_argument("--wait", type=float, default=0.0, help="seconds to wait for the bot's acknowledgement")
    p.add_argument("action", choices=ACTIONS)
    p.add_argument("pair", nargs="?", default=None, help="(exit) the pair id, as shown by `status`")
    p.set_defaults(func=cmd_ctl)


def cmd_ctl(args: argparse.Namespace) -> int:
    from ..core.config import ConfigError, load_settings
    from ..shell.durability import journal_path
    from ..shell.home import project_root
    from ..shell.journal import Journal, JournalError

    root = project_root()
    if (args.action == "exit") != (args.pair is not None):
        print("ctl: `exit` needs a PAIR id, and only `exit` takes one", file=sys.stderr)
        return EXIT_CONFIG
    try:
        settings = load_settings(root / "conf" / "scripts" / args.conf, home=root)
        journal = Journal(journal_path(settings, root))
    except (ConfigError, JournalError) as e:
        print(f"ctl: {e}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        if args.action == "status":
            _print_status(journal)
            return EXIT_OK
        source = f"ctl user={getpass.getuser()} pid={os.getpid()}"
        command_id = journal.add_command(time.time(), args.action, args.pair, source)
        print(
            f"queued #{command_id} {args.action}{' ' + args.pair if args.pair else ''} in {journal.path}; "
            "the bot acts at its next tick"
        )
        return _wait(journal, command_id, args.wait) if args.wait > 0 else EXIT_OK
    finally:
        journal.close()


def _wait(journal: object, command_id: int, wait_s: float) -> int:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        found = [c for c in journal.commands(limit=1000) if c.id == command_id]  # type: ignore[attr-defined]
        if found and found[0].status not in ("pending",):
            c = found[0]
            print(f"#{c.id} {c.status}: {c.message}")
            return EXIT_OK if c.status in ("done", "acting") else EXIT_FAILED
        time.sleep(POLL_S)
    print(f"#{command_id}: no acknowledgement within {wait_s}s (is the bot running?)", file=sys.stderr)
    return EXIT_FAILED


def _print_status(journal: object) -> None:
    risk = journal.load_risk_state() or {}  # type: ignore[attr-defined]
    print(f"journal {journal.path} (schema v{journal.schema_version})")  # type: ignore[attr-defined]
    print(
        f"trading state: {risk.get('trading_state', 'N/A (bot never ran)')}"
        + (f"  halt: {risk['halt_reason']}" if risk.get("halt_reason") else "")
        + ("  entries PAUSED" if risk.get("paused") else "")
    )
    print(
        f"equity peak: {risk.get('peak_equity_quote') or 'N/A'}  day start equity: "
        f"{risk.get('day_start_equity_quote') or 'N/A'}"
    )
    pairs = journal.load_pairs()  # type: ignore[attr-defined]
    open_pairs = [p for p in pairs if p.get("state") != "CLOSED"]
    print(f"open pairs: {', '.join(p['pair_id'] + ' ' + p['state'] for p in open_pairs) or 'none'}")
    for c in journal.commands():  # type: ignore[attr-defined]
        print(f"  #{c.id} {c.command}{' ' + c.arg if c.arg else ''} [{c.status}] {c.message or ''}")
