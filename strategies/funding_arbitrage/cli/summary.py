"""`funding-arb summary`: funding PnL per pair and UTC day, one line per day, read from the journal.

    funding-arb summary [--conf CONF] [--days N]
    2025-03-10  total +0.4081  BTC-1741536180-1 +0.4350  ETH-1741536180-2 -0.0269

Every funding payment the bot booked (events and venue history after a restart) is in the journal keyed by leg; a
payment is attributed to the pair that held the leg. When two pairs held the same market at that settlement it is
shown under both ids joined by "+" (the venue pays once per market: splitting it would invent an attribution).
Days without payments are not printed; a day with unknown funding (a gap while the bot was down) prints N/A.
Read-only: the journal is opened by the bot too and nothing is written. Exit codes: 0 printed, 2 no such journal.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from .exit_codes import EXIT_CONFIG, EXIT_OK


def add_summary_parser(sub: argparse._SubParsersAction, default_conf: str) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("summary", help="funding PnL per pair and day, one line per day, from the journal")
    p.add_argument("--conf", default=default_conf, help="config file name under conf/scripts/ (selects the journal)")
    p.add_argument("--days", type=int, default=0, help="only the last N days with payments (0: all)")
    p.set_defaults(func=cmd_summary)


def day_of(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d")


def funding_by_day(payments: Iterable[Any]) -> dict[str, dict[str, Decimal]]:
    """UTC day -> pair id(s) -> funding in quote (received positive); payments need settlement_ts, amount_quote,
    pair_ids (a payment no pair claimed is under "unattributed")."""
    days: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for p in payments:
        key = "+".join(p.pair_ids) if p.pair_ids else "unattributed"
        days[day_of(p.settlement_ts)][key] += p.amount_quote
    return {d: dict(v) for d, v in days.items()}


def gap_days(spans: Iterable[tuple[float, float]]) -> set[str]:
    """Every UTC day a funding gap (from_ts, to_ts) touches."""
    days: set[str] = set()
    for start, end in spans:
        day = dt.datetime.fromtimestamp(start, dt.UTC).date()
        while day <= dt.datetime.fromtimestamp(end, dt.UTC).date():
            days.add(day.isoformat())
            day += dt.timedelta(days=1)
    return days


def summary_lines(by_day: dict[str, dict[str, Decimal]], gaps: set[str], last_days: int = 0) -> list[str]:
    """One line per day with payments or a gap: `DAY  total +X  PAIR +Y ...`; a gap day's total is N/A."""
    days = sorted(set(by_day) | gaps)
    days = days[-last_days:] if last_days > 0 else days
    lines = []
    for d in days:
        pairs = by_day.get(d, {})
        cells = "".join(f"  {p} {v:+.4f}" for p, v in sorted(pairs.items()))
        if d in gaps:
            lines.append(f"{d}  total N/A (funding unknown while the bot was down){cells}")
        else:
            lines.append(f"{d}  total {sum(pairs.values(), Decimal(0)):+.4f}{cells}")
    return lines


def cmd_summary(args: argparse.Namespace) -> int:
    from ..core.config import ConfigError, load_settings
    from ..shell.durability import journal_path
    from ..shell.home import project_root
    from ..shell.journal import Journal, JournalError

    root = project_root()
    try:
        settings = load_settings(root / "conf" / "scripts" / args.conf, home=root)
    except ConfigError as e:
        print(f"summary: {e}", file=sys.stderr)
        return EXIT_CONFIG
    path = journal_path(settings, root)
    if not path.exists():
        print(f"summary: no journal at {path} (the bot has not run with {args.conf} yet)", file=sys.stderr)
        return EXIT_CONFIG
    try:
        journal = Journal(path)
    except JournalError as e:
        print(f"summary: {e}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        by_day = funding_by_day(journal.funding_payments())
        gaps = gap_days(journal.funding_gap_spans())
    finally:
        journal.close()
    lines = summary_lines(by_day, gaps, args.days)
    print("\n".join(lines) if lines else f"no funding payment in {path} yet")
    return EXIT_OK
