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
        "perp_connectors": [BINANCE, BYBIT],
        "tokens": ["BTC"],
        "quote_assets": {BINANCE: "USDT", BYBIT: "USDT"},
        "leverage": {BINANCE: 3, BYBIT: 3},
        "decision_interval_s": 0,  # a decision every tick (the model's default is 300 s)
        "prometheus_port": 0,
        "metrics_export_path": "",
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
        ("position_mode", BINANCE, PositionMode.ONEWAY),
        ("position_mode", BYBIT, PositionMode.ONEWAY),
    ]
    assert [c[2] for c in hedge.calls if c[0] == "position_mode"] == [PositionMode.HEDGE, PositionMode.HEDGE]


@proves("leverage")
def test_leverage_is_set_per_venue_and_pair_at_the_first_tick(tmp_path: Path) -> None:
    _, three = ticked(settings(tmp_path))
    _, mixed = ticked(settings(tmp_path, leverage={BINANCE: 5, BYBIT: 2}))

    assert [c for c in three.calls if c[0] == "leverage"] == [
        ("leverage", BINANCE, "BTC-USDT", 3),
        ("leverage", BYBIT, "BTC-USDT", 3),
    ]
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
    assert len(reductions("15")) == 1 and reductions("15")[0].fraction == 1  # a cut cannot help: close the pair


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


@proves("prometheus_host")
def test_prometheus_host_is_the_address_the_endpoint_binds(tmp_path: Path) -> None:
    port = _free_port()
    on, _ = ticked(settings(tmp_path, prometheus_port=port, prometheus_host="127.0.0.2"))
    try:
        body = urllib.request.urlopen(f"http://127.0.0.2:{port}/metrics", timeout=5).read().decode()
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5)
    finally:
        on.on_stop()

    assert "funding_arb_trading_state" in body


@proves("alert_repeat_s")
def test_alert_repeat_s_decides_when_a_raised_again_alert_is_sent_again(tmp_path: Path) -> None:
    def sent(repeat_s: int) -> int:
        runtime, _ = ticked(settings(tmp_path, alert_repeat_s=repeat_s))
        for ts in (1000.0, 1100.0):  # raised, cleared, raised again 100 s later
            runtime.metrics.alert("risk.halted", "critical", "halted", ts)
            runtime.metrics.clear_alert("risk.halted", ts + 1)
        return int(runtime.metrics.value("alert_notifications", result="sent"))

    assert sent(60) == 4  # raised, resolved, raised, resolved
    assert sent(3600) == 2  # the second raise is within the repeat time: suppressed (and not resolved)


@proves("metrics_export_path")
def test_metrics_export_path_is_where_the_snapshot_is_written(tmp_path: Path) -> None:
    off, _ = ticked(settings(tmp_path, metrics_export_path=""))
    assert off.exporter is None and not (tmp_path / "m").exists()

    on, _ = ticked(settings(tmp_path, metrics_export_path=str(tmp_path / "m" / "metrics.json")))
    on.exporter.flush()  # written on the exporter's own thread
    assert json.loads((tmp_path / "m" / "metrics.json").read_text())["ts"] == 1000.0


@proves("metrics_export_interval_s")
def test_metrics_export_interval_decides_how_often_the_snapshot_is_rewritten(tmp_path: Path) -> None:
    def last_exported_ts(interval: int) -> float:
        path = tmp_path / f"every_{interval}.json"
        runtime, _ = ticked(
            settings(tmp_path, metrics_export_path=str(path), metrics_export_interval_s=interval),
            times=(1000.0, 1010.0, 1020.0, 1030.0),
        )
        runtime.exporter.flush()  # written on the exporter's own thread
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
        "a/state.json",
        "b/other.json",
    ]


# --- durability: journal, kill switch, daily loss, quote pegs (issue 9) -----------------------------------------
@proves("journal_file")
def test_journal_file_is_where_the_journal_is_kept(tmp_path: Path) -> None:
    beside, _ = ticked(settings(tmp_path))
    chosen, _ = ticked(settings(tmp_path, journal_file=str(tmp_path / "j" / "mine.journal.sqlite")))

    assert beside.journal is not None and beside.journal.path == tmp_path / "state" / "state.journal.sqlite"
    assert chosen.journal is not None and chosen.journal.path == tmp_path / "j" / "mine.journal.sqlite"
    assert chosen.journal.path.exists()


