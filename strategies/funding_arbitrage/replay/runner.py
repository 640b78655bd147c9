"""`funding-arb replay`: recorded market history through the very strategy class of `scripts/funding_arbitrage.py`
on Hummingbot's BACKTEST clock and simulated venues, next to the `baseline` and `oracle` runs.

Deterministic: the same data, options and config give the same report (faults are seeded; no wall clock is read
except to report `wall_seconds`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import importlib
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

from ..core.config import HUMMINGBOT_KEYS, check_settings, load_settings_dict
from ..shell.home import project_root
from ..sim.data import CANDLES_FILE, FUNDING_FILE, MarketData
from ..sim.harness import SimEnvironment
from ..sim.spot import BasisModel
from .allocation import ExposureCaps
from .baseline import BaselineConfig
from .data_cache import load_cached_market_data
from .formatting import plain
from .oracle import OracleCosts, run_oracle, taker_round_trip
from .parallel import run_parallel
from .passive import run_passive_carry
from .progress import ProgressDisplay, no_progress
from .report import write_report
from .results import (
    RUN_NAMES,
    EventKind,
    PairRow,
    ReplayReport,
    RunEvent,
    RunResult,
    build_run_result,
    with_carry_capture,
)
from .rows import baseline_pair_rows, strategy_pair_row
from .switches import switch_gains

log = logging.getLogger(__name__)
QUOTE = "USDT"
SAMPLE_S = 3600.0  # equity / margin sampling period
EVENT_KINDS = {
    "leverage_reduction": EventKind.LEVERAGE_REDUCTION,
    "single_leg_timeout": EventKind.IMBALANCE,
    "imbalance_unwind": EventKind.IMBALANCE,
    "halt": EventKind.HALT,
    "resume": EventKind.RESUME,
}


def spot_approximation(basis: BasisModel) -> str:
    """The spot-price approximation as a sentence (numbers in bps, no Python repr)."""
    noise = (
        f"plus noise with a standard deviation of {plain(basis.noise_bps)} bps drawn per coin and hour (seed "
        f"{basis.seed})"
        if basis.noise_bps
        else "without noise"
    )
    return (
        f"Spot prices are not in the data: the simulated spot venue follows the same venue's perp candles, "
        f"offset by a basis of {plain(basis.mean_bps)} bps {noise}. Carry results depend on that approximation."
    )


@dataclass(frozen=True)
class ReplayOptions:
    data_dir: Path
    venues: tuple[str, ...] = ("binance", "bybit")
    coins: tuple[str, ...] = ("BTC", "ETH", "SOL", "DOGE", "HYPE")
    spot: tuple[str, ...] = ("binance",)
    start_ts: float | None = None
    end_ts: float | None = None
    config_path: Path | None = None
    tick_s: float = 60.0
    out_dir: Path = Path("out/replay")
    progress: bool = False
    runs: tuple[str, ...] = RUN_NAMES
    basis: BasisModel = field(default_factory=BasisModel)
    jobs: int = 1  # simulated runs at once (>1: forked worker processes, `parallel.py`); results are the same


def sim_settings(opts: ReplayOptions) -> dict[str, Any]:
    """The strategy config for the run: the operator's (or the sample) config, re-pointed at sim venues.

    Raises:
        ValueError: the resulting config is invalid (every problem listed).
    """
    path = opts.config_path or project_root() / "conf" / "scripts" / "conf_funding_arbitrage.yml"
    base = {k: v for k, v in load_settings_dict(path).items() if k not in HUMMINGBOT_KEYS}
    perps = [f"sim_{v}_perpetual" for v in opts.venues]
    spots = [f"sim_{s}" for s in opts.spot]
    leverage = base.get("leverage", {})
    default_lev = min(leverage.values()) if leverage else 3
    hints = base.get("funding_interval_hints_hours", {})
    data = {
        **base,
        "perp_connectors": perps,
        "spot_connectors": spots,
        "tokens": list(opts.coins),
        "quote_assets": {c: QUOTE for c in perps + spots},
        "leverage": {f"sim_{v}_perpetual": leverage.get(f"{v}_perpetual", default_lev) for v in opts.venues},
        "funding_interval_hints_hours": {
            _sim_key(k): h for k, h in hints.items() if _sim_key(k).split(":")[0] in perps
        },
        "prometheus_port": 0,
        "metrics_export_path": "",
        "metrics_export_interval_s": 3600,
    }
    settings, problems = check_settings(data)
    if settings is None:
        raise ValueError("replay config is invalid:\n  " + "\n  ".join(problems))
    return data


def _sim_key(key: str) -> str:
    connector, _, token = key.partition(":")
    sim = connector if connector.startswith("sim_") else f"sim_{connector}"
    return f"{sim}:{token}" if token else sim


async def _run_strategy(
    opts: ReplayOptions,
    md: MarketData,
    settings: dict[str, Any],
    state_dir: Path,
    progress: Callable[[str, float], None],
) -> RunResult:
    script = _script_module()
    capital = Decimal(str(settings["total_capital_quote"]))
    env = _environment(opts, md, capital)
    state = state_dir / "funding_arbitrage_state.json"
    state.unlink(missing_ok=True)
    for journal in state_dir.glob(f"{state.stem}.journal.sqlite*"):  # the journal beside it (and its WAL): start flat
        journal.unlink()
    # the run's own files: never the operator's journal (its pairs, halts, commands) nor the live kill switch
    config = script.FundingArbitrageConfig(
        **{**settings, "state_file": str(state), "journal_file": "", "kill_switch_file": str(state_dir / "replay.kill")}
    )
    script.FundingArbitrage.init_markets(config)
    strategy = script.FundingArbitrage(env.connectors, config)
    env.add_strategy(strategy)
    store = strategy.runtime.store

    def reason_of(order_id: str) -> str:
        found = store.by_order(order_id)
        if found is None:
            return "liquidation" if order_id.startswith("sim-liquidation") else "unknown"
        record, side = found
        return f"pair {record.pair_id} {side} leg"

    ledger = await _drive(env, opts, "funding_arbitrage", reason_of, progress)
    # hedge gap figures from the strategy's own monitor (core/hedge.py), measured every tick on what venues hold
    ledger.max_hedge_gap_pct, ledger.unhedged_seconds = (
        strategy.runtime.hedge.max_gap_pct,
        strategy.runtime.hedge.unhedged_seconds,
    )
    rows = [strategy_pair_row(r, ledger, store.order_ids(r.pair_id)) for r in store.records.values()]
    events = [
        RunEvent(float(e["ts"]), EVENT_KINDS.get(e["name"], EventKind.NOTE), f"{e['name']}: {e['message']}")
        for e in strategy.runtime.metrics.snapshot().get("events", [])
    ]
    gate = strategy.runtime.risk
    halted = gate.halt_reason is not None
    if halted and not any(e.kind is EventKind.HALT for e in events):  # the runtime's own "halt" event counts
        events.append(RunEvent(float(gate.halted_ts), EventKind.HALT, f"trading halted: {gate.halt_reason}"))
    result = _finish(
        "funding_arbitrage", env, ledger, _funded(env), len(store.records), rows, events, opts, halted=halted
    )
    return dataclasses.replace(result, switch_gains=tuple(switch_gains(store.records.values(), rows, md, env.end_ts)))


def _script_module() -> Any:
    """The live script module, imported as Hummingbot imports it (`scripts.funding_arbitrage`)."""
    root = str(project_root())
    if root not in sys.path:
        sys.path.insert(0, root)
    return importlib.import_module("scripts.funding_arbitrage")


async def _run_baseline(
    opts: ReplayOptions, md: MarketData, settings: dict[str, Any], progress: Callable[[str, float], None]
) -> RunResult:
    from .baseline_strategy import BaselineStrategy, BaselineStrategyConfig

    capital = Decimal(str(settings["total_capital_quote"]))
    env = _environment(opts, md, capital, spot=False)
    perps = [c for c in env.connectors if c.endswith("_perpetual")]
    markets = {c: [f"{t}-{QUOTE}" for t in opts.coins] for c in perps}
    config = BaselineStrategyConfig(baseline_markets=markets)
    BaselineStrategy.init_markets(config)
    rules = BaselineConfig(
        tuple(perps), tuple(opts.coins), position_size_quote=Decimal(str(settings["order_amount_quote"]))
    )
    strategy = BaselineStrategy(env.connectors, config, rules, QUOTE)
    env.add_strategy(strategy)
    ledger = await _drive(env, opts, "baseline", lambda oid: strategy.order_reason.get(oid, "liquidation"), progress)
    rows = baseline_pair_rows(strategy.history, ledger, env.end_ts)
    return _finish("baseline", env, ledger, _funded(env), strategy.pairs_opened, rows, [], opts)


def _funded(env: SimEnvironment) -> Decimal:
    """Capital actually deposited on the venues (the configured capital split per venue, rounded to cents)."""
    return env.funded_quote  # type: ignore[attr-defined, no-any-return]


def venue_balances(capital: Decimal, connectors: list[str]) -> dict[str, Decimal]:
    """The capital split over `connectors` in cents, the remainder on the first, so the parts add up exactly.

    Example: 10 000 over three venues -> 3 333.34, 3 333.33, 3 333.33.
    """
    share = (capital / len(connectors)).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    out = {c: share for c in connectors}
    out[connectors[0]] += capital - share * len(connectors)
    return out


def _environment(opts: ReplayOptions, md: MarketData, capital: Decimal, spot: bool = True) -> SimEnvironment:
    spots = opts.spot if spot else ()
    names = [f"sim_{v}_perpetual" for v in opts.venues] + [f"sim_{s}" for s in spots]
    balances = venue_balances(capital, names)
    env = SimEnvironment(
        market_data=md,
        perp_venues=list(opts.venues),
        spot_venues=list(spots),
        coins=list(opts.coins),
        start_ts=opts.start_ts,
        end_ts=opts.end_ts,
        tick_s=opts.tick_s,
        initial_balance_quote=balances,
        quote_asset=QUOTE,
        basis=opts.basis,
        record=False,
    )
    env.funded_quote = sum(balances.values(), Decimal(0))  # type: ignore[attr-defined]
    return env


async def _drive(
    env: SimEnvironment,
    opts: ReplayOptions,
    name: str,
    reason_of: Callable[[str], str],
    progress: Callable[[str, float], None],
):
    from .ledger import RunLedger

    ledger = RunLedger(env.connectors, QUOTE, reason_of)
    lots = {
        (n, p): Decimal(c.trading_rules[p].min_base_amount_increment)
        for n, c in env.connectors.items()
        for p in c.trading_rules
    }
    await env.start()
    ledger.sample(env.start_ts, 0.0, lambda n, p: lots[(n, p)])
    last = env.start_ts
    span = max(env.end_ts - env.start_ts, 1.0)

    def on_step(ts: float) -> None:
        nonlocal last
        if ts - last >= SAMPLE_S or ts + env.tick_s > env.end_ts:
            ledger.sample(ts, ts - last, lambda n, p: lots[(n, p)])
            last = ts
            progress(name, (ts - env.start_ts) / span)

    await env.run(until_ts=env.end_ts, on_step=on_step)
    ledger.detach()
    return ledger


def _finish(
    name: str,
    env: SimEnvironment,
    ledger: Any,
    capital: Decimal,
    pairs_opened: int,
    rows: list[PairRow],
    events: list[RunEvent],
    opts: ReplayOptions,
    halted: bool = False,
) -> RunResult:
    liquidations = [liq for items in env.liquidations().values() for liq in items]
    events = events + [
        RunEvent(float(liq.ts), EventKind.LIQUIDATION, f"{liq.trading_pair} {liq.position_amount} at {liq.fill_price}")
        for liq in liquidations
    ]
    funding = sum((p.amount_quote for c in env.perps.values() for p in c.funding_payments), Decimal(0))
    result = build_run_result(
        name,
        capital_quote=capital,
        equity=ledger.equity,
        trades=ledger.trades,
        funding_pnl_quote=funding,
        borrow_quote=Decimal(0),
        final_mids=ledger.final_mids(),
        period_s=env.end_ts - env.start_ts,
        pairs_opened=pairs_opened,
        liquidations=len(liquidations),
        max_hedge_gap_pct=ledger.max_hedge_gap_pct,
        unhedged_seconds=ledger.unhedged_seconds,
        pairs=rows,
        margin=ledger.margin,
        events=events,
        halted=halted,
        utilisation=[(ts, deployed / capital) for ts, deployed in ledger.deployed],
    )
    env.close()
    return result


def _funding_series(
    opts: ReplayOptions, md: MarketData, start: float, end: float
) -> dict[tuple[str, str], list[tuple[int, Decimal]]]:
    """(sim perp connector, coin) -> settlements (ts, rate) within [start, end]."""
    series = {}
    for v in opts.venues:
        for coin in opts.coins:
            fs = md.funding_series(v, coin)
            pairs = zip(fs.times, fs.rates, strict=True)
            series[(f"sim_{v}_perpetual", coin)] = [(t, r) for t, r in pairs if start <= t <= end]
    return series


def _taker_fees(connectors: list[str]) -> dict[str, Decimal]:
    from ..core.venues import venue_spec

    return {c: venue_spec(c).taker_fee for c in connectors}  # type: ignore[union-attr]


def _oracle(opts: ReplayOptions, md: MarketData, settings: dict[str, Any], start: float, end: float) -> RunResult:
    perps = [f"sim_{v}_perpetual" for v in opts.venues]
    spots = [f"sim_{s}" for s in opts.spot]
    taker = [_taker_fees(perps)[c] for c in perps]
    spot_taker = list(_taker_fees(spots).values()) or [Decimal("0.001")]
    costs = OracleCosts(
        perp_perp=taker_round_trip(min(taker), sorted(taker)[1] if len(taker) > 1 else taker[0]),
        carry=taker_round_trip(min(spot_taker), min(taker)),
    )
    caps = ExposureCaps.from_settings(settings)
    return run_oracle(
        _funding_series(opts, md, start, end),
        perp_connectors=perps,
        spot_connectors=spots,
        capital_quote=caps.capital_quote,
        costs=costs,
        start_ts=int(start),
        end_ts=int(end),
        notional_quote=caps.order_amount_quote,
        caps=caps,
        sample_s=int(SAMPLE_S),
    )


def _passive(opts: ReplayOptions, md: MarketData, settings: dict[str, Any], start: float, end: float) -> RunResult:
    perps = [f"sim_{v}_perpetual" for v in opts.venues]
    spots = [f"sim_{s}" for s in opts.spot]
    return run_passive_carry(
        _funding_series(opts, md, start, end),
        perp_connectors=perps,
        spot_connectors=spots,
        taker_fee=_taker_fees(perps + spots),
        caps=ExposureCaps.from_settings(settings),
        start_ts=int(start),
        end_ts=int(end),
        sample_s=int(SAMPLE_S),
    )


def _simulated_runs(
    names: list[str],
    opts: ReplayOptions,
    md: MarketData,
    settings: dict[str, Any],
    state_dir: Path,
    progress: Callable[[str, float], None],
) -> dict[str, RunResult]:
    """The strategy and baseline runs: in order in this process, or side by side with `opts.jobs` > 1."""

    def one(name: str, report: Callable[[str, float], None]) -> RunResult:
        with replay_gc():
            if name == "funding_arbitrage":
                return asyncio.run(_run_strategy(opts, md, settings, state_dir, report))
            return asyncio.run(_run_baseline(opts, md, settings, report))

    if opts.jobs > 1 and len(names) > 1:
        if "funding_arbitrage" in names:
            _script_module()  # imported once, before the fork: the workers share it instead of importing it again
        return run_parallel(names, one, progress, opts.jobs)
    return {name: one(name, progress) for name in names}


REPLAY_GC_THRESHOLD = (50_000, 20, 50)  # gc.set_threshold while a simulated run ticks (Python's default: 700, 10, 10)


@contextlib.contextmanager
def replay_gc() -> Iterator[None]:
    """Cyclic garbage collection tuned for a simulated run, restored after it.

    A run allocates many short-lived objects per tick (snapshots, Decimals) and creates few reference cycles, while
    the parsed market data and the imported modules (millions of objects) sit in the oldest generation. With the
    default thresholds the collector ran 720 times on a 3-day window (0.88 CPU s, measured with `gc.callbacks`),
    re-scanning that data at each full pass. Here what exists before the run is frozen (never scanned again) and
    the young generation is collected every 50 000 allocations: 11 collections, 0.27 s. Collection timing does not
    change results (the replays compare byte-identical); cycles are still collected, so memory stays bounded.
    """
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*REPLAY_GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


_LOADED: dict[tuple[Any, ...], MarketData] = {}  # the last dataset loaded in this process (sweep trials reuse it)


def _market_data(data_dir: Path) -> MarketData:
    """`load_market_data(data_dir)`, reused while its files are unchanged (same size and modification time).

    Several replays in one process (the trials of a sweep on one Ray worker) parse the CSVs once; a new process
    reads them parsed from the on-disk cache (data_cache.py) while the files are unchanged. Runs only read
    the data (its series keep answer caches, which do not change answers); the strategy and baseline runs of one
    replay already share one load.
    """
    files = [Path(data_dir) / name for name in (FUNDING_FILE, CANDLES_FILE)]
    stats = tuple((f.name, s.st_size, s.st_mtime_ns) for f in files if f.is_file() for s in [f.stat()])
    key = (str(Path(data_dir).resolve()), stats)
    found = _LOADED.get(key)
    if found is None:
        _LOADED.clear()  # one dataset at a time
        found = _LOADED[key] = load_cached_market_data(data_dir)
    return found


def run_replay(opts: ReplayOptions) -> tuple[ReplayReport, dict[str, Path]]:
    """Run every requested run and write the report into `opts.out_dir`."""
    wall0 = time.monotonic()
    md = _market_data(opts.data_dir)
    settings = sim_settings(opts)
    start, end = _period(md, opts)
    opts = dataclasses.replace(opts, start_ts=start, end_ts=end)
    simulated: list[str] = [name for name in ("funding_arbitrage", "baseline") if name in opts.runs]
    display = ProgressDisplay(simulated) if opts.progress else None
    progress = display.update if display is not None else no_progress
    state_dir = Path(tempfile.mkdtemp(prefix="replay_state_"))
    runs: dict[str, RunResult] = {}
    try:
        with display.logs_above() if display is not None else contextlib.nullcontext():
            runs.update(_simulated_runs(simulated, opts, md, settings, state_dir, progress))
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)
    if "passive_carry" in opts.runs and opts.spot:
        runs["passive_carry"] = _passive(opts, md, settings, start, end)
    if "oracle" in opts.runs:
        runs["oracle"] = _oracle(opts, md, settings, start, end)
    runs = with_carry_capture({name: runs[name] for name in RUN_NAMES if name in runs})
    report = ReplayReport(
        data={
            "dir": _shown_path(opts.data_dir),
            "venues": list(opts.venues),
            "coins": list(opts.coins),
            "spot_venues": list(opts.spot),
            "approximations": [spot_approximation(opts.basis)] if opts.spot else [],
            "not_run": {"passive_carry": "it needs a spot venue and none was given (--spot '')"}
            if "passive_carry" in opts.runs and not opts.spot
            else {},
        },
        period={"start": _iso(start), "end": _iso(end)},
        runs=runs,
        sim_seconds=end - start,
        wall_seconds=round(time.monotonic() - wall0, 3),
        config=settings,
    )
    return report, write_report(report, opts.out_dir)


def _period(md: MarketData, opts: ReplayOptions) -> tuple[float, float]:
    """The replayed span: by default where every selected market has data; an explicit start or end outside a
    market's data is an error naming the market (a venue without prices could never become ready)."""
    spans: list[tuple[str, float, float]] = []
    for venue in sorted({*opts.venues, *opts.spot}):
        for coin in opts.coins:
            candles = md.candle_series(venue, coin)
            first, last = float(candles.first_ts), float(candles.end_ts)
            if venue in opts.venues:
                funding = md.funding_series(venue, coin)
                first, last = max(first, float(funding.times[0])), min(last, float(funding.times[-1]))
            spans.append((f"{venue} {coin}", first, last))
    start = float(opts.start_ts) if opts.start_ts is not None else max(f for _, f, _ in spans)
    end = float(opts.end_ts) if opts.end_ts is not None else min(lst for _, _, lst in spans)
    for market, first, last in spans:
        if start < first:
            raise ValueError(
                f"--start {_iso(start)} is before the data of {market} (from {_iso(first)}): "
                "choose a later start or leave that coin out"
            )
        if end > last:
            raise ValueError(f"--end {_iso(end)} is after the data of {market} (until {_iso(last)})")
    if not start < end:
        raise ValueError(f"--start ({_iso(start)}) must be before --end ({_iso(end)})")
    return start, end


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _shown_path(path: Path) -> str:
    """The data directory as the user would type it: relative to the project when it sits beside or inside it
    (`../shared/data/cross_venue_2025`), absolute otherwise; normalised either way (no `..` detours)."""
    resolved = Path(path).resolve()
    root = project_root().resolve()
    if resolved.is_relative_to(root.parent):
        return os.path.relpath(resolved, root)
    return str(resolved)
