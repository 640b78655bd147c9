"""Benchmark: what metrics and alerts cost per tick, and whether their memory stays flat over a simulated week.

    .venv/bin/python bench/bench_observability.py [--days 3] [--block 30] [--check]      # CPU: interleaved A/B
    .venv/bin/python bench/bench_observability.py --memory [--days 7] [--check]          # memory per simulated day

Runs the real strategy (scripts/funding_arbitrage.py) on the simulated binance + bybit perps over cross_venue_2025
from 2025-03-09T16:00Z (BTC ETH SOL DOGE, 60 s ticks) with everything an operator turns on: the registry, the JSON
export (gauges and export every `--publish-s` = 600 clock seconds = every 10th tick, the live default's ratio of
`metrics_export_interval_s: 10` to 1 s Hummingbot ticks), a Prometheus scrape of the real collector through
prometheus-client's text exposition every `--scrape-every` ticks (15: the shipped 15 s scrape interval at 1 s ticks),
and an apprise channel (to a closed local port: delivery fails fast on its own thread).

CPU (default mode), measured in CPU time, not wall time (the box is shared: wall time measures the neighbours):
  * the run alternates blocks of `--block` ticks with observability ON and OFF (OFF: every hook, registry write,
    alert listener, export and scrape is a no-op); each adjacent OFF/ON pair is one sample, so load drift on the
    machine hits both halves alike. Per pair: A/B overhead = (process CPU per tick ON - OFF) / strategy tick CPU
    OFF (process CPU = every thread: strategy, simulator, export writer, alert thread, scrape).
  * direct: in the ON blocks, the CPU of every observability call (thread CPU of the hooks on the tick thread, of the
    snapshot and write on the export thread, of the scrape) / the strategy tick CPU without them.
  Reported: median and interquartile range over the pairs, and the pooled total. `--check` exits 1 when the median
  A/B overhead or the pooled direct overhead exceeds 5 %.
Memory (`--memory`): everything ON for `--days` (default 7); at the end of every simulated day, the memory held by
allocations made in the observability modules (tracemalloc, started after day 1), the whole process's traced memory
and RSS, and the sizes of every bounded structure. `--check` exits 1 when the observability modules' memory grows
by more than 256 KiB from day 2 to the last day.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from strategies.funding_arbitrage.core.metrics import MetricsRegistry  # noqa: E402
from strategies.funding_arbitrage.shell import metrics_export, metrics_publish, runtime  # noqa: E402
from strategies.funding_arbitrage.shell.alerts import ALERT_URLS_ENV, AlertNotifier  # noqa: E402
from strategies.funding_arbitrage.sim.data import load_market_data  # noqa: E402
from strategies.funding_arbitrage.sim.harness import SimEnvironment  # noqa: E402

START = 1741536000  # 2025-03-09T16:00:00Z
PERPS = ("sim_binance_perpetual", "sim_bybit_perpetual")
MEMORY_BOUND_KIB = 256
OBSERVABILITY_FILES = (
    "*/core/metrics.py",
    "*/core/metric_catalog.py",
    "*/core/redaction.py",
    "*/shell/metrics_publish.py",
    "*/shell/metrics_export.py",
    "*/shell/alerts.py",
    "*/prometheus_client/*",
    "*/apprise/*",
)
# thread CPU seconds: the strategy's tick; observability calls in it; observability on other threads; the timer itself
cpu = {"tick": 0.0, "in_tick": 0.0, "background": 0.0, "timer": 0.0}
calls = {"in_tick": 0, "timer": 0}
parts: dict[str, float] = {}
MODES: dict[str, list[tuple[Any, str, Any]]] = {"off": [], "on": [], "timed": []}  # (owner, attribute, value)


def charged(fn: Any, bucket: str) -> Any:
    """`fn` with its thread CPU added to `bucket`: "in_tick" (hooks on the tick thread) or "background" (the export
    thread's snapshot and write, the scrape)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            elapsed = time.thread_time() - t0
            cpu[bucket] += elapsed
            calls[bucket] = calls.get(bucket, 0) + 1
            parts[fn.__qualname__] = parts.get(fn.__qualname__, 0.0) + elapsed

    return wrapper


def noop(*args: Any, **kwargs: Any) -> None:
    return None


def switch(mode: str) -> None:
    """Set every observability entry point to a no-op ("off"), itself ("on": nothing added, not even a timer) or
    itself timed ("timed": its thread CPU charged)."""
    for owner, name, value in MODES[mode]:
        setattr(owner, name, value)


timer_probe = charged(noop, "timer")  # an empty call timed like the others: what the timing itself costs


def instrument() -> None:
    """Time the strategy tick; make every observability entry point switchable, its outermost calls charged."""
    tick = runtime.FundingArbRuntime.on_tick

    @functools.wraps(tick)
    def on_tick(self: Any, ts: float) -> None:
        t0 = time.thread_time()
        try:
            tick(self, ts)
        finally:
            cpu["tick"] += time.thread_time() - t0

    runtime.FundingArbRuntime.on_tick = on_tick  # type: ignore[method-assign]
    entry_points: list[tuple[Any, str, str]] = [
        (runtime.FundingArbRuntime, "_publish", "in_tick"),  # gauges (every metrics_export_interval_s), export queued
        (metrics_publish.TickObserver, "tick_done", "in_tick"),  # tick histogram, heartbeat
        (metrics_publish.TickObserver, "after_risk", "in_tick"),  # halt events, derived alerts
        (metrics_publish, "book_fill", "in_tick"),
        (metrics_publish, "book_funding", "in_tick"),
        (metrics_export, "write_json", "background"),  # export thread
        (MetricsRegistry, "snapshot", "background"),  # export thread
        (AlertNotifier, "__call__", ""),  # inside registry.alert
    ]
    entry_points += [
        (MetricsRegistry, name, "")  # the registry writes made elsewhere in the tick (counters, events, alerts)
        for name in ("inc", "add", "gauge", "gauge_add", "event", "alert", "clear_alert", "sync_alerts", "observe")
    ]
    for owner, name, bucket in entry_points:
        original = getattr(owner, name)
        MODES["on"].append((owner, name, original))
        MODES["timed"].append((owner, name, charged(original, bucket) if bucket else original))
        MODES["off"].append((owner, name, noop))
    switch("on")


def rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


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


async def start(args: argparse.Namespace) -> tuple[SimEnvironment, Any, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="bench_obs_"))
    os.environ[ALERT_URLS_ENV] = "json://127.0.0.1:9/unreachable"  # a configured channel that fails fast
    coins = args.coins.split(",")
    script = importlib.import_module("scripts.funding_arbitrage")
    env = SimEnvironment(
        market_data=load_market_data(ROOT / ".." / "shared" / "data" / "cross_venue_2025"),
        perp_venues=["binance", "bybit"],
        spot_venues=[],
        coins=coins,
        start_ts=START,
        end_ts=START + args.days * 86400,
        tick_s=60.0,
        faults={},
        initial_balance_quote=Decimal(10000),
        record=False,
    )
    config = script.FundingArbitrageConfig(**settings(tmp, coins, args.publish_s))
    script.FundingArbitrage.init_markets(config)
    strategy = script.FundingArbitrage(env.connectors, config)
    env.add_strategy(strategy)
    await env.start()
    return env, strategy, config


