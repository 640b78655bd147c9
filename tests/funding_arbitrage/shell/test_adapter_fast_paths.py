"""The adapter's fast paths (a book's one-call touch, reused funding snapshots, direct snapshot construction) give
exactly the snapshots of the generic reads, keep every safety property, and fail the same way on bad venue data.

Speed itself is measured in bench/ (bench_adapter.py, profile_sections.py), not here.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal as D
from itertools import islice
from types import SimpleNamespace
from typing import Any

import pytest
from hummingbot.connector.trading_rule import TradingRule
from hummingbot.core.data_type.order_book import OrderBook
from hummingbot.core.data_type.order_book_row import OrderBookRow

from strategies.funding_arbitrage.core.config import FundingArbSettings
from strategies.funding_arbitrage.core.funding import IntervalTracker
from strategies.funding_arbitrage.core.market_data import MarketIntake
from strategies.funding_arbitrage.core.reasons import SkipReason
from strategies.funding_arbitrage.core.sizing import VolatilityTracker
from strategies.funding_arbitrage.core.snapshots import BookSnapshot, MarketSnapshot, TickSnapshot
from strategies.funding_arbitrage.shell import book_levels
from strategies.funding_arbitrage.shell.adapter import BOOK_LEVELS, LiveBookSnapshot, SnapshotBuilder, StaleBookError

PERP, SPOT = "binance_perpetual", "binance"
PAIR = "BTC-USDT"
T0 = 1_751_328_000.0


def _settings(**overrides: Any) -> FundingArbSettings:
    base: dict[str, Any] = {
        "perp_connectors": [PERP],
        "spot_connectors": [SPOT],
        "tokens": ["BTC", "ETH"],
        "quote_assets": {PERP: "USDT", SPOT: "USDT"},
        "leverage": {PERP: 3},
        "max_total_exposure_quote": D("4000"),
    }
    base.update(overrides)
    return FundingArbSettings(**base)


def _rows(levels: list[tuple[float, float]], uid: int) -> list[OrderBookRow]:
    return [OrderBookRow(p, a, uid) for p, a in levels]


class TouchBook(OrderBook):
    """A Hummingbot book that answers the adapter's one-call `touch()` (as the simulated venue's book may)."""

    def touch(self) -> tuple[float, float, float, float] | None:
        bid = next(iter(OrderBook.bid_entries(self)), None)
        ask = next(iter(OrderBook.ask_entries(self)), None)
        if bid is None or ask is None:
            return None  # "cannot answer cheaply": the adapter reads the rows
        return bid.price, bid.amount, ask.price, ask.amount


def _book(kind: type, bids: list[tuple[float, float]], asks: list[tuple[float, float]], uid: int = 1) -> Any:
    book = kind()
    book.apply_snapshot(_rows(bids, uid), _rows(asks, uid), uid)
    return book


class _Connector:
    """The connector surface the adapter reads."""

    def __init__(self, books: dict[str, Any], funding: dict[str, Any] | None = None) -> None:
        rule = {
            "min_order_size": D("0.001"),
            "min_price_increment": D("0.1"),
            "min_base_amount_increment": D("0.001"),
            "min_notional_size": D("5"),
        }
        self.trading_rules = {pair: TradingRule(pair, **rule) for pair in books}
        self.books, self.funding = books, funding or {}
        self.ready, self.account_positions = True, {}

    def get_order_book(self, pair: str) -> Any:
        return self.books[pair]

    def get_funding_info(self, pair: str) -> Any:
        return self.funding[pair]

    def get_fee(self, **_: Any) -> Any:
        return SimpleNamespace(percent=D("0.0005"))

    def get_balance(self, _: str) -> D:
        return D("1000")


def _funding(mark: str = "100.25", next_ts: float = T0 + 3600, rate: str = "0.0001") -> Any:
    return SimpleNamespace(rate=D(rate), next_funding_utc_timestamp=next_ts, mark_price=D(mark), index_price=D(mark))


def _flat(market: MarketSnapshot) -> tuple[Any, ...]:
    """Everything a snapshot of one market says, deep levels included, with the Decimals' digits."""
    book = market.book
    sides: Any = None
    if book is not None:
        sides = (
            book.observed_ts,
            repr(book.best_bid),
            repr(book.best_ask),
            repr(book.mid),
            bool(book.bids),
            bool(book.asks),
            [repr(x) for level in book.bids for x in level],
            [repr(x) for level in book.asks for x in level],
            book.bids.top_row() if book.bids else None,  # type: ignore[attr-defined]
        )
    return (market.connector, market.token, market.trading_pair, market.kind, sides, market.funding, market.fees,
            market.rules, market.leverage)  # fmt: skip


