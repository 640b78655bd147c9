"""Every field of `FundingArbSettings` is consumed by behaviour: changing it changes what the strategy does.

Fields the edge engine consumes are proven by `core/test_engine_fields.py` (one row per field: base settings vs
that field changed, the decision differs); this module references those rows and proves the rest here, each as
"same scenario, field changed, behaviour differs" on the real runtime (with a recording shell in place of
Hummingbot), the risk gate or the config check. `test_every_settings_field_is_covered` fails for a new field that
is proven nowhere.
"""
from __future__ import annotations

import importlib
import json
import socket
import urllib.request
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hummingbot.core.data_type.common import PositionMode

from strategies.funding_arbitrage.core.config import FundingArbSettings, check_settings
from strategies.funding_arbitrage.core.risk import LegRisk, RiskGate, TradingState
from strategies.funding_arbitrage.shell.runtime import FundingArbRuntime

CORE_DIR = Path(__file__).resolve().parent / "core"
ENGINE_TEST = "core/test_engine_fields.py::test_changing_the_field_changes_the_decision"
BINANCE, BYBIT = "binance_perpetual", "bybit_perpetual"
D = Decimal
PROVEN_HERE: dict[str, str] = {}  # field -> test function in this module


def proves(field: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def register(test: Callable[..., None]) -> Callable[..., None]:
        assert field not in PROVEN_HERE, f"{field} is proven twice"
        PROVEN_HERE[field] = test.__name__
        return test
    return register


def engine_rows(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """field -> node id of its row in core/test_engine_fields.py (a row named `a (with b, c)` proves `a`)."""
    monkeypatch.syspath_prepend(str(CORE_DIR))
    module = importlib.import_module("test_engine_fields")
    return {row[0].split(" ")[0]: f"{ENGINE_TEST}[{row[0]}]" for row in module.ROWS}


def test_every_settings_field_is_covered(monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = engine_rows(monkeypatch)
    uncovered = sorted(set(FundingArbSettings.model_fields) - set(elsewhere) - set(PROVEN_HERE))
    unknown = sorted((set(elsewhere) | set(PROVEN_HERE)) - set(FundingArbSettings.model_fields))

    assert not uncovered, f"no test shows that changing these fields changes behaviour: {uncovered}"
    assert not unknown, f"tests claim fields that do not exist: {unknown}"


# --- helpers ---------------------------------------------------------------------------------------------------
def settings(tmp_path: Path, **overrides: Any) -> FundingArbSettings:
    data: dict[str, Any] = {
        "perp_connectors": [BINANCE, BYBIT], "tokens": ["BTC"], "quote_assets": {BINANCE: "USDT", BYBIT: "USDT"},
        "leverage": {BINANCE: 3, BYBIT: 3}, "prometheus_port": 0, "metrics_export_path": "",
        "state_file": str(tmp_path / "state" / "state.json"),
    }
    data.update(overrides)
    return FundingArbSettings(**data)


class RecordingShell:
    """What the runtime calls on the Hummingbot strategy, recorded; no venues, so every snapshot is empty."""

    def __init__(self) -> None:
        self.connectors: dict[str, Any] = {}
        self.calls: list[tuple[Any, ...]] = []

    def set_position_mode(self, connector: str, mode: PositionMode) -> None:
        self.calls.append(("position_mode", connector, mode))

    def set_leverage(self, connector: str, trading_pair: str, leverage: int) -> None:
        self.calls.append(("leverage", connector, trading_pair, leverage))


def ticked(s: FundingArbSettings, times: tuple[float, ...] = (1000.0,)) -> tuple[FundingArbRuntime, RecordingShell]:
    shell = RecordingShell()
    runtime = FundingArbRuntime(shell, s)
    for ts in times:
        runtime.on_tick(ts)
    return runtime, shell


def btc_leg(leverage: int = 10) -> LegRisk:
    """A 10x-margined long, 0.1 BTC at 60 000 (liquidation about 9.6 % below mark)."""
    return LegRisk("p1", BINANCE, "BTC", D("0.1"), D("60000"), D("60000"), D(leverage))


# --- venues -----------------------------------------------------------------------------------------------------
@proves("position_mode")
def test_position_mode_is_set_on_every_perp_venue_at_the_first_tick(tmp_path: Path) -> None:
    _, oneway = ticked(settings(tmp_path, position_mode="ONEWAY"))
    _, hedge = ticked(settings(tmp_path, position_mode="HEDGE"))

    assert [c for c in oneway.calls if c[0] == "position_mode"] == [
        ("position_mode", BINANCE, PositionMode.ONEWAY), ("position_mode", BYBIT, PositionMode.ONEWAY)]
    assert [c[2] for c in hedge.calls if c[0] == "position_mode"] == [PositionMode.HEDGE, PositionMode.HEDGE]


@proves("leverage")
def test_leverage_is_set_per_venue_and_pair_at_the_first_tick(tmp_path: Path) -> None:
    _, three = ticked(settings(tmp_path))
    _, mixed = ticked(settings(tmp_path, leverage={BINANCE: 5, BYBIT: 2}))

    assert [c for c in three.calls if c[0] == "leverage"] == [("leverage", BINANCE, "BTC-USDT", 3),
                                                              ("leverage", BYBIT, "BTC-USDT", 3)]
    assert [c[3] for c in mixed.calls if c[0] == "leverage"] == [5, 2]


# --- capital and risk -------------------------------------------------------------------------------------------
@proves("total_capital_quote")
def test_total_capital_bounds_the_margin_the_exposure_caps_may_need(tmp_path: Path) -> None:
    base = settings(tmp_path).model_dump()
    enough, _ = check_settings({**base, "total_capital_quote": D("10000")})
    short, problems = check_settings({**base, "total_capital_quote": D("5000"), "max_drawdown_quote": D("100")})

    assert enough is not None
    assert short is None and any("total_capital_quote (5000)" in p for p in problems)


@proves("max_drawdown_quote")
def test_max_drawdown_decides_whether_a_300_quote_loss_halts(tmp_path: Path) -> None:
    def state_after_loss(limit: str) -> TradingState:
        gate = RiskGate(settings(tmp_path, max_drawdown_quote=D(limit)))
        gate.update_equity(0, D("10000"))
        gate.update_equity(60, D("9700"))
        return gate.state

    assert state_after_loss("500") is TradingState.ACTIVE
    assert state_after_loss("200") is TradingState.HALTED


@proves("max_drawdown_pct")
def test_max_drawdown_pct_decides_whether_a_300_quote_loss_halts(tmp_path: Path) -> None:
    def state_after_loss(pct: str) -> TradingState:
        gate = RiskGate(settings(tmp_path, max_drawdown_quote=D("5000"), max_drawdown_pct=D(pct)))
        gate.update_equity(0, D("10000"))
        gate.update_equity(60, D("9700"))
        return gate.state

    assert state_after_loss("5") is TradingState.ACTIVE
    assert state_after_loss("2") is TradingState.HALTED


@proves("min_liquidation_distance_pct")
def test_min_liquidation_distance_decides_whether_a_10x_leg_is_reduced(tmp_path: Path) -> None:
    def reductions(pct: str) -> list[Any]:
        return RiskGate(settings(tmp_path, min_liquidation_distance_pct=D(pct))).check_positions(0, [btc_leg()])

    assert reductions("5") == []
    assert len(reductions("15")) == 1 and 0 < reductions("15")[0].fraction < 1


@proves("max_errors_per_window")
def test_max_errors_per_window_decides_whether_three_errors_halt(tmp_path: Path) -> None:
    def state_after_three(limit: int) -> TradingState:
        gate = RiskGate(settings(tmp_path, max_errors_per_window=limit))
        for ts in (0, 10, 20):
            gate.record_error(ts, "order_failed", "rejected")
        return gate.state

    assert state_after_three(5) is TradingState.ACTIVE
    assert state_after_three(3) is TradingState.HALTED


@proves("error_window_s")
def test_error_window_decides_which_errors_count_together(tmp_path: Path) -> None:
    def state_after_spread_errors(window: int) -> TradingState:
        gate = RiskGate(settings(tmp_path, max_errors_per_window=3, error_window_s=window))
        for ts in (0, 100, 200):
            gate.record_error(ts, "order_failed", "rejected")
        return gate.state

    assert state_after_spread_errors(150) is TradingState.ACTIVE
    assert state_after_spread_errors(300) is TradingState.HALTED


@proves("single_leg_timeout_s")
def test_single_leg_timeout_decides_when_a_lone_leg_is_unwound(tmp_path: Path) -> None:
    def unwinds(timeout: int) -> list[Any]:
        return RiskGate(settings(tmp_path, single_leg_timeout_s=timeout)).check_single_leg(60, [("p1", 0)])

    assert unwinds(120) == []
    assert [a.pair_id for a in unwinds(30)] == ["p1"]


# --- metrics and state ------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@proves("prometheus_port")
def test_prometheus_port_serves_the_metrics_only_when_set(tmp_path: Path) -> None:
    off, _ = ticked(settings(tmp_path, prometheus_port=0))
    port = _free_port()
    on, _ = ticked(settings(tmp_path, prometheus_port=port))
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    finally:
        on.on_stop()

    assert off.prometheus is None
    assert "funding_arb_trading_state" in body


@proves("metrics_export_path")
def test_metrics_export_path_is_where_the_snapshot_is_written(tmp_path: Path) -> None:
    off, _ = ticked(settings(tmp_path, metrics_export_path=""))
    assert off.exporter is None and not (tmp_path / "m").exists()

    ticked(settings(tmp_path, metrics_export_path=str(tmp_path / "m" / "metrics.json")))
    assert json.loads((tmp_path / "m" / "metrics.json").read_text())["ts"] == 1000.0


@proves("metrics_export_interval_s")
def test_metrics_export_interval_decides_how_often_the_snapshot_is_rewritten(tmp_path: Path) -> None:
    def last_exported_ts(interval: int) -> float:
        path = tmp_path / f"every_{interval}.json"
        ticked(settings(tmp_path, metrics_export_path=str(path), metrics_export_interval_s=interval),
               times=(1000.0, 1010.0, 1020.0, 1030.0))
        return float(json.loads(path.read_text())["ts"])

    assert last_exported_ts(10) == 1030.0
    assert last_exported_ts(100) == 1000.0


@proves("state_file")
def test_state_file_is_where_the_pairs_are_persisted(tmp_path: Path) -> None:
    for name in ("a/state.json", "b/other.json"):
        runtime, _ = ticked(settings(tmp_path, state_file=str(tmp_path / name)))
        runtime.on_stop()

    assert json.loads((tmp_path / "a" / "state.json").read_text())["pairs"] == []
    assert json.loads((tmp_path / "b" / "other.json").read_text())["pairs"] == []
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.json")) == [
        "a/state.json", "b/other.json"]
