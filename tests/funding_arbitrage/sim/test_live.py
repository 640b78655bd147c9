"""`--sim`: simulated venues on a wall-clock view of the data, installed into Hummingbot's real engine.

Unit tests drive the venues with wall timestamps (as the REALTIME clock does); the subprocess tests run
`funding-arb run --sim` end to end and read what the strategy wrote (metrics JSON, state file, trade database).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hummingbot.core.data_type.common import OrderType, PositionAction
from hummingbot.core.event.events import FundingPaymentCompletedEvent, OrderFilledEvent
from hummingbot.core.rate_oracle.rate_oracle import RateOracle
from sim_helpers import BINANCE, BTC_SETTLEMENT_2, PAIR, yields

from strategies.funding_arbitrage.cli.launcher import main as launcher_main
from strategies.funding_arbitrage.core.config import FundingArbSettings, load_settings
from strategies.funding_arbitrage.sim.data import MarketData
from strategies.funding_arbitrage.sim.harness import EventRecorder
from strategies.funding_arbitrage.sim.live import (
    LiveSimEnvironment,
    SimSetupError,
    data_span,
    install_sim_connectors,
    parse_start,
    plan_from_settings,
)
from strategies.funding_arbitrage.sim.wallclock import TimeMap, wall_clock_market_data

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
SIM_CONF = "conf_funding_arbitrage_sim.yml"
PASSWORD = "sim-test-password"
W0 = 1_900_000_000.0  # an arbitrary wall time the venues start at
Q = Decimal("0.01")
PERPS = ["sim_binance_perpetual", "sim_bybit_perpetual"]


@dataclass(frozen=True)
class Opts:
    data_dir: str | None = None
    speed: float = 3600.0
    start: str | None = None


def _settings(**kw: Any) -> FundingArbSettings:
    base: dict[str, Any] = {
        "perp_connectors": PERPS,
        "spot_connectors": [],
        "tokens": ["BTC"],
        "quote_assets": dict.fromkeys(PERPS, "USDT"),
        "leverage": dict.fromkeys(PERPS, 3),
        "state_file": "data/funding_arb_sim_state.json",
    }
    return FundingArbSettings(**{**base, **kw})


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def _advance(env: LiveSimEnvironment, wall_ts: float) -> None:
    for connector in env.connectors.values():
        connector.advance(wall_ts)


# --- time map ----------------------------------------------------------------------------------------
def test_time_map_maps_wall_to_data_at_speed_and_back() -> None:
    tm = TimeMap(data_start_ts=1_741_000_000, speed=3600)

    assert tm.to_data(W0) == 1_741_000_000  # the first wall time mapped anchors the map
    assert tm.to_data(W0 + 8) == 1_741_000_000 + 8 * 3600
    assert tm.to_wall(1_741_000_000 + 28_800) == W0 + 8
    assert tm.to_wall(tm.to_data(W0 + 3.25)) == pytest.approx(W0 + 3.25, abs=1e-6)


def test_time_map_refuses_nonpositive_speed_and_unanchored_to_wall() -> None:
    with pytest.raises(ValueError, match="speed"):
        TimeMap(0, 0)
    with pytest.raises(RuntimeError, match="anchored"):
        TimeMap(0, 60).to_wall(100)


def test_wall_clock_series_answer_as_the_recorded_series_at_the_mapped_data_time(market_data: MarketData) -> None:
    """Each wall-time question equals the recorded series' answer at the mapped data time, including path_extremes
    (whose own implementation asks price_at: mapping twice would shift its endpoints off the data)."""
    start = BTC_SETTLEMENT_2 - 4 * 3600
    tm = TimeMap(start, 60, wall_start_ts=W0)  # whole wall seconds, as the REALTIME clock ticks: exact mapping
    data = wall_clock_market_data(market_data, tm)
    candles, raw = data.candle_series("binance", "BTC"), market_data.candle_series("binance", "BTC")
    funding, raw_funding = data.funding_series("binance", "BTC"), market_data.funding_series("binance", "BTC")

    assert candles.price_at(W0 + 90) == raw.price_at(start + 5400)
    assert candles.path_extremes(W0 + 12, W0 + 54) == raw.path_extremes(start + 720, start + 3240)
    assert candles.path_extremes(W0 + 12, W0 + 18) == raw.path_extremes(start + 720, start + 1080)  # no vertex
    assert candles.first_ts == W0 + (raw.first_ts - start) / 60
    paid = funding.settlements_between(W0 + 180, W0 + 780)
    assert [(p.ts, p.rate) for p in paid] == [
        (W0 + 240, raw_funding.next_settlement(start).rate),
        (W0 + 720, raw_funding.next_settlement(BTC_SETTLEMENT_2).rate),
    ]
    assert funding.next_settlement(W0 + 240) == paid[1]


# --- config and options --------------------------------------------------------------------------------
def test_real_connectors_are_refused_with_a_pointer_to_the_sim_config() -> None:
    live = load_settings(ROOT / "conf" / "scripts" / "conf_funding_arbitrage.yml")

    with pytest.raises(
        SimSetupError,
        match=r"real ones \(binance_perpetual, bybit_perpetual, binance\).*"
        r"conf_funding_arbitrage_sim\.yml",
    ):
        plan_from_settings(live)


def test_a_state_file_shared_with_live_runs_is_refused() -> None:
    with pytest.raises(SimSetupError, match="state_file"):
        plan_from_settings(_settings(state_file="data/funding_arb_state.json"))


def test_sample_sim_config_passes_check_config_and_plans_three_venues(capsys) -> None:
    rc = launcher_main(["check-config", str(ROOT / "conf" / "scripts" / SIM_CONF)])

    assert rc == 0, capsys.readouterr().err
    plan = plan_from_settings(load_settings(ROOT / "conf" / "scripts" / SIM_CONF))
    assert (plan.perp_venues, plan.spot_venues, plan.coins) == (
        ("binance", "bybit"),
        ("binance",),
        ("BTC", "ETH", "SOL", "DOGE", "HYPE"),
    )
    assert plan.balance_per_venue_quote == Decimal("3333.33")  # total_capital_quote shared by the venues


def test_start_parses_iso_dates_as_utc_and_rejects_other_text() -> None:
    assert parse_start("2025-04-01") == 1743465600.0
    assert parse_start("2025-04-01T08:00:00Z") == 1743465600.0 + 8 * 3600
    with pytest.raises(SimSetupError, match="ISO"):
        parse_start("yesterday")


def test_start_outside_the_data_is_refused(market_data: MarketData) -> None:
    with pytest.raises(SimSetupError, match="must lie within the data"):
        LiveSimEnvironment(_settings(), Opts(start="2024-01-01"), market_data)


def test_markets_whose_data_never_overlap_are_refused_with_each_markets_dates() -> None:
    """BTC's data ends on 2025-03-01 and ETH's starts on 2025-04-01: no common period, no `--start (None)`."""
    march, april, may = 1740787200.0, 1743465600.0, 1746057600.0  # 2025-03-01, 2025-04-01, 2025-05-01 UTC
    spans = {"BTC": (march - 86400 * 28, march), "ETH": (april, may)}

    class Data:
        def candle_series(self, venue: str, coin: str) -> Any:
            return SimpleNamespace(first_ts=spans[coin][0], end_ts=spans[coin][1])

        def funding_series(self, venue: str, coin: str) -> Any:
            return SimpleNamespace(times=list(spans[coin]))

    plan = SimpleNamespace(perp_venues=("binance",), spot_venues=(), coins=("BTC", "ETH"))
    with pytest.raises(SimSetupError) as raised:
        data_span(Data(), plan)  # type: ignore[arg-type]

    message = str(raised.value)
    assert "None" not in message and "never overlap" in message
    assert "binance BTC candles 2025-02-01 00:00 UTC to 2025-03-01 00:00 UTC" in message
    assert "binance ETH funding 2025-04-01 00:00 UTC to 2025-05-01 00:00 UTC" in message


# --- venues on the wall clock ----------------------------------------------------------------------------
def test_venues_show_data_prices_and_funding_on_the_wall_clock(market_data: MarketData) -> None:
    """Start 4h before a recorded settlement at 3600x: announced and paid 4 wall seconds after start."""
    start = BTC_SETTLEMENT_2 - 4 * 3600
    series = market_data.funding_series("binance", "BTC")
    settled = series.next_settlement(start)
    following = series.next_settlement(BTC_SETTLEMENT_2)
    candles = market_data.candle_series("binance", "BTC")

    async def body() -> None:
        env = LiveSimEnvironment(_settings(), Opts(start=_iso(start)), market_data)
        perp, rec = env.connectors[BINANCE], EventRecorder(env.connectors.values())
        _advance(env, W0)
        info = perp.get_funding_info(PAIR)
        assert (info.next_funding_utc_timestamp, info.rate) == (W0 + 4, settled.rate)
        _advance(env, W0 + 1)
        assert perp.mid_price(PAIR) == candles.price_at(start + 3600)
        assert env.data_ts() == start + 3600

        perp.buy(PAIR, Q, OrderType.MARKET, position_action=PositionAction.OPEN)
        await yields()
        _advance(env, W0 + 2)  # fills at the next tick, stamped with wall time
        await yields()
        for t in (W0 + 3, W0 + 4.5):
            _advance(env, t)
            await yields()

        fill = rec.of_type(OrderFilledEvent)[0]
        assert fill.timestamp == W0 + 2
        payment = rec.of_type(FundingPaymentCompletedEvent)
        assert len(payment) == 1 and payment[0].timestamp == pytest.approx(W0 + 4, abs=1e-6)
        assert payment[0].amount == -Q * candles.price_at(BTC_SETTLEMENT_2) * settled.rate
        info = perp.get_funding_info(PAIR)
        assert info.next_funding_utc_timestamp == pytest.approx(W0 + 4 + 8, abs=1e-6)
        assert info.rate == following.rate
        env.close()

    asyncio.run(body())


class _Strategy:
    def format_status(self) -> str:
        return "strategy status"


def test_step_realtime_banners_the_status_and_flags_the_end_of_data(market_data: MarketData) -> None:
    start = data_span(market_data, plan_from_settings(_settings()))[1] - 2 * 3600

    async def body() -> None:
        env = LiveSimEnvironment(_settings(), Opts(start=_iso(start)), market_data)
        strategy = _Strategy()
        env._hb = SimpleNamespace(
            trading_core=SimpleNamespace(
                strategy=strategy, connector_manager=SimpleNamespace(connectors=dict(env.connectors))
            )
        )
        _advance(env, W0)
        await env.step_realtime()
        assert not env.finished
        status = strategy.format_status()
        assert status.startswith("SIMULATION (--sim) at 3600x") and "funding-arb replay" in status
        assert status.endswith("strategy status")

        _advance(env, W0 + 2)
        await env.step_realtime()
        assert env.finished and "end of the replayed data" in (env.finish_message or "")
        env.close()

    asyncio.run(body())


def test_install_prefills_the_engine_and_keeps_sim_fills_out_of_usage_metrics(
    tmp_path, monkeypatch, market_data: MarketData
) -> None:
    """The injection hook: the engine's ConnectorManager holds the sim venues before the strategy starts."""
    from hummingbot.client import settings as hb_settings
    from hummingbot.connector.connector_metrics_collector import DummyMetricsCollector

    (tmp_path / "conf" / "scripts").mkdir(parents=True)
    (tmp_path / "data").mkdir()
    shutil.copy(ROOT / "conf" / "scripts" / SIM_CONF, tmp_path / "conf" / "scripts")
    (tmp_path / "data" / "funding_arb_sim_state.json").write_text('{"pairs": [], "seq": 3, "version": 1}')
    monkeypatch.setattr(hb_settings, "SCRIPT_STRATEGY_CONF_DIR_PATH", tmp_path / "conf" / "scripts")
    monkeypatch.setenv("FUNDING_ARB_HOME", str(tmp_path))
    monkeypatch.setattr("strategies.funding_arbitrage.sim.live.load_market_data", lambda _d: market_data)
    added: list[Any] = []
    core = SimpleNamespace(
        connector_manager=SimpleNamespace(connectors={}),
        _metrics_collectors={},
        clock=SimpleNamespace(add_iterator=added.append),
        _initialize_metrics_for_connector=lambda c, n: pytest.fail("real collector built"),
    )

    async def body() -> None:
        env = await install_sim_connectors(SimpleNamespace(trading_core=core), SIM_CONF, Opts())
        assert core.connector_manager.connectors == env.connectors
        assert sorted(env.connectors) == ["sim_binance", *PERPS]
        assert all(RateOracle.get_instance()._connectors.get(n) is c for n, c in env.connectors.items())
        core._initialize_metrics_for_connector(env.connectors[BINANCE], BINANCE)
        assert isinstance(core._metrics_collectors[BINANCE], DummyMetricsCollector)
        assert added == [core._metrics_collectors[BINANCE]]  # on the clock, so TradingCore can remove it
        env.close()

    asyncio.run(body())
    assert not (tmp_path / "data" / "funding_arb_sim_state.json").exists()  # each run starts flat
    assert (tmp_path / "data" / "funding_arb_sim_state.json.previous").exists()


