"""Benchmark: one tick's snapshot (`SnapshotBuilder.build`) of the replay's default markets, plus the core's intake
of it (`MarketIntake.intake`: every market's checks and quote), on the simulated venues (run on demand, not by pytest).

    .venv/bin/python bench/bench_adapter.py [--ticks 300] [--compare path/to/other_adapter.py]

Steps a SimEnvironment (BTC ETH SOL DOGE HYPE, binance + bybit perps, binance spot: 15 books) one 300 s tick at a
time and times only `build` + `intake` + walks of 3 levels on both sides of 6 books (what the core reads in a
typical tick), as thread CPU time. With --compare, the other adapter module
(e.g. `git show <rev>:strategies/funding_arbitrage/shell/adapter.py`) is timed on the same ticks, interleaved, so
machine load affects both alike (the intake is this tree's for both). The simulated books compute their best levels
on first read, once a tick: the builders take turns reading a tick's books first, so compare means, not medians.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import statistics
import time
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

from strategies.funding_arbitrage.core.config import FundingArbSettings
from strategies.funding_arbitrage.core.funding import IntervalTracker
from strategies.funding_arbitrage.core.market_data import MarketIntake
from strategies.funding_arbitrage.core.sizing import VolatilityTracker
from strategies.funding_arbitrage.replay.runner import ReplayOptions, sim_settings
from strategies.funding_arbitrage.shell import adapter
from strategies.funding_arbitrage.shell.home import project_root
from strategies.funding_arbitrage.sim.harness import SimEnvironment

COINS = ("BTC", "ETH", "SOL", "DOGE", "HYPE")
START_TS = 1_751_328_000.0  # 2025-07-01


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("strategies.funding_arbitrage.shell._adapter_compared", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


WALKED_MARKETS = 6  # the core walks a few books a tick (held pairs' exit costs, the best candidates' entries)
WALKED_LEVELS = 3  # a walk for an order of the sample size stops after a few levels


def _timed_build(builder: Any, intake: MarketIntake, ts: float, connectors: dict[str, Any]) -> float:
    t0 = time.thread_time()
    tick = builder.build(ts, connectors)
    intake.intake(tick, Counter())  # what the core reads of every market
    for m in tick.markets[:WALKED_MARKETS]:  # and what its walks read of a few
        if m.book is not None:
            for side in (m.book.bids, m.book.asks):
                for _, (price, amount) in zip(range(WALKED_LEVELS), side, strict=False):
                    _ = price * amount
    return time.thread_time() - t0


async def _run(ticks: int, modules: dict[str, ModuleType]) -> dict[str, list[float]]:
    data = project_root() / ".." / "shared" / "data" / "cross_venue_2025"
    settings = FundingArbSettings(**sim_settings(ReplayOptions(data_dir=data)))
    env = SimEnvironment(
        data_dir=data,
        coins=list(COINS),
        start_ts=START_TS,
        end_ts=START_TS + (ticks + 2) * 300,
        tick_s=300,
        record=False,
    )
    builders = {name: m.SnapshotBuilder(settings) for name, m in modules.items()}
    intakes = {name: MarketIntake(settings, IntervalTracker(), VolatilityTracker()) for name in modules}
    times: dict[str, list[float]] = {name: [] for name in modules}
    await env.start()
    order = list(builders)
    for _ in range(ticks):
        ts = await env.step()
        for name in order:
            times[name].append(_timed_build(builders[name], intakes[name], ts, env.connectors))
        order.reverse()  # the first reader of a tick's book pays the simulated venue's lazy touch: take turns
    env.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ticks", type=int, default=300)
    parser.add_argument("--compare", type=Path, default=None)
    args = parser.parse_args()
    modules = {"current": adapter}
    if args.compare is not None:
        modules["compared"] = _load(args.compare)
    times = asyncio.run(_run(args.ticks, modules))
    for name, values in times.items():
        print(
            f"{name:<9} build + intake per tick: median {statistics.median(values) * 1e6:8.1f} µs, "
            f"mean {statistics.fmean(values) * 1e6:8.1f} µs over {len(values)} ticks"
        )


if __name__ == "__main__":
    main()
