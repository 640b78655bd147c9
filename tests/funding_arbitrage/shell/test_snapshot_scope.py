"""Partial snapshots on ticks that decide nothing (`SnapshotBuilder.build(..., keep)`, `shell/snapshot_scope.py`):
the markets kept are those a full snapshot gives, the per-venue freshness is the full snapshot's, and what the builder
remembers of the markets left out (when their book and funding last changed, fee refreshes, read errors) is exactly
what full builds leave, so the next full snapshot is identical.

Safety controls firing on such ticks, on the simulated venues: integration/test_integration_partial_snapshot.py.
"""

from __future__ import annotations

import asyncio
import random
from types import SimpleNamespace
from typing import Any

from test_adapter_fast_paths import (
    ASKS,
    BIDS,
    PAIR,
    PERP,
    SPOT,
    T0,
    TouchBook,
    _book,
    _Connector,
    _flat,
    _flat_tick,
    _funding,
    _rows,
    _settings,
)

from strategies.funding_arbitrage.core.config import FundingArbSettings
from strategies.funding_arbitrage.core.snapshots import TickSnapshot
from strategies.funding_arbitrage.shell import adapter
from strategies.funding_arbitrage.shell.adapter import SnapshotBuilder
from strategies.funding_arbitrage.shell.runtime import FundingArbRuntime

ETH = "ETH-USDT"


def _freshness(settings: FundingArbSettings, tick: TickSnapshot) -> dict[str, Any]:
    """The per-venue freshness the risk gate reads, computed by the runtime's own method."""
    return FundingArbRuntime._freshness(SimpleNamespace(settings=settings), tick)  # type: ignore[arg-type]


def _keys(tick: TickSnapshot) -> list[tuple[str, str]]:
    return [(m.connector, m.trading_pair) for m in tick.markets]


def test_on_the_simulated_venues_partial_ticks_agree_with_full_ones_and_leave_full_ticks_identical() -> None:
    from strategies.funding_arbitrage.replay.runner import ReplayOptions, sim_settings
    from strategies.funding_arbitrage.shell.home import project_root
    from strategies.funding_arbitrage.sim.harness import SimEnvironment

    data = project_root() / ".." / "shared" / "data" / "cross_venue_2025"
    settings = FundingArbSettings(**sim_settings(ReplayOptions(data_dir=data)))
    full, partial = SnapshotBuilder(settings), SnapshotBuilder(settings)
    every = [(name, settings.trading_pair(name, t)) for name in settings.all_connectors for t in settings.tokens]
    rnd = random.Random(7)

    async def body() -> tuple[int, int]:
        env = SimEnvironment(
            data_dir=data, coins=list(settings.tokens), start_ts=T0, end_ts=T0 + 2 * 3600, tick_s=60, record=False
        )
        await env.start()
        left_out = partial_ticks = 0
        try:
            for i in range(100):
                ts = await env.step()
                keep = None if i % 5 == 0 else frozenset(rnd.sample(every, rnd.randint(0, 4)))
                a = full.build(ts, env.connectors)
                b = partial.build(ts, env.connectors, keep)
                if keep is None:
                    assert _flat_tick(b) == _flat_tick(a)
                    continue
                partial_ticks += 1
                by_key = {(m.connector, m.trading_pair): m for m in a.markets}
                assert set(keep) <= set(_keys(b))
                assert [_flat(m) for m in b.markets] == [_flat(by_key[k]) for k in _keys(b)]  # in plan order
                assert _freshness(settings, b) == _freshness(settings, a)
                assert (b.positions, b.balances_quote, b.ready) == (a.positions, a.balances_quote, a.ready)
                left_out += len(a.markets) - len(b.markets)
        finally:
            env.close()
        return partial_ticks, left_out

    partial_ticks, left_out = asyncio.run(body())
    assert partial_ticks == 80 and left_out >= 80 * 8  # most markets were left out of partial ticks
    assert full.errors == partial.errors == {}


def _two_markets(eth_book: Any, btc_book: Any) -> dict[str, Any]:
    books = {PAIR: btc_book, ETH: eth_book}
    return {PERP: _Connector(books, {p: _funding() for p in books})}


