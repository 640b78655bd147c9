"""The replay speed paths give exactly what the slow paths gave (speed itself is measured in bench/, not here)."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path
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


@given(
    st.lists(st.tuples(prices, amounts), min_size=1, max_size=25, unique_by=lambda r: r[0]),
    st.integers(min_value=0, max_value=25),
    st.integers(min_value=0, max_value=25),
)
def test_a_walk_that_stops_early_then_other_reads_see_the_eager_levels(rows: list, first: int, second: int) -> None:  # type: ignore[type-arg]
    book = _book(rows, [])
    lazy, eager = BookLevels(book, bids=True), _eager(book, True)
    walk_a, walk_b = iter(lazy), iter(lazy)

    seen_a = [next(walk_a) for _ in range(min(first, len(eager)))]  # a walk stops after `first` levels
    seen_b = [next(walk_b) for _ in range(min(second, len(eager)))]  # another, interleaved, goes its own way
    rest_a = list(walk_a)

    assert tuple(seen_a + rest_a) == eager and tuple(seen_b) == eager[: len(seen_b)]
    assert lazy.levels() == eager and list(lazy) == list(eager) and len(lazy) == len(eager)
    assert [repr(a) for _, a in lazy] == [repr(a) for _, a in eager]


def test_a_partly_walked_side_keeps_what_it_read_when_the_book_changes() -> None:
    book = _book([(100.5, 2.0), (100.0, 1.0), (99.5, 3.0)], [(101.0, 1.0)])
    side = BookLevels(book, bids=True)
    assert next(iter(side)) == (D("100.5"), D("2.0"))  # rows read (and checked) at the first deep use

    book.apply_snapshot([OrderBookRow(99.0, 5.0, 2)], [OrderBookRow(99.5, 5.0, 2)], 2)

    assert side.levels() == ((D("100.5"), D("2.0")), (D("100.0"), D("1.0")), (D("99.5"), D("3.0")))


@given(st.one_of(st.floats(), st.integers(min_value=-(10**6), max_value=10**6), st.sampled_from([0.0, -0.0, 5.0, 5])))
def test_memoised_conversion_gives_the_digits_of_repr(x: float) -> None:
    from strategies.funding_arbitrage.shell.adapter import _decimal

    for _ in range(2):  # the second call answers from the memo when it may
        got = _decimal(x)
        assert repr(got) == repr(D(repr(x)))


def test_replays_in_one_process_parse_the_data_once_until_a_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import shutil

    from strategies.funding_arbitrage.replay import runner
    from strategies.funding_arbitrage.shell.home import project_root

    data = tmp_path / "data"
    shutil.copytree(project_root() / ".." / "shared" / "data" / "cross_venue_2025", data)
    loads: list[object] = []
    real = runner.load_cached_market_data
    monkeypatch.setattr(runner, "load_cached_market_data", lambda d: loads.append(d) or real(d))
    monkeypatch.setattr(runner, "_LOADED", {})
    opts = runner.ReplayOptions(
        data_dir=data, start_ts=1_751_328_000.0, end_ts=1_751_328_000.0 + 3 * 86400, runs=("passive_carry", "oracle")
    )

    first, _ = runner.run_replay(runner.dataclasses.replace(opts, out_dir=tmp_path / "a"))
    second, _ = runner.run_replay(runner.dataclasses.replace(opts, out_dir=tmp_path / "b"))
    assert len(loads) == 1
    assert (tmp_path / "a" / "runs.csv").read_bytes() == (tmp_path / "b" / "runs.csv").read_bytes()
    assert first.runs == second.runs

    funding = data / "funding_rates.csv.gz"
    os.utime(funding, ns=(funding.stat().st_atime_ns, funding.stat().st_mtime_ns + 1_000_000_000))
    runner.run_replay(runner.dataclasses.replace(opts, out_dir=tmp_path / "c"))
    assert len(loads) == 2  # a changed file is parsed again