@proves("kill_switch_file")
def test_kill_switch_file_halts_while_it_exists(tmp_path: Path) -> None:
    (tmp_path / "KILL").touch()
    elsewhere, _ = ticked(settings(tmp_path / "a", kill_switch_file=str(tmp_path / "not-there")))
    killed, _ = ticked(settings(tmp_path / "b", kill_switch_file=str(tmp_path / "KILL")))

    # (no venue here sends data, so the first tick's staleness check halts too: the kill switch acts before it)
    assert "kill-switch" not in (elsewhere.risk.halt_reason or "")
    assert killed.risk.state is TradingState.HALTED and "kill-switch" in (killed.risk.halt_reason or "")


@proves("max_daily_loss_pct")
def test_max_daily_loss_pct_decides_whether_a_4_percent_day_halts(tmp_path: Path) -> None:
    def state_after(limit: str) -> TradingState:
        gate = RiskGate(
            settings(
                tmp_path, max_daily_loss_pct=D(limit), max_drawdown_quote=D("5000"), total_capital_quote=D("20000")
            )
        )
        gate.update_equity(0, D("10000"))
        gate.update_equity(3600, D("9600"))
        return gate.state

    assert state_after("5") is TradingState.ACTIVE
    assert state_after("3") is TradingState.HALTED


@proves("decision_interval_s")
def test_decision_interval_decides_on_which_ticks_the_engine_decides(tmp_path: Path) -> None:
    def decided(interval: int) -> list[float]:
        runtime = FundingArbRuntime(RecordingShell(), settings(tmp_path / str(interval), decision_interval_s=interval))
        seen: list[float] = []
        evaluate = runtime.engine.evaluate

        def spy(tick: Any, held: Any = ()) -> Any:
            seen.append(tick.ts)
            return evaluate(tick, held)

        runtime.engine.evaluate = spy  # type: ignore[method-assign]
        for i in range(11):
            runtime.on_tick(1000.0 + 60 * i)
        return seen

    assert decided(0) == [1000.0 + 60 * i for i in range(11)]
    assert decided(300) == [1000.0, 1300.0, 1600.0]


@proves("quote_pegs")
def test_quote_pegs_decide_whether_a_usdt_leg_may_hedge_a_usdc_leg(tmp_path: Path) -> None:
    base = {**settings(tmp_path).model_dump(), "quote_assets": {BINANCE: "USDT", BYBIT: "USDC"}}
    refused, problems = check_settings(base)
    accepted, _ = check_settings({**base, "quote_pegs": ["USDT", "USDC"]})

    assert refused is None and any("quote_assets" in p for p in problems)
    assert accepted is not None


# --- execution (core/lifecycle.py through shell/execution.py) -------------------------------------------------------
def _lifecycle(tmp_path: Path, **overrides: Any) -> Any:
    from strategies.funding_arbitrage.shell.execution import lifecycle_params

    return lifecycle_params(settings(tmp_path, **overrides), D("0.001"), D("0.002"))


def _second_leg_rejects_until_rollback(tmp_path: Path, retries: int) -> int:
    from strategies.funding_arbitrage.core import lifecycle as lc

    book, _ = lc.new_entry(lc.LegSide.SHORT, D("0.01"), _lifecycle(tmp_path, entry_max_retries=retries))
    book, _ = lc.step(book, lc.LegFilled(1, lc.LegSide.SHORT, lc.OrderIntent.OPEN, D("0.01")))
    for n in range(1, 20):
        book, _ = lc.step(book, lc.OrderRejected(1 + n, lc.LegSide.LONG, lc.OrderIntent.OPEN, D("0.01")))
        if book.state is lc.LifecycleState.CLOSING:
            return n
    raise AssertionError("never rolled back")


@proves("entry_max_retries")
def test_entry_max_retries_is_how_often_a_rejected_second_leg_is_resent(tmp_path: Path) -> None:
    assert _second_leg_rejects_until_rollback(tmp_path, 0) == 1
    assert _second_leg_rejects_until_rollback(tmp_path, 3) == 4


