"""The real strategy class of `scripts/funding_arbitrage.py` on simulated venues, on Hummingbot's BACKTEST clock.

Driven the way the replay runner drives it (`replay/runner.py`): the script module imported as Hummingbot imports it,
`FundingArbitrageConfig(**settings)`, `init_markets`, `FundingArbitrage(env.connectors, config)`, `env.add_strategy`,
`env.run`. Market data is the real `cross_venue_2025` dataset, read in place from ../shared/data.

Windows used (UTC; rates from funding_rates.csv.gz, shown by the sim as the next settlement's rate):
* BTC_START 2025-03-09T16:00Z: next BTC settlement 2025-03-10T00:00Z pays bybit -0.029357 % and binance +0.003952 %
  (8h intervals): long bybit / short binance earns the spread; after it the spread shrinks to ~9 % APR.
* HYPE_CARRY_START 2025-05-08T17:00Z: bybit HYPE pays +0.1481 % at 2025-05-09T00:00Z, then +0.0576 %.
Imported by name (the test directories are not packages).
"""

from __future__ import annotations

import asyncio
import importlib
import math
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from strategies.funding_arbitrage.shell.state import PairRecord, PairState
from strategies.funding_arbitrage.sim.data import MarketData
from strategies.funding_arbitrage.sim.faults import FaultConfig
from strategies.funding_arbitrage.sim.harness import EventRecorder, SimEnvironment

ROOT = Path(__file__).resolve().parents[3]
CROSS_VENUE = (ROOT / ".." / "shared" / "data" / "cross_venue_2025").resolve()
BINANCE = "sim_binance_perpetual"
BYBIT = "sim_bybit_perpetual"
BYBIT_SPOT = "sim_bybit"
PERPS = (BINANCE, BYBIT)
HOUR = 3600
BTC_START = 1741536000  # 2025-03-09T16:00:00Z
BTC_SETTLEMENT = 1741564800  # 2025-03-10T00:00:00Z
HYPE_CARRY_START = 1746723600  # 2025-05-08T17:00:00Z
HYPE_SETTLEMENT = 1746748800  # 2025-05-09T00:00:00Z
D = Decimal
BALANCE_QUOTE = Decimal(10000)  # per venue


def script_module() -> Any:
    """`scripts.funding_arbitrage`, imported as Hummingbot imports it (as `replay.runner._script_module` does)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("scripts.funding_arbitrage")


def perp_settings(state_file: Path, tokens: Sequence[str] = ("BTC",), **overrides: Any) -> dict[str, Any]:
    """A valid perp-perp config on the two sim perps that enters on small edges: 8h interval hints (known from
    the first tick), 0.01 % minimum net edge over a 72h horizon, two ticks of persistence, 1000 quote per leg."""
    data: dict[str, Any] = {
        "perp_connectors": list(PERPS),
        "spot_connectors": [],
        "tokens": list(tokens),
        "quote_assets": {c: "USDT" for c in PERPS},
        "leverage": {c: 3 for c in PERPS},
        "funding_interval_hints_hours": {c: D(8) for c in PERPS},
        "total_capital_quote": D(20000),
        "order_amount_quote": D(1000),
        "max_token_exposure_quote": D(3000),
        "max_venue_exposure_quote": D(6000),
        "max_total_exposure_quote": D(4000),
        "holding_horizon_hours": D(72),
        "min_net_edge_pct": D("0.01"),
        "max_break_even_hours": D(72),
        "persistence_observations": 2,
        "decision_interval_s": 0,  # these tests drive the machinery tick by tick (the model's default is 300 s)
        "prometheus_port": 0,
        "metrics_export_path": "",
        "state_file": str(state_file),
        "funding_forecast": "persistent",  # these tests drive the machinery: the current spread lasts the horizon
    }
    data.update(overrides)
    return data


def carry_settings(state_file: Path, **overrides: Any) -> dict[str, Any]:
    """Carry only: long HYPE spot on sim bybit, short HYPE perp on sim bybit."""
    data = perp_settings(
        state_file,
        tokens=("HYPE",),
        perp_connectors=[BYBIT],
        spot_connectors=[BYBIT_SPOT],
        quote_assets={BYBIT: "USDT", BYBIT_SPOT: "USDT"},
        leverage={BYBIT: 3},
        funding_interval_hints_hours={BYBIT: D(8)},
    )
    data.update(overrides)
    return data


def plain(value: Any) -> Any:
    """Settings as YAML-safe values: Decimals as their exact text, in nested dicts and lists too."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config_name: str, **overrides: Any) -> Path:
    """A project home (`FUNDING_ARB_HOME`) holding one config, conf/scripts/`config_name`.yml: `perp_settings` with
    its state file data/`config_name`_state.json, and `overrides` (paths relative to the home)."""
    import yaml

    root = tmp_path / "home"
    (root / "conf" / "scripts").mkdir(parents=True)
    data = perp_settings(Path(f"data/{config_name}_state.json"), **overrides)
    (root / "conf" / "scripts" / f"{config_name}.yml").write_text(yaml.safe_dump(plain(data)))
    monkeypatch.setenv("FUNDING_ARB_HOME", str(root))
    return root


