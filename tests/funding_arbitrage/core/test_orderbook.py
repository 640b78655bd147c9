"""orderbook.py: book building, checks, VWAP walks on real captures from ../shared/data/orderbooks."""

from __future__ import annotations

from decimal import Decimal

import pytest
from edge_builders import BINANCE, T0, binance_depth_snapshot, book, hyperliquid_snapshots
from hypothesis import given
from hypothesis import strategies as st

from strategies.funding_arbitrage.core.orderbook import (
    BookDataError,
    Side,
    book_from_levels,
    check_book,
    check_top,
    depth_up_to,
    mid_price,
    slippage_quote,
    walk,
)
from strategies.funding_arbitrage.core.reasons import SkipReason
from strategies.funding_arbitrage.core.snapshots import BookSnapshot

D = Decimal
HL_BOOK = hyperliquid_snapshots(limit=1)[0][1]
BN_BOOK = binance_depth_snapshot()


def test_vwap_buying_through_four_hyperliquid_ask_levels_matches_hand_computation() -> None:
    # asks: 105056.0 x 6.34472, 105057.0 x 0.0001, 105058.0 x 0.0001, 105059.0 x 0.0001
    # 6.34472*105056 + 0.0001*105057 + 0.0001*105058 + 0.00008*105059 = 666580.32054
    fill = walk(HL_BOOK.asks, D("6.345"), Side.BUY)

    assert fill is not None
    assert fill.notional_quote == D("666580.32054")
    assert fill.vwap == D("666580.32054") / D("6.345")
    assert fill.levels_used == 4


def test_slippage_selling_into_hyperliquid_bids_matches_hand_computation() -> None:
    # bids: 105055.0 x 3.03622, 105054.0 x 0.1428, 105053.0 x 0.16179; sell 3.2
    # notional 318970.0921 + 15001.7112 + 2204.01194 = 336175.81524; mid 105055.5
    fill = walk(HL_BOOK.bids, D("3.2"), Side.SELL)

    assert fill is not None
    assert fill.notional_quote == D("336175.81524")
    assert slippage_quote(fill, mid_price(HL_BOOK)) == D("1.78476")  # 105055.5 * 3.2 - 336175.81524


def test_vwap_on_the_binance_depth_snapshot_matches_hand_computation() -> None:
    # bids 61800.20x2.909, 61800.10x0.696, 61800.00x20.004, 61799.90x0.004, 61799.70x1.795; sell 25
    sell = walk(BN_BOOK.bids, D("25"), Side.SELL)
    # asks 61800.30x1.072, 61800.70x0.002; buy 1.073
    buy = walk(BN_BOOK.asks, D("1.073"), Side.BUY)

    assert sell is not None and buy is not None
    assert sell.notional_quote == D("1545000.2349")
    assert sell.vwap == D("61800.009396")
    assert buy.notional_quote == D("66311.7223")


def test_every_hyperliquid_capture_snapshot_passes_the_book_checks() -> None:
    snaps = hyperliquid_snapshots()

    assert len(snaps) > 20
    assert all(check_book(b) is None and check_top(b, b.observed_ts, 1) is None for _, b in snaps)


def test_walk_returns_none_when_the_visible_book_is_too_thin() -> None:
    depth = sum((size for _, size in HL_BOOK.asks), D(0))

    assert walk(HL_BOOK.asks, depth + D("0.00001"), Side.BUY) is None
    assert walk(HL_BOOK.asks, depth, Side.BUY) is not None


@given(
    st.decimals(min_value=D("0.001"), max_value=D("30"), places=3),
    st.decimals(min_value=D("0.001"), max_value=D("30"), places=3),
)
def test_slippage_never_decreases_with_size_on_real_books(a: Decimal, b: Decimal) -> None:
    small, large = sorted((a, b))
    for levels, side, mid in (
        (HL_BOOK.asks, Side.BUY, mid_price(HL_BOOK)),
        (BN_BOOK.bids, Side.SELL, mid_price(BN_BOOK)),
    ):
        fs, fl = walk(levels, small, side), walk(levels, large, side)
        if fs is None or fl is None:
            continue
        assert slippage_quote(fs, mid) >= 0
        assert slippage_quote(fl, mid) >= slippage_quote(fs, mid)


def test_book_from_levels_sorts_sides_and_drops_zero_size_levels() -> None:
    b = book_from_levels(
        BINANCE, "BTC-USDT", [("99", "1"), ("100", "2"), ("98", "0")], [("102", "1"), ("101", "3")], T0
    )

    assert b.bids == ((D("100"), D("2")), (D("99"), D("1")))
    assert b.asks == ((D("101"), D("3")), (D("102"), D("1")))


def _top(bids: list[tuple[str, str]], asks: list[tuple[str, str]], ts: float = T0) -> BookSnapshot:
    return BookSnapshot(
        BINANCE, "BTC-USDT", tuple((D(p), D(s)) for p, s in bids), tuple((D(p), D(s)) for p, s in asks), ts
    )


@pytest.mark.parametrize(
    ("book_", "reason"),
    [
        (None, SkipReason.MISSING_BOOK),
        (_top([], [("101", "1")]), SkipReason.EMPTY_BOOK),
        (_top([("101", "1")], [("100", "1")]), SkipReason.CROSSED_BOOK),
        (_top([("100", "1")], [("100", "1")]), SkipReason.CROSSED_BOOK),
        (_top([("NaN", "1")], [("101", "1")]), SkipReason.BAD_PRICE),
        (_top([("0", "1")], [("101", "1")]), SkipReason.BAD_PRICE),
        (_top([("-5", "1")], [("101", "1")]), SkipReason.BAD_PRICE),
        (_top([("100", "1")], [("Infinity", "1")]), SkipReason.BAD_PRICE),
        (_top([("100", "1")], [("101", "1")], ts=T0 - 121), SkipReason.STALE_BOOK),
    ],
)
def test_check_top_names_each_bad_book(book_: BookSnapshot | None, reason: SkipReason) -> None:
    assert check_top(book_, T0, 120) is reason


def test_deeper_bad_levels_raise_book_data_error_when_read() -> None:
    unsorted = book(BINANCE, "BTC-USDT", levels=3)
    asks = (unsorted.asks[0], unsorted.asks[2], unsorted.asks[1])

    with pytest.raises(BookDataError) as err:
        walk(asks, D("2.5"), Side.BUY)
    assert err.value.reason is SkipReason.UNSORTED_BOOK
    with pytest.raises(BookDataError):
        depth_up_to(((D("100"), D("1")), (D("99"), D("NaN"))), D("5"), descending=True)
    assert check_book(BookSnapshot(BINANCE, "X", unsorted.bids, asks, T0)) is SkipReason.UNSORTED_BOOK
