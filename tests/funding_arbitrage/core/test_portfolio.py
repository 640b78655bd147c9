"""Account equity counts every leg: a spot carry entry moves equity by its costs, not by its notional."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from strategies.funding_arbitrage.core.config import FundingArbSettings
from strategies.funding_arbitrage.core.portfolio import account_equity, drawdown_limit_quote
from strategies.funding_arbitrage.core.risk import RiskGate, TradingState
from strategies.funding_arbitrage.core.snapshots import PositionSnapshot

SPOT, PERP = "binance", "bybit_perpetual"
KEY = (SPOT, "BTC-USDT")


def _equity(spot_quote: D, base: D, mid: D, perp_quote: D, upnl: D) -> D | None:
    pos = [PositionSnapshot(PERP, "BTC-USDT", -base, mid, upnl, D(2))] if base else []
    return account_equity([SPOT, PERP], {SPOT: spot_quote, PERP: perp_quote}, {KEY: base}, {KEY: mid}, pos)


@settings(max_examples=200, deadline=None)
@given(
    mid=st.decimals(D(100), D(100000), places=2),
    amount=st.decimals(D("0.001"), D(10), places=3),
    slip_bps=st.decimals(D(0), D(50), places=1),
    fee_bps=st.decimals(D(0), D(20), places=1),
)
def test_a_carry_entry_changes_equity_by_fees_and_slippage_only(mid: D, amount: D, slip_bps: D, fee_bps: D) -> None:
    before = _equity(D(5000), D(0), mid, D(5000), D(0))
    buy = mid * (1 + slip_bps / 10000)  # spot bought above mid, perp sold below it
    sell = mid * (1 - slip_bps / 10000)
    spot_fee, perp_fee = buy * amount * fee_bps / 10000, sell * amount * fee_bps / 10000
    upnl = (sell - mid) * amount  # short marked at mid right after the fill
    after = _equity(D(5000) - buy * amount - spot_fee, amount, mid, D(5000) - perp_fee, upnl)

    assert before is not None and after is not None
    costs = spot_fee + perp_fee + 2 * (buy - mid) * amount
    assert abs((before - after) - costs) <= D("1e-12")


@settings(max_examples=200, deadline=None)
@given(
    mid=st.decimals(D(100), D(100000), places=2),
    move_pct=st.decimals(D(-30), D(30), places=2),
    amount=st.decimals(D("0.001"), D(10), places=3),
)
def test_a_hedged_carry_is_flat_in_equity_when_the_price_moves(mid: D, move_pct: D, amount: D) -> None:
    new = mid * (1 + move_pct / 100)
    at_entry = _equity(D(1000), amount, mid, D(5000), D(0))
    moved = _equity(D(1000), amount, new, D(5000), (mid - new) * amount)

    assert at_entry is not None and moved is not None
    assert abs(moved - at_entry) <= D("1e-12")


def test_unknown_balance_or_mid_of_a_held_spot_asset_makes_equity_unknown() -> None:
    assert account_equity([SPOT, PERP], {SPOT: D(1)}, {}, {}, []) is None
    assert account_equity([SPOT, PERP], {SPOT: D(1), PERP: D(1)}, {KEY: D(1)}, {KEY: None}, []) is None
    assert account_equity([SPOT, PERP], {SPOT: D(1), PERP: D(1)}, {KEY: D(0)}, {KEY: None}, []) == D(2)


def _settings(**kw: object) -> FundingArbSettings:
    base: dict[str, object] = {
        "perp_connectors": ["binance_perpetual", "bybit_perpetual"],
        "quote_assets": {"binance_perpetual": "USDT", "bybit_perpetual": "USDT"},
        "leverage": {"binance_perpetual": 2, "bybit_perpetual": 2},
        "max_total_exposure_quote": D(3000),
        "max_token_exposure_quote": D(3000),
    }
    base.update(kw)
    return FundingArbSettings(**base)  # type: ignore[arg-type]


def test_the_drawdown_limit_is_the_tighter_of_quote_and_percent_of_capital() -> None:
    assert drawdown_limit_quote(_settings(max_drawdown_quote=D(500), max_drawdown_pct=D(2))) == D(200)
    assert drawdown_limit_quote(_settings(max_drawdown_quote=D(100), max_drawdown_pct=D(2))) == D(100)


def test_a_drawdown_in_percent_of_capital_halts_trading() -> None:
    gate = RiskGate(_settings(max_drawdown_quote=D(5000), max_drawdown_pct=D(3)))
    gate.update_equity(0.0, D(10000))
    assert gate.update_equity(1.0, D(9701)) is None and gate.state is not TradingState.HALTED
    assert gate.update_equity(2.0, D(9700)) is not None
    assert gate.state is TradingState.HALTED
