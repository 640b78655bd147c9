"""The snapshots' hot-path constructors and cached touch give exactly what the dataclass constructors and the sides
give (speed is measured in bench/, not here)."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies.funding_arbitrage.core.snapshots import (
    BookSnapshot,
    FeeSchedule,
    FundingSnapshot,
    MarketKind,
    MarketRules,
    MarketSnapshot,
    new_funding_snapshot,
    new_market_snapshot,
)

decimals = st.decimals(allow_nan=False, allow_infinity=False, places=6, min_value=D("-1e6"), max_value=D("1e6"))
FEES = FeeSchedule(D("0.0005"), D("0.0005"), D("0.0002"), D("0.0002"), "connector")
RULES = MarketRules(D("0.001"), D("0.001"), D("0.1"), D("5"))


@given(rate=decimals, mark=decimals, index=decimals, next_ts=st.integers(0, 2**40), observed=st.floats(0, 2e9))
def test_new_funding_snapshot_is_the_constructors_snapshot(
    rate: D, mark: D, index: D, next_ts: int, observed: float
) -> None:
    args = ("bybit_perpetual", "BTC-USDT", rate, next_ts, mark, index, observed)
    fast, slow = new_funding_snapshot(*args), FundingSnapshot(*args)

    assert type(fast) is FundingSnapshot and fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow)
    assert vars(fast) == vars(slow) and list(vars(fast)) == list(vars(slow))  # same fields, same order
    with pytest.raises(FrozenInstanceError):
        fast.rate = D(0)  # type: ignore[misc]


@pytest.mark.parametrize("kind", list(MarketKind))
def test_new_market_snapshot_is_the_constructors_snapshot(kind: MarketKind) -> None:
    book = BookSnapshot("binance", "BTC-USDT", ((D("100"), D("1")),), ((D("101"), D("2")),), 5.0)
    funding = FundingSnapshot("binance", "BTC-USDT", D("0.0001"), 10, D("100.5"), D("100.4"), 5.0)
    args = ("binance", "BTC", "BTC-USDT", kind, book, funding, FEES, RULES, D(3))
    fast, slow = new_market_snapshot(*args), MarketSnapshot(*args)

    assert type(fast) is MarketSnapshot and fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow)
    assert list(vars(fast)) == list(vars(slow))
    with pytest.raises(FrozenInstanceError):
        fast.book = None  # type: ignore[misc]


levels = st.lists(st.tuples(decimals, decimals), max_size=3).map(tuple)


@given(bids=levels, asks=levels)
def test_best_prices_and_mid_are_read_from_the_sides(
    bids: tuple[tuple[D, D], ...], asks: tuple[tuple[D, D], ...]
) -> None:
    book = BookSnapshot("binance", "BTC-USDT", bids, asks, 1.0)

    assert book.best_bid == (bids[0][0] if bids else None) and book.best_ask == (asks[0][0] if asks else None)
    want = (bids[0][0] + asks[0][0]) / 2 if bids and asks else None
    assert repr(book.mid) == repr(want)  # the same digits, not only the value
    assert book.best_bid is book.best_bid  # computed once: the book is frozen
    assert book == BookSnapshot("binance", "BTC-USDT", bids, asks, 1.0)  # a cached value is no field