# --- end to end: `funding-arb run --sim` -----------------------------------------------------------------
def _home(tmp_path: Path, conf_text: str | None = None) -> tuple[Path, dict[str, str]]:
    home = tmp_path / "home"
    (home / "conf" / "scripts").mkdir(parents=True)
    text = conf_text if conf_text is not None else (ROOT / "conf" / "scripts" / SIM_CONF).read_text()
    (home / "conf" / "scripts" / SIM_CONF).write_text(text)
    (home / "scripts").symlink_to(ROOT / "scripts")
    env = {**os.environ, "FUNDING_ARB_HOME": str(home), "FUNDING_ARB_PASSWORD": PASSWORD}
    return home, env


def _start(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "funding-arb"), "run", "--sim", "--conf", SIM_CONF, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _wait(proc: subprocess.Popen, check, timeout: float) -> Any:
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, f"engine exited early (rc={proc.returncode}):\n{proc.stdout.read()}"
        result = check()
        if result:
            return result
        time.sleep(1)
    raise AssertionError(f"condition not met within {timeout}s")


def _stop(proc: subprocess.Popen) -> int:
    try:
        proc.send_signal(signal.SIGTERM)
        return proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()


def _samples(metrics: dict[str, Any], name: str) -> dict[tuple, Any]:
    family = metrics["metrics"].get(f"funding_arb_{name}", {"samples": []})
    return {tuple(sorted(s["labels"].items())): s["value"] for s in family["samples"]}