def scraper(rt: Any) -> Any:
    """The strategy's Prometheus collector behind prometheus-client's text exposition (what a scrape runs)."""
    prom = CollectorRegistry()
    prom.register(metrics_export._Collector(rt.metrics))
    return charged(lambda: generate_latest(prom), "background")


def quartiles(xs: list[float]) -> str:
    q = statistics.quantiles(xs, n=4)
    return f"median {q[1]:.2f} %, IQR {q[0]:.2f} .. {q[2]:.2f} % over {len(xs)} pairs"


async def cpu_ab(args: argparse.Namespace) -> bool:
    """Blocks of `--block` ticks in the cycle OFF, ON, TIMED: A/B compares each ON block with the OFF block before it
    (no timer in either); the direct figures come from the TIMED block (the timer's own cost, probed once per tick
    there, is subtracted)."""
    env, strategy, _ = await start(args)
    rt, end = strategy.runtime, START + args.days * 86400
    scrape = scraper(rt)
    blocks: list[dict[str, Any]] = []
    n, cycle = 0, ("off", "on", "timed")
    while env.now + env.tick_s <= end:
        mode = cycle[len(blocks) % 3]
        switch(mode)
        ticks, before, calls_before = 0, dict(cpu), dict(calls)
        while ticks < args.block and env.now + env.tick_s <= end:
            await env.step()
            ticks, n = ticks + 1, n + 1
            if mode != "off" and n % args.scrape_every == 0:
                scrape()
            if mode == "timed":
                timer_probe()
        if mode != "off" and rt.exporter is not None:
            rt.exporter.flush()  # the write queued in this block is charged to this block
        blocks.append(
            {"mode": mode, "ticks": ticks, **{k: cpu[k] - before[k] for k in cpu}}
            | {f"n_{k}": calls.get(k, 0) - calls_before.get(k, 0) for k in calls}
        )
    switch("on")
    rt.alerts.close()
    env.close()
    print(f"pairs opened: {len(rt.store.records)}")
    return report(blocks, args)


