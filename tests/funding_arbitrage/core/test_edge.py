"""edge.py: funding over the horizon, decomposition, break-even, verdicts, EdgeTracker."""

from __future__ import annotations

from decimal import Decimal

from edge_builders import BINANCE, BYBIT, HOUR, SPOT, T0, book, carry_settings, perp, settings, spot, tick
from hypothesis import given
from hypothesis import strategies as st

from strategies.funding_arbitrage.core.candidates import EngineParams, TickScratch, evaluate_pair
from strategies.funding_arbitrage.core.decisions import EdgeEngine
from strategies.funding_arbitrage.core.edge import (
    EdgeComponents,
    EdgeTracker,
    LegFunding,
    OpportunityKind,
    break_even_hours,
    funding_over_horizon,
    verdict,
)
from strategies.funding_arbitrage.core.funding import IntervalInfo, IntervalSource
from strategies.funding_arbitrage.core.reasons import Reason

D = Decimal
RATES = st.decimals(min_value=D("-0.003"), max_value=D("0.003"), places=7)
AMOUNTS = st.decimals(min_value=D("0.001"), max_value=D("50"), places=3)
PRICES = st.decimals(min_value=D("0.5"), max_value=D("100000"), places=2)


def lf(connector: str, rate: Decimal, hours: int, mark: Decimal) -> LegFunding:
    return LegFunding(
        connector,
        "BTC-USDT",
        rate,
        IntervalInfo(hours * HOUR, IntervalSource.OBSERVED),
        rate / hours,
        int(T0),
        mark,
    )


@given(RATES, RATES, st.sampled_from([1, 4, 8]), st.sampled_from([1, 4, 8]), AMOUNTS, AMOUNTS, PRICES, PRICES)
def test_swapping_legs_negates_the_funding_edge(
    ra: Decimal, rb: Decimal, ha: int, hb: int, qa: Decimal, qb: Decimal, pa: Decimal, pb: Decimal
) -> None:
    a, b = lf(BINANCE, ra, ha, pa), lf(BYBIT, rb, hb, pb)

    forward = funding_over_horizon(a, b, qa, qb, D("72"))
    swapped = funding_over_horizon(b, a, qb, qa, D("72"))

    assert forward == -swapped


def test_funding_over_horizon_perp_perp_and_carry() -> None:
    long, short = lf(BINANCE, D("0.0008"), 8, D("100")), lf(BYBIT, D("0.0004"), 1, D("100"))

    perp_perp = funding_over_horizon(long, short, D("10"), D("10"), D("72"))
    carry = funding_over_horizon(None, short, D("10"), D("10"), D("72"))

    assert perp_perp == (D("0.0004") - D("0.0001")) * 72 * 1000  # (short - long rate/h) * h * notional
    assert carry == D("0.0004") * 72 * 1000  # the spot leg pays none


def test_break_even_and_verdict_follow_the_docstring_example() -> None:
    comps = EdgeComponents(D("5.76"), D("0"), D("1"), D("1"), D("0.2"), D("0.2"), D("0"))

    assert comps.net_quote == D("3.36")
    assert break_even_hours(comps, D("72")) == D("30")
    assert verdict(D("0.336"), D("30"), D("0.10"), D("48"))[0] is Reason.ACCEPTED
    assert verdict(D("0.336"), D("30"), D("0.40"), D("48"))[0] is Reason.EDGE_BELOW_MIN
    assert verdict(D("0.336"), D("30"), D("0.10"), D("24"))[0] is Reason.BREAK_EVEN_TOO_LONG
    assert verdict(D("-1"), None, D("0.10"), D("48"))[0] is Reason.NO_BREAK_EVEN


def test_break_even_is_zero_when_the_basis_pays_the_costs_and_none_without_carry() -> None:
    paid_by_basis = EdgeComponents(D("1"), D("0"), D("1"), D("1"), D("0"), D("0"), D("3"))
    no_carry = EdgeComponents(D("-1"), D("0"), D("1"), D("1"), D("0"), D("0"), D("0"))

    assert break_even_hours(paid_by_basis, D("72")) == 0
    assert break_even_hours(no_carry, D("72")) is None


