"""Benchmark: what metrics and alerts cost per tick, and whether their memory stays flat over a simulated week.

    .venv/bin/python bench/bench_observability.py [--days 7] [--coins BTC,ETH,SOL,DOGE] [--publish-s 60]

Runs the real strategy (scripts/funding_arbitrage.py) on the simulated binance + bybit perps over cross_venue_2025
from 2025-03-09T16:00Z, with the JSON export, the Prometheus registry, the alert notifier (apprise to a closed local
port: delivery fails fast, on its own thread) and gauges refreshed every `--publish-s` clock seconds (default 600
with 60 s ticks = every 10th tick, the live default's ratio: every 10 s with 1 s Hummingbot ticks; `--publish-s 60`
publishes every tick, the worst case).

Measured with `time.thread_time` wrappers (CPU of the tick thread; wall time on the shared 2-core box mostly
measures the neighbours): the whole `on_tick` and, inside and around it, every observability call (gauge
publishing, JSON export, tick hooks, fill/funding booking, alert listener). Overhead = observability
time / (tick time without it). Memory: at every simulated day, the registry's series count, events and alerts kept,
the export's size and the process RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from strategies.funding_arbitrage.core.metrics import MetricsRegistry  # noqa: E402
from strategies.funding_arbitrage.shell import metrics_publish, runtime  # noqa: E402
from strategies.funding_arbitrage.shell.alerts import ALERT_URLS_ENV, AlertNotifier  # noqa: E402
from strategies.funding_arbitrage.shell.metrics_export import BackgroundJsonExporter  # noqa: E402
from strategies.funding_arbitrage.sim.data import load_market_data  # noqa: E402
from strategies.funding_arbitrage.sim.harness import SimEnvironment  # noqa: E402

START = 1741536000  # 2025-03-09T16:00:00Z
PERPS = ("sim_binance_perpetual", "sim_bybit_perpetual")
spent = {"tick": 0.0, "observability": 0.0}
parts: dict[str, float] = {}
calls = {"tick": 0}


def timed(fn: Any, bucket: str) -> Any:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.thread_time()  # CPU of the tick thread: wall time on a shared box measures the neighbours
        try:
            return fn(*args, **kwargs)
        finally:
            elapsed = time.thread_time() - t0
            spent[bucket] += elapsed
            parts[fn.__qualname__] = parts.get(fn.__qualname__, 0.0) + elapsed
            if bucket == "tick":
                calls["tick"] += 1

    return wrapper


def instrument() -> None:
    runtime.FundingArbRuntime.on_tick = timed(runtime.FundingArbRuntime.on_tick, "tick")
    for name in ("publish_gauges", "book_fill", "book_funding"):
        setattr(metrics_publish, name, timed(getattr(metrics_publish, name), "observability"))
    for name in ("tick_done", "after_risk"):
        setattr(metrics_publish.TickObserver, name, timed(getattr(metrics_publish.TickObserver, name), "observability"))
    BackgroundJsonExporter.maybe_export = timed(BackgroundJsonExporter.maybe_export, "observability")
    AlertNotifier.__call__ = timed(AlertNotifier.__call__, "observability")


def disable() -> None:
    """Baseline: every observability hook a no-op (the registry still exists; nothing is published or written)."""
    runtime.FundingArbRuntime._publish = lambda self, ts, tick, decision: None
    for name in ("book_fill", "book_funding"):
        setattr(metrics_publish, name, lambda *a, **k: None)
    metrics_publish.TickObserver.tick_done = lambda self, ts, elapsed: None
    metrics_publish.TickObserver.after_risk = lambda self, rt, ts: None
    AlertNotifier.__call__ = lambda self, alert, transition: None


def rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def series(reg: MetricsRegistry) -> int:
    return sum(len(f.values) for f in reg._families.values())


def settings(tmp: Path, coins: list[str], publish_s: int) -> dict[str, Any]:
    return {
        "perp_connectors": list(PERPS),
        "spot_connectors": [],
        "tokens": coins,
        "quote_assets": {c: "USDT" for c in PERPS},
        "leverage": {c: 3 for c in PERPS},
        "funding_interval_hints_hours": {c: Decimal(8) for c in PERPS},
        "total_capital_quote": Decimal(20000),
        "order_amount_quote": Decimal(1000),
        "max_token_exposure_quote": Decimal(3000),
        "max_venue_exposure_quote": Decimal(6000),
        "max_total_exposure_quote": Decimal(8000),
        "holding_horizon_hours": Decimal(72),
        "min_net_edge_pct": Decimal("0.01"),
        "max_break_even_hours": Decimal(72),
        "persistence_observations": 2,
        "prometheus_port": 0,
        "metrics_export_path": str(tmp / "metrics.json"),
        "metrics_export_interval_s": publish_s,
        "state_file": str(tmp / "state.json"),
    }


async def run(days: int, coins: list[str], publish_s: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench_obs_"))
    os.environ[ALERT_URLS_ENV] = "json://127.0.0.1:9/unreachable"  # a configured channel that fails fast
    script = importlib.import_module("scripts.funding_arbitrage")
    data = load_market_data(ROOT / ".." / "shared" / "data" / "cross_venue_2025")
    env = SimEnvironment(
        market_data=data,
        perp_venues=["binance", "bybit"],
        spot_venues=[],
        coins=coins,
        start_ts=START,
        end_ts=START + days * 86400,
        tick_s=60.0,
        faults={},
        initial_balance_quote=Decimal(10000),
        record=False,
    )
    config = script.FundingArbitrageConfig(**settings(tmp, coins, publish_s))
    script.FundingArbitrage.init_markets(config)
    strategy = script.FundingArbitrage(env.connectors, config)
    env.add_strategy(strategy)
    await env.start()
    print(
        f"{'day':>4} {'ticks':>6} {'tick ms':>8} {'obs ms':>7} {'overhead':>8} {'series':>6} {'events':>6} "
        f"{'alerts':>6} {'export KiB':>10} {'RSS MiB':>8}"
    )
    cpu0 = time.process_time()
    for day in range(1, days + 1):
        t_tick, t_obs, n = spent["tick"], spent["observability"], calls["tick"]
        while env.now + env.tick_s <= START + day * 86400:
            await env.step()
        rt, reg = strategy.runtime, strategy.runtime.metrics
        dt, do, dn = spent["tick"] - t_tick, spent["observability"] - t_obs, calls["tick"] - n
        export = Path(config.metrics_export_path)
        print(
            f"{day:>4} {dn:>6} {1000 * dt / max(dn, 1):>8.2f} {1000 * do / max(dn, 1):>7.3f} "
            f"{100 * do / max(dt - do, 1e-9):>7.2f}% {series(reg):>6} {len(reg._events):>6} {len(reg._alerts):>6} "
            f"{export.stat().st_size / 1024 if export.exists() else 0:>10.1f} {rss_mib():>8.1f}"
        )
    cpu = time.process_time() - cpu0
    rt.alerts.close()
    print(
        f"process CPU while stepping: {cpu:.1f}s = {1000 * cpu / calls['tick']:.2f} ms per tick (sim + strategy "
        "+ export thread)"
    )
    total_overhead = 100 * spent["observability"] / max(spent["tick"] - spent["observability"], 1e-9)
    print(
        f"total: {calls['tick']} ticks, tick {1000 * spent['tick'] / calls['tick']:.2f} ms, observability "
        f"{1000 * spent['observability'] / calls['tick']:.3f} ms per tick = {total_overhead:.2f}% added; "
        f"pairs opened {len(rt.store.records)}"
    )
    for name, secs in sorted(parts.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<36} {1000 * secs / calls['tick']:.3f} ms per tick")
    env.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--coins", default="BTC,ETH,SOL,DOGE")
    parser.add_argument(
        "--publish-s",
        type=int,
        default=600,
        help="metrics_export_interval_s; 600 with 60 s ticks "
        "= publish every 10th tick, the live default's ratio (10 s interval, 1 s Hummingbot ticks)",
    )
    parser.add_argument("--disable", action="store_true", help="baseline: observability hooks as no-ops")
    args = parser.parse_args()
    if args.disable:
        disable()
    instrument()
    asyncio.run(run(args.days, args.coins.split(","), args.publish_s))


if __name__ == "__main__":
    main()