def report(blocks: list[dict[str, Any]], args: argparse.Namespace) -> bool:
    """Per cycle: A/B = (tick CPU ON - OFF) / OFF; direct = (observability CPU in the tick - timer cost) / tick OFF;
    background = (export thread + scrape CPU - timer cost) / tick OFF."""
    ab, direct, background = [], [], []
    timer_s = sum(b["timer"] for b in blocks) / max(sum(b["n_timer"] for b in blocks), 1)
    cycles = [blocks[i : i + 3] for i in range(0, len(blocks) - 2, 3)]
    for off_b, on_b, timed_b in cycles:
        if min(off_b["ticks"], on_b["ticks"], timed_b["ticks"]) == 0 or off_b["tick"] <= 0:
            continue
        tick_off = off_b["tick"] / off_b["ticks"]
        ab.append(100 * (on_b["tick"] / on_b["ticks"] - tick_off) / tick_off)
        in_tick = timed_b["in_tick"] - timed_b["n_in_tick"] * timer_s
        direct.append(100 * in_tick / timed_b["ticks"] / tick_off)
        bg = timed_b["background"] - timed_b["n_background"] * timer_s
        background.append(100 * bg / timed_b["ticks"] / tick_off)
    print(
        f"{sum(b['ticks'] for b in blocks)} ticks; {len(ab)} cycles of OFF, ON, TIMED blocks of {args.block} ticks; "
        f"gauges + export every {args.publish_s // 60} ticks, scrape every {args.scrape_every}"
    )
    ticks = {m: [b for b in blocks if b["mode"] == m] for m in ("off", "on")}
    per = {m: 1000 * sum(b["tick"] for b in bs) / sum(b["ticks"] for b in bs) for m, bs in ticks.items()}
    print(
        f"strategy tick thread CPU per tick: OFF {per['off']:.3f} ms, ON {per['on']:.3f} ms; "
        f"timer cost {1e6 * timer_s:.2f} us per timed call (subtracted)"
    )
    print(
        f"A/B, added to the tick, (tick CPU ON - OFF) / OFF: {quartiles(ab)}; "
        f"pooled {100 * (per['on'] / per['off'] - 1):.2f} %"
    )
    print(f"direct, observability calls in the tick / tick OFF: {quartiles(direct)}")
    print(f"background threads (export snapshot + write + fsync, scrape) / tick OFF: {quartiles(background)}")
    n_timed = sum(b["ticks"] for b in blocks if b["mode"] == "timed")
    for name, secs in sorted(parts.items(), key=lambda kv: -kv[1]):
        if name != "noop":
            print(f"  {name:<40} {1000 * secs / n_timed:.4f} ms per tick (timer included)")
    return statistics.median(ab) <= 5.0 and statistics.median(direct) <= 5.0