class TransitionLog:
    """Every pair-state transition, in order, as (pair_id, old, new, ts): a spy on `PairRecord.transition`."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.items: list[tuple[str, PairState, PairState, float]] = []
        original = PairRecord.transition
        log = self.items

        def spy(record: PairRecord, new: PairState, ts: float, reason: str | None = None) -> None:
            old = record.state
            original(record, new, ts, reason)
            if record.state is not old:
                log.append((record.pair_id, old, record.state, ts))

        monkeypatch.setattr(PairRecord, "transition", spy)

    def path(self, pair_id: str) -> list[PairState]:
        """States the pair went through, from OPENING (records are created OPENING)."""
        return [PairState.OPENING] + [new for pid, _, new, _ in self.items if pid == pair_id]


@dataclass
class SimRun:
    """One environment with the real strategy added; `run_until` steps the clock and records what happened."""

    env: SimEnvironment
    strategy: Any
    events: EventRecorder
    on_step: list[Callable[[float], None]] = field(default_factory=list)

    @property
    def runtime(self) -> Any:
        return self.strategy.runtime

    @property
    def records(self) -> list[PairRecord]:
        return sorted(self.runtime.store.records.values(), key=lambda r: r.opened_ts)

    async def run_until(self, until_ts: float, stop: Callable[[float], bool] | None = None) -> float:
        """Step to `until_ts` (or until `stop(ts)` is true after a tick); returns the last tick's time."""
        now = self.env.clock.current_timestamp
        if math.isnan(now) or now < self.env.start_ts:  # clock not started yet
            await self.env.start()
        while self.env.now + self.env.tick_s <= until_ts:
            ts = await self.env.step()
            for hook in list(self.on_step):
                hook(ts)
            if stop is not None and stop(ts):
                break
        return self.env.now

    async def run_until_hedged(self, until_ts: float) -> PairRecord:
        """Step until the first pair is HEDGED (or `until_ts`); returns that pair's record."""
        await self.run_until(until_ts, stop=lambda ts: bool(self.records) and self.records[0].state is PairState.HEDGED)
        return first_record(self)

    async def stop_instance(self) -> None:
        """What `stop` does to an instance: on_stop (persists the state), off the clock, deaf to the venues."""
        await self.strategy.on_stop()
        self.env.clock.remove_iterator(self.strategy)
        self.strategy.remove_markets(list(self.env.connectors.values()))
        self.events.detach()

    def positions(self) -> dict[tuple[str, str], Decimal]:
        """Signed venue positions (perps) by (connector, trading pair), zero ones left out."""
        return {
            (name, p.trading_pair): p.amount
            for name, c in self.env.perps.items()
            for p in c.account_positions.values()
            if p.amount != 0
        }

    def funding_of(self, record: PairRecord) -> Decimal:
        """What the sim venues paid on the record's perp legs while it was open (sim `funding_payments`)."""
        end = record.closed_ts if record.closed_ts is not None else float("inf")
        total = D(0)
        for leg in record.legs():
            venue = self.env.perps.get(leg.connector)
            if venue is None:
                continue
            total += sum(
                (
                    p.amount_quote
                    for p in venue.funding_payments
                    if p.trading_pair == leg.trading_pair and record.opened_ts <= p.ts <= end
                ),
                D(0),
            )
        return total

    def fills_of(self, record: PairRecord) -> list[Any]:
        """OrderFilledEvents of the record's own orders, in firing order."""
        from hummingbot.core.event.events import OrderFilledEvent

        ids = set(self.runtime.store.order_ids(record.pair_id))
        return [e for e in self.events.of_type(OrderFilledEvent) if e.order_id in ids]

    def leg_of(self, order_id: str) -> Any:
        """The record leg an order of the strategy belongs to (from the order tracker)."""
        found = self.runtime.store.by_order(order_id)
        assert found is not None, order_id
        return found[0].leg(found[1])

    def settled_problems(self) -> list[str]:
        """What is wrong once the recovery time has passed (empty: fine): net exposure per token across the perp
        venues beyond one lot; two open pairs on one token; the records' legs (the journal) differing from the
        venue positions; the tracker's open orders differing from the venues' open orders."""
        problems = []
        lots: dict[str, Decimal] = {}
        net: dict[str, Decimal] = {}
        for (connector, pair), amount in self.positions().items():
            token = pair.split("-")[0]
            net[token] = net.get(token, D(0)) + amount
            lots[token] = max(lots.get(token, D(0)), lot(self, connector, pair))
        problems += [f"{t}: net exposure {n} beyond one lot ({lots[t]})" for t, n in net.items() if abs(n) > lots[t]]
        open_records = [r for r in self.records if r.state is not PairState.CLOSED]
        tokens = [r.token for r in open_records]
        problems += [f"{t}: {tokens.count(t)} open pairs" for t in set(tokens) if tokens.count(t) > 1]
        return problems + self.ledger_problems()

    def ledger_problems(self) -> list[str]:
        """The open records' perp legs (the journal) differing from the venue positions; the tracker's open orders
        differing from the venues' open orders (empty: they agree)."""
        problems = []
        recorded: dict[tuple[str, str], Decimal] = {}
        for r in self.records:
            if r.state is PairState.CLOSED:
                continue
            for leg in r.legs():
                if leg.kind == "perp":
                    key = (leg.connector, leg.trading_pair)
                    recorded[key] = recorded.get(key, D(0)) + leg.filled_base
        recorded = {k: v for k, v in recorded.items() if v != 0}
        if recorded != self.positions():
            problems.append(f"records {recorded} != venues {self.positions()}")
        tracked = {o.client_order_id for o in self.runtime.store.tracker.open_orders()}
        venue_open = {o.client_order_id for c in self.env.connectors.values() for o in c.sim_open_orders()}
        if tracked != venue_open:
            problems.append(f"tracker open orders {sorted(tracked)} != venue open orders {sorted(venue_open)}")
        return problems

    def close(self) -> None:
        self.events.detach()
        self.env.close()


