"""Risk state that survives: daily loss (share of the UTC day's starting equity), halts, peak, errors, pause."""

from __future__ import annotations

import json
from decimal import Decimal as D
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from strategies.funding_arbitrage.core.config import FundingArbSettings
from strategies.funding_arbitrage.core.margin import MarginBrackets
from strategies.funding_arbitrage.core.risk import RiskGate, TradingState, daily_loss_reason, utc_day

BIN, BYB = "binance_perpetual", "bybit_perpetual"
DAY = 86400
DAY1 = 20000 * DAY  # a UTC midnight


def make_gate(**overrides: Any) -> RiskGate:
    fields: dict[str, Any] = {
        "max_drawdown_quote": D(2000),
        "max_daily_loss_pct": D(3),
        "total_capital_quote": D(20000),
        "max_errors_per_window": 3,
        "error_window_s": 300,
    }
    fields.update(overrides)
    return RiskGate(FundingArbSettings(**fields), MarginBrackets({}))


def fresh(gate: RiskGate, ts: float) -> None:
    gate.check_staleness(ts, {BIN: ts, BYB: ts})


def test_daily_loss_trips_at_the_share_of_the_days_starting_equity() -> None:
    gate = make_gate()
    gate.update_equity(DAY1 + 60, D(10000))  # the day's starting equity
    assert gate.update_equity(DAY1 + 3600, D(9701)) is None  # 2.99 % down: trading
    fresh(gate, DAY1 + 3600)
    assert gate.allow_entry(DAY1 + 3600, [BIN, BYB]) is None

    reason = gate.update_equity(DAY1 + 7200, D(9700))  # 3 % down: halt (the drawdown limit is far away)

    assert reason is not None and reason.startswith("daily loss 300")
    assert gate.state is TradingState.HALTED
    assert gate.allow_entry(DAY1 + 7200, [BIN, BYB]).startswith("halted: daily loss")


def test_daily_loss_reference_resets_at_the_utc_day_boundary() -> None:
    gate = make_gate()
    gate.update_equity(DAY1 + 60, D(10000))
    gate.update_equity(DAY1 + DAY - 60, D(9750))  # 2.5 % down on day 1: no halt

    # 00:00 UTC: the new day's reference is the equity then; 2.5 % more from 10000 would be 5 %, from 9750 it is not
    gate.update_equity(DAY1 + DAY + 1, D(9750))
    assert gate.day == utc_day(DAY1 + DAY) and gate.day_start_equity_quote == D(9750)
    assert gate.update_equity(DAY1 + DAY + 3600, D(9510)) is None  # 2.46 % of 9750
    assert gate.state is TradingState.ACTIVE
    assert gate.update_equity(DAY1 + DAY + 7200, D(9457)) is not None  # 3.0 % of 9750 (3.3 % vs yesterday's ref)


def test_a_gain_never_trips_the_daily_loss() -> None:
    assert daily_loss_reason(D(10000), D(12000), D(1)) is None
    assert daily_loss_reason(D(10000), D(9899), D(1)) is not None


@given(
    start=st.decimals(min_value=100, max_value=10**7, places=2),
    loss_pct=st.decimals(min_value=0, max_value=99, places=2),
    limit=st.decimals(min_value="0.01", max_value=50, places=2),
)
def test_daily_loss_fires_exactly_from_the_limit(start: D, loss_pct: D, limit: D) -> None:
    equity = start * (1 - loss_pct / 100)
    assert (daily_loss_reason(start, equity, limit) is not None) == (loss_pct >= limit)


def test_halt_peak_day_start_pause_and_errors_survive_an_export_and_restore() -> None:
    gate = make_gate()
    gate.update_equity(DAY1 + 60, D(10000))
    gate.update_equity(DAY1 + 120, D(10100))
    gate.record_error(DAY1 + 130, "order_rejected", "api_key=abcdef0123456789ABCDEFabcdef0123 rejected")
    gate.pause(DAY1 + 140)
    gate.update_equity(DAY1 + 150, D(9690))  # 3.1 % below the day start: halted
    doc = json.loads(json.dumps(gate.export_state()))  # as the journal stores it

    restarted = make_gate()
    restarted.restore_state(doc)

    assert restarted.state is TradingState.HALTED and restarted.halt_reason == gate.halt_reason
    assert restarted.peak_equity_quote == D(10100) and restarted.day_start_equity_quote == D(10000)
    assert restarted.paused and restarted.error_count(DAY1 + 200) == 1
    assert "abcdef0123456789ABCDEF" not in json.dumps(doc)  # error details are stored redacted
    fresh(restarted, DAY1 + 200)
    assert restarted.allow_entry(DAY1 + 200, [BIN, BYB]).startswith("halted")
    assert "risk.halted" in {a.name for a in restarted.alerts()}

    restarted.update_equity(DAY1 + 300, D(10500))  # a recovery does not clear a halt ...
    assert restarted.state is TradingState.HALTED
    restarted.resume(DAY1 + 400)  # ... only the operator does, and resume also ends the pause
    fresh(restarted, DAY1 + 400)
    assert restarted.allow_entry(DAY1 + 400, [BIN, BYB]) is None and not restarted.paused


def test_the_same_day_restart_keeps_the_days_starting_equity() -> None:
    gate = make_gate()
    gate.update_equity(DAY1 + 60, D(10000))
    gate.update_equity(DAY1 + 600, D(9800))
    restarted = make_gate()
    restarted.restore_state(gate.export_state())

    assert restarted.update_equity(DAY1 + 900, D(9700)) is not None  # 3 % of the ORIGINAL day start
    assert restarted.state is TradingState.HALTED


def test_revision_grows_when_persisted_state_changes() -> None:
    gate = make_gate()
    r0 = gate.revision
    gate.update_equity(DAY1, D(10000))
    r1 = gate.revision
    gate.update_equity(DAY1 + 60, D(9990))  # no new peak, same day: nothing to persist
    assert r1 > r0 and gate.revision == r1
    gate.pause(DAY1 + 61)
    assert gate.revision > r1
