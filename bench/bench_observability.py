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
import gc
import importlib
import os
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from strategies.funding_arbitrage.core.metrics import MetricsRegistry  # noqa: E402
from strategies.funding_arbitrage.shell import metrics_export, metrics_publish, runtime  # noqa: E402
from strategies.funding_arbitrage.shell.alerts import ALERT_URLS_ENV, AlertNotifier  # noqa: E402
from strategies.funding_arbitrage.shell.metrics_http import CachedExposition  # noqa: E402
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
cpu = {"tick": 0.0, "in_tick": 0.0, "background": 0.0, "timer": 0.0, "gc_tick": 0.0, "gc_other": 0.0, "gc2": 0.0}
calls = {"in_tick": 0, "background": 0, "timer": 0}
_gc_started = threading.local()


def gc_timer(phase: str, info: dict[str, int]) -> None:
    """gc callback: the thread CPU of every collection, on the tick (main) thread or another, and of full ones."""
    if phase == "start":
        _gc_started.t0 = time.thread_time()
        return
    elapsed = time.thread_time() - getattr(_gc_started, "t0", time.thread_time())
    cpu["gc_tick" if threading.current_thread() is threading.main_thread() else "gc_other"] += elapsed
    if info.get("generation") == 2:
        cpu["gc2"] += elapsed


parts: dict[str, float] = {}
MODES: dict[str, list[tuple[Any, str, Any]]] = {"off": [], "on": [], "timed": []}  # (owner, attribute, value)


_depth = threading.local()  # per thread: how many charged calls are running (only the outermost is timed)


def charged(fn: Any, bucket: str) -> Any:
    """`fn` with its thread CPU added to `bucket`: "in_tick" (hooks on the tick thread), "background" (the export
    thread's snapshot and write, the scrape) or "thread" (registry calls: "in_tick" on the tick (main) thread,
    "background" on the export and alert threads). A call inside another charged call is not timed again."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        depth = getattr(_depth, "n", 0)
        if depth:
            return fn(*args, **kwargs)
        _depth.n = 1
        t0 = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            elapsed = time.thread_time() - t0
            _depth.n = 0
            where = bucket
            if bucket == "thread":
                where = "in_tick" if threading.current_thread() is threading.main_thread() else "background"
            cpu[where] += elapsed
            calls[where] = calls.get(where, 0) + 1
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
        (metrics_publish.TickObserver, "funding_split", "in_tick"),  # per funding settlement
        (AlertNotifier, "__call__", "thread"),  # inside registry.alert
    ]
    entry_points += [
        (MetricsRegistry, name, "thread")  # the registry calls made anywhere else (runtime, executor, risk, alerts)
        for name in (
            "inc",
            "add",
            "gauge",
            "gauge_add",
            "set_gauges",
            "remove_gauge",
            "clear_gauge",
            "event",
            "alert",
            "clear_alert",
            "sync_alerts",
            "has_active_alerts",
            "observe",
        )
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


def settings(tmp: Path, coins: list[str], publish_s: int, spots: list[str]) -> dict[str, Any]:
    return {
        "perp_connectors": list(PERPS),
        "spot_connectors": spots,
        "tokens": coins,
        "quote_assets": {c: "USDT" for c in (*PERPS, *spots)},
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
        "decision_interval_s": 0,  # as measured in docs/performance.md: a decision every tick (the default is 300 s)
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
        spot_venues=args.spot.split(",") if args.spot else [],
        coins=coins,
        start_ts=START,
        end_ts=START + args.days * 86400,
        tick_s=60.0,
        faults={},
        initial_balance_quote=Decimal(10000),
        record=False,
    )
    spots = [f"sim_{v}" for v in args.spot.split(",")] if args.spot else []
    config = script.FundingArbitrageConfig(**settings(tmp, coins, args.publish_s, spots))
    script.FundingArbitrage.init_markets(config)
    strategy = script.FundingArbitrage(env.connectors, config)
    env.add_strategy(strategy)
    await env.start()
    return env, strategy, config


PROMETHEUS_ACCEPT = (  # what Prometheus sends when it scrapes
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)


def scraper(rt: Any) -> Any:
    """What one scrape of the endpoint runs: the registry's families through `CachedExposition` (the endpoint's
    response body, OpenMetrics as Prometheus asks), without the HTTP round trip."""
    exposition = CachedExposition(rt.metrics.collect)
    return charged(lambda: exposition.render(PROMETHEUS_ACCEPT), "background")


def quartiles(xs: list[float]) -> str:
    q = statistics.quantiles(xs, n=4)
    return f"median {q[1]:.2f} %, IQR {q[0]:.2f} .. {q[2]:.2f} % over {len(xs)} cycles"


def mean_ci(xs: list[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95 % confidence interval (normal approximation over the cycles)."""
    return statistics.fmean(xs), 1.96 * statistics.stdev(xs) / len(xs) ** 0.5


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
        ticks, before, calls_before, proc0 = 0, dict(cpu), dict(calls), time.process_time()
        while ticks < args.block and env.now + env.tick_s <= end:
            await env.step()
            ticks, n = ticks + 1, n + 1
            if mode != "off" and rt.exporter is not None and not args.overlap:
                rt.exporter.flush()  # live ticks are 1 s apart: the writer (1-2 ms) is done before the next tick
            if mode != "off" and n % args.scrape_every == 0:
                scrape()
            if mode == "timed":
                timer_probe()
        if mode != "off" and rt.exporter is not None:
            rt.exporter.flush()  # the write queued in this block is charged to this block
        blocks.append(
            {"mode": mode, "ticks": ticks, "proc": time.process_time() - proc0, **{k: cpu[k] - before[k] for k in cpu}}
            | {f"n_{k}": calls.get(k, 0) - calls_before.get(k, 0) for k in calls}
        )
    switch("on")
    rt.alerts.close()
    env.close()
    print(f"pairs opened: {len(rt.store.records)}")
    return report(blocks, args)