def test_edge_result_components_add_up_to_the_net_edge() -> None:
    engine = EdgeEngine(settings(exit_basis_pct=D("0.01")))
    decision = engine.evaluate(tick(T0, perp(BINANCE, "0.0001", mid="60000"), perp(BYBIT, "0.001", mid="60030")))

    r = decision.candidates[0]
    c = r.components
    assert c is not None and r.size is not None and r.net_edge_quote is not None and r.net_edge_pct is not None
    assert r.net_edge_quote == (
        c.funding_quote
        - c.borrow_quote
        - c.entry_fees_quote
        - c.exit_fees_quote
        - c.entry_slippage_quote
        - c.exit_slippage_quote
        + c.basis_quote
    )
    assert r.net_edge_pct == r.net_edge_quote / r.size.notional_quote * 100
    assert r.edge_margin_pct == r.net_edge_pct - D("0.10")
    assert r.edge_ratio == r.net_edge_pct / D("0.10")
    # entry basis: (60030 - 60000) / 60015 = 0.04998 %; exit basis assumed 0.01 %
    assert r.entry_basis_pct == D(30) / D(60015) * 100 and r.exit_basis_pct == D("0.01")
    assert c.basis_quote == (D(30) / D(60015) - D("0.0001")) * r.size.notional_quote
    assert r.long_funding is not None and r.long_funding.apr_pct == D("10.95")  # 0.0001 / 8h
    assert r.short_funding.rate_per_hour == D("0.000125") and r.funding_spread_apr_pct == D("98.55")
    assert r.kind is OpportunityKind.PERP_PERP and r.borrow_source == "none"


def test_swapped_legs_in_the_engine_negate_funding_and_keep_fees() -> None:
    engine = EdgeEngine(settings())
    t = tick(T0, perp(BINANCE, "0.0001"), perp(BYBIT, "0.0009"))
    by_token, _ = engine._intake.intake(t, __import__("collections").Counter())
    (a, b), _ = by_token["BTC"]
    scratch = TickScratch(
        T0, {}, EngineParams.from_settings(engine.settings), engine.volatility.hourly_vol_pct, engine.forecaster
    )

    ab = evaluate_pair(scratch, engine._p, "BTC", a, b, D("1000"), 0)
    ba = evaluate_pair(scratch, engine._p, "BTC", b, a, D("1000"), 0)

    assert ab.components is not None and ba.components is not None
    assert ab.components.funding_quote > 0
    # the reversed pair's spread is negative: the forecast gives it no holding period, hence no funding
    assert ba.horizon_hours == 0 and ba.components.funding_quote == 0
    assert ab.components.entry_fees_quote == ba.components.entry_fees_quote
    assert ab.reason is Reason.ACCEPTED and ba.reason is Reason.NO_BREAK_EVEN


def test_carry_earns_the_whole_short_rate_and_ranks_with_perp_perp() -> None:
    engine = EdgeEngine(
        carry_settings(
            perp_connectors=[BINANCE],
            quote_assets={BINANCE: "USDT", SPOT: "USDT"},
            leverage={BINANCE: 3},
            funding_interval_hints_hours={BINANCE: D("8")},
        )
    )

    decision = engine.evaluate(tick(T0, perp(BINANCE, "0.002"), spot()))

    r = decision.candidates[0]
    assert r.kind is OpportunityKind.CARRY and r.long_funding is None
    assert r.components is not None and r.size is not None
    assert r.components.funding_quote == D("0.002") / 8 * 72 * r.size.short_amount_base * D("60000")
    assert r.reason is Reason.ACCEPTED


def test_edge_tracker_keeps_a_bounded_history_with_component_averages() -> None:
    engine = EdgeEngine(settings(), history_per_pair=5)
    for i in range(8):  # alternate a profitable spread and one whose 0.1 % half-spreads eat the funding
        ts = T0 + i
        rate, half = ("0.001", "0.5") if i % 2 else ("0.0006", "60")
        books = [book(c, "BTC-USDT", half_spread=half, ts=ts) for c in (BINANCE, BYBIT)]
        engine.evaluate(
            tick(ts, perp(BINANCE, "0.0001", ts=ts, book_=books[0]), perp(BYBIT, rate, ts=ts, book_=books[1]))
        )

    key = ("BTC", BINANCE, BYBIT)
    summary = engine.tracker.summary(key)
    tracker = EdgeTracker(max_per_pair=1000)

    assert len(engine.tracker.history(key)) == 5
    assert summary is not None and summary.count == 5 and summary.costed == 5
    assert summary.profitable_rate == D("0.6")  # 3 of the last 5 had the wide spread
    assert set(summary.averages_quote) >= {
        "funding_quote",
        "entry_fees_quote",
        "exit_slippage_quote",
        "basis_quote",
    }
    assert tracker.summary(key) is None