def _flat_tick(tick: TickSnapshot) -> tuple[Any, ...]:
    return (tick.ts, [_flat(m) for m in tick.markets], tick.positions, tick.balances_quote, tick.ready)


@pytest.fixture
def generic_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every book read through `bid_entries()` / `ask_entries()`, whatever its type offers."""
    monkeypatch.setattr(book_levels, "_TOUCH_READERS", _NoTouch())
    yield


class _NoTouch(dict):  # type: ignore[type-arg]
    """A reader table that knows no book type's touch."""

    def __getitem__(self, key: Any) -> None:
        return None


BIDS = [(100.5, 2.0), (100.0, 1.25), (99.5, 3.0)]
ASKS = [(101.0, 1.0), (101.5, 0.5)]


def test_a_touch_book_and_a_plain_book_give_identical_snapshots(monkeypatch: pytest.MonkeyPatch) -> None:
    def tick(kind: type, ts: float, bids: list[tuple[float, float]], uid: int) -> tuple[Any, ...]:
        books = {"BTC-USDT": _book(kind, bids, ASKS, uid), "ETH-USDT": _book(kind, [], ASKS, uid)}  # ETH: no bids
        connectors = {PERP: _Connector(books, {p: _funding() for p in books}), SPOT: _Connector(books)}
        return _flat_tick(builders[kind].build(ts, connectors))

    builders = {OrderBook: SnapshotBuilder(_settings()), TouchBook: SnapshotBuilder(_settings())}
    calls: list[Any] = []
    real = TouchBook.touch
    monkeypatch.setattr(TouchBook, "touch", lambda self: calls.append(self) or real(self))

    for ts, bids, uid in ((T0, BIDS, 1), (T0 + 60, BIDS, 1), (T0 + 120, BIDS[1:], 2), (T0 + 180, BIDS[1:], 3)):
        assert tick(TouchBook, ts, bids, uid) == tick(OrderBook, ts, bids, uid)
    assert len(calls) == 4 * 4  # the fast path was taken: every book of every tick asked for its touch once


def test_observed_ts_moves_only_when_the_touch_or_the_book_version_changes() -> None:
    builder = SnapshotBuilder(_settings())
    book = _book(TouchBook, BIDS, ASKS, 1)
    connectors = {PERP: _Connector({PAIR: book}, {PAIR: _funding()})}

    def observed(ts: float) -> float:
        snap = builder.build(ts, connectors).markets[0].book
        assert snap is not None
        return snap.observed_ts

    assert observed(T0) == T0 and observed(T0 + 60) == T0  # unchanged: the stamp of the first sighting
    book.apply_snapshot(_rows(BIDS, 2), _rows(ASKS, 2), 2)  # same touch, new version
    assert observed(T0 + 120) == T0 + 120
    book.apply_snapshot(_rows(BIDS[1:], 2), _rows(ASKS, 2), 2)  # new touch, same version
    assert observed(T0 + 180) == T0 + 180 and observed(T0 + 240) == T0 + 180


def test_funding_is_reused_while_unchanged_and_a_rate_not_rolled_keeps_its_stamp() -> None:
    builder = SnapshotBuilder(_settings())
    funding = {PAIR: _funding()}
    connectors = {PERP: _Connector({PAIR: _book(TouchBook, BIDS, ASKS)}, funding)}

    def snap(ts: float) -> Any:
        return builder.build(ts, connectors).markets[0].funding

    first = snap(T0)
    assert snap(T0 + 60) is first  # nothing changed: the same immutable snapshot
    funding[PAIR] = _funding(mark="100.5")  # a new mark: a new snapshot, a new stamp
    moved = snap(T0 + 120)
    assert moved is not first and moved.mark_price == D("100.5") and moved.observed_ts == T0 + 120
    funding[PAIR] = _funding(mark="100.75", next_ts=T0)  # settlement passed, not rolled: the stamp stays
    stale = snap(T0 + 180)
    assert stale.mark_price == D("100.75") and stale.next_funding_ts == int(T0) and stale.observed_ts == T0 + 120
    assert (stale.rate, stale.index_price, stale.connector) == (D("0.0001"), D("100.75"), PERP)


