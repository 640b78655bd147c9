"""risk.py: every safety control is made to fire and its consequence checked."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from strategies.funding_arbitrage.core.config import FundingArbSettings
from strategies.funding_arbitrage.core.margin import (
    MarginBrackets,
    default_brackets_path,
    estimate_liquidation_price,
    liquidation_distance_pct,
)
from strategies.funding_arbitrage.core.metrics import Severity
from strategies.funding_arbitrage.core.risk import LegRisk, RiskGate, TradingState

ROOT = Path(__file__).resolve().parents[3]
BIN, BYB, OKX = "binance_perpetual", "bybit_perpetual", "okx_perpetual"
THRESHOLD = D("15")
LOT = D("0.001")


@pytest.fixture(scope="module")
def brackets() -> MarginBrackets:
    return MarginBrackets.load(default_brackets_path(ROOT))


def make_gate(brackets: MarginBrackets, **overrides: Any) -> RiskGate:
    fields: dict[str, Any] = dict(
        perp_connectors=[BIN, BYB, OKX],
        leverage={BIN: 3, BYB: 3, OKX: 3},
        quote_assets={BIN: "USDT", BYB: "USDT", OKX: "USDT"},
        max_drawdown_quote=D("500"),
        min_liquidation_distance_pct=THRESHOLD,
        max_errors_per_window=3,
        error_window_s=300,
        stale_data_s=120,
        single_leg_timeout_s=30,
    )
    fields.update(overrides)
    return RiskGate(FundingArbSettings(**fields), brackets)


@pytest.fixture
def gate(brackets: MarginBrackets) -> RiskGate:
    return make_gate(brackets)


def all_fresh(gate: RiskGate, ts: float) -> None:
    gate.check_staleness(ts, {BIN: ts, BYB: ts, OKX: ts})


def long_btc(amount: str = "1", mark: str = "60000", leverage: str = "10", **kw: Any) -> LegRisk:
    return LegRisk(
        pair_id="p1",
        connector=BIN,
        token="BTC",
        amount=D(amount),
        entry_price=D("60000"),
        mark_price=D(mark),
        leverage=D(leverage),
        lot_size_base=LOT,
        **kw,
    )


def short_btc(amount: str = "-1", mark: str = "60000", leverage: str = "3", connector: str = BYB) -> LegRisk:
    return LegRisk(
        pair_id="p1",
        connector=connector,
        token="BTC",
        amount=D(amount),
        entry_price=D("60000"),
        mark_price=D(mark),
        leverage=D(leverage),
        lot_size_base=LOT,
    )


def distance_after(leg: LegRisk, fraction: D, brackets: MarginBrackets) -> D:
    """Recompute independently: the rest of the leg keeps its entry and its margin pro rata (as the venue does)."""
    assert leg.mark_price is not None
    table = brackets.resolve(leg.connector, leg.token, "USDT")
    rest = leg.amount * (1 - fraction)
    liq = estimate_liquidation_price(rest, leg.entry_price, leg.margin_quote * (1 - fraction), table)
    assert liq is not None
    return liquidation_distance_pct(leg.mark_price, liq, is_long=leg.amount > 0)


def test_gate_loads_the_shared_bracket_table_by_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FUNDING_ARB_HOME", str(tmp_path / "home"))  # a relocated home without ../shared
    gate = RiskGate(FundingArbSettings())
    assert len(gate.brackets) == 907


# --- entry gate basics ---------------------------------------------------------------------------------
def test_every_denial_starts_with_a_bounded_code(gate: RiskGate) -> None:
    codes = set()
    codes.add(gate.allow_entry(0, [BIN]))
    gate.check_staleness(1000, {BIN: 1000, BYB: 1000, OKX: 0})
    codes.add(gate.allow_entry(1000, [OKX]))
    codes.add(gate.allow_entry(1000, ["kraken_perpetual"]))
    gate.check_positions(1000, [long_btc(), short_btc()])
    codes.add(gate.allow_entry(1000, [BIN]))
    for _ in range(3):
        gate.record_error(1000, "venue_error", "HTTP 503")
    codes.add(gate.allow_entry(1000, [BIN]))
    assert {c.split(":", 1)[0] for c in codes if c} == {"unchecked", "stale", "unknown_venue", "reducing", "halted"}


def test_entry_denied_until_data_freshness_has_been_checked(gate: RiskGate) -> None:
    denial = gate.allow_entry(1000, [BIN, BYB])
    assert denial is not None and denial.startswith("unchecked: ")
    all_fresh(gate, 1000)
    assert gate.allow_entry(1000, [BIN, BYB]) is None
    assert gate.allow_entry(1000 + 121, [BIN, BYB]) is not None  # the check itself went stale


# --- drawdown ------------------------------------------------------------------------------------------
def test_drawdown_reaching_limit_halts_and_entry_is_denied_with_the_reason(gate: RiskGate) -> None:
    all_fresh(gate, 30)
    gate.update_equity(10, D("10000"))
    gate.update_equity(20, D("10400"))  # new peak
    reason = gate.update_equity(30, D("9900"))  # 500 below the peak
    assert reason is not None and reason.startswith("drawdown 500")
    assert gate.state is TradingState.HALTED
    assert gate.halt_reason == reason and gate.halted_ts == 30
    denial = gate.allow_entry(30, [BIN, BYB])
    assert denial == f"halted: {reason}"
    assert [a.name for a in gate.alerts() if a.severity is Severity.CRITICAL] == ["risk.halted"]


def test_drawdown_below_limit_keeps_trading(gate: RiskGate) -> None:
    all_fresh(gate, 20)
    gate.update_equity(10, D("10400"))
    assert gate.update_equity(20, D("9900.01")) is None
    assert gate.state is TradingState.ACTIVE and gate.drawdown_quote == D("499.99")


def test_unknown_equity_alerts_without_halting_or_moving_the_peak(gate: RiskGate) -> None:
    gate.update_equity(10, D("10000"))
    assert gate.update_equity(20, None) is None
    assert gate.state is TradingState.ACTIVE and gate.peak_equity_quote == D("10000")
    assert "risk.equity_unknown" in {a.name for a in gate.alerts()}


def test_halt_keeps_positions_cancels_entries_but_still_reduces(gate: RiskGate) -> None:
    gate.update_equity(10, D("10000"))
    gate.update_equity(20, D("9000"))
    report = gate.evaluate(
        30,
        equity_quote=D("9000"),
        last_update_ts_by_venue={BIN: 30, BYB: 30, OKX: 30},
        legs=[long_btc(), short_btc()],
        unpaired_legs=[],
    )
    assert report.state is TradingState.HALTED and report.cancel_entry_orders
    assert [a.pair_id for a in report.reduce_actions] == ["p1"]  # reduce-only actions survive a halt


def test_resume_clears_the_halt_and_restarts_the_peak(gate: RiskGate) -> None:
    gate.update_equity(10, D("10400"))
    gate.update_equity(20, D("9900"))
    assert gate.state is TradingState.HALTED
    gate.resume(25)
    all_fresh(gate, 30)
    assert gate.state is TradingState.ACTIVE and gate.halt_reason is None
    assert gate.update_equity(30, D("9900")) is None  # the acknowledged loss does not re-halt
    assert gate.allow_entry(30, [BIN, BYB]) is None
    assert gate.update_equity(40, D("9400")) is not None  # 500 below the restarted peak


# --- error bursts --------------------------------------------------------------------------------------
def test_error_burst_halts_and_denies_entries(gate: RiskGate) -> None:
    all_fresh(gate, 20)
    assert gate.record_error(0, "order_rejected", "insufficient margin") is None
    assert gate.record_error(10, "venue_error", "HTTP 503") is None
    reason = gate.record_error(20, "order_rejected", "lot size")
    assert reason is not None and reason.startswith("error burst: 3 errors within 300s")
    assert gate.state is TradingState.HALTED
    denial = gate.allow_entry(20, [BIN, BYB])
    assert denial is not None and "error burst" in denial and "lot size" in denial


def test_errors_older_than_the_window_fall_out(gate: RiskGate) -> None:
    gate.record_error(0, "venue_error", "a")
    gate.record_error(100, "venue_error", "b")
    assert gate.record_error(350, "venue_error", "c") is None  # t=0 left the 300 s window
    assert gate.error_count(350) == 2 and gate.state is TradingState.ACTIVE
    assert gate.record_error(360, "venue_error", "d") is not None  # 100, 350, 360
    assert gate.state is TradingState.HALTED


def test_error_details_are_redacted_in_the_halt_reason(brackets: MarginBrackets) -> None:
    gate = make_gate(brackets, max_errors_per_window=1)
    gate.record_error(0, "venue_error", "signature invalid apiKey=FAKEk3y9Qw2Er5Ty8Ui1Op4As7Df0Gh3Jk6Lz9Xc")
    assert gate.halt_reason is not None
    assert "FAKEk3y9Qw2Er5Ty8Ui1Op4As7Df0Gh3Jk6Lz9Xc" not in gate.halt_reason and "***" in gate.halt_reason


# --- stale data ----------------------------------------------------------------------------------------
def test_stale_venue_blocks_entries_on_that_venue_only(gate: RiskGate) -> None:
    stale = gate.check_staleness(1000, {BIN: 990, BYB: 800, OKX: 995})
    assert set(stale) == {BYB}
    assert gate.state is TradingState.ACTIVE
    assert gate.allow_entry(1000, [BIN, OKX]) is None
    assert gate.allow_entry(1000, [BIN, BYB]) == f"stale: {BYB}: data 200s old (stale_data_s=120)"
    alert = next(a for a in gate.alerts() if a.name == f"risk.stale_data.{BYB}")
    assert alert.severity is Severity.WARNING


def test_stale_venue_holding_open_legs_raises_a_critical_alert(gate: RiskGate) -> None:
    gate.check_positions(990, [long_btc(leverage="2"), short_btc(leverage="2")])
    gate.check_staleness(1000, {BIN: 990, BYB: 800, OKX: 995})
    alert = next(a for a in gate.alerts() if a.name == f"risk.stale_data.{BYB}")
    assert alert.severity is Severity.CRITICAL


def test_configured_venue_missing_from_the_data_counts_as_stale(gate: RiskGate) -> None:
    stale = gate.check_staleness(1000, {BIN: 1000, BYB: 1000})
    assert stale == {OKX: "no funding/book data received"}
    assert gate.allow_entry(1000, [BIN, OKX]) == f"stale: {OKX}: no funding/book data received"
    unknown = gate.allow_entry(1000, [BIN, "kraken_perpetual"])
    assert unknown == "unknown_venue: kraken_perpetual was not in the last staleness check"


def test_all_venues_stale_halts_until_resumed(gate: RiskGate) -> None:
    gate.check_staleness(1000, {BIN: 500, BYB: 0.0, OKX: None})
    assert gate.state is TradingState.HALTED
    assert gate.halt_reason is not None and gate.halt_reason.startswith("all venues stale")
    gate.check_staleness(1010, {BIN: 1010, BYB: 1010, OKX: 1010})  # data is back: the halt is latched
    assert gate.state is TradingState.HALTED
    assert gate.allow_entry(1010, [BIN, BYB]) is not None
    gate.resume(1020)
    all_fresh(gate, 1020)
    assert gate.allow_entry(1020, [BIN, BYB]) is None


# --- liquidation distance ------------------------------------------------------------------------------
def test_leg_near_liquidation_closes_the_whole_pair_since_a_cut_cannot_restore_the_distance(
    gate: RiskGate, brackets: MarginBrackets
) -> None:
    # long 1 BTC at 60 000 with 10x: liquidation 54 216.87, 9.64 % away (< 15 %)
    risky, partner = long_btc(), short_btc()
    actions = gate.check_positions(100, [risky, partner])
    assert len(actions) == 1 and actions[0].pair_id == "p1"
    assert actions[0].fraction == 1 and actions[0].closes_pair
    assert "closing the whole pair" in actions[0].reason
    # any partial cut leaves the rest exactly as near (margin released pro rata, same entry)
    for cut in (D("0.1"), D("0.5"), D("0.9")):
        assert distance_after(risky, cut, brackets).quantize(D("0.01")) == D("9.64")
    report = next(r for r in gate.leg_reports if r.connector == BIN)
    assert report.status == "near_liquidation" and report.distance_pct is not None
    assert report.distance_pct.quantize(D("0.01")) == D("9.64") and report.bracket_source == "binance"
    assert gate.state is TradingState.REDUCING
    all_fresh(gate, 100)
    assert gate.allow_entry(100, [BIN, OKX]) == "reducing: pairs ['p1'] are near liquidation"


def test_a_partial_cut_is_not_shown_as_restoring_the_distance(gate: RiskGate) -> None:
    """The old model kept the margin of the largest size with the rest; with the venue's pro-rata release the
    cut leg (its margin now |amount| x entry / leverage) is as near as before, and the gate still closes the pair."""
    gate.check_positions(100, [long_btc(), short_btc()])
    cut = long_btc(amount="0.6", wallet_margin_quote=D("3600"))  # 0.6 x 60 000 / 10: what the venue keeps
    actions = gate.check_positions(110, [cut, short_btc(amount="-0.6")])
    assert [(a.pair_id, a.fraction) for a in actions] == [("p1", 1)]
    assert gate.state is TradingState.REDUCING


def test_reducing_clears_once_the_pair_is_closed(gate: RiskGate) -> None:
    assert gate.check_positions(100, [long_btc(), short_btc()])
    assert gate.check_positions(110, []) == []
    assert gate.state is TradingState.ACTIVE


def test_price_move_against_a_short_on_a_proxy_venue_closes_the_pair(gate: RiskGate, brackets: MarginBrackets) -> None:
    short = short_btc(mark="66000", leverage="5")  # liquidation ~71 713, 8.7 % away
    actions = gate.check_positions(100, [long_btc(mark="66000", leverage="2"), short])
    assert [(a.pair_id, a.fraction) for a in actions] == [("p1", 1)]
    report = next(r for r in gate.leg_reports if r.connector == BYB)
    assert report.bracket_source == "proxy:binance"


def test_a_large_leg_is_cut_into_a_lower_bracket_with_room_to_spare(brackets: MarginBrackets) -> None:
    """Only a lower maintenance bracket makes a partial cut useful; it is sized to 1.2 x the threshold so the
    next tick's small move does not cut again. 5 000 BTC (300M notional: MMR 10 %) at 10.5x: 4.8 % from
    liquidation; kept in the first bracket (MMR 0.4 %) the rest would be 9.2 % away."""
    gate = make_gate(brackets, min_liquidation_distance_pct=D("5"))
    big = LegRisk("p1", BIN, "BTC", D("5000"), D("60000"), D("60000"), D("10.5"), lot_size_base=LOT)
    actions = gate.check_positions(100, [big, short_btc(amount="-5000")])
    assert len(actions) == 1 and 0 < actions[0].fraction < 1
    assert "lower maintenance bracket" in actions[0].reason
    assert distance_after(big, actions[0].fraction, brackets) >= D("6")
    assert distance_after(big, actions[0].fraction - LOT / 5000, brackets) < D("6")  # the smallest such cut


def test_equity_too_small_for_one_lot_closes_the_whole_pair(gate: RiskGate) -> None:
    leg = LegRisk("p1", BIN, "BTC", D("1"), D("60000"), D("54500"), D("10"), lot_size_base=D("1"))
    actions = gate.check_positions(100, [leg, short_btc(mark="54500")])
    assert actions[0].fraction == 1


def test_unknown_liquidation_is_reported_na_and_alerted_not_treated_as_safe(gate: RiskGate) -> None:
    leg = LegRisk(
        "p2", "hyperliquid_perpetual", "kPEPE", D("-100000"), D("0.01"), D("0.02"), D("20"), quote_asset="USD"
    )
    no_mark = LegRisk("p3", BIN, "ETH", D("1"), D("3000"), None, D("3"))
    actions = gate.check_positions(100, [leg, no_mark])
    assert actions == []
    reports = {r.pair_id: r for r in gate.leg_reports}
    assert reports["p2"].status == reports["p3"].status == "unknown"
    assert reports["p2"].liquidation_price is None and reports["p2"].distance_pct is None
    assert "no margin brackets" in reports["p2"].note and "mark price unknown" in reports["p3"].note
    names = {a.name for a in gate.alerts()}
    assert "risk.liquidation_unknown.p2.hyperliquid_perpetual" in names
    assert f"risk.liquidation_unknown.p3.{BIN}" in names


def test_leg_without_quote_asset_uses_the_configured_quote(gate: RiskGate) -> None:
    leg = LegRisk("p1", BIN, "BTC", D("0.1"), D("60000"), D("60000"), D("3"))
    gate.check_positions(100, [leg])
    assert gate.leg_reports[0].bracket_source == "binance" and gate.leg_reports[0].status == "ok"


def test_unleveraged_spot_leg_has_no_liquidation(gate: RiskGate) -> None:
    gate.check_positions(100, [LegRisk("p1", "binance", "BTC", D("1"), D("60000"), D("60000"), D("1"))])
    assert gate.leg_reports[0].status == "spot" and gate.alerts() == []


# --- single-leg timeout --------------------------------------------------------------------------------
def test_single_leg_older_than_timeout_is_unwound_every_tick_and_counted_once(gate: RiskGate) -> None:
    assert gate.check_single_leg(129, [("p1", 100)]) == []
    first = gate.check_single_leg(131, [("p1", 100)])
    assert [(a.pair_id, a.age_s) for a in first] == [("p1", 31)]
    assert "single_leg_timeout_s=30" in first[0].reason
    assert [a.pair_id for a in gate.check_single_leg(132, [("p1", 100)])] == ["p1"]  # until it is gone
    assert gate.error_count(132) == 1
    assert "risk.single_leg.p1" in {a.name for a in gate.alerts()}
    assert gate.check_single_leg(140, []) == []
    assert "risk.single_leg.p1" not in {a.name for a in gate.alerts()}


def test_repeated_single_leg_timeouts_halt_trading(gate: RiskGate) -> None:
    gate.check_single_leg(200, [("p1", 100), ("p2", 110), ("p3", 120)])
    assert gate.state is TradingState.HALTED
    assert gate.halt_reason is not None and "single_leg_timeout" in gate.halt_reason
