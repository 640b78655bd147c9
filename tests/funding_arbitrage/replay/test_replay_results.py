"""Tests of replay/results.py: a run's accounting (fees, slippage, basis at mid, drawdown, APR, invariant)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategies.funding_arbitrage.replay.results import (
    EquityPoint,
    EventKind,
    InvariantError,
    PairRow,
    PositionAction,
    ReplayReport,
    RunEvent,
    RunResult,
    Side,
    Trade,
    apr_pct,
    basis_pnl_from_trades,
    build_run_result,
    check_invariant,
    max_drawdown_quote,
    pair_key,
)

BN, BY = "sim_binance_perpetual", "sim_bybit_perpetual"


def _trade(ts: float, connector: str, side: str, amount: str, price: str, mid: str, fee: str = "0") -> Trade:
    return Trade(
        ts, "BTC", connector, "BTC-USDT", Side(side), D(amount), D(price), D(mid), D(fee), PositionAction.OPEN, "test"
    )


def _run(**overrides: object) -> RunResult:
    fields: dict[str, object] = {
        "name": "baseline",
        "capital_quote": D(1000),
        "net_pnl_quote": D(4),
        "funding_pnl_quote": D(12),
        "fees_quote": D(4),
        "slippage_quote": D(1),
        "borrow_quote": D(0),
        "basis_pnl_quote": D(-3),
        "max_drawdown_quote": D(0),
        "apr_pct": None,
        "pairs_opened": 1,
        "liquidations": 0,
        "max_hedge_gap_pct": None,
        "unhedged_seconds": None,
    }
    fields.update(overrides)
    return RunResult(**fields)  # type: ignore[arg-type]


def test_trade_slippage_is_a_cost_on_both_sides() -> None:
    buy = _trade(0, BN, "BUY", "2", "101", "100")
    sell = _trade(0, BN, "SELL", "2", "99", "100")

    assert buy.slippage_quote == D(2)
    assert sell.slippage_quote == D(2)
    assert buy.side is Side.BUY


def test_trade_rejects_float_money_and_non_positive_amounts() -> None:
    with pytest.raises(TypeError, match="Decimal"):
        Trade(0, "BTC", BN, "BTC-USDT", "BUY", 1.0, D(1), D(1), D(0), "OPEN", "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        _trade(0, BN, "BUY", "0", "1", "1")


def test_basis_pnl_from_trades_values_fills_at_mid_and_open_positions_at_final_mid() -> None:
    trades = [_trade(0, BN, "BUY", "1", "100.5", "100"), _trade(0, BY, "SELL", "1", "102.5", "103")]

    basis = basis_pnl_from_trades(trades, {(BN, "BTC-USDT"): D(110), (BY, "BTC-USDT"): D(112)})

    assert basis == D(1)  # (−100 + 110) + (103 − 112)


def test_basis_pnl_from_trades_refuses_an_open_position_without_a_final_mid() -> None:
    with pytest.raises(ValueError, match="final_mids"):
        basis_pnl_from_trades([_trade(0, BN, "BUY", "1", "100", "100")], {})


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([BN, BY]),
            st.sampled_from(["BUY", "SELL"]),
            st.integers(1, 50),
            st.integers(9_000, 11_000),
            st.integers(-30, 30),
        ),
        min_size=1,
        max_size=12,
    ),
    st.integers(9_000, 11_000),
    st.integers(9_000, 11_000),
)
def test_price_pnl_at_fill_prices_equals_basis_minus_slippage(fills, final_bn, final_by) -> None:  # type: ignore[no-untyped-def]
    trades = [
        _trade(i, c, side, str(D(n) / 100), str(D(mid + off) / 10), str(D(mid) / 10))
        for i, (c, side, n, mid, off) in enumerate(fills)
    ]
    finals = {(BN, "BTC-USDT"): D(final_bn) / 10, (BY, "BTC-USDT"): D(final_by) / 10}
    position: dict[str, D] = {}
    cash = D(0)
    for t in trades:
        cash -= t.signed_base * t.price
        position[t.connector] = position.get(t.connector, D(0)) + t.signed_base
    realised = cash + sum(amount * finals[(c, "BTC-USDT")] for c, amount in position.items())

    basis = basis_pnl_from_trades(trades, finals)

    assert realised == basis - sum(t.slippage_quote for t in trades)


def test_max_drawdown_is_the_largest_fall_from_a_running_peak() -> None:
    curve = [EquityPoint(i, D(v)) for i, v in enumerate([100, 110, 95, 120, 118])]

    assert max_drawdown_quote(curve) == D(15)
    assert max_drawdown_quote([EquityPoint(0, D(1)), EquityPoint(1, D(2))]) == D(0)


def test_apr_is_simple_annualised_and_unknown_for_an_empty_period() -> None:
    assert apr_pct(D(50), D(10_000), 73 * 86400) == D("2.5")
    assert apr_pct(D(50), D(10_000), 0) is None


def test_invariant_holds_for_the_docstring_example_and_fails_when_books_do_not_balance() -> None:
    check_invariant(_run())
    with pytest.raises(InvariantError, match="gap 1"):
        check_invariant(_run(net_pnl_quote=D(5)))


def test_invariant_also_checks_each_pair_row() -> None:
    row = PairRow("BTC binance/bybit", "BTC", 0, 10, D(12), D(4), D(1), D(-3), D(9), "take_profit")

    with pytest.raises(InvariantError, match="pair BTC binance/bybit"):
        check_invariant(_run(pairs=(row,)))


def test_build_run_result_derives_costs_from_fills_and_checks_the_books() -> None:
    trades = [_trade(10, BN, "BUY", "1", "101", "100", "0.05"), _trade(10, BY, "SELL", "1", "99", "100", "0.05")]
    # funding 3, basis at final mids (+5 − 5) = 0, fees 0.1, slippage 2 -> net 0.9
    result = build_run_result(
        "funding_arbitrage",
        capital_quote=D(1000),
        equity=[(20, D("1000.9")), (0, D(1000)), (10, D("997.9"))],
        trades=trades,
        funding_pnl_quote=D(3),
        borrow_quote=D(0),
        final_mids={(BN, "BTC-USDT"): D(105), (BY, "BTC-USDT"): D(105)},
        period_s=20,
        pairs_opened=1,
        liquidations=0,
        max_hedge_gap_pct=D(0),
        unhedged_seconds=D(0),
    )

    assert (result.fees_quote, result.slippage_quote, result.basis_pnl_quote) == (D("0.1"), D(2), D(0))
    assert result.net_pnl_quote == D("0.9")
    assert [p.ts for p in result.equity] == [0, 10, 20]
    assert result.max_drawdown_quote == D("2.1")
    with pytest.raises(InvariantError):
        build_run_result(
            "funding_arbitrage",
            capital_quote=D(1000),
            equity=[(0, D(1000)), (20, D(1005))],
            trades=trades,
            funding_pnl_quote=D(3),
            borrow_quote=D(0),
            final_mids={(BN, "BTC-USDT"): D(105), (BY, "BTC-USDT"): D(105)},
            period_s=20,
            pairs_opened=1,
            liquidations=0,
            max_hedge_gap_pct=None,
            unhedged_seconds=None,
        )


def test_run_result_rejects_unknown_names_and_unsorted_equity() -> None:
    with pytest.raises(ValueError, match="name"):
        _run(name="other")
    with pytest.raises(ValueError, match="sorted"):
        _run(equity=(EquityPoint(2, D(1)), EquityPoint(1, D(1))))


def test_events_take_known_kinds_only() -> None:
    assert RunEvent(0, "halt", "x").kind is EventKind.HALT  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        RunEvent(0, "coffee_break", "x")  # type: ignore[arg-type]


def test_pair_key_names_long_leg_first_and_marks_spot() -> None:
    assert pair_key("BTC", BN, BY) == "BTC binance/bybit"
    assert pair_key("ETH", "binance", "sim_hyperliquid_perpetual") == "ETH binance-spot/hyperliquid"


def test_replay_report_checks_period_and_run_names() -> None:
    with pytest.raises(ValueError, match="start"):
        ReplayReport(data={}, period={"end": "x"}, runs={}, sim_seconds=D(1), wall_seconds=D(1))
    with pytest.raises(ValueError, match="holds a run named"):
        ReplayReport(
            data={}, period={"start": "a", "end": "b"}, runs={"oracle": _run()}, sim_seconds=D(1), wall_seconds=D(1)
        )
    report = ReplayReport(data={}, period={"start": "a", "end": "b"}, runs={}, sim_seconds=3600, wall_seconds=0.25)
    assert report.wall_seconds == D("0.25")
