"""`funding-arb run --sim` / `cli --sim`: Hummingbot's real engine, in real time, on simulated venues.

Nothing here drives the strategy. `install_sim_connectors` builds the simulated venues a sim config names and
pre-fills `hb.trading_core.connector_manager.connectors` with them (hummingbot-notes §1.5, "Sim injection hook"):
`ConnectorManager.create_connector` returns an existing entry (`core/connector_manager.py:56`), so when the strategy
starts, `TradingCore.initialize_markets` picks them up, `initialize_markets_recorder` records their fills and funding
payments, and `start_clock` adds them to the REALTIME clock, which ticks them every wall second before the strategy.

Time (docs/simulation.md, "Live simulation"): the venues run on a wall-clock view of the data (`wallclock.TimeMap`),
data_ts = data_start + (wall - wall_start) x speed, anchored at the clock's first tick. Everything they report is in
wall time, as the strategy's clock is. At speed S a recorded 8h interval passes in 8h/S of wall time: funding arrives
S times faster than the rates say, so a `--sim` run at S != 1 shows the machinery working; returns are judged with
`funding-arb replay`.

`LiveSimEnvironment.step_realtime()` (awaited by the host about every 0.5 s) notices the end of the data and sets
`finished` / `finish_message`; it also prefixes the strategy's `status` with a SIMULATION banner.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any, Protocol

from ..core.config import FundingArbSettings, load_settings
from ..core.venues import SIM_PREFIX
from .data import MarketData, default_data_dir, load_market_data
from .wallclock import TimeMap, wall_clock_market_data

log = logging.getLogger(__name__)

DEFAULT_DATASET = "cross_venue_2025"
SAMPLE_SIM_CONF = "conf_funding_arbitrage_sim.yml"
PERP_SUFFIX = "_perpetual"


class SimSetupError(ValueError):
    """`--sim` cannot start with this config or these options; the message says what to change."""


class SimOptionsLike(Protocol):
    """`shell.app.SimOptions`: data directory (None: the shared cross-venue data), speed, ISO start
    (None: data start)."""

    data_dir: str | None
    speed: float
    start: str | None


@dataclass(frozen=True)
class SimPlan:
    """What a sim config asks for: venues per kind, coins, quote per connector, starting balance per venue."""

    perp_venues: tuple[str, ...]
    spot_venues: tuple[str, ...]
    coins: tuple[str, ...]
    quote_assets: dict[str, str]
    balance_per_venue_quote: Decimal


def plan_from_settings(settings: FundingArbSettings) -> SimPlan:
    """Check that a config describes a simulation and read its venues.

    Raises:
        SimSetupError: real connector names (a live config), a sim perp not named sim_<venue>_perpetual, or a
            state file that is not sim-only.
    """
    real = [c for c in settings.all_connectors if not c.startswith(SIM_PREFIX)]
    if real:
        raise SimSetupError(
            f"--sim needs simulated connectors, but this config trades real ones ({', '.join(real)}). Use a sim "
            f"config whose connectors are sim_<venue>_perpetual / sim_<venue>, e.g. conf/scripts/{SAMPLE_SIM_CONF}"
        )
    bad = [c for c in settings.perp_connectors if not c.endswith(PERP_SUFFIX)]
    if bad:
        raise SimSetupError(f"perp_connectors ({', '.join(bad)}) must be named sim_<venue>_perpetual in a sim config")
    if "sim" not in Path(settings.state_file).name:
        raise SimSetupError(
            f"state_file ({settings.state_file}) must be a sim-only file (its name containing 'sim', e.g. "
            "data/funding_arb_sim_state.json): simulated pairs must never mix with live state"
        )
    if settings.journal_file and "sim" not in Path(settings.journal_file).name:
        raise SimSetupError(
            f"journal_file ({settings.journal_file}) must be a sim-only file (its name containing 'sim', e.g. "
            "data/conf_funding_arbitrage_sim.journal.sqlite): simulated pairs must never mix with the live journal"
        )
    n = len(settings.all_connectors)
    return SimPlan(
        perp_venues=tuple(c[len(SIM_PREFIX) : -len(PERP_SUFFIX)] for c in settings.perp_connectors),
        spot_venues=tuple(c[len(SIM_PREFIX) :] for c in settings.spot_connectors),
        coins=tuple(settings.tokens),
        quote_assets=dict(settings.quote_assets),
        balance_per_venue_quote=(settings.total_capital_quote / n).quantize(Decimal("0.01"), ROUND_DOWN),
    )


def check_speed(speed: float) -> None:
    """Raises SimSetupError unless speed is a positive finite number."""
    if not (speed > 0 and math.isfinite(speed)):
        raise SimSetupError(f"--speed ({speed}) must be a positive number of data seconds per wall second")


def parse_start(text: str) -> float:
    """ISO date or time (UTC unless it says otherwise) -> epoch seconds. Example: '2025-04-01' -> 1743465600.0.

    Raises:
        SimSetupError: not an ISO date/time.
    """
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as e:
        raise SimSetupError(
            f"--start ({text!r}) must be an ISO date or time, e.g. 2025-04-01 or 2025-04-01T08:00:00Z"
        ) from e
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def data_span(data: MarketData, plan: SimPlan) -> tuple[float, float]:
    """(start, end) in data time where every market of the plan has candles and every perp has funding.

    Raises:
        SimSetupError: the markets' data share no period (the message names each market's dates).
    """
    ranges: list[tuple[str, float, float]] = []  # (market, first ts, last ts)
    for venue in sorted({*plan.perp_venues, *plan.spot_venues}):
        for coin in plan.coins:
            candles = data.candle_series(venue, coin)  # DataError names the missing venue/coin
            ranges.append((f"{venue} {coin} candles", candles.first_ts, candles.end_ts))
            if venue in plan.perp_venues:
                funding = data.funding_series(venue, coin)
                ranges.append((f"{venue} {coin} funding", funding.times[0], funding.times[-1]))
    start, end = max(r[1] for r in ranges), min(r[2] for r in ranges)
    if start >= end:
        spans = "; ".join(f"{name} {iso(first)} to {iso(last)}" for name, first, last in ranges)
        raise SimSetupError(
            f"the data of the selected markets never overlap (latest start {iso(start)} is not before the earliest "
            f"end {iso(end)}): {spans}. Choose tokens and connectors whose data share a period."
        )
    return start, end


class LiveSimEnvironment:
    """Simulated venues on a wall-clock view of the data; `step_realtime()` watches for the end of the data."""

    def __init__(
        self, settings: FundingArbSettings, sim: SimOptionsLike, market_data: MarketData | None = None
    ) -> None:
        check_speed(sim.speed)
        self.settings, self.plan = settings, plan_from_settings(settings)
        self.data_dir = Path(sim.data_dir) if sim.data_dir else default_data_dir() / DEFAULT_DATASET
        self.market_data = market_data or load_market_data(self.data_dir)
        span_start, self.data_end_ts = data_span(self.market_data, self.plan)
        start = span_start if sim.start is None else parse_start(sim.start)
        if not span_start <= start < self.data_end_ts:
            raise SimSetupError(
                f"--start ({sim.start}) must lie within the data for these markets: "
                f"{iso(span_start)} to {iso(self.data_end_ts)}"
            )
        self.speed = float(sim.speed)
        self.time_map = TimeMap(start, self.speed)
        self.connectors = self._build(wall_clock_market_data(self.market_data, self.time_map))
        self.finished = False
        self.finish_message: str | None = None
        self.detached_message: str | None = None
        self._hb: Any = None

    def _build(self, data: MarketData) -> dict[str, Any]:
        from .perp import SimPerpetualDerivative
        from .spot import SimSpotExchange

        connectors: dict[str, Any] = {}
        balance = self.plan.balance_per_venue_quote
        for venue in self.plan.perp_venues:
            name = f"{SIM_PREFIX}{venue}{PERP_SUFFIX}"
            connectors[name] = SimPerpetualDerivative(
                venue, data, self.plan.coins, self.plan.quote_assets[name], balance
            )
        for venue in self.plan.spot_venues:
            name = f"{SIM_PREFIX}{venue}"
            connectors[name] = SimSpotExchange(venue, data, self.plan.coins, self.plan.quote_assets[name], balance)
        return connectors

    # --- clock ----------------------------------------------------------------------------------------
    def venue_ts(self) -> float | None:
        """Wall time of the venues' last tick (None before the clock started them)."""
        stamps = [c.current_timestamp for c in self.connectors.values()]
        known = [t for t in stamps if not math.isnan(t) and t > 0]  # NaN before the first start()/tick()
        return max(known) if known else None

    def data_ts(self) -> float | None:
        ts = self.venue_ts()
        return None if ts is None or not self.time_map.anchored else self.time_map.to_data(ts)

    async def step_realtime(self) -> None:
        """Called by the host every ~0.5 s: banner on the running strategy's status, end-of-data detection."""
        if self._hb is not None:
            self._attach_status(getattr(self._hb.trading_core, "strategy", None))
            self._check_detached()
        data_ts = self.data_ts()
        if self.finished or data_ts is None or data_ts < self.data_end_ts:
            return
        self.finished = True
        self.finish_message = (
            f"sim: end of the replayed data reached ({iso(self.data_end_ts)}); stopping. "
            f"Replayed {iso(self.time_map.data_start_ts)} to {iso(self.data_end_ts)} at "
            f"{self.speed:g}x."
        )
        log.info("sim_finished data_end=%s speed=%s", iso(self.data_end_ts), self.speed)

    def _check_detached(self) -> None:
        manager = self._hb.trading_core.connector_manager
        if self.detached_message is None and any(
            manager.connectors.get(n) is not c for n, c in self.connectors.items()
        ):
            self.detached_message = (
                "sim: strategy stopped; the simulated venues keep their positions and the replay clock runs "
                "on. `start` resumes on them; to replay from the beginning, exit and run `funding-arb cli --sim`"
            )

    # --- status ---------------------------------------------------------------------------------------
    def banner(self) -> str:
        """A few lines under 100 characters (Hummingbot's output pane wraps there)."""
        data_ts = self.data_ts()
        now = f"data time {iso(data_ts)}" if data_ts is not None else f"starts at {iso(self.time_map.data_start_ts)}"
        lines = [
            f"SIMULATION (--sim) at {self.speed:g}x: {now} (data ends {iso(self.data_end_ts)})",
            f"  {', '.join(self.connectors)} replay {self.data_dir.name}",
        ]
        if self.speed != 1:
            lines += [
                f"  Funding settles {self.speed:g}x faster than recorded: intervals, funding per hour and",
                "  APRs observed on this clock are distorted. Judge returns with `funding-arb replay`.",
            ]
        return "\n".join(lines)

    def _attach_status(self, strategy: Any) -> None:
        """Prefix the strategy's `status` with the banner (once per strategy instance)."""
        if strategy is None or getattr(strategy, "_sim_banner_attached", False):
            return
        original = strategy.format_status

        def format_status() -> str:
            return self.banner() + "\n\n" + original()

        strategy.format_status = format_status
        strategy._sim_banner_attached = True

    def close(self) -> None:
        """Unregister the venues from the RateOracle if the engine has not already done so."""
        from hummingbot.core.rate_oracle.rate_oracle import RateOracle

        oracle = RateOracle.get_instance()
        for name, connector in self.connectors.items():
            if oracle._connectors.get(name) is connector:  # no public lookup; unregister only our own
                oracle.unregister_connector(name)


