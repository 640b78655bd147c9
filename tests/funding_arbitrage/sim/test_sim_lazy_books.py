"""Books written on first read (sim/lazybook.py) show exactly what the eagerly written books showed.

* `BookSynth.top` equals the first rows of `BookSynth.rows` (and float() of `synthesize`'s best levels), and
  `BookSynth.side` one side of them, on mids built to hit rounding ties, near-exact ticks and 28-digit interpolations.
* On the simulated venues over real data, with reads of every kind in a random order (top only, top then deeper in
  the same tick, whole sides, Hummingbot's Cython price and volume queries through the connector, nothing at all):
  every answer equals the one from a plain Hummingbot `OrderBook` given `synthesize`'s levels for that tick.
* A snapshot applied from elsewhere replaces the published book.
"""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal
from itertools import islice
from pathlib import Path

from hummingbot.core.data_type.common import PriceType
from hummingbot.core.data_type.order_book import OrderBook
from hummingbot.core.data_type.order_book_row import OrderBookRow
from sim_helpers import settle
from test_sim_fast_paths import TICKS, _mid, _shapes

from strategies.funding_arbitrage.sim.book import BookSynth, synthesize
from strategies.funding_arbitrage.sim.data import MarketData
from strategies.funding_arbitrage.sim.harness import SimEnvironment
from strategies.funding_arbitrage.sim.lazybook import SimOrderBook

START = 1751328000  # 2025-07-01


def test_top_equals_the_first_rows() -> None:
    rng = random.Random(7)
    shapes = _shapes()
    checked = one_side = 0
    for update_id in range(6000):
        si, ti = rng.randrange(len(shapes)), rng.randrange(len(TICKS))
        mid = _mid(rng, TICKS[ti])
        if mid <= 0:
            continue
        synth = BookSynth(shapes[si], TICKS[ti])
        top = synth.top(mid)
        sides = [BookSynth(shapes[si], TICKS[ti]).side(mid, b, update_id, tuple) for b in (True, False)]
        bids, asks = synth.rows(mid, update_id)
        for is_bids, side, rows in ((True, sides[0], bids), (False, sides[1], asks)):
            want = [(r.price, r.amount, update_id) for r in rows]
            assert side is None or side == want, (mid, TICKS[ti])
            again = synth.side(mid, is_bids, update_id, tuple)  # after rows(): from its last book when it kept one
            assert again is None or again == want, (mid, TICKS[ti])
        levels = synthesize(mid, shapes[si], TICKS[ti])
        one_side += sides[0] is not None
        if top is not None:
            checked += 1
            assert top == (bids[0].price, bids[0].amount, asks[0].price, asks[0].amount), (mid, TICKS[ti])
            (bid_price, bid_size), (ask_price, ask_size) = levels[0][0], levels[1][0]
            assert top == (float(bid_price), float(bid_size), float(ask_price), float(ask_size))
            assert synth.top(mid) == top  # again, now from the last book
    assert checked > 3000  # the fast path covers most books
    assert one_side > 1500  # these mids are built to hit boundaries: real ones rarely do


def _eager(mid: Decimal | None, synth: BookSynth, update_id: int) -> OrderBook:
    book = OrderBook()
    levels = ([], []) if mid is None else synthesize(mid, synth.shape, synth.tick)
    book.apply_snapshot(
        [OrderBookRow(float(p), float(s), update_id) for p, s in levels[0]],
        [OrderBookRow(float(p), float(s), update_id) for p, s in levels[1]],
        update_id,
    )
    return book


def _rows(entries: object) -> list[tuple[float, float, int]]:
    return [(r.price, r.amount, r.update_id) for r in entries]  # type: ignore[attr-defined]


