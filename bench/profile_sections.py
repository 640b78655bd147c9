"""CPU time of one replay by section, without a profiler's overhead (run on demand, not by pytest).

    .venv/bin/python bench/profile_sections.py [--start 2025-07-01] [--days 6] [--tick 300]
        [--runs funding_arbitrage] [--out out/profile_sections]

Wraps the big pieces of a replay (data load, the simulated venues' ticks, the strategy's tick and its parts:
snapshot, edge engine, the rest; fills and funding events; state saves) with a process-CPU-time accumulator and
prints each one's share. cProfile (bench/profile_replay.py) shows the functions inside; its overhead inflates
pure-Python code several times, so shares from it overstate the core and understate C-heavy work.
"""

from __future__ import annotations

import functools
import time
from collections import defaultdict
from typing import Any

from replay_window import replay_options, window_parser

TOTALS: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)
_STACK: list[str] = []


def _timed(owner: Any, attr: str, label: str) -> None:
    """Replace owner.attr with a wrapper adding its exclusive CPU time (nested sections subtracted) to `label`."""
    original = getattr(owner, attr)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _STACK.append(label)
        start = time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            spent = time.process_time() - start
            _STACK.pop()
            TOTALS[label] += spent
            CALLS[label] += 1
            if _STACK:
                TOTALS[_STACK[-1]] -= spent

    setattr(owner, attr, wrapper)


def _install() -> None:
    from strategies.funding_arbitrage.core.decisions import EdgeEngine
    from strategies.funding_arbitrage.replay import runner
    from strategies.funding_arbitrage.shell import runtime, state
    from strategies.funding_arbitrage.shell.adapter import BookLevels, SnapshotBuilder
    from strategies.funding_arbitrage.sim.venue import SimVenueMixin

    _timed(runner, "_market_data", "data load")
    _timed(SimVenueMixin, "tick", "sim venues: tick")
    _timed(runtime.FundingArbRuntime, "_tick", "strategy tick: rest (runtime, risk, execution)")
    _timed(SnapshotBuilder, "build", "strategy tick: adapter snapshot")
    _timed(BookLevels, "levels", "strategy tick: deep book levels (adapter, read by the core)")
    _timed(EdgeEngine, "evaluate", "strategy tick: edge engine (core)")
    _timed(runtime.FundingArbRuntime, "on_fill", "strategy: fill events")
    _timed(runtime.FundingArbRuntime, "on_funding", "strategy: funding events")
    _timed(state.PairStore, "save", "strategy: state file saves")
    from strategies.funding_arbitrage.shell.journal_store import JournaledPairStore

    _timed(JournaledPairStore, "save", "strategy: state saves (journal + state file)")  # the replay's store
    from strategies.funding_arbitrage.replay.baseline_strategy import BaselineStrategy
    from strategies.funding_arbitrage.replay.ledger import RunLedger
    from strategies.funding_arbitrage.sim.harness import SimEnvironment

    _timed(BaselineStrategy, "on_tick", "baseline tick")
    _timed(RunLedger, "sample", "runner: hourly ledger samples")
    _timed(SimEnvironment, "__init__", "runner: simulated venues set up")


def main() -> None:
    args = window_parser(days=6.0, tick_s=300.0, out="out/profile_sections").parse_args()
    c_start = time.process_time()
    from strategies.funding_arbitrage.cli.bytecode_cache import enable_bytecode_cache

    enable_bytecode_cache()  # as `funding-arb` does at start
    from strategies.funding_arbitrage.replay.runner import run_replay

    _install()
    opts = replay_options(args, args.out)
    c0 = time.process_time()
    run_replay(opts)
    total = time.process_time() - c0
    print(f"imports {c0 - c_start:.2f} CPU s; replay {total:.2f} CPU s ({args.days:g} days, tick {args.tick:g}s)")
    accounted = 0.0
    for label, spent in sorted(TOTALS.items(), key=lambda kv: -kv[1]):
        accounted += spent
        print(f"  {label:<62} {spent:8.2f} s  {100 * spent / total:5.1f} %  ({CALLS[label]} calls)")
    print(f"  {'everything else (event loop, clock, runner, report)':<62} {total - accounted:8.2f} s")


if __name__ == "__main__":
    main()
