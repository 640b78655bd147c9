"""Bad market data never raises out of `evaluate`: each case is skipped and counted under its reason."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from edge_builders import BINANCE, BYBIT, FEES, RULES, T0, book, held, perp, settings, tick
from hypothesis import given
from hypothesis import settings as settings_
from hypothesis import strategies as st

from strategies.funding_arbitrage.core.decisions import EdgeEngine, Reason, SkipReason
from strategies.funding_arbitrage.core.funding import check_funding
from strategies.funding_arbitrage.core.market_data import _sound, _Static, check_fees
from strategies.funding_arbitrage.core.orderbook import check_top
from strategies.funding_arbitrage.core.snapshots import BookSnapshot, FundingSnapshot, MarketKind, MarketSnapshot

D = Decimal
GOOD = perp(BINANCE, "0.0001")


def bad_bybit(**changes: Any) -> MarketSnapshot:
    return replace(perp(BYBIT, "0.001"), **changes)


def levels(*pairs: tuple[str, str]) -> tuple[tuple[Decimal, Decimal], ...]:
    return tuple((D(p), D(s)) for p, s in pairs)


def funding(**changes: Any) -> FundingSnapshot:
    base = perp(BYBIT, "0.001").funding
    assert base is not None
    return replace(base, **changes)


GOOD_BIDS = levels(("59999.5", "1"), ("59998.5", "1"))
GOOD_ASKS = levels(("60000.5", "1"), ("60001.5", "1"))


def bybit_book(bids: Any = GOOD_BIDS, asks: Any = GOOD_ASKS, ts: float = T0) -> BookSnapshot:
    return BookSnapshot(BYBIT, "BTC-USDT", bids, asks, ts)


CASES = {
    "book missing": (bad_bybit(book=None), SkipReason.MISSING_BOOK),
    "book empty": (bad_bybit(book=bybit_book(bids=())), SkipReason.EMPTY_BOOK),
    "book crossed": (bad_bybit(book=bybit_book(bids=levels(("60001", "1")))), SkipReason.CROSSED_BOOK),
    "price NaN": (bad_bybit(book=bybit_book(bids=levels(("NaN", "1")))), SkipReason.BAD_PRICE),
    "price zero": (bad_bybit(book=bybit_book(bids=levels(("0", "1")))), SkipReason.BAD_PRICE),
    "price negative": (bad_bybit(book=bybit_book(bids=levels(("-1", "1")))), SkipReason.BAD_PRICE),
    "book stale": (bad_bybit(book=bybit_book(ts=T0 - 121)), SkipReason.STALE_BOOK),
    "funding missing": (bad_bybit(funding=None), SkipReason.MISSING_FUNDING),
    "funding stale": (bad_bybit(funding=funding(observed_ts=T0 - 121)), SkipReason.STALE_FUNDING),
    "funding past due": (
        bad_bybit(funding=funding(next_funding_ts=int(T0) - 600)),
        SkipReason.FUNDING_PAST_DUE,
    ),
    "rate NaN": (bad_bybit(funding=funding(rate=D("NaN"))), SkipReason.BAD_RATE),
    "rate infinite": (bad_bybit(funding=funding(rate=D("Infinity"))), SkipReason.BAD_RATE),
    "rate beyond venue cap": (bad_bybit(funding=funding(rate=D("0.021"))), SkipReason.RATE_BEYOND_CAP),
    "mark NaN": (bad_bybit(funding=funding(mark_price=D("NaN"))), SkipReason.BAD_PRICE),
    "mark zero": (bad_bybit(funding=funding(mark_price=D("0"))), SkipReason.BAD_PRICE),
    "fee NaN": (bad_bybit(fees=replace(FEES, taker_open=D("NaN"))), SkipReason.BAD_FEES),
    "wrong kind": (replace(perp(BYBIT, "0.001"), kind="spot"), SkipReason.UNCONFIGURED_MARKET),
    "unconfigured token": (perp(BYBIT, "0.001", token="ETH"), SkipReason.UNCONFIGURED_MARKET),
    "garbage book": (bad_bybit(book="garbage"), SkipReason.INTERNAL_ERROR),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_bad_market_is_skipped_with_its_counted_reason(case: str) -> None:
    market, reason = CASES[case]
    engine = EdgeEngine(settings())

    decision = engine.evaluate(tick(T0, GOOD, market))

    assert decision.skipped[reason] == 1
    assert decision.enters == () and decision.candidates == ()


def test_a_rate_beyond_the_sane_bound_is_skipped_on_a_venue_without_a_cap() -> None:
    dydx = "dydx_v4_perpetual"
    engine = EdgeEngine(
        settings(
            perp_connectors=[BINANCE, dydx],
            quote_assets={BINANCE: "USDT", dydx: "USDT"},
            leverage={BINANCE: 3, dydx: 3},
            funding_interval_hints_hours={BINANCE: D("8")},
        )
    )

    decision = engine.evaluate(tick(T0, GOOD, perp(dydx, "0.051")))

    assert decision.skipped[SkipReason.RATE_BEYOND_CAP] == 1


def test_missing_and_none_snapshots_are_counted() -> None:
    engine = EdgeEngine(settings())

    absent = engine.evaluate(tick(T0, GOOD))
    none_entry = engine.evaluate(tick(T0, GOOD, None))

    assert absent.skipped[SkipReason.MISSING_SNAPSHOT] == 1
    assert none_entry.skipped[SkipReason.MISSING_SNAPSHOT] == 2  # the None entry and the configured market it hides


def test_a_duplicate_market_snapshot_is_skipped_and_never_paired_with_itself() -> None:
    decision = EdgeEngine(settings()).evaluate(tick(T0, GOOD, perp(BYBIT, "0.001"), perp(BYBIT, "0.002")))

    assert decision.skipped[SkipReason.DUPLICATE_MARKET] == 1
    assert [(c.long_connector, c.short_connector) for c in decision.candidates] == [(BINANCE, BYBIT)]


def test_a_venue_reported_not_ready_is_skipped() -> None:
    decision = EdgeEngine(settings()).evaluate(tick(T0, GOOD, perp(BYBIT, "0.001"), ready={BYBIT: False}))

    assert decision.skipped[SkipReason.VENUE_NOT_READY] == 1


@pytest.mark.parametrize(
    ("asks", "reason"),
    [
        (levels(("60000.5", "0"), ("60001", "5")), SkipReason.BAD_SIZE),
        (levels(("60000.5", "0.001"), ("NaN", "5")), SkipReason.BAD_PRICE),
        (levels(("60000.5", "0.001"), ("60000.4", "5")), SkipReason.UNSORTED_BOOK),
        (levels(("60000.5", "0.001"), ("60001", "-1")), SkipReason.BAD_SIZE),
    ],
)
def test_a_bad_deeper_level_is_counted_when_the_book_is_walked(asks: Any, reason: SkipReason) -> None:
    """Top of book is fine, so the market passes intake; the walk finds the bad level and rejects the pair."""
    engine = EdgeEngine(settings())
    binance_bad = replace(perp(BINANCE, "0.0001"), book=BookSnapshot(BINANCE, "BTC-USDT", GOOD_BIDS, asks, T0))

    decision = engine.evaluate(tick(T0, binance_bad, perp(BYBIT, "0.001")))

    assert decision.skipped[reason] == 1
    assert decision.candidates[0].reason is Reason.BAD_MARKET_DATA
    assert decision.enters == ()


@pytest.mark.parametrize("rules", [replace(RULES, lot_size=D("0")), replace(RULES, min_notional=D("NaN"))])
def test_bad_lot_rules_are_counted_when_the_market_is_first_sized(rules: Any) -> None:
    engine = EdgeEngine(settings())

    decision = engine.evaluate(tick(T0, GOOD, bad_bybit(rules=rules)))

    assert decision.skipped[SkipReason.BAD_RULES] == 1
    assert decision.candidates[0].reason is Reason.BAD_MARKET_DATA
    assert decision.enters == ()


def test_held_pairs_with_bad_markets_are_reviewed_without_raising() -> None:
    engine = EdgeEngine(settings())
    crossed = bad_bybit(book=bybit_book(bids=levels(("60001", "1"))))
    thin = bad_bybit(book=book(BYBIT, "BTC-USDT", size="0.001", levels=2))

    decisions = [engine.evaluate(tick(T0, GOOD, m), (held(),)) for m in (crossed, thin, None)]

    assert all(d.exits == () for d in decisions)
    assert [d.holds[0].exit_cost_quote for d in decisions] == [None, None, None]
    assert decisions[0].holds[0].forward_edge_apr_pct is None


NUMBERS = st.one_of(
    st.sampled_from([D("NaN"), D("Infinity"), D("-Infinity"), D("0"), D("-1"), D("1"), D("0.999")]),
    st.decimals(min_value=D("-0.1"), max_value=D("100"), allow_nan=False, allow_infinity=False, places=4),
)


@settings_(max_examples=300)
@given(
    bid=NUMBERS,
    ask=NUMBERS,
    fee_open=NUMBERS,
    fee_close=NUMBERS,
    rate=NUMBERS,
    mark=NUMBERS,
    book_age=st.sampled_from([0, 119, 121]),
    funding_age=st.sampled_from([0, 119, 121]),
    next_in=st.sampled_from([-121, -119, 3600]),
)
def test_the_fast_check_agrees_with_the_explicit_checks(
    bid: Decimal,
    ask: Decimal,
    fee_open: Decimal,
    fee_close: Decimal,
    rate: Decimal,
    mark: Decimal,
    book_age: int,
    funding_age: int,
    next_in: int,
) -> None:
    """`_sound` accepts exactly the markets every explicit check accepts (reasons always come from them)."""
    market = replace(
        perp(BYBIT, "0.001"),
        book=BookSnapshot(BYBIT, "BTC-USDT", ((bid, D(1)),), ((ask, D(1)),), T0 - book_age),
        fees=replace(FEES, taker_open=fee_open, taker_close=fee_close),
        funding=funding(rate=rate, mark_price=mark, observed_ts=T0 - funding_age, next_funding_ts=int(T0) + next_in),
    )
    static = _Static(MarketKind.PERP, None, D("0.02"), (BYBIT, "BTC-USDT"))
    explicit = (
        check_top(market.book, T0, 120) or check_fees(market.fees) or check_funding(market.funding, T0, 120, D("0.02"))
    )

    assert (_sound(market, static, T0, 120) is not None) is (explicit is None)