def test_a_deferred_read_of_a_fast_path_snapshot_refuses_a_book_that_changed() -> None:
    builder = SnapshotBuilder(_settings())
    book = _book(TouchBook, BIDS, ASKS, 1)
    snap = builder.build(T0, {PERP: _Connector({PAIR: book}, {PAIR: _funding()})}).markets[0].book
    assert snap is not None

    book.apply_snapshot(_rows([(99.0, 5.0)], 2), _rows([(99.5, 5.0)], 2), 2)

    assert snap.bids[0] == (D("100.5"), D("2.0")) and snap.best_bid == D("100.5")  # the top as read
    with pytest.raises(StaleBookError, match="changed since the snapshot"):
        snap.bids.levels()  # type: ignore[attr-defined]
    with pytest.raises(StaleBookError):
        list(snap.asks)


@pytest.mark.parametrize("touch", [(D("100.5"), 2.0, 101.0, 1.0), (100.5, None, 101.0, 1.0), ("100.5", 2.0, 101, 1)])
def test_a_touch_that_is_not_four_numbers_is_counted_and_only_its_market_skipped(touch: tuple[Any, ...]) -> None:
    class BadTouch(TouchBook):
        def touch(self) -> Any:
            return touch

    builder = SnapshotBuilder(_settings())
    books = {PAIR: _book(BadTouch, BIDS, ASKS), "ETH-USDT": _book(TouchBook, BIDS, ASKS)}
    tick = builder.build(T0, {PERP: _Connector(books, {p: _funding() for p in books})})

    assert [m.token for m in tick.markets] == ["ETH"] and builder.errors == {"adapter_error": 1}


def test_a_bad_row_on_the_generic_path_is_counted_and_only_its_market_skipped(generic_only: None) -> None:
    bad = SimpleNamespace(
        bid_entries=lambda: iter([SimpleNamespace(price=D("100.5"), amount=2.0)]),
        ask_entries=lambda: iter([SimpleNamespace(price=101.0, amount=1.0)]),
        snapshot_uid=1,
        last_diff_uid=0,
    )
    builder = SnapshotBuilder(_settings())
    books = {PAIR: bad, "ETH-USDT": _book(TouchBook, BIDS, ASKS)}
    tick = builder.build(T0, {PERP: _Connector(books, {p: _funding() for p in books})})

    assert [m.token for m in tick.markets] == ["ETH"] and builder.errors == {"adapter_error": 1}


def _quote_facts(q: Any) -> tuple[Any, ...]:
    return (q.key, q.is_perp, repr(q.mid), q.interval, repr(q.rate_per_hour), repr(q.mark), repr(q.fee_floor))


def _sim_touch(book: Any) -> Any:
    """The one-call touch asked of `SimOrderBook` (sim/lazybook.py): its published book's best rows, when known."""
    from strategies.funding_arbitrage.sim.lazybook import SimOrderBook

    pending = book._pending
    if pending is None or pending[0] is None:
        return None
    return SimOrderBook._top(pending)


