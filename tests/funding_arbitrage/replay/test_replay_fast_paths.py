"""The replay speed paths give exactly what the slow paths gave (speed itself is measured in bench/, not here)."""

from __future__ import annotations

from decimal import Decimal as D
from types import SimpleNamespace

import pytest
from hummingbot.core.data_type.order_book import OrderBook
from hummingbot.core.data_type.order_book_row import OrderBookRow
from hypothesis import given
from hypothesis import strategies as st

from strategies.funding_arbitrage.shell.adapter import BOOK_LEVELS, BookLevels, StaleBookError

prices = st.floats(allow_nan=False, allow_infinity=False, min_value=1e-6, max_value=1e9)
amounts = st.floats(allow_nan=False, allow_infinity=False, min_value=1e-9, max_value=1e9)


def _book(bids: list[tuple[float, float]], asks: list[tuple[float, float]], uid: int = 1) -> OrderBook:
    book = OrderBook()
    book.apply_snapshot([OrderBookRow(p, a, uid) for p, a in bids], [OrderBookRow(p, a, uid) for p, a in asks], uid)
    return book


def _eager(book: OrderBook, bids: bool) -> tuple[tuple[D, D], ...]:
    """What the adapter built before: the first 20 rows, every one converted at once."""
    out = []
    for row in book.bid_entries() if bids else book.ask_entries():
        out.append((D(repr(row.price)), D(repr(row.amount))))
        if len(out) >= BOOK_LEVELS:
            break
    return tuple(out)


@given(
    st.lists(st.tuples(prices, amounts), max_size=25, unique_by=lambda r: r[0]),
    st.lists(st.tuples(prices, amounts), max_size=25, unique_by=lambda r: r[0]),
    st.booleans(),
)
def test_lazy_levels_equal_the_eager_tuple_in_every_way(bids: list, asks: list, top_first: bool) -> None:  # type: ignore[type-arg]
    book = _book(bids, asks)
    for side in (True, False):
        lazy, eager = BookLevels(book, bids=side), _eager(book, side)

        if eager and top_first:
            assert lazy[0] == eager[0]  # the top alone, then everything
        assert bool(lazy) == bool(eager) and len(lazy) == len(eager)
        assert tuple(lazy) == eager and lazy[:3] == eager[:3] and lazy[-1:] == eager[-1:]
        assert lazy == eager and hash(lazy) == hash(eager)
        assert [repr(p) for p, _ in lazy] == [repr(p) for p, _ in eager]  # same Decimal text, not only value


def test_the_top_is_kept_and_deeper_levels_refuse_a_book_that_changed() -> None:
    book = _book([(100.5, 2.0), (100.0, 1.0)], [(101.0, 1.0)])
    read_before, unread = BookLevels(book, bids=True), BookLevels(book, bids=True)
    levels = read_before.levels()

    book.apply_snapshot([OrderBookRow(99.0, 5.0, 2)], [OrderBookRow(99.5, 5.0, 2)], 2)

    assert read_before.levels() == levels  # read within the tick: kept as read
    assert unread[0] == (D("100.5"), D("2.0")) and unread.top_row() == (100.5, 2.0)
    with pytest.raises(StaleBookError, match="changed since the snapshot"):
        unread.levels()


def test_an_empty_side_is_falsy_and_has_no_top() -> None:
    levels = BookLevels(_book([], [(101.0, 1.0)]), bids=True)

    assert not levels and levels.top_row() is None and levels.levels() == () and len(levels) == 0


def test_a_row_that_is_not_a_number_is_refused_at_the_boundary() -> None:
    fake = SimpleNamespace(
        bid_entries=lambda: iter([SimpleNamespace(price=D("1.5"), amount=2.0)]), snapshot_uid=1, last_diff_uid=0
    )

    with pytest.raises(TypeError, match="not a pair of numbers"):
        BookLevels(fake, bids=True)
