"""core/explain.py: every reason a candidate is not entered, the breakdown with N/A for unknown figures, the order."""

from __future__ import annotations

from decimal import Decimal

from strategies.funding_arbitrage.core.edge import EdgeComponents, EdgeResult, OpportunityKind
from strategies.funding_arbitrage.core.explain import EntryGates, explain, nearest
from strategies.funding_arbitrage.core.reasons import Reason
from strategies.funding_arbitrage.core.snapshots import MarketKind

D = Decimal
COMPONENTS = EdgeComponents(D("3"), D("0.5"), D("1"), D("1"), D("0.2"), D("0.3"), D("0.1"))


def _result(reason: Reason, net_pct: str | None = "0.05", margin_pct: str | None = "-0.05", **kw) -> EdgeResult:
    figures = {} if net_pct is None else {"components": COMPONENTS, "net_edge_pct": D(net_pct)}
    if margin_pct is not None and net_pct is not None:
        figures["edge_margin_pct"] = D(margin_pct)
    detail = kw.pop("detail", "detail text")
    figures.update(kw)
    return EdgeResult(
        0.0, "BTC", OpportunityKind.PERP_PERP, "a_perpetual", "BTC-USDT", MarketKind.PERP,
        "b_perpetual", "BTC-USDT", None, None, D("12"), D("72"), D("0.1"), reason, detail, **figures,
    )  # fmt: skip


def test_breakdown_is_the_engine_components_over_the_hold() -> None:
    e = explain(_result(Reason.EDGE_BELOW_MIN), EntryGates(0.0))
    assert (e.funding_quote, e.fees_quote, e.slippage_quote, e.basis_quote, e.borrow_quote) == (
        D("3"), D("2"), D("0.5"), D("0.1"), D("0.5"),
    )  # fmt: skip
    assert e.net_quote == COMPONENTS.net_quote and e.holding_hours == D("72")
    assert e.required_pct == D("0.10")


def test_unknown_figures_stay_none() -> None:
    e = explain(_result(Reason.BOOK_TOO_THIN, net_pct=None), EntryGates(0.0))
    assert e.funding_quote is None and e.net_quote is None and e.net_pct is None and e.break_even_hours is None
    assert e.reasons == ("book_too_thin: detail text",)


def test_below_floor_and_uncertainty_margin_are_told_apart() -> None:
    below = explain(_result(Reason.EDGE_BELOW_MIN, "0.05", "-0.10"), EntryGates(0.0))
    margin = explain(_result(Reason.EDGE_BELOW_MIN, "0.12", "-0.03"), EntryGates(0.0))
    assert below.reasons[0].startswith("below floor: net 0.050% < min 0.1%")
    assert margin.reasons[0].startswith("uncertainty margin: net 0.120% >= min 0.1% but < required 0.150%")


def test_break_even_caps_and_persistence_reasons() -> None:
    be = explain(_result(Reason.BREAK_EVEN_TOO_LONG, break_even_hours=D("812.4")), EntryGates(0.0))
    cap = explain(_result(Reason.TOTAL_CAP), EntryGates(0.0))
    wait = explain(_result(Reason.AWAITING_PERSISTENCE, detail="1/3 consecutive; fine"), EntryGates(0.0))
    assert be.reasons == ("break-even too long: 812h > max_break_even_hours",)
    assert cap.reasons == ("cap (total_cap): detail text",)
    assert wait.reasons == ("persistence: 1/3 consecutive",)


def test_gates_add_halt_held_token_and_cooldown() -> None:
    gates = EntryGates(100.0, "halted: max_drawdown", frozenset({"BTC"}), {"BTC": 160.0})
    e = explain(_result(Reason.ACCEPTED, "0.3", "0.1"), gates)
    assert e.reasons == (
        "halted: max_drawdown",
        "BTC already held (one pair per token)",
        "cooldown after a failed entry: 1m 0s left",
    )
    assert (
        explain(_result(Reason.ACCEPTED, "0.3", "0.1"), EntryGates(200.0, None, frozenset(), {"BTC": 160.0})).reasons
        == ()
    )


def test_nearest_puts_accepted_first_then_smallest_shortfall_then_unknown() -> None:
    far = _result(Reason.EDGE_BELOW_MIN, "-1", "-1.1")
    near = _result(Reason.EDGE_BELOW_MIN, "0.08", "-0.02")
    ok = _result(Reason.ACCEPTED, "0.3", "0.2")
    unknown = _result(Reason.BOOK_TOO_THIN, net_pct=None)
    assert nearest([unknown, far, near, ok], 3) == [ok, near, far]
