"""Work the runtime's tick skips when its inputs did not change still happens on the tick they change.

The resting-pair lifecycle tick (execution), operator commands read on a journal change (controls), the open-order
index (core/orders) and the hedge monitor's calm verdict (core/hedge): each skip is shown to give way at once.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from hummingbot.core.data_type.common import TradeType
from test_execution import Strategy
from test_execution import _hedged as hedged

from strategies.funding_arbitrage.core import lifecycle as lc
from strategies.funding_arbitrage.core.hedge import HedgeMonitor, HeldLeg
from strategies.funding_arbitrage.core.orders import MemoryOrderStore, OrderStatus, OrderTracker, TrackedOrder
from strategies.funding_arbitrage.shell.controls import OperatorControls
from strategies.funding_arbitrage.shell.execution import LegExecutor
from strategies.funding_arbitrage.shell.journal import Journal
from strategies.funding_arbitrage.shell.state import PairRecord, PairState, PairStore

D = Decimal
LOT = D("0.001")


def _hedged(tmp_path: Path) -> tuple[LegExecutor, Strategy, PairRecord]:
    return hedged(tmp_path, "binance_perpetual")


def test_a_resting_hedged_pair_is_not_re_encoded_but_a_late_fill_is_acted_on_the_next_tick(tmp_path: Path) -> None:
    ex, strategy, record = _hedged(tmp_path)
    ex.tick(10, {})
    book = record.book
    ex.tick(70, {})
    ex.tick(130, {})

    assert record.book is book and strategy.orders == []  # resting: no decode, step or encode
    ex.on_fill("o1", "t-late", TradeType.BUY, D("60000"), D("0.005"), D("0"), 140)  # entry order filled more
    ex.tick(190, {})

    assert record.state is PairState.REDUCING  # the gap is rebalanced, as without the skip
    assert [o[0] for o in strategy.orders] == ["sell"] and strategy.orders[0][2] == D("0.005")


def test_an_order_unknown_after_a_disconnect_is_asked_about_although_the_pair_rested(tmp_path: Path) -> None:
    ex, _, record = _hedged(tmp_path)
    ex.tick(10, {"binance_perpetual": True})
    ex.tracker.add(
        TrackedOrder("late", "BTC-1", lc.LegSide.LONG, lc.OrderIntent.OPEN, "binance_perpetual", "BTC-USDT", D("1"), 11)
    )
    ex.tick(20, {"binance_perpetual": False})  # venue down: the working order becomes unknown

    assert ex.tracker.get("late").status is OrderStatus.UNKNOWN
    assert ex.book(record).unknown == frozenset({lc.LegSide.LONG})


def test_open_orders_come_from_the_index_in_tracking_order_and_ended_ones_leave_it() -> None:
    tracker = OrderTracker(MemoryOrderStore())
    for i in range(4):
        leg = lc.LegSide.LONG if i % 2 == 0 else lc.LegSide.SHORT
        tracker.add(TrackedOrder(f"o{i}", f"P{i % 2}", leg, lc.OrderIntent.OPEN, "c", "BTC-USDT", D("1"), i))
    tracker.fill("o0", "t0", D("1"), 5)  # filled in full: done
    tracker.end("o2", OrderStatus.CANCELLED, 6)
    tracker.mark_unknown(7, ["c"])

    def brute(pair_id: str | None = None) -> list[str]:
        return [
            o.client_order_id for o in tracker.all() if not o.status.done and (pair_id is None or o.pair_id == pair_id)
        ]

    assert [o.client_order_id for o in tracker.open_orders()] == brute() == ["o1", "o3"]
    assert [o.client_order_id for o in tracker.open_orders("P1")] == brute("P1")
    assert all(o.status is OrderStatus.UNKNOWN for o in tracker.open_orders())
    assert OrderTracker(MemoryOrderStore()).open_orders() == []


class _Risk:
    def __init__(self) -> None:
        self.paused, self.halt_reason = False, None

    def pause(self, ts: float) -> None:
        self.paused = True

    def halt(self, ts: float, reason: str) -> None:
        self.halt_reason = reason


def _controls(tmp_path: Path) -> tuple[OperatorControls, Journal, Any]:
    journal = Journal(tmp_path / "j.sqlite")
    rt = SimpleNamespace(risk=_Risk(), store=PairStore(None), last_ts=None)
    return OperatorControls(rt, journal, tmp_path / "KILL"), journal, rt


def test_a_command_from_this_connection_after_quiet_polls_is_acted_on_the_next_poll(tmp_path: Path) -> None:
    controls, journal, rt = _controls(tmp_path)
    controls.poll(1)
    controls.poll(2)  # nothing changed: the commands are not read again
    command = journal.add_command(3, "pause", None, "test")
    controls.poll(4)

    assert rt.risk.paused
    assert [c.status for c in journal.commands() if c.id == command] == ["done"]


def test_a_command_from_another_connection_after_quiet_polls_is_acted_on_the_next_poll(tmp_path: Path) -> None:
    controls, _, rt = _controls(tmp_path)
    controls.poll(1)
    controls.poll(2)
    other = Journal(tmp_path / "j.sqlite")  # what `funding-arb ctl` does from its own process
    try:
        other.add_command(3, "kill", None, "ctl")
    finally:
        other.close()
    controls.poll(4)

    assert rt.risk.halt_reason is not None and "kill" in rt.risk.halt_reason


def test_the_kill_switch_file_halts_on_the_first_poll_after_it_appears(tmp_path: Path) -> None:
    controls, _, rt = _controls(tmp_path)
    controls.poll(1)
    (tmp_path / "KILL").touch()
    controls.poll(2)

    assert rt.risk.halt_reason is not None and "kill-switch" in rt.risk.halt_reason


def _legs(long: str, short: str) -> list[HeldLeg]:
    return [HeldLeg("a", "BTC-USDT", "BTC", D(long), LOT), HeldLeg("b", "BTC-USDT", "BTC", -D(short), LOT)]


def test_calm_ticks_skip_the_measure_and_a_gap_after_them_rebalances_and_halts_that_tick() -> None:
    m = HedgeMonitor(D("1"), D("10"), 300)
    calm = m.update(0, _legs("0.010", "0.010"))

    assert m.update(60, _legs("0.010", "0.010")) is calm and m.unchanged(120) is calm
    gap = m.update(180, _legs("0.020", "0.010"))  # the short leg lost half: 50 % gap

    assert gap.rebalance == ("BTC",) and gap.halt_reason is not None
    assert m.unhedged_seconds == 60  # counted from the last (skipped) tick, as when every tick is measured
    assert m.unchanged(240) is None  # not calm: the caller must measure


def test_calm_after_a_gap_is_measured_again_before_it_is_reused() -> None:
    m = HedgeMonitor(D("1"), D("50"), 300)
    m.update(0, _legs("0.012", "0.010"))
    healed = m.update(60, _legs("0.010", "0.010"))

    assert healed.rebalance == () and m.update(120, _legs("0.010", "0.010")) is healed
    assert m.max_gap_pct > 0 and m.unhedged_seconds == 0  # counted on unhedged ticks only (the first has no dt)


def test_a_resting_pair_closed_between_two_ticks_is_forgotten_by_the_resting_skip(tmp_path: Path) -> None:
    ex, _, record = _hedged(tmp_path)
    ex.hooks.venue_amount = lambda connector, pair: D("0.01") if connector == "binance_perpetual" else D("-0.01")
    ex.tick(10, {})
    assert set(ex._resting) == {record.pair_id}  # rested

    ex.close_pair(record, 20, "max_holding")  # after the tick: no lifecycle tick sees it UNWINDING
    ex.on_fill("o3", "t3", TradeType.SELL, D("60000"), D("0.01"), D("0"), 21)
    ex.on_fill("o4", "t4", TradeType.BUY, D("60000"), D("0.01"), D("0"), 22)
    assert record.state is PairState.CLOSED
    assert record.pair_id in ex._resting  # the entry a closed pair left behind ...
    ex.tick(70, {})

    assert ex._resting == {}  # ... is dropped on the next tick
