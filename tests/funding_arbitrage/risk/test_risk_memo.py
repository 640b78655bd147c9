"""The risk gate remembers each leg's liquidation price; any change to the position recomputes it at once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from test_risk import ROOT, THRESHOLD, long_btc, make_gate

from strategies.funding_arbitrage.core.margin import MarginBrackets, default_brackets_path, estimate_liquidation_price
from strategies.funding_arbitrage.core.risk import LegReport, LegRisk, RiskGate

D = Decimal


@pytest.fixture(scope="module")
def brackets() -> MarginBrackets:
    return MarginBrackets.load(default_brackets_path(ROOT))


def _liq(gate: RiskGate, leg: LegRisk) -> LegReport:
    gate.check_positions(0, [leg])
    [report] = gate.leg_reports
    return report


def test_a_leg_whose_margin_or_size_changed_gets_a_fresh_liquidation_price_and_reduction(
    brackets: MarginBrackets,
) -> None:
    gate = make_gate(brackets)
    table = brackets.resolve("binance_perpetual", "BTC", "USDT")
    far = _liq(gate, long_btc(leverage="3", mark="60000"))
    moved = _liq(gate, long_btc(leverage="3", mark="50000"))  # same position, mark moved: same liquidation price
    thin = long_btc(leverage="20", mark="60000", wallet_margin_quote=D("3000"))  # less margin: nearer

    assert moved.liquidation_price == far.liquidation_price and moved.distance_pct < far.distance_pct
    report = _liq(gate, thin)
    assert report.liquidation_price == estimate_liquidation_price(D("1"), D("60000"), D("3000"), table)
    assert report.distance_pct is not None and report.distance_pct < THRESHOLD
    assert gate.check_positions(1, [thin])  # and it is reduced on this tick
    half = _liq(gate, long_btc(amount="0.5", leverage="20", mark="60000", wallet_margin_quote=D("3000")))
    assert half.liquidation_price == estimate_liquidation_price(D("0.5"), D("60000"), D("3000"), table)
