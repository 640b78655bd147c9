"""costs.py: fees per side and action, slippage both ways, borrow sources."""

from __future__ import annotations

from decimal import Decimal

from edge_builders import BINANCE, BYBIT, SPOT, T0, book, hyperliquid_snapshots
from hypothesis import given, settings
from hypothesis import strategies as st

from strategies.funding_arbitrage.core.costs import (
    BorrowCharge,
    BorrowSource,
    Infeasible,
    LegMarket,
    PairCosts,
    exit_cost,
    pair_costs,
    resolve_borrow_rate,
)
from strategies.funding_arbitrage.core.orderbook import Side, mid_price
from strategies.funding_arbitrage.core.reasons import Reason
from strategies.funding_arbitrage.core.snapshots import BookSnapshot, BorrowQuote, FeeSchedule, MarketKind

D = Decimal
H72 = D("72")
HL = hyperliquid_snapshots(limit=2)


def leg(connector: str, b: BookSnapshot, fees: FeeSchedule, kind: MarketKind = MarketKind.PERP) -> LegMarket:
    return LegMarket(connector, b.trading_pair, kind, b, mid_price(b), fees)


def asym_book(connector: str) -> BookSnapshot:
    """Bids 99 x 1, 98 x 1; asks 101 x 1, 103 x 1 (mid 100)."""
    return BookSnapshot(
        connector,
        "BTC-USDT",
        ((D("99"), D("1")), (D("98"), D("1"))),
        ((D("101"), D("1")), (D("103"), D("1"))),
        T0,
    )


OPEN_CLOSE = FeeSchedule(
    taker_open=D("0.001"), taker_close=D("0.002"), maker_open=D("0"), maker_close=D("0"), source="connector"
)


def test_each_leg_pays_its_own_open_fee_on_entry_and_close_fee_on_exit() -> None:
    costs = pair_costs(
        leg(BINANCE, asym_book(BINANCE), OPEN_CLOSE),
        leg(BYBIT, asym_book(BYBIT), OPEN_CLOSE),
        D("1.5"),
        D("1.5"),
        None,
        H72,
    )

    assert isinstance(costs, PairCosts)
    # long buys 1 @101 + 0.5 @103 = 152.5 on entry and sells 1 @99 + 0.5 @98 = 148 on exit; short the reverse
    assert (costs.long.entry.side, costs.long.exit.side) == (Side.BUY, Side.SELL)
    assert (costs.short.entry.side, costs.short.exit.side) == (Side.SELL, Side.BUY)
    assert costs.long.entry.fee_quote == D("0.001") * D("152.5")
    assert costs.short.entry.fee_quote == D("0.001") * D("148")
    assert costs.long.exit.fee_quote == D("0.002") * D("148")
    assert costs.short.exit.fee_quote == D("0.002") * D("152.5")
    assert costs.entry_slippage_quote == D("2.5") + D("2")  # 152.5 - 150 and 150 - 148
    assert costs.exit_slippage_quote == D("2") + D("2.5")


def test_spot_leg_uses_the_spot_market_fee_schedule() -> None:
    spot_fees = FeeSchedule(D("0.001"), D("0.001"), D("0.001"), D("0.001"), "connector")
    perp_fees = FeeSchedule(D("0.0005"), D("0.0005"), D("0.0002"), D("0.0002"), "connector")

    costs = pair_costs(
        leg(SPOT, asym_book(SPOT), spot_fees, MarketKind.SPOT),
        leg(BYBIT, asym_book(BYBIT), perp_fees),
        D("1"),
        D("1"),
        None,
        H72,
    )

    assert isinstance(costs, PairCosts)
    assert costs.long.entry.fee_rate == D("0.001") and costs.long.kind is MarketKind.SPOT
    assert costs.short.entry.fee_rate == D("0.0005")


def test_a_book_too_thin_for_the_exit_makes_the_pair_infeasible() -> None:
    thin = BookSnapshot(BYBIT, "BTC-USDT", ((D("99"), D("5")),), ((D("101"), D("0.5")),), T0)

    costs = pair_costs(
        leg(BINANCE, asym_book(BINANCE), OPEN_CLOSE), leg(BYBIT, thin, OPEN_CLOSE), D("1"), D("1"), None, H72
    )

    assert isinstance(costs, Infeasible)
    assert costs.reason is Reason.BOOK_TOO_THIN
    assert "exit" in costs.detail