def _close_retries(tmp_path: Path, **overrides: Any) -> tuple[list[float], int]:
    """Backoff before each re-send of a close that keeps failing, and at which failure entries halt."""
    from strategies.funding_arbitrage.core import lifecycle as lc

    params = _lifecycle(tmp_path, **overrides)
    book = lc.PairBook(
        lc.LifecycleState.HEDGED, lc.LegSide.SHORT, D("0.01"), params, lc.LegBook(D("0.01")), lc.LegBook(D("0.01"))
    )
    book, _ = lc.step(book, lc.CloseRequested(0, lc.CloseReason.OPERATOR))
    waits, halted_at, ts = [], 0, 0.0
    for n in range(1, 7):
        book, intents = lc.step(book, lc.OrderRejected(ts, lc.LegSide.LONG, lc.OrderIntent.CLOSE, D("0.01")))
        halted_at = halted_at or (n if any(isinstance(i, lc.HaltEntries) for i in intents) else 0)
        assert book.retry_at_ts is not None
        waits.append(book.retry_at_ts - ts)
        ts = book.retry_at_ts
        book, _ = lc.step(book, lc.Tick(ts))
    return waits, halted_at


@proves("close_retry_backoff_s")
def test_close_retry_backoff_is_the_first_wait_before_resending_a_failed_close(tmp_path: Path) -> None:
    assert _close_retries(tmp_path, close_retry_backoff_s=5)[0][:3] == [5, 10, 20]
    assert _close_retries(tmp_path, close_retry_backoff_s=30)[0][:3] == [30, 60, 120]


@proves("close_retry_max_backoff_s")
def test_close_retry_max_backoff_caps_the_wait(tmp_path: Path) -> None:
    assert max(_close_retries(tmp_path, close_retry_max_backoff_s=300)[0]) == 160
    assert max(_close_retries(tmp_path, close_retry_max_backoff_s=20)[0]) == 20


@proves("close_escalate_after")
def test_close_escalate_after_is_the_failure_that_halts_entries(tmp_path: Path) -> None:
    assert _close_retries(tmp_path, close_escalate_after=3)[1] == 3
    assert _close_retries(tmp_path, close_escalate_after=5)[1] == 5


@proves("entry_cooldown_s")
def test_entry_cooldown_blocks_the_token_after_a_failed_entry(tmp_path: Path) -> None:
    def cooling_at(cooldown: int, ts: float) -> bool:
        runtime, _ = ticked(settings(tmp_path, entry_cooldown_s=cooldown))
        runtime._entry_failed(1000.0, "BTC", "entry_rejected")
        return runtime._cooling("BTC", ts)

    assert cooling_at(600, 1500.0) and not cooling_at(300, 1500.0)


@proves("entry_cooldown_max_s")
def test_entry_cooldown_max_caps_the_doubling(tmp_path: Path) -> None:
    def wait_after_failures(cap: int, n: int) -> float:
        runtime, _ = ticked(settings(tmp_path, entry_cooldown_s=300, entry_cooldown_max_s=cap))
        for _ in range(n):
            runtime._entry_failed(1000.0, "BTC", "entry_rejected")
        return runtime.cooldowns["BTC"][0] - 1000.0

    assert wait_after_failures(21600, 4) == 2400 and wait_after_failures(1000, 4) == 1000


class _OrderShell(RecordingShell):
    """A shell that accepts orders (ids in sequence) and records their type."""

    def __init__(self) -> None:
        super().__init__()
        self.current_timestamp = 1000.0

    def buy(self, connector: str, pair: str, amount: Any, order_type: Any, **kwargs: Any) -> str:
        self.calls.append(("buy", connector, amount, order_type))
        return f"id{len(self.calls)}"

    sell = buy

    def cancel(self, connector: str, pair: str, order_id: str) -> None:
        self.calls.append(("cancel", order_id))