def report(blocks: list[dict[str, Any]], args: argparse.Namespace) -> bool:
    """Per cycle (OFF, ON, TIMED blocks): direct = (observability thread CPU in the tick - timer cost) / tick OFF;
    A/B = (tick thread CPU ON - OFF) / OFF, and process-wide (every thread) (process CPU ON - OFF) / tick OFF;
    background = (export thread + scrape CPU - timer cost) / tick OFF."""
    timer_s = sum(b["timer"] for b in blocks) / max(sum(b["n_timer"] for b in blocks), 1)
    rows: dict[str, list[float]] = {"direct_us": [], "direct": [], "ab": [], "ab_proc": [], "background": []}
    for off_b, on_b, timed_b in [blocks[i : i + 3] for i in range(0, len(blocks) - 2, 3)]:
        if min(off_b["ticks"], on_b["ticks"], timed_b["ticks"]) == 0 or off_b["tick"] <= 0:
            continue
        tick_off = off_b["tick"] / off_b["ticks"]
        in_tick = (timed_b["in_tick"] - timed_b["n_in_tick"] * timer_s) / timed_b["ticks"]
        rows["direct_us"].append(1e6 * in_tick)
        rows["direct"].append(100 * in_tick / tick_off)
        rows["ab"].append(100 * (on_b["tick"] / on_b["ticks"] - tick_off) / tick_off)
        rows["ab_proc"].append(100 * (on_b["proc"] / on_b["ticks"] - off_b["proc"] / off_b["ticks"]) / tick_off)
        bg = timed_b["background"] - timed_b["n_background"] * timer_s
        rows["background"].append(100 * bg / timed_b["ticks"] / tick_off)
    n = {m: sum(b["ticks"] for b in blocks if b["mode"] == m) for m in ("off", "on", "timed")}
    per = {m: 1e6 * sum(b["tick"] for b in blocks if b["mode"] == m) / n[m] for m in n}
    proc = {m: 1e6 * sum(b["proc"] for b in blocks if b["mode"] == m) / n[m] for m in n}
    in_tick_us = 1e6 * (
        sum(b["in_tick"] - b["n_in_tick"] * timer_s for b in blocks if b["mode"] == "timed") / n["timed"]
    )
    bg_us = (
        1e6 * sum(b["background"] - b["n_background"] * timer_s for b in blocks if b["mode"] == "timed") / n["timed"]
    )
    direct_pooled = 100 * in_tick_us / per["off"]
    print(
        f"{sum(n.values())} ticks; {len(rows['ab'])} cycles of OFF, ON, TIMED blocks of {args.block} ticks; "
        f"gauges + export every {args.publish_s // 60} ticks, scrape every {args.scrape_every}; "
        f"load average {os.getloadavg()[0]:.1f} at the end"
    )
    print(
        f"strategy tick, thread CPU per tick: OFF {per['off']:.1f} us, ON {per['on']:.1f} us; process CPU per tick "
        f"(every thread): OFF {proc['off']:.1f} us, ON {proc['on']:.1f} us; timer {1e6 * timer_s:.2f} us per timed "
        "call (subtracted)"
    )
    ab_mean, ab_ci = mean_ci(rows["ab"])
    proc_mean, proc_ci = mean_ci(rows["ab_proc"])
    print(
        f"DIRECT, observability calls on the tick thread: {in_tick_us:.2f} us per tick = {direct_pooled:.2f} % of the "
        f"tick (pooled); per cycle {quartiles(rows['direct'])}, "
        f"{statistics.median(rows['direct_us']):.2f} us median"
    )
    print(
        f"A/B, tick thread, (tick CPU ON - OFF) / OFF: mean {ab_mean:.2f} +/- {ab_ci:.2f} % (95 % CI), "
        f"{quartiles(rows['ab'])}; pooled {100 * (per['on'] / per['off'] - 1):.2f} %"
    )
    print(
        f"A/B, process-wide (every thread: tick, simulator, export, scrape, alerts) / tick OFF: "
        f"mean {proc_mean:.2f} +/- {proc_ci:.2f} % (95 % CI), {quartiles(rows['ab_proc'])}"
    )
    print(
        f"background threads (export snapshot + write + fsync, scrape): {bg_us:.1f} us per tick = "
        f"{100 * bg_us / per['off']:.1f} % of the tick; per cycle {quartiles(rows['background'])}"
    )
    for m in ("off", "on", "timed"):
        bs = [b for b in blocks if b["mode"] == m]
        print(
            f"  gc {m}: tick thread {1e6 * sum(b['gc_tick'] for b in bs) / n[m]:.1f} us/tick, other threads "
            f"{1e6 * sum(b['gc_other'] for b in bs) / n[m]:.1f} us/tick (full collections "
            f"{1e6 * sum(b['gc2'] for b in bs) / n[m]:.1f})"
        )
    for name, secs in sorted(parts.items(), key=lambda kv: -kv[1]):
        if name != "noop":
            print(f"  {name:<40} {1e6 * secs / n['timed']:8.2f} us per tick (timer included)")
    ok_direct = direct_pooled <= args.bound_pct
    ok_ab = ab_mean - ab_ci <= args.bound_pct  # the A/B does not contradict the direct figure
    print(
        f"check: direct {direct_pooled:.2f} % <= {args.bound_pct} %: {ok_direct}; A/B 95 % CI lower bound "
        f"{ab_mean - ab_ci:.2f} % <= {args.bound_pct} %: {ok_ab}"
    )
    return ok_direct and ok_ab


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
    global START
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7, help="simulated days")
    parser.add_argument("--coins", default="BTC,ETH,SOL,DOGE")
    parser.add_argument(
        "--start",
        default="2025-03-09T16:00:00Z",
        help="first simulated instant (ISO, UTC); e.g. 2025-06-01T00:00:00Z with --spot binance holds carry pairs",
    )
    parser.add_argument("--spot", default="", help="spot venues for carry pairs, e.g. binance (default: none)")
    parser.add_argument("--publish-s", type=int, default=600, help="metrics_export_interval_s (clock seconds)")
    parser.add_argument("--scrape-every", type=int, default=15, help="ticks between Prometheus scrapes")
    parser.add_argument(
        "--block",
        type=int,
        default=60,
        help="ticks per OFF, ON or TIMED block (60: one simulated hour, one hourly data update in every block)",
    )
    parser.add_argument(
        "--overlap",
        action="store_true",
        help="let the export thread run during the next ticks (simulated ticks "
        "follow each other at once; live ones are 1 s apart and the writer is done before the next)",
    )
    parser.add_argument("--bound-pct", type=float, default=5.0, help="the bound checked (percent of the tick)")
    parser.add_argument("--memory", action="store_true", help="memory per simulated day instead of CPU")
    parser.add_argument("--check", action="store_true", help="exit 1 when a bound is exceeded")
    args = parser.parse_args()
    START = int(datetime.fromisoformat(args.start.replace("Z", "+00:00")).timestamp())
    instrument()
    gc.callbacks.append(gc_timer)
    ok = asyncio.run(memory(args) if args.memory else cpu_ab(args))
    print("within bounds" if ok else "BOUND EXCEEDED")
    if args.check and not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