def test_run_sim_ticks_on_ready_sim_venues_and_stops_cleanly_on_sigterm(tmp_path) -> None:
    home, env = _home(tmp_path)
    metrics_path = home / "data" / "funding_arb_sim_metrics.json"
    proc = _start(env, "--speed", "3600")
    started = time.time()

    def funding_seen() -> dict[str, Any] | None:
        m = _read_json(metrics_path)
        return m if m and len(_samples(m, "funding_interval_seconds")) == 10 else None

    metrics = _wait(proc, funding_seen, timeout=120)
    time.sleep(max(0.0, 25 - (time.time() - started)))
    rc = _stop(proc)

    assert rc == 0
    ready = _samples(metrics, "venue_ready")
    assert ready == {(("connector", c),): 1.0 for c in [*PERPS, "sim_binance"]}
    intervals = _samples(metrics, "funding_interval_seconds")
    assert {dict(k)["connector"] for k in intervals} == set(PERPS)
    assert set(intervals.values()) == {28800.0}  # the config's 8h hint (at 3600x an 8h interval lasts 8 s)
    assert len(_samples(metrics, "funding_rate_apr_ratio")) == 10  # 2 perps x 5 tokens
    assert _samples(metrics, "trading_state")[(("state", "ACTIVE"),)] == 1.0
    assert json.loads((home / "data" / "funding_arb_sim_state.json").read_text())["version"] == 2
    assert (home / "data" / "conf_funding_arbitrage_sim.sqlite").exists()