def _maker_entry(tmp_path: Path, **overrides: Any) -> tuple[Any, _OrderShell]:
    """An entry through the runtime's own executor, with a book to rest a maker order on."""
    from strategies.funding_arbitrage.core.lifecycle import LegSide
    from strategies.funding_arbitrage.shell.execution import lifecycle_params
    from strategies.funding_arbitrage.shell.state import Leg, PairRecord, PairState

    s = settings(tmp_path, **{"state_file": str(tmp_path / f"{sorted(overrides.items())}.json"), **overrides})
    shell = _OrderShell()
    runtime = FundingArbRuntime(shell, s)
    runtime.executor.hooks.maker_price = lambda connector, pair, is_buy: D("60000")
    record = PairRecord(
        "BTC-1",
        "BTC",
        Leg(BYBIT, "BTC-USDT", "perp", "long", target_base=D("0.01")),
        Leg(BINANCE, "BTC-USDT", "perp", "short", target_base=D("0.01")),
        PairState.OPENING,
        1000,
        1000,
    )
    runtime.executor.open_pair(
        record, 1000.0, lifecycle_params(s, D("0.001"), D("0.001")), LegSide.LONG, runtime.settings.entry_maker_first
    )
    return runtime, shell


@proves("entry_maker_first")
def test_entry_maker_first_rests_the_first_leg_as_a_maker_order(tmp_path: Path) -> None:
    from hummingbot.core.data_type.common import OrderType

    _, taker = _maker_entry(tmp_path, entry_maker_first=False)
    _, maker = _maker_entry(tmp_path, entry_maker_first=True)

    assert [c[3] for c in taker.calls if c[0] == "buy"] == [OrderType.MARKET]
    assert [c[3] for c in maker.calls if c[0] == "buy"] == [OrderType.LIMIT_MAKER]


@proves("entry_maker_timeout_s")
def test_entry_maker_timeout_is_when_the_maker_order_is_cancelled(tmp_path: Path) -> None:
    def cancelled_by(timeout: int, at: float) -> bool:
        runtime, shell = _maker_entry(tmp_path, entry_maker_first=True, entry_maker_timeout_s=timeout)
        for ts in (1060.0, at):
            runtime.executor.tick(ts, {BYBIT: True, BINANCE: True})
        return any(c[0] == "cancel" for c in shell.calls)

    assert cancelled_by(60, 1120.0) and not cancelled_by(600, 1120.0)


def _hedge_tick(tmp_path: Path, net_long: str, **overrides: Any) -> FundingArbRuntime:
    """One hedge check of a settled BTC position held on the venues (no pair of ours), long vs short 0.1."""
    from strategies.funding_arbitrage.core.snapshots import PositionSnapshot, TickSnapshot

    runtime, _ = ticked(settings(tmp_path, **overrides), times=())
    positions = [
        PositionSnapshot(BYBIT, "BTC-USDT", D(net_long), D("60000"), D(0), D(3)),
        PositionSnapshot(BINANCE, "BTC-USDT", D("-0.1"), D("60000"), D(0), D(3)),
    ]
    for ts in (2000.0, 2100.0):
        runtime._check_hedge(ts, TickSnapshot(ts=ts, markets=(), positions=tuple(positions)))
    return runtime


@proves("hedge_gap_tolerance_pct")
def test_hedge_gap_tolerance_decides_whether_a_gap_counts_as_unhedged(tmp_path: Path) -> None:
    assert _hedge_tick(tmp_path, "0.104", hedge_gap_tolerance_pct=D("1")).hedge.unhedged_seconds == 100
    assert _hedge_tick(tmp_path, "0.104", hedge_gap_tolerance_pct=D("5")).hedge.unhedged_seconds == 0


@proves("hedge_gap_halt_pct")
def test_hedge_gap_halt_decides_whether_a_gap_halts_entries(tmp_path: Path) -> None:
    def halted_for_the_gap(limit: str) -> bool:
        runtime = _hedge_tick(tmp_path, "0.15", hedge_gap_halt_pct=D(limit))
        return (runtime.risk.halt_reason or "").startswith("hedge gap")

    assert halted_for_the_gap("20") and not halted_for_the_gap("50")


@proves("hedge_rebalance_cooldown_s")
def test_hedge_rebalance_cooldown_spaces_rebalances_of_a_token(tmp_path: Path) -> None:
    def last_rebalance_ts(cooldown: int) -> float:  # ticks at 2000 and 2100, both beyond tolerance
        return _hedge_tick(tmp_path, "0.11", hedge_rebalance_cooldown_s=cooldown).hedge._rebalanced_ts["BTC"]

    assert last_rebalance_ts(60) == 2100 and last_rebalance_ts(600) == 2000