def test_on_the_simulated_venues_the_fast_path_equals_the_generic_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    from strategies.funding_arbitrage.replay.runner import ReplayOptions, sim_settings
    from strategies.funding_arbitrage.shell.home import project_root
    from strategies.funding_arbitrage.sim.harness import SimEnvironment
    from strategies.funding_arbitrage.sim.lazybook import SimOrderBook

    data = project_root() / ".." / "shared" / "data" / "cross_venue_2025"
    settings = FundingArbSettings(**sim_settings(ReplayOptions(data_dir=data)))
    fast, generic = SnapshotBuilder(settings), SnapshotBuilder(settings)
    readers: dict[type, Any] = {}
    monkeypatch.setattr(book_levels, "_TOUCH_READERS", readers)
    coins = ["BTC", "ETH", "SOL", "DOGE", "HYPE"]

    async def body() -> int:
        env = SimEnvironment(data_dir=data, coins=coins, start_ts=T0, end_ts=T0 + 90 * 60, tick_s=60, record=False)
        await env.start()
        compared = 0
        try:
            for i in range(80):
                ts = await env.step()
                order = [(fast, _sim_touch), (generic, None)]
                for builder, reader in order if i % 2 else order[::-1]:  # either may read a tick's books first
                    readers[SimOrderBook] = reader
                    ticks[builder is fast] = builder.build(ts, env.connectors)
                a, b = ticks[True], ticks[False]
                assert _flat_tick(a) == _flat_tick(b)
                for m in a.markets:  # and both equal the levels read eagerly, as Hummingbot rows, right now
                    assert m.book is not None
                    ob = env.connectors[m.connector].get_order_book(m.trading_pair)
                    for side, entries in ((m.book.bids, ob.bid_entries()), (m.book.asks, ob.ask_entries())):
                        eager = tuple((D(repr(r.price)), D(repr(r.amount))) for r in islice(entries, BOOK_LEVELS))
                        assert tuple(side) == eager and [repr(x) for lv in side for x in lv] == [
                            repr(x) for lv in eager for x in lv
                        ]
                    best = (m.book.bids[0][0], m.book.asks[0][0])
                    assert (m.book.best_bid, m.book.best_ask) == best and m.book.mid == (best[0] + best[1]) / 2
                quotes = [intake.intake(t, Counter())[1] for intake, t in ((intakes[0], a), (intakes[1], b))]
                assert [_quote_facts(q) for q in quotes[0].values()] == [_quote_facts(q) for q in quotes[1].values()]
                compared += len(a.markets)
        finally:
            env.close()
        return compared

    ticks: dict[bool, TickSnapshot] = {}
    intakes = [MarketIntake(settings, IntervalTracker(), VolatilityTracker()) for _ in range(2)]
    assert asyncio.run(body()) >= 80 * 15
    assert fast.errors == generic.errors == {}


def test_a_live_snapshot_makes_its_sides_on_first_read_and_reads_like_the_eager_snapshot() -> None:
    builder = SnapshotBuilder(_settings())
    book = _book(TouchBook, BIDS, ASKS)
    connectors = {PERP: _Connector({PAIR: book}, {PAIR: _funding()})}
    live = builder.build(T0, connectors).markets[0].book
    assert isinstance(live, LiveBookSnapshot) and live.mid == D("100.75")
    eager = BookSnapshot(PERP, PAIR, tuple((D(repr(p)), D(repr(a))) for p, a in BIDS), ((D("101.0"), D("1.0")),
                         (D("101.5"), D("0.5"))), T0)  # fmt: skip

    assert (live.best_bid, live.best_ask) == (D("100.5"), D("101.0")) and "_bids" not in live.__dict__
    assert live.bids is live.bids and "_bids" in live.__dict__  # made once, on first read
    assert (live.bids, live.asks, live.observed_ts, live.mid) == (eager.bids, eager.asks, eager.observed_ts, eager.mid)
    assert repr(live) == "Live" + repr(eager) and hash(live) == hash(eager)
    with pytest.raises(AttributeError):
        live.bids = ()  # type: ignore[misc]  # frozen, as every snapshot


def test_an_empty_side_has_no_best_price_and_is_skipped_by_the_intake_as_empty() -> None:
    builder = SnapshotBuilder(_settings())
    books = {PAIR: _book(TouchBook, [], ASKS), "ETH-USDT": _book(OrderBook, BIDS, [])}
    tick = builder.build(T0, {PERP: _Connector(books, {p: _funding() for p in books})})
    skipped: Counter[Any] = Counter()
    _, by_key = MarketIntake(_settings(), IntervalTracker(), VolatilityTracker()).intake(tick, skipped)

    assert [
        (m.book.best_bid, m.book.best_ask, bool(m.book.bids), bool(m.book.asks)) for m in tick.markets if m.book
    ] == [
        (None, D("101.0"), False, True),
        (D("100.5"), None, True, False),
    ]
    assert by_key == {} and skipped[SkipReason.EMPTY_BOOK] == 2