def _check_reads(rng: random.Random, env: SimEnvironment) -> int:
    """Read every book of every connector in one random way; compare with the eager book of this tick."""
    reads = 0
    for connector in env.connectors.values():
        for pair in connector.trading_pairs:
            state = connector.market(pair)  # type: ignore[attr-defined]
            book = connector.get_order_book(pair)
            assert isinstance(book, SimOrderBook)
            eager = _eager(state.mid, state.synth(), connector.book_update_id)  # type: ignore[attr-defined]
            kind = rng.randrange(7)
            if kind == 0:
                continue  # not read this tick: the next publish replaces it
            reads += 1
            assert book.snapshot_uid == eager.snapshot_uid and book.last_diff_uid == eager.last_diff_uid
            if kind == 1:  # the adapter's read: the best row of each side
                assert _rows(islice(book.bid_entries(), 1)) == _rows(islice(eager.bid_entries(), 1))
                assert _rows(islice(book.ask_entries(), 1)) == _rows(islice(eager.ask_entries(), 1))
            elif kind == 2:  # top first, deeper later in the same tick (a walk of a priced pair)
                bids = book.bid_entries()
                first = _rows(islice(bids, 1))
                asks = _rows(book.ask_entries())
                assert first + _rows(bids) == _rows(eager.bid_entries())
                assert asks == _rows(eager.ask_entries())
            elif kind == 3:
                assert _rows(book.ask_entries()) == _rows(eager.ask_entries())
                assert _rows(book.bid_entries()) == _rows(eager.bid_entries())
            elif state.mid is None:
                assert not list(book.ask_entries())
            elif kind == 4:  # Hummingbot's Cython path: ExchangeBase.c_get_price reads the C++ book directly
                ask = connector.quantize_order_price(pair, Decimal(str(eager.get_price(True))))
                bid = connector.quantize_order_price(pair, Decimal(str(eager.get_price(False))))
                assert connector.get_price_by_type(pair, PriceType.BestBid) == bid
                assert connector.get_price(pair, True) == ask and connector.get_price(pair, False) == bid
                assert connector.get_price_by_type(pair, PriceType.MidPrice) == (ask + bid) / 2
                assert book.get_price(True) == eager.get_price(True)  # the book itself, written now
            elif kind == 5:
                volume = Decimal(str(rng.uniform(0.001, 50)))
                for buy in (True, False):
                    want = eager.get_vwap_for_volume(buy, float(volume))
                    assert connector.get_vwap_for_volume(pair, buy, volume).result_price == Decimal(
                        str(want.result_price)
                    )
                    assert connector.get_price_for_volume(pair, buy, volume).result_price == Decimal(
                        str(eager.get_price_for_volume(buy, float(volume)).result_price)
                    )
            else:
                assert book.get_price(True) == eager.get_price(True)
                assert book.simulate_sell(3.0) == eager.simulate_sell(3.0)
    return reads


def test_lazy_books_read_like_eager_books(market_data: MarketData, tmp_path: Path) -> None:
    async def run() -> int:
        env = SimEnvironment(
            market_data=market_data,
            perp_venues=["binance", "bybit"],
            spot_venues=["binance"],
            coins=["BTC", "ETH", "SOL", "DOGE", "HYPE"],
            start_ts=START,
            end_ts=START + 6 * 3600,
            tick_s=60,
            record=False,
        )
        rng = random.Random(11)
        reads = 0
        try:
            await env.start()
            for _ in range(300):
                await settle(env)
                reads += _check_reads(rng, env)
        finally:
            env.close()
        return reads

    assert asyncio.run(run()) > 3000


def test_an_applied_snapshot_replaces_the_published_book() -> None:
    synth = BookSynth(_shapes()[0], Decimal("0.1"))
    book = SimOrderBook()
    book.publish(synth, Decimal("100000.05"), 7)
    assert book.snapshot_uid == 7 and next(book.ask_entries()).price > 100000
    book.apply_snapshot([OrderBookRow(99.0, 1.0, 8)], [OrderBookRow(101.0, 2.0, 8)], 8)
    assert book.snapshot_uid == 8
    assert _rows(book.bid_entries()) == [(99.0, 1.0, 8)] and _rows(book.ask_entries()) == [(101.0, 2.0, 8)]
    book.publish(None, None, 9)  # an empty book (no market data)
    assert book.snapshot_uid == 9 and not list(book.bid_entries()) and not list(book.ask_entries())
    assert book.best_price(True) is None and book.best_price(False) is None


def test_lazy_book_rows_on_mids_built_to_hit_every_path() -> None:
    """Ties, near-exact ticks, mids a few ticks above zero (no fast top: the rows answer from the first one)."""
    rng = random.Random(3)
    shapes = _shapes()
    no_top = 0
    for update_id in range(3000):
        si, ti = rng.randrange(len(shapes)), rng.randrange(len(TICKS))
        tick = TICKS[ti]
        mid = _mid(rng, tick) if rng.random() < 0.9 else tick * rng.randrange(1, 40) + tick / 3
        if mid <= 0:
            continue
        synth = BookSynth(shapes[si], tick)
        book = SimOrderBook()
        book.publish(synth, mid, update_id)
        no_top += synth.top(mid) is None
        eager = _eager(mid, synth, update_id)
        first = _rows(islice(book.ask_entries(), 1))
        assert first == _rows(islice(eager.ask_entries(), 1)), (mid, tick)
        assert _rows(book.bid_entries()) == _rows(eager.bid_entries()), (mid, tick)
        assert _rows(book.ask_entries()) == _rows(eager.ask_entries()), (mid, tick)
        assert book.snapshot_uid == update_id
        if rng.random() < 0.3:
            assert book.get_price(True) == eager.get_price(True)  # written now
            assert _rows(book.bid_entries()) == _rows(eager.bid_entries())
    assert no_top > 50