@settings(max_examples=60)
@given(
    st.decimals(min_value=D("0.001"), max_value=D("8"), places=3),
    st.decimals(min_value=D("0.001"), max_value=D("8"), places=3),
)
def test_total_cost_never_decreases_with_size(a: Decimal, b: Decimal) -> None:
    fees = FeeSchedule(D("0.00045"), D("0.00045"), D("0.00015"), D("0.00015"), "venue-spec")
    long_leg, short_leg = leg("hyperliquid_perpetual", HL[0][1], fees), leg(BYBIT, HL[1][1], fees)
    small, large = sorted((a, b))

    cs = pair_costs(long_leg, short_leg, small, small, None, H72)
    cl = pair_costs(long_leg, short_leg, large, large, None, H72)

    assert isinstance(cs, PairCosts) and isinstance(cl, PairCosts)
    assert cl.total_quote >= cs.total_quote


class FixedBorrow:
    def __init__(self, apr: str | None) -> None:
        self.apr = apr

    def borrow_quote(self, asset: str, ts: float) -> BorrowQuote | None:
        return None if self.apr is None else BorrowQuote(asset, SPOT, D(self.apr), "venue")


def test_borrow_rate_comes_from_the_venue_then_the_configured_table() -> None:
    table = {"USDT": D("12")}

    venue = resolve_borrow_rate("USDT", SPOT, T0, {SPOT: FixedBorrow("0.05")}, table)
    silent = resolve_borrow_rate("USDT", SPOT, T0, {SPOT: FixedBorrow(None)}, table)
    configured = resolve_borrow_rate("USDT", SPOT, T0, {}, table)
    nothing = resolve_borrow_rate("USDC", SPOT, T0, {}, table)

    assert venue is not None and (venue.apr, venue.source) == (D("0.05"), BorrowSource.VENUE)
    assert silent is not None and (silent.apr, silent.source) == (D("0.12"), BorrowSource.CONFIGURED)
    assert configured is not None and configured.source == BorrowSource.CONFIGURED
    assert nothing is None


def test_borrow_is_charged_per_started_hour_on_the_entry_notional() -> None:
    charge = BorrowCharge.over(BorrowQuote("USDT", SPOT, D("0.0876"), "configured"), D("1000"), D("71.5"))

    assert charge.hours_charged == D("72")
    assert charge.cost_quote == D("1000") * D("0.0876") * 72 / 8760  # 0.72 quote


def test_only_a_borrowing_leg_carries_a_borrow_charge() -> None:
    rate = BorrowQuote("USDT", SPOT, D("0.10"), "configured")
    spot_leg = leg(SPOT, book(SPOT, "BTC-USDT"), OPEN_CLOSE, MarketKind.SPOT)
    perp_leg = leg(BYBIT, book(BYBIT, "BTC-USDT"), OPEN_CLOSE)

    borrowing = pair_costs(spot_leg, perp_leg, D("0.01"), D("0.01"), rate, H72)
    not_borrowing = pair_costs(spot_leg, perp_leg, D("0.01"), D("0.01"), None, H72)

    assert isinstance(borrowing, PairCosts) and isinstance(not_borrowing, PairCosts)
    assert borrowing.long.borrow is not None and borrowing.long.borrow.source == "configured"
    assert borrowing.short.borrow is None
    assert not_borrowing.long.borrow is None and not_borrowing.borrow_quote == 0


def test_exit_cost_sells_the_long_on_bids_and_buys_the_short_on_asks() -> None:
    closing = exit_cost(leg(BINANCE, asym_book(BINANCE), OPEN_CLOSE), leg(BYBIT, asym_book(BYBIT), OPEN_CLOSE), D("1"))

    assert not isinstance(closing, Infeasible)
    sell, buy = closing
    assert (sell.side, sell.vwap, sell.action) == (Side.SELL, D("99"), "close")
    assert (buy.side, buy.vwap, buy.fee_rate) == (Side.BUY, D("101"), D("0.002"))