def test_run_sim_trades_a_pair_and_records_its_funding(tmp_path) -> None:
    """A lower entry threshold at a wide binance/bybit BTC spread (2025-03-09/10): the engine opens a hedged pair
    on the sim venues, and the settlements that follow are paid to it and recorded by Hummingbot's recorder.
    The sample config's later-listed tokens (HYPE: from 2025-05-30) are dropped: a --start before a configured
    market's data is refused."""
    conf = (
        (ROOT / "conf" / "scripts" / SIM_CONF)
        .read_text()
        .replace("tokens: [BTC, ETH, SOL, DOGE, HYPE]", "tokens: [BTC, ETH, SOL]")
    )
    for line in ("min_net_edge_pct: 0.01", "entry_uncertainty_z: 0.5"):  # whatever the sample's tuned values are
        conf = re.sub(rf"(?m)^{line.split(':')[0]}:.*$", line, conf)
    assert "tokens: [BTC, ETH, SOL]" in conf
    home, env = _home(tmp_path, conf)
    state_path = home / "data" / "funding_arb_sim_state.json"
    proc = _start(env, "--speed", "3600", "--start", "2025-03-09")

    def funded_pair() -> dict[str, Any] | None:
        state = _read_json(state_path)
        pairs = [
            p
            for p in (state or {}).get("pairs", [])
            if p["state"] == "HEDGED" and Decimal(p["funding_received_quote"]) != 0
        ]
        return pairs[0] if pairs else None

    pair = _wait(proc, funded_pair, timeout=150)
    rc = _stop(proc)

    assert rc == 0
    assert {pair["long"]["connector"], pair["short"]["connector"]} <= {*PERPS, "sim_binance"}
    assert Decimal(pair["long"]["filled_base"]) == -Decimal(pair["short"]["filled_base"]) != 0
    db = sqlite3.connect(home / "data" / "conf_funding_arbitrage_sim.sqlite")
    try:
        fills = db.execute("select market from TradeFill").fetchall()
        payments = db.execute("select market, amount from FundingPayment").fetchall()
    finally:
        db.close()
    assert len(fills) >= 2 and payments
    assert {m for m, _ in payments} <= set(PERPS)


def test_run_sim_stops_by_itself_with_exit_0_at_the_end_of_the_data(tmp_path) -> None:
    _, env = _home(tmp_path)
    proc = _start(env, "--speed", "3600", "--start", "2025-09-30T12:00:00Z")  # data ends 4 h (4 s) later
    try:
        out, _ = proc.communicate(timeout=150)
    finally:
        if proc.poll() is None:
            proc.kill()

    assert proc.returncode == 0
    assert "end of the replayed data reached (2025-09-30 16:00 UTC)" in out


def test_run_sim_with_a_live_config_exits_2_naming_the_sim_config(tmp_path) -> None:
    home, env = _home(tmp_path)
    shutil.copy(ROOT / "conf" / "scripts" / "conf_funding_arbitrage.yml", home / "conf" / "scripts")
    out = subprocess.run(
        [str(BIN / "funding-arb"), "run", "--sim", "--conf", "conf_funding_arbitrage.yml"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert out.returncode == 2
    assert "real ones (binance_perpetual, bybit_perpetual, binance)" in out.stderr and SIM_CONF in out.stderr
