"""The simulated venues' per-tick shortcuts answer exactly as the plain computations do (docs/performance.md):

* the clock's yields to the event loop stop once it is idle, yet a chain of callbacks runs as far as before;
* a candle cursor in `CandleSeries.price_at` and `path_extremes` (no search within the hour), on irregular candles;
* each perp pair's remembered next settlement: the funding info and the settlements paid as a search gives them;
* `SimOrderBook.touch()` gives the first rows of the entries; `get_order_book` and `ready` as Hummingbot's.
"""

from __future__ import annotations

import asyncio
import bisect
import random
from decimal import Decimal

import pytest
from hummingbot.core.data_type.common import PositionAction
from sim_helpers import BINANCE, PAIR
from test_sim_fast_paths import TICKS, _mid, _shapes

from strategies.funding_arbitrage.sim.book import BookSynth
from strategies.funding_arbitrage.sim.data import (
    HOUR_S,
    Candle,
    CandleSeries,
    MarketData,
    _path_price,
    _path_vertices,
)
from strategies.funding_arbitrage.sim.faults import FaultConfig
from strategies.funding_arbitrage.sim.harness import SimEnvironment
from strategies.funding_arbitrage.sim.lazybook import SimOrderBook
from strategies.funding_arbitrage.sim.perp import SimPerpetualDerivative

START = 1751328000  # 2025-07-01


def _env(market_data: MarketData, **kwargs: object) -> SimEnvironment:
    return SimEnvironment(
        market_data=market_data,
        perp_venues=["binance"],
        spot_venues=[],
        coins=["BTC"],
        start_ts=START,
        end_ts=START + 3 * 3600,
        tick_s=60,
        record=False,
        **kwargs,  # type: ignore[arg-type]
    )


def test_a_callback_chain_runs_as_far_in_a_tick_as_with_every_yield(market_data: MarketData) -> None:
    """A chain of n hops (each a call_soon from the last) finishes within a tick iff n fits in the yields."""

    async def run(hops: int) -> int:
        env = _env(market_data, yields_per_tick=5)
        done: list[int] = []
        loop = asyncio.get_running_loop()

        def hop(left: int) -> None:
            done.append(left)
            if left > 1:
                loop.call_soon(hop, left - 1)

        try:
            await env.start()
            loop.call_soon(hop, hops)
            await env.step()
            return len(done)
        finally:
            env.close()

    # a yield runs the callbacks ready before it: hop k runs at the k-th yield, as five plain sleep(0)s run them
    assert asyncio.run(run(3)) == 3
    assert asyncio.run(run(5)) == 5
    assert asyncio.run(run(8)) == 5


def test_an_idle_tick_enters_no_loop_iteration(market_data: MarketData) -> None:
    async def run() -> int:
        env = _env(market_data)
        loop = asyncio.get_running_loop()
        iterations = 0
        original = loop._run_once  # type: ignore[attr-defined]

        def counting() -> None:
            nonlocal iterations
            iterations += 1
            original()

        try:
            await env.start()
            await asyncio.sleep(0)
            loop._run_once = counting  # type: ignore[attr-defined]
            for _ in range(20):
                await env.step()
            return iterations
        finally:
            loop._run_once = original  # type: ignore[attr-defined]
            env.close()

    assert asyncio.run(run()) == 0


def _candle(open_ts: int, o: str, h: str, low: str, c: str) -> Candle:
    return Candle(open_ts, Decimal(o), Decimal(h), Decimal(low), Decimal(c), Decimal(1))