def make_env(
    market_data: MarketData,
    *,
    coins: Sequence[str],
    start_ts: float,
    hours: float,
    perp_venues: Sequence[str] = ("binance", "bybit"),
    spot_venues: Sequence[str] = (),
    faults: Mapping[str, FaultConfig] | None = None,
    balance: Decimal = BALANCE_QUOTE,
    tick_s: float = 60.0,
) -> SimEnvironment:
    return SimEnvironment(
        market_data=market_data,
        perp_venues=list(perp_venues),
        spot_venues=list(spot_venues),
        coins=list(coins),
        start_ts=start_ts,
        end_ts=start_ts + hours * HOUR,
        tick_s=tick_s,
        faults=dict(faults or {}),
        initial_balance_quote=balance,
        record=False,
    )


def add_strategy(env: SimEnvironment, settings: dict[str, Any]) -> SimRun:
    """A NEW instance of the script's strategy on `env` (as `replay.runner._run_strategy` does)."""
    script = script_module()
    config = script.FundingArbitrageConfig(**settings)
    script.FundingArbitrage.init_markets(config)
    strategy = script.FundingArbitrage(env.connectors, config)
    env.add_strategy(strategy)
    return SimRun(env, strategy, EventRecorder(env.connectors.values()))


@contextmanager
def sim_run(market_data: MarketData, settings: dict[str, Any], **env_kwargs: Any) -> Iterator[SimRun]:
    run = add_strategy(make_env(market_data, **env_kwargs), settings)
    try:
        yield run
    finally:
        run.close()


def run_async(body: Callable[[], Any]) -> Any:
    """Run `body()` (a coroutine function) in a fresh event loop: Hummingbot needs one while objects are built."""
    return asyncio.run(body())


def watch_wanted_entries(run: SimRun, token: str) -> list[float]:
    """Times at which the edge engine decided to enter `token` (whether or not the shell let it)."""
    wanted: list[float] = []

    def hook(ts: float) -> None:
        decision = run.runtime.last_decision
        if decision is not None and decision.ts == ts and any(e.token == token for e in decision.enters):
            wanted.append(ts)

    run.on_step.append(hook)
    return wanted


def max_open_pairs_per_token(run: SimRun) -> dict[str, int]:
    """Watch, tick by tick, the most pairs open at once per token (a duplicate entry shows as 2)."""
    seen: dict[str, int] = {}

    def hook(ts: float) -> None:
        open_tokens = [r.token for r in run.records if r.state is not PairState.CLOSED]
        for t in set(open_tokens):
            seen[t] = max(seen.get(t, 0), open_tokens.count(t))

    run.on_step.append(hook)
    return seen


def first_record(run: SimRun) -> PairRecord:
    assert run.records, "the strategy opened no pair"
    return run.records[0]


def lot(run: SimRun, connector: str, trading_pair: str) -> Decimal:
    return D(run.env.connectors[connector].trading_rules[trading_pair].min_base_amount_increment)


def events_named(run: SimRun, name: str) -> list[dict[str, Any]]:
    return [e for e in run.runtime.metrics.snapshot().get("events", []) if e["name"] == name]
