"""shell/leverage_control.py without venues: which leverage the margin estimate assumes, and what a start does."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from hummingbot.core.data_type.common import PositionMode

from strategies.funding_arbitrage.core.config import FundingArbSettings
from strategies.funding_arbitrage.shell.runtime import FundingArbRuntime
from strategies.funding_arbitrage.shell.state import Leg, PairRecord, PairState

D = Decimal
BINANCE, BYBIT = "binance_perpetual", "bybit_perpetual"
PAIR = "BTC-USDT"


class Connector:
    """What the control reads of a perp connector: `get_leverage` (None: unreadable)."""

    def __init__(self, leverage: int | None) -> None:
        self.leverage = leverage

    def get_leverage(self, trading_pair: str) -> int:
        if self.leverage is None:
            raise RuntimeError("not readable")
        return self.leverage


class Shell:
    def __init__(self, connectors: dict[str, Any]) -> None:
        self.connectors = connectors
        self.calls: list[tuple[Any, ...]] = []

    def set_position_mode(self, connector: str, mode: PositionMode) -> None:
        pass

    def set_leverage(self, connector: str, trading_pair: str, leverage: int) -> None:
        self.calls.append((connector, trading_pair, leverage))


def runtime(tmp_path: Path, mode: str, connectors: dict[str, Any] | None = None) -> tuple[FundingArbRuntime, Shell]:
    s = FundingArbSettings(
        perp_connectors=[BINANCE, BYBIT],
        tokens=["BTC"],
        quote_assets={BINANCE: "USDT", BYBIT: "USDT"},
        leverage={BINANCE: 5, BYBIT: 5},
        leverage_mode=mode,  # type: ignore[arg-type]
        prometheus_port=0,
        metrics_export_path="",
        state_file=str(tmp_path / "state" / "state.json"),
    )
    shell = Shell(connectors or {})
    return FundingArbRuntime(shell, s), shell


def held(rt: FundingArbRuntime) -> None:
    long = Leg(BYBIT, PAIR, "perp", "long", D("0.1"), D(6000), target_base=D("0.1"))
    short = Leg(BINANCE, PAIR, "perp", "short", D("-0.1"), D(6000), target_base=D("0.1"))
    rt.store.records["p1"] = PairRecord("p1", "BTC", long, short, PairState.HEDGED, 0.0, 0.0)


def test_fixed_mode_assumes_the_configured_leverage_and_sets_nothing_itself(tmp_path: Path) -> None:
    rt, shell = runtime(tmp_path, "fixed", {BINANCE: Connector(2)})
    rt.leverage_ctl.start()
    rt.leverage_ctl.plan(0.0)

    assert rt.leverage_ctl.leverage_of(BINANCE, PAIR) == 5
    assert shell.calls == [] and rt.engine.market_leverage == {}


def test_margin_estimate_assumes_the_higher_of_asked_and_shown(tmp_path: Path) -> None:
    venue = Connector(5)
    rt, _ = runtime(tmp_path, "volatility", {BINANCE: venue})
    ctl = rt.leverage_ctl
    ctl.current[(BINANCE, PAIR)] = 3  # asked for 3x, the venue still shows 5x: not confirmed

    assert ctl.leverage_of(BINANCE, PAIR) == 5
    venue.leverage = 3  # confirmed
    assert ctl.leverage_of(BINANCE, PAIR) == 3
    venue.leverage = None  # unreadable: what was asked
    assert ctl.leverage_of(BINANCE, PAIR) == 3
    assert ctl.leverage_of(BYBIT, PAIR) == 5  # no connector and nothing asked: the configured maximum


def test_start_sets_free_markets_to_1x_and_assumes_held_ones_at_the_maximum(tmp_path: Path) -> None:
    rt, shell = runtime(tmp_path, "volatility")
    held(rt)
    rt.store.records["p1"].short = Leg(BINANCE, PAIR, "perp", "short", D("-0.1"), D(6000), target_base=D("0.1"))
    rt.store.records["p1"].long = Leg(BYBIT, "ETH-USDT", "perp", "long", D("1"), D(2000), target_base=D("1"))
    rt.leverage_ctl.start()

    assert shell.calls == [(BYBIT, PAIR, 1)]  # binance BTC holds a leg: left as the venue has it
    assert rt.leverage_ctl.leverage_of(BINANCE, PAIR) == 5


def test_unknown_volatility_lowers_a_held_market_at_the_first_plan(tmp_path: Path) -> None:
    rt, shell = runtime(tmp_path, "volatility")
    held(rt)
    rt.leverage_ctl.start()
    rt.leverage_ctl.plan(0.0)
    events = [e for e in rt.metrics.snapshot().get("events", []) if e["name"] == "leverage_lowered"]

    assert (BINANCE, PAIR, 1) in shell.calls and (BYBIT, PAIR, 1) in shell.calls
    assert rt.leverage_ctl.choices[(BINANCE, PAIR)].sigma_horizon_pct is None  # unknown, never 0
    assert len(events) == 2
    assert rt.engine.market_leverage == {(BINANCE, PAIR): D(1), (BYBIT, PAIR): D(1)}