def test_price_at_with_the_candle_cursor_equals_the_path_formula() -> None:
    """Irregular candles (one opens half an hour into its predecessor's hour, a gap) and ticks in any order."""
    t0 = 1_700_000_000 - 1_700_000_000 % HOUR_S
    candles = [
        _candle(t0, "100", "110", "95", "105"),
        _candle(t0 + HOUR_S, "105", "107", "101", "102"),
        _candle(t0 + HOUR_S + 1800, "102", "103", "99", "100.5"),  # opens inside the previous candle's hour
        _candle(t0 + 4 * HOUR_S, "99", "120", "98", "119"),  # after a gap
    ]
    series = CandleSeries("v", "X", candles, 1)

    def by_hand(ts: float, path: str) -> Decimal | None:
        opened = [c for c in candles if c.open_ts <= ts]
        if not opened:
            return None
        candle = opened[-1]
        if ts < candle.open_ts + HOUR_S:
            return _path_price(candle, Decimal(str(ts - candle.open_ts)) / HOUR_S, path)
        return candle.close if ts - (candle.open_ts + HOUR_S) <= 7200 else None

    rng = random.Random(5)
    times: list[float] = [t0 + s for s in range(-120, 7 * HOUR_S, 60)]
    times += [t0 + rng.uniform(-100, 7 * HOUR_S) for _ in range(400)] + [t0 + HOUR_S + 1800, t0 + HOUR_S + 1799]
    ordered = list(times)
    rng.shuffle(times)

    def extremes_by_hand(start: float, end: float, path: str) -> tuple[Decimal, Decimal] | None:
        """The scan as written before the cursor: the candles from bisect(start - 1 h) to bisect(end)."""
        points = [p for p in (by_hand(start, path), by_hand(end, path)) if p is not None]
        opens = [c.open_ts for c in candles]
        for candle in candles[bisect.bisect_right(opens, start - HOUR_S) : bisect.bisect_right(opens, end)]:
            for frac, price in _path_vertices(candle, path):
                if start <= candle.open_ts + frac * HOUR_S <= end:
                    points.append(price)
        return (min(points), max(points)) if points else None

    for ts in ordered + times:  # in order (the cursor holds), then jumping about (it moves)
        for path in ("ohlc", "linear"):
            ts_typed = int(ts) if rng.random() < 0.3 else ts
            assert repr(series.price_at(ts_typed, 7200, path)) == repr(by_hand(ts_typed, path)), (ts_typed, path)
            start = ts_typed - rng.choice([60, 60.0, 1, 1800, 3600, 5400])  # the liquidation check's span
            got = series.path_extremes(start, ts_typed, path, 7200)
            assert repr(got) == repr(extremes_by_hand(start, ts_typed, path)), (start, ts_typed, path)


def test_funding_info_and_settlements_follow_the_recorded_series(market_data: MarketData) -> None:
    """Ticks of uneven length, a step back in time and a jump: the funding info always shows the search's next
    settlement, and a held position is paid every settlement passed going forward, once."""

    async def run() -> None:
        perp = SimPerpetualDerivative("binance", market_data, ["BTC"], initial_balance_quote=Decimal(100000))
        series = market_data.funding_series("binance", "BTC")
        rng = random.Random(9)
        ts = float(START)
        perp.advance(ts)
        perp._book.apply(
            PAIR, True, PositionAction.OPEN, Decimal("0.01"), Decimal(100000), 5
        )  # a long to pay funding on
        expected: list[int] = []
        for _ in range(400):
            step = rng.choice([60, 60, 60, 300, 1.5, 3600, 8 * 3600 + 7, -600])
            prev, ts = ts, ts + step
            perp.advance(ts)
            if step > 0:
                expected += [s.ts for s in series.settlements_between(prev, ts)]
            info = perp.get_funding_info(PAIR)
            upcoming = series.next_settlement(ts)
            assert upcoming is not None
            assert (info.next_funding_utc_timestamp, info.rate) == (upcoming.ts, upcoming.rate), ts
        assert [p.ts for p in perp.funding_payments] == expected
        assert len(expected) > 10

    asyncio.run(run())


def test_touch_is_the_first_rows_of_the_entries() -> None:
    rng = random.Random(4)
    shapes = _shapes()
    answered = 0
    for update_id in range(3000):
        tick = TICKS[rng.randrange(len(TICKS))]
        mid = _mid(rng, tick)
        if mid <= 0:
            continue
        book = SimOrderBook()
        book.publish(BookSynth(shapes[rng.randrange(len(shapes))], tick), mid, update_id)
        touch = book.touch()
        if touch is not None:  # then both sides have rows
            answered += 1
            bid, ask = next(book.bid_entries()), next(book.ask_entries())
            assert touch == (bid.price, bid.amount, ask.price, ask.amount), (mid, tick)
    assert answered > 1500
    book = SimOrderBook()
    book.publish(None, None, 1)
    assert book.touch() is None  # an empty book: the entries answer (none)
    book.publish(BookSynth(shapes[0], Decimal("0.1")), Decimal("100000.05"), 2)
    book.apply_pending()
    assert book.touch() is None  # written into the C++ book already: the entries answer


def test_get_order_book_and_ready_answer_as_hummingbot(market_data: MarketData) -> None:
    async def run() -> None:
        window = (START + 600.0, START + 1200.0)
        perp = SimPerpetualDerivative(
            "binance", market_data, ["BTC"], faults=FaultConfig(disconnect_windows=(window,)), name=BINANCE
        )
        assert perp.get_order_book(PAIR) is perp.order_book_tracker.order_books[PAIR]
        with pytest.raises(ValueError, match="No order book exists for 'ETH-USDT'"):
            perp.get_order_book("ETH-USDT")
        for ts in (START, START + 600, START + 900, START + 1200):
            perp.advance(float(ts))
            assert perp.ready == all(perp.status_dict.values())
            assert perp.ready is (not window[0] <= ts < window[1])

    asyncio.run(run())