def test_a_partial_tick_holds_kept_markets_positions_and_each_venues_newest_change() -> None:
    btc, eth = _book(TouchBook, BIDS, ASKS, 1), _book(TouchBook, BIDS, ASKS, 1)
    connectors = _two_markets(eth, btc)
    builder = SnapshotBuilder(_settings())
    builder.build(T0, connectors)  # full: both seen at T0

    eth.apply_snapshot(_rows(BIDS, 2), _rows(ASKS, 2), 2)  # only ETH's book changes
    tick = builder.build(T0 + 60, connectors, keep={(PERP, PAIR)})
    assert _keys(tick) == [(PERP, PAIR), (PERP, ETH)]  # ETH carries the venue's newest book change
    assert _freshness(builder._settings, tick)[PERP] == T0  # funding unchanged since T0: the older of the two

    tick = builder.build(T0 + 120, connectors, keep={(PERP, PAIR)})
    assert _keys(tick) == [(PERP, PAIR), (PERP, ETH)]  # nothing changed since: ETH's change is still the newest
    btc.apply_snapshot(_rows(BIDS, 3), _rows(ASKS, 3), 3)
    tick = builder.build(T0 + 180, connectors, keep={(PERP, PAIR)})
    assert _keys(tick) == [(PERP, PAIR)]  # the kept BTC carries the newest change itself

    connectors[PERP].account_positions = {"x": SimpleNamespace(trading_pair=ETH, amount=1, entry_price=100,
                                                               unrealized_pnl=0, leverage=3)}  # fmt: skip
    tick = builder.build(T0 + 240, connectors, keep=())
    assert _keys(tick) == [(PERP, PAIR), (PERP, ETH)]  # ETH: a position; BTC: the venue's newest book change
    assert [p.trading_pair for p in tick.positions] == [ETH]


def test_a_market_left_out_keeps_the_stamps_and_fee_refreshes_of_full_builds() -> None:
    books = {k: {p: _book(TouchBook, BIDS, ASKS, 1) for p in (PAIR, ETH)} for k in ("full", "partial")}
    fundings = {k: {p: _funding() for p in (PAIR, ETH)} for k in books}
    connectors = {k: {PERP: _Connector(books[k], fundings[k])} for k in books}
    full, partial = SnapshotBuilder(_settings()), SnapshotBuilder(_settings())
    ts = T0
    for step in range(40):
        ts += 600  # 10 min: fee schedules are re-read hourly
        for k in books:
            if step % 3 == 0:  # a new book version
                books[k][ETH].apply_snapshot(_rows(BIDS, step + 2), _rows(ASKS, step + 2), step + 2)
            if step % 4 == 1:  # a new touch under the same version
                books[k][ETH].apply_snapshot(_rows(BIDS[step % 2 :], 1), _rows(ASKS, 1), 1)
            if step % 7 == 2:
                fundings[k][ETH] = _funding(mark=f"100.{step}")
        keep = None if step % 6 == 5 else {(PERP, PAIR)}
        a, b = full.build(ts, connectors["full"]), partial.build(ts, connectors["partial"], keep)
        if keep is None:
            assert _flat_tick(b) == _flat_tick(a)
        for attr in ("book_obs", "funding_obs", "fees_ts"):
            assert [getattr(m, attr) for _, ms in partial._plan for m in ms] == [
                getattr(m, attr) for _, ms in full._plan for m in ms
            ], attr


def test_a_market_whose_read_fails_is_built_and_counted_as_on_a_full_tick() -> None:
    class BadTouch(TouchBook):
        def touch(self) -> Any:
            return ("not", "four", "numbers", None)

    builder = SnapshotBuilder(_settings())
    good, bad = _book(TouchBook, BIDS, ASKS, 1), _book(BadTouch, BIDS, ASKS, 1)
    connectors = _two_markets(bad, good)
    builder.build(T0, connectors)
    assert builder.errors == {"adapter_error": 1}

    tick = builder.build(T0 + 60, connectors, keep={(PERP, PAIR)})  # ETH's version unchanged: its touch is read
    assert builder.errors == {"adapter_error": 2} and _keys(tick) == [(PERP, PAIR)]
    del connectors[PERP].trading_rules[ETH]
    builder.build(T0 + 120, connectors, keep={(PERP, PAIR)})
    assert builder.errors == {"adapter_error": 2, "no_trading_rule": 1}


def test_a_venue_whose_books_and_funding_froze_ages_on_partial_ticks_as_on_full_ones() -> None:
    """Nothing held anywhere (keep empty): the venue's freshness is still its newest change, so the risk gate's
    stale-data check sees the same age as with full snapshots."""
    settings = _settings()
    books = {PAIR: _book(TouchBook, BIDS, ASKS, 1), ETH: _book(TouchBook, BIDS, ASKS, 1)}
    connectors = {PERP: _Connector(books, {p: _funding() for p in books}), SPOT: _Connector(dict(books))}
    builder = SnapshotBuilder(settings)
    builder.build(T0, connectors)
    ages = []
    for i in range(1, 6):
        tick = builder.build(T0 + 60 * i, connectors, keep=frozenset())
        ages.append(T0 + 60 * i - _freshness(settings, tick)[PERP])
    assert ages == [60, 120, 180, 240, 300]
    assert adapter.FEE_REFRESH_S > 300  # (no fee refresh forced a build in this window)