@proves("orphan_policy")
def test_orphan_policy_decides_what_recovery_does_with_unexplained_legs(tmp_path: Path) -> None:
    from strategies.funding_arbitrage.core.snapshots import PositionSnapshot, TickSnapshot
    from strategies.funding_arbitrage.shell import recovery

    def after(policy: str) -> FundingArbRuntime:
        runtime, _ = ticked(
            settings(tmp_path, orphan_policy=policy, state_file=str(tmp_path / f"{policy}.json")), times=()
        )
        positions = (
            PositionSnapshot(BYBIT, "BTC-USDT", D("0.1"), D("60000"), D(0), D(3)),
            PositionSnapshot(BINANCE, "BTC-USDT", D("-0.1"), D("60000"), D(0), D(3)),
        )
        tick = TickSnapshot(ts=2000.0, markets=(), positions=positions)
        recovery.recover(runtime, 2000.0, tick, recovery.RecoveryReport(2000.0))
        return runtime

    halt, adopt = after("halt"), after("adopt_if_hedged")
    assert (halt.risk.halt_reason or "").startswith("orphan legs") and halt.store.open_records() == []
    assert adopt.risk.halt_reason is None
    assert [(r.long.filled_base, r.short.filled_base) for r in adopt.store.open_records()] == [(D("0.1"), D("-0.1"))]


# --- leverage from volatility (core/leverage.py, shell/leverage_control.py) -------------------------------------
HOUR_S = 3600.0
CALM = [D("60000") * (1 + D("0.002") * (-1) ** i) for i in range(80)]  # +/-0.2 % hourly swings


def vol_runtime(tmp_path: Path, closes: list[Decimal], **overrides: Any) -> tuple[FundingArbRuntime, RecordingShell]:
    """A volatility-mode runtime whose engine has observed `closes` hourly on both BTC perps, then planned."""
    s = settings(tmp_path, leverage={BINANCE: 20, BYBIT: 20}, leverage_mode="volatility", **overrides)
    runtime, shell = ticked(s)
    end = 1000.0 + len(closes) * HOUR_S
    for i, price in enumerate(closes):
        for c in (BINANCE, BYBIT):
            runtime.engine.volatility.observe((c, "BTC-USDT"), end - (len(closes) - i) * HOUR_S, price)
    runtime.leverage_ctl.plan(end)
    return runtime, shell


def chosen(shell: RecordingShell, connector: str = BINANCE) -> int:
    return [c[3] for c in shell.calls if c[0] == "leverage" and c[1] == connector][-1]


@proves("leverage_mode")
def test_leverage_mode_decides_whether_leverage_follows_volatility(tmp_path: Path) -> None:
    _, fixed = ticked(settings(tmp_path, leverage={BINANCE: 20, BYBIT: 20}))
    _, vol = vol_runtime(tmp_path, CALM)
    _, unknown = ticked(settings(tmp_path, leverage={BINANCE: 20, BYBIT: 20}, leverage_mode="volatility"))

    assert chosen(fixed) == 20
    assert [c[3] for c in unknown.calls if c[0] == "leverage"] == [1, 1]  # no history yet: 1x on both venues
    assert 1 < chosen(vol) < 20


@proves("liquidation_distance_vol_multiple")
def test_vol_multiple_decides_the_leverage(tmp_path: Path) -> None:
    _, two = vol_runtime(tmp_path, CALM, liquidation_distance_vol_multiple=D(2))
    _, eight = vol_runtime(tmp_path, CALM, liquidation_distance_vol_multiple=D(8))

    assert chosen(eight) < chosen(two)


@proves("leverage_vol_lookback_hours")
def test_vol_lookback_decides_which_prices_count(tmp_path: Path) -> None:
    wild_tail = CALM[:70] + [D("60000") * (1 + D("0.02") * (-1) ** i) for i in range(10)]  # last 10 h: +/-2 %
    _, long_ = vol_runtime(tmp_path, wild_tail, leverage_vol_lookback_hours=72)
    _, short = vol_runtime(tmp_path, wild_tail, leverage_vol_lookback_hours=8)

    assert chosen(short) < chosen(long_)