def move_previous_state(path: Path) -> Path | None:
    """Move a previous sim run's state file to `<name>.previous` (the venues start flat, so its pairs are gone)."""
    if not path.exists():
        return None
    target = path.with_name(path.name + ".previous")
    path.replace(target)
    log.info("sim_state_reset moved=%s to=%s", path, target)
    return target


def _no_usage_metrics(core: Any, names: set[str]) -> None:
    """Keep simulated fills out of Hummingbot's anonymized trade-volume metrics (`anonymized_metrics_mode`, on by
    default, posts filled volume per connector): for the sim names, TradingCore gets the DummyMetricsCollector it
    uses when metrics are disabled, added to the clock as its own collectors are (so removal at stop works)."""
    from hummingbot.connector.connector_metrics_collector import DummyMetricsCollector

    original = core._initialize_metrics_for_connector

    def initialize(connector: Any, connector_name: str) -> None:
        if connector_name not in names:
            original(connector, connector_name)
            return
        collector = DummyMetricsCollector()
        core.clock.add_iterator(collector)
        core._metrics_collectors[connector_name] = collector

    core._initialize_metrics_for_connector = initialize


async def install_sim_connectors(hb: Any, v2_conf: str, sim: SimOptionsLike) -> LiveSimEnvironment:
    """Build the sim venues `conf/scripts/<v2_conf>` names and make `hb`'s engine use them. Call before the
    strategy starts (`load_and_start_strategy` / `start --v2`).

    Raises:
        ConfigError: the config file is invalid.
        SimSetupError: not a sim config, bad speed or start.
        DataError: the data directory lacks a market the config trades.
    """
    from hummingbot.client import settings as hb_settings

    from ..shell.home import project_root
    from .registry import register_sim_connector

    settings = load_settings(Path(hb_settings.SCRIPT_STRATEGY_CONF_DIR_PATH) / v2_conf)
    env = LiveSimEnvironment(settings, sim)
    move_previous_state(project_root() / settings.state_file)
    from ..shell.durability import journal_path

    journal = journal_path(settings, project_root())
    for part in (journal, journal.with_name(journal.name + "-wal"), journal.with_name(journal.name + "-shm")):
        move_previous_state(part)  # the sim venues start flat: so does the journal (the old one is kept aside)
    core = hb.trading_core
    for name, connector in env.connectors.items():
        register_sim_connector(connector)  # AllConnectorSettings (fee schema) + RateOracle
        core.connector_manager.connectors[name] = connector
    _no_usage_metrics(core, set(env.connectors))
    env._hb = hb
    log.info(
        "sim_installed connectors=%s data=%s start=%s end=%s speed=%s started_at_wall=%s",
        ",".join(env.connectors),
        env.data_dir,
        iso(env.time_map.data_start_ts),
        iso(env.data_end_ts),
        env.speed,
        int(time.time()),
    )
    return env
