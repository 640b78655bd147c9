"""`SimEnvironment`: simulated venues on Hummingbot's BACKTEST Clock, ready to drive a real strategy class.

Usage (inside a running event loop: Hummingbot strategies and the MarketsRecorder need one)::

    async def main():
        env = SimEnvironment(default_data_dir() / "cross_venue_2025", perp_venues=["binance", "bybit"],
                             spot_venues=["binance"], coins=["BTC", "ETH"], start_ts=..., end_ts=..., tick_s=60)
        strategy = FundingArbitrage(env.connectors, config)      # after the env: it needs the MarketsRecorder
        env.add_strategy(strategy)
        await env.run(until_ts=env.end_ts, on_step=lambda ts: ...)
        env.close()
    asyncio.run(main())

`faults`, `quote_asset` and `initial_balance_quote` take one value for every connector or a mapping by connector
name (`{"sim_hyperliquid_perpetual": "USD"}`; a connector missing from a mapping gets no faults, USDT, 0 quote).

What it sets up (docs/hummingbot-notes section 4 shims): the connectors (registered in AllConnectorSettings and the
RateOracle), a `Clock(ClockMode.BACKTEST)` with the connectors added first (so they move before the strategy
reads them), a `MarketsRecorder` on a SQLite file (a temporary one unless `db_path` is given), and, when a strategy
is added, `HummingbotApplication._main_app = SimpleNamespace(_mqtt=None)` plus fast executor loops. `run` steps the
clock one tick at a time and yields to the event loop `yields_per_tick` times after each tick, so order placement,
fills and executor loops happen between ticks as they would live.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from hummingbot.client.config.client_config_map import ClientConfigMap
from hummingbot.client.config.config_helpers import ClientConfigAdapter
from hummingbot.connector.connector_base import ConnectorBase
from hummingbot.connector.markets_recorder import MarketsRecorder
from hummingbot.core.clock import Clock
from hummingbot.core.clock_mode import ClockMode
from hummingbot.core.event.event_forwarder import EventForwarder
from hummingbot.core.event.events import AccountEvent, MarketEvent
from hummingbot.core.rate_oracle.rate_oracle import RateOracle
from hummingbot.model.sql_connection_manager import SQLConnectionManager, SQLConnectionType

from .data import MarketData, default_data_dir, load_market_data
from .faults import NO_FAULTS, FaultConfig
from .perp import SimLiquidation, SimPerpetualDerivative
from .registry import register_sim_connector
from .spot import BasisModel, SimSpotExchange

log = logging.getLogger(__name__)
StepCallback = Callable[[float], Awaitable[None] | None]


class SimEnvironment:
    """Simulated perp and spot venues for `coins`, replaying `data_dir`, on a BACKTEST clock."""

    def __init__(
        self,
        data_dir: Path | str | None = None,
        perp_venues: Sequence[str] = ("binance", "bybit"),
        spot_venues: Sequence[str] = ("binance",),
        coins: Sequence[str] = ("BTC",),
        start_ts: float | None = None,
        end_ts: float | None = None,
        tick_s: float = 60.0,
        faults: FaultConfig | Mapping[str, FaultConfig] | None = None,
        initial_balance_quote: Decimal | Mapping[str, Decimal] = Decimal(10000),
        quote_asset: str | Mapping[str, str] = "USDT",
        market_data: MarketData | None = None,
        basis: BasisModel | None = None,
        db_path: Path | str | None = None,
        record: bool = True,
        yields_per_tick: int = 5,
        config_name: str = "sim_replay.yml",
        strategy_name: str = "sim_replay",
    ) -> None:
        self.market_data = market_data or load_market_data(data_dir or default_data_dir() / "cross_venue_2025")
        self.coins, self.tick_s, self.yields_per_tick = list(coins), tick_s, yields_per_tick
        self.perps: dict[str, SimPerpetualDerivative] = {}
        self.spots: dict[str, SimSpotExchange] = {}
        for venue in perp_venues:
            name = f"sim_{venue}_perpetual"
            c = SimPerpetualDerivative(
                venue,
                self.market_data,
                self.coins,
                _pick(quote_asset, name, "USDT"),
                _pick(initial_balance_quote, name, Decimal(0)),
                faults=_pick(faults, name, NO_FAULTS),
            )
            self.perps[c.name] = c
        for venue in spot_venues:
            name = f"sim_{venue}"
            s = SimSpotExchange(
                venue,
                self.market_data,
                self.coins,
                _pick(quote_asset, name, "USDT"),
                _pick(initial_balance_quote, name, Decimal(0)),
                faults=_pick(faults, name, NO_FAULTS),
                basis=basis or BasisModel(),
            )
            self.spots[s.name] = s
        self.connectors: dict[str, ConnectorBase] = {**self.perps, **self.spots}
        for connector in self.connectors.values():
            register_sim_connector(connector)
        self.start_ts, self.end_ts = self._time_range(perp_venues, spot_venues, start_ts, end_ts)
        self.clock = Clock(ClockMode.BACKTEST, tick_size=tick_s, start_time=self.start_ts, end_time=self.end_ts)
        for connector in self.connectors.values():
            self.clock.add_iterator(connector)
        self._tmp_dir = None if db_path else tempfile.mkdtemp(prefix="sim_env_")
        self.db_path = str(db_path) if db_path else str(Path(self._tmp_dir or ".") / "sim_trades.sqlite")
        ccm = ClientConfigAdapter(ClientConfigMap())
        self.recorder = MarketsRecorder(
            SQLConnectionManager(ccm, SQLConnectionType.TRADE_FILLS, db_path=self.db_path),
            list(self.connectors.values()),
            config_name,
            strategy_name,
            ccm.market_data_collection,
        )
        if record:
            self.recorder.start()
        self.strategies: list[Any] = []
        self._restore: list[Callable[[], None]] = []

    def _time_range(
        self, perp_venues: Sequence[str], spot_venues: Sequence[str], start_ts: float | None, end_ts: float | None
    ) -> tuple[float, float]:
        """Default: the span every selected market has candles (and, for perps, funding) for."""
        firsts, lasts = [], []
        for venue in {*perp_venues, *spot_venues}:
            for coin in self.coins:
                candles = self.market_data.candle_series(venue, coin)
                firsts.append(candles.first_ts)
                lasts.append(candles.end_ts)
                if venue in perp_venues:
                    funding = self.market_data.funding_series(venue, coin)
                    firsts.append(funding.times[0])
                    lasts.append(funding.times[-1])
        start = float(start_ts if start_ts is not None else max(firsts))
        end = float(end_ts if end_ts is not None else min(lasts))
        if not start < end:
            raise ValueError(
                f"start_ts ({start}) must be before end_ts ({end}) for {self.coins} on "
                f"{list(perp_venues) + list(spot_venues)}"
            )
        return start, end

    @property
    def now(self) -> float:
        return self.clock.current_timestamp

    def add_strategy(self, strategy: Any, fast_executors: bool = True) -> None:
        """Add a strategy after the connectors; with `fast_executors`, executor loops run every yield, not every
        wall-clock second (orchestrator interval 0, PositionExecutor._sleep -> sleep(0) until close())."""
        from hummingbot.client.hummingbot_application import HummingbotApplication

        if HummingbotApplication._main_app is None:
            HummingbotApplication._main_app = SimpleNamespace(  # type: ignore[assignment]
                _mqtt=None, add_application_warning=lambda w: log.warning("application warning: %s", w)
            )
            self._restore.append(lambda: setattr(HummingbotApplication, "_main_app", None))
        if fast_executors:
            orchestrator = getattr(strategy, "executor_orchestrator", None)
            if orchestrator is not None:
                orchestrator.executors_update_interval = 0.0
            self._patch_executor_sleep()
        self.clock.add_iterator(strategy)
        self.strategies.append(strategy)

    def _patch_executor_sleep(self) -> None:
        from hummingbot.strategy_v2.executors.position_executor.position_executor import PositionExecutor

        original = PositionExecutor.__dict__["_sleep"]
        if getattr(original, "_sim_fast", False):
            return

        async def _sleep(self: Any, delay: float) -> None:
            await asyncio.sleep(0)

        _sleep._sim_fast = True  # type: ignore[attr-defined]
        PositionExecutor._sleep = _sleep  # type: ignore[method-assign]
        self._restore.append(lambda: setattr(PositionExecutor, "_sleep", original))

    async def step(self) -> float:
        """Advance one tick (starting the clock on first use), then yield to the event loop."""
        self.clock.backtest_til(self.clock.current_timestamp + self.tick_s)
        await self._yield_to_loop()
        return self.clock.current_timestamp

    async def start(self) -> None:
        """Start the clock at start_ts without ticking (connectors show the start_ts market)."""
        self.clock.backtest_til(self.start_ts)
        await self._yield_to_loop()

    async def _yield_to_loop(self) -> None:
        """Yield to the event loop up to `yields_per_tick` times, stopping early once it has nothing to run.

        A yield (`sleep(0)`) runs one loop iteration: the callbacks ready then, timers due then, and this task. When
        no callback is ready and no timer is due, that iteration and every later one of this tick would run only
        this task (only a callback can make another ready), so they are skipped: most ticks nothing is pending
        (no order, no delivery) and the tick costs no loop iteration. An event loop without asyncio's
        `_ready` / `_scheduled` internals (another implementation) gets every yield, as before.
        """
        loop = asyncio.get_running_loop()
        idle_known = hasattr(loop, "_ready") and hasattr(loop, "_scheduled")
        for _ in range(self.yields_per_tick):
            if idle_known and not loop._ready and not _timer_due(loop):  # type: ignore[attr-defined]
                return
            await asyncio.sleep(0)

    async def run(self, until_ts: float | None = None, on_step: StepCallback | None = None) -> None:
        """Step the clock to `until_ts` (default end_ts), calling `on_step(ts)` (sync or async) after each tick."""
        until = self.end_ts if until_ts is None else until_ts
        if not self._started():
            await self.start()
        while self.clock.current_timestamp + self.tick_s <= until:
            ts = await self.step()
            if on_step is not None:
                result = on_step(ts)
                if inspect.isawaitable(result):
                    await result

    def _started(self) -> bool:
        return any(c.current_timestamp == c.current_timestamp for c in self.connectors.values())  # not NaN

    def liquidations(self) -> dict[str, list[SimLiquidation]]:
        return {name: list(c.liquidations) for name, c in self.perps.items()}

    def close(self) -> None:
        """Stop the connectors' network loops and the recorder, unregister them from the RateOracle and undo the
        process-wide shims."""
        oracle = RateOracle.get_instance()
        for connector in self.connectors.values():
            connector.stop(self.clock)
            if oracle._connectors.get(connector.name) is connector:  # no public lookup; unregister only our own
                oracle.unregister_connector(connector.name)
        self.recorder.stop()
        if MarketsRecorder._shared_instance is self.recorder:
            MarketsRecorder._shared_instance = None
        for undo in reversed(self._restore):
            undo()
        self._restore.clear()
        if self._tmp_dir:
            shutil.rmtree(self._tmp_dir, ignore_errors=True)


def _timer_due(loop: Any) -> bool:
    """Whether the loop's earliest timer (`call_later`, a task's `sleep(n)`) is due: the next iteration runs it."""
    scheduled = loop._scheduled  # re-read: an iteration may replace the heap when it drops cancelled timers
    return bool(scheduled) and scheduled[0].when() <= loop.time()


def _pick(value: Any, name: str, missing: Any) -> Any:
    """A per-connector setting: one value for every connector, or a mapping by connector name (`missing` if absent)."""
    if value is None:
        return missing
    if isinstance(value, Mapping):
        return value.get(name, missing)
    return value


class EventRecorder:
    """Every MarketEvent / AccountEvent the given connectors fire, in firing order, as (tag, connector name, event).

    Listeners are held here (Hummingbot keeps only weak references to them).
    """

    def __init__(self, connectors: Iterable[ConnectorBase]) -> None:
        self.events: list[tuple[Any, str, Any]] = []
        self._listeners: list[tuple[ConnectorBase, Any, EventForwarder]] = []
        for connector in connectors:
            for tag in (*MarketEvent, *AccountEvent):
                listener = EventForwarder(lambda event, t=tag, n=connector.name: self.events.append((t, n, event)))
                connector.add_listener(tag, listener)
                self._listeners.append((connector, tag, listener))

    def of_type(self, event_type: type) -> list[Any]:
        return [e for _, _, e in self.events if isinstance(e, event_type)]

    def tags(self, order_id: str | None = None) -> list[Any]:
        """Event tags in order, optionally only those whose event carries `order_id`."""
        return [t for t, _, e in self.events if order_id is None or getattr(e, "order_id", None) == order_id]

    def detach(self) -> None:
        for connector, tag, listener in self._listeners:
            connector.remove_listener(tag, listener)
        self._listeners.clear()