def bounded_sizes(rt: Any) -> str:
    m, obs = rt.metrics, rt.observer
    series = sum(len(f.values) for f in m._families.values())
    return (
        f"{series:>6} {len(m._events):>6} {len(m._alerts):>6} {len(m._redact_cache):>6} {len(m._slots):>6} "
        f"{len(obs.funding_by_day):>4} {len(rt.alerts._last_sent):>5}"
    )


async def memory(args: argparse.Namespace) -> bool:
    env, strategy, config = await start(args)
    rt = strategy.runtime
    scrape = scraper(rt)
    filters = [tracemalloc.Filter(True, pattern) for pattern in OBSERVABILITY_FILES]
    print(
        f"{'day':>3} {'obs KiB':>8} {'traced MiB':>10} {'RSS MiB':>8} {'series':>6} {'events':>6} {'alerts':>6} "
        f"{'redact':>6} {'slots':>6} {'fday':>4} {'sent':>5} {'export KiB':>10}"
    )
    obs_kib: dict[int, float] = {}
    n = 0
    for day in range(1, args.days + 1):
        while env.now + env.tick_s <= START + day * 86400:
            await env.step()
            n += 1
            if n % args.scrape_every == 0:
                scrape()
        if day == 1:
            tracemalloc.start(1)  # after the warm-up day: imports and first-use caches are not growth
        if rt.exporter is not None:
            rt.exporter.flush()
        if tracemalloc.is_tracing():
            snap = tracemalloc.take_snapshot()
            obs_kib[day] = sum(s.size for s in snap.filter_traces(filters).statistics("filename")) / 1024
            traced = tracemalloc.get_traced_memory()[0] / 2**20
        else:
            obs_kib[day], traced = float("nan"), float("nan")
        export = Path(config.metrics_export_path)
        size = export.stat().st_size / 1024 if export.exists() else 0.0
        print(f"{day:>3} {obs_kib[day]:>8.1f} {traced:>10.2f} {rss_mib():>8.1f} {bounded_sizes(rt)} {size:>10.1f}")
    rt.alerts.close()
    env.close()
    print(f"pairs opened: {len(rt.store.records)}; events kept: {list(e['name'] for e in rt.metrics._events)}")
    growth = obs_kib[args.days] - obs_kib[min(2, args.days)]
    print(f"observability memory day 2 -> day {args.days}: {growth:+.1f} KiB (bound {MEMORY_BOUND_KIB} KiB)")
    return growth <= MEMORY_BOUND_KIB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=None, help="simulated days (default 3 for CPU, 7 for memory)")
    parser.add_argument("--coins", default="BTC,ETH,SOL,DOGE")
    parser.add_argument("--publish-s", type=int, default=600, help="metrics_export_interval_s (clock seconds)")
    parser.add_argument("--scrape-every", type=int, default=15, help="ticks between Prometheus scrapes")
    parser.add_argument("--block", type=int, default=30, help="ticks per ON or OFF block")
    parser.add_argument("--memory", action="store_true", help="memory per simulated day instead of CPU")
    parser.add_argument("--check", action="store_true", help="exit 1 when a bound is exceeded")
    args = parser.parse_args()
    args.days = args.days or (7 if args.memory else 3)
    instrument()
    ok = asyncio.run(memory(args) if args.memory else cpu_ab(args))
    print("within bounds" if ok else "BOUND EXCEEDED")
    if args.check and not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