@proves("leverage_vol_horizon_hours")
def test_vol_horizon_decides_the_leverage(tmp_path: Path) -> None:
    _, one = vol_runtime(tmp_path, CALM, leverage_vol_horizon_hours=D(1))
    _, week = vol_runtime(tmp_path, CALM, leverage_vol_horizon_hours=D(168))

    assert chosen(week) < chosen(one)


@proves("leverage_recheck_s")
def test_leverage_recheck_decides_when_a_volatility_change_is_acted_on(tmp_path: Path) -> None:
    def after_vol_jump(recheck_s: int) -> int:
        runtime, shell = vol_runtime(tmp_path, CALM, leverage_recheck_s=recheck_s)
        ts = 1000.0 + len(CALM) * HOUR_S
        for i in range(8):  # the next hours swing +/-3 %
            for c in (BINANCE, BYBIT):
                runtime.engine.volatility.observe(
                    (c, "BTC-USDT"), ts + i * HOUR_S, D("60000") * (1 + D("0.03") * (-1) ** i)
                )
        runtime.leverage_ctl.plan(ts + 7 * HOUR_S + 60)
        return chosen(shell)

    assert after_vol_jump(3600) < after_vol_jump(86400)


@proves("leverage_guard_hysteresis_pct")
def test_guard_hysteresis_decides_how_far_above_the_gate_a_held_leg_is_acted_on(tmp_path: Path) -> None:
    from strategies.funding_arbitrage.core.leverage import HeldLeg, guard_leg
    from strategies.funding_arbitrage.core.margin import MarginBrackets, locate_brackets

    table = MarginBrackets.load(locate_brackets()).table("BTCUSDT")
    assert table is not None
    leg = HeldLeg(D("-0.1"), D("60000"), D("60000"), D(6000) / 5, 5, table)  # 5x short: ~19.5 % away

    def acted(hysteresis: str) -> bool:
        runtime, _ = ticked(settings(tmp_path, leverage_mode="volatility", leverage_guard_hysteresis_pct=D(hysteresis)))
        return guard_leg(leg, None, runtime.leverage_ctl.params) is not None

    assert not acted("20")  # threshold 15 % x 1.2 = 18 %
    assert acted("50")  # threshold 22.5 %


# --- logs -------------------------------------------------------------------------------------------------------
@proves("log_format")
def test_log_format_json_makes_every_handler_write_one_json_object_per_line(tmp_path: Path) -> None:
    import io
    import logging

    from strategies.funding_arbitrage.shell.log_format import TEXT, apply_log_format

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logging.getLogger().addHandler(handler)
    log = logging.getLogger("strategies.funding_arbitrage.test_log_format")
    try:
        ticked(settings(tmp_path, log_format="text"), times=())
        log.warning("decision=skip token=BTC")
        ticked(settings(tmp_path, log_format="json"), times=())
        log.warning("decision=skip token=ETH")
    finally:
        apply_log_format(TEXT)
        logging.getLogger().removeHandler(handler)
    text_line, json_line = stream.getvalue().splitlines()[-2:]

    assert text_line == "decision=skip token=BTC"
    assert json.loads(json_line)["fields"] == {"decision": "skip", "token": "ETH"}


# --- caps ---------------------------------------------------------------------------------------------------------
@proves("max_token_exposure_quote")
def test_max_token_exposure_quote_bounds_the_order_amount(tmp_path: Path) -> None:
    """One pair per token (the engine costs no entry of a held token), so the cap per token bounds the one pair's
    size: `order_amount_quote` above it is refused, naming both fields (the engine never sizes above the order)."""
    from pydantic import ValidationError

    settings(tmp_path, order_amount_quote=D("1000"), max_token_exposure_quote=D("1000"))
    with pytest.raises(ValidationError) as refused:
        settings(tmp_path, order_amount_quote=D("1000"), max_token_exposure_quote=D("999"))

    assert "order_amount_quote (1000) must not exceed max_token_exposure_quote (999)" in str(refused.value)
