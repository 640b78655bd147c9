"""Decision ticks made cheap (docs/performance.md, "Fifth pass: decision ticks"): every shortcut gives what the plain
code gives. Here: walks and depth scans that stop at the top read nothing deeper, with the loop's own figures."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategies.funding_arbitrage.core.actions import HeldPair, held_pair, tick_decision
from strategies.funding_arbitrage.core.config import FundingArbSettings
from strategies.funding_arbitrage.core.margin import MarginBrackets
from strategies.funding_arbitrage.core.orderbook import (
    BookDataError,
    Fill,
    Level,
    Side,
    _checked,
    depth_up_to,
    walk,
)
from strategies.funding_arbitrage.core.reasons import SkipReason
from strategies.funding_arbitrage.core.risk import LegReport, LegRisk, RiskGate, _leg_report, leg_risk
from strategies.funding_arbitrage.core.sizing import VolatilityTracker
from strategies.funding_arbitrage.core.snapshots import MarketKind

D = Decimal


def _loop_walk(levels: tuple[Level, ...], amount_base: Decimal, side: Side) -> Fill | None:
    """`walk` before the top-first shortcut (the reference)."""
    remaining, notional, prev = amount_base, D(0), None
    descending = side is Side.SELL
    for used, (price, size) in enumerate(levels, start=1):
        _checked(price, size, prev, descending)
        if size >= remaining:
            notional += price * remaining
            return Fill(side, amount_base, notional, notional / amount_base, used)
        notional += price * size
        remaining -= size
        prev = price
    return None


def _loop_depth(levels: tuple[Level, ...], needed: Decimal, descending: bool) -> tuple[Decimal, bool]:
    total, prev = D(0), None
    for price, size in levels:
        _checked(price, size, prev, descending)
        total += size
        if total >= needed:
            return total, True
        prev = price
    return total, False


class _TopOnly:
    """A lazily read side (as the adapter's `BookLevels`): the top by index, deeper levels only by iterating,
    which is counted."""

    def __init__(self, levels: tuple[Level, ...]) -> None:
        self.levels = levels
        self.deep_reads = 0

    def __bool__(self) -> bool:
        return bool(self.levels)

    def __getitem__(self, i: int) -> Level:
        return self.levels[i]

    def __iter__(self) -> Iterator[Level]:
        self.deep_reads += 1
        return iter(self.levels)


_decimals = st.decimals(min_value=D("0.0001"), max_value=D("1000"), places=4)


@st.composite
def _side(draw: st.DrawFn) -> tuple[tuple[Level, ...], bool]:
    descending = draw(st.booleans())
    prices = sorted(set(draw(st.lists(_decimals, min_size=0, max_size=6))), reverse=descending)
    sizes = draw(st.lists(_decimals, min_size=len(prices), max_size=len(prices)))
    return tuple(zip(prices, sizes, strict=True)), descending


@settings(max_examples=400)
@given(_side(), _decimals)
def test_walk_and_depth_equal_the_level_loop_digit_for_digit(
    side: tuple[tuple[Level, ...], bool], amt: Decimal
) -> None:
    amount = amt
    levels, descending = side
    order = Side.SELL if descending else Side.BUY
    lazy = _TopOnly(levels)
    got, want = walk(lazy, amount, order), _loop_walk(levels, amount, order)  # type: ignore[arg-type]
    assert repr(got) == repr(want)
    if levels and levels[0][1] >= amount:
        assert lazy.deep_reads == 0  # filled at the top: nothing below it read
    lazy = _TopOnly(levels)
    got_depth = depth_up_to(lazy, amount, descending)  # type: ignore[arg-type]
    assert repr(got_depth) == repr(_loop_depth(levels, amount, descending))
    if levels and levels[0][1] >= amount:
        assert lazy.deep_reads == 0


def test_a_bad_top_still_raises_before_anything_deeper_is_read() -> None:
    lazy = _TopOnly(((D("100"), D("-1")), (D("101"), D("1"))))
    with pytest.raises(BookDataError):
        walk(lazy, D("0.5"), Side.BUY)  # type: ignore[arg-type]
    with pytest.raises(BookDataError):
        depth_up_to(lazy, D("0.5"), False)  # type: ignore[arg-type]
    assert lazy.deep_reads == 0


def test_a_fill_beyond_the_top_walks_the_levels_as_before() -> None:
    levels = ((D("100"), D("1")), (D("101"), D("2")))
    lazy = _TopOnly(levels)
    fill = walk(lazy, D("2"), Side.BUY)  # type: ignore[arg-type]
    assert fill == Fill(Side.BUY, D("2"), D("201"), D("100.5"), 2)
    assert lazy.deep_reads == 1


_maybe = st.none() | _decimals


@given(
    st.text(max_size=8),
    st.sampled_from(list(MarketKind)),
    _decimals,
    st.floats(allow_nan=False, allow_infinity=False),
    _decimals,
    _maybe,
    _maybe,
)
def test_held_pair_builder_equals_the_dataclass(
    pid: str,
    kind: MarketKind,
    amount: Decimal,
    ts: float,
    notional: Decimal,
    funding: Decimal | None,
    pnl: Decimal | None,
) -> None:
    args = (pid, "ETH", "binance", "ETH-USDT", kind, "bybit_perpetual", "ETH-USDT", amount, ts, notional, funding, pnl)
    fast, plain = held_pair(*args), HeldPair(*args)
    assert fast == plain and hash(fast) == hash(plain) and repr(fast) == repr(plain)
    assert dataclasses.astuple(fast) == args
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.amount_base = D(1)  # type: ignore[misc]


@given(_decimals, _decimals, _maybe, _decimals, _maybe, st.none() | st.text(max_size=4), _maybe)
def test_leg_risk_and_leg_report_builders_equal_the_dataclasses(
    amount: Decimal,
    entry: Decimal,
    mark: Decimal | None,
    leverage: Decimal,
    wallet: Decimal | None,
    quote: str | None,
    lot: Decimal | None,
) -> None:
    fields = ("p-1", "bybit_perpetual", "ETH", -amount, entry, mark, leverage, wallet, quote, lot)
    fast, plain = leg_risk(*fields), LegRisk(*fields)
    assert fast == plain and hash(fast) == hash(plain) and repr(fast) == repr(plain)
    assert fast.margin_quote == plain.margin_quote and fast.problem() == plain.problem()
    report = ("p-1", "bybit_perpetual", "ETH", amount, mark, entry, wallet, lot, quote, "ok")
    assert _leg_report(*report) == LegReport(*report) and repr(_leg_report(*report)) == repr(LegReport(*report))
    assert _leg_report(*report, "n") == LegReport(*report, "n")
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.amount = D(1)  # type: ignore[misc]


_steps = st.lists(
    st.tuples(
        st.sampled_from([-7200.0, 600.0, 3000.0, 3240.0, 3600.0, 3601.5, 7200.0, 11000.0, 20000.0]),
        st.decimals(min_value=D("0.5"), max_value=D("200"), places=6),
    ),
    max_size=40,
)


@settings(max_examples=300)
@given(_steps, st.integers(min_value=1, max_value=12), st.integers(min_value=2, max_value=5))
def test_volatility_from_kept_returns_equals_recomputing_them(
    steps: list[tuple[float, Decimal]], max_samples: int, min_returns: int
) -> None:
    vt = VolatilityTracker(max_samples=max_samples, min_returns=min_returns)
    key, ts = ("binance_perpetual", "ETH-USDT"), 1_750_000_000.0
    for step, price in steps:
        ts += step
        vt.observe(key, ts, price)
        series = list(vt._series[key])
        assert vt.hourly_vol_pct(key) == vt._compute(series)  # kept returns == the samples' returns, summed alike
        for lookback_s in (0.0, 3600.0, 4 * 3600.0, 1e9):
            want = vt._compute([s for s in series if s[0] >= series[-1][0] - lookback_s])
            got = vt.hourly_vol_pct_over(key, lookback_s)
            assert repr(got) == repr(want)


def test_volatility_on_a_price_its_arithmetic_cannot_take_raises_when_read_as_before() -> None:
    vt = VolatilityTracker(min_returns=2)
    key = ("binance", "ETH-USDT")
    vt.observe(key, 0.0, D(0))
    vt.observe(key, 3600.0, D(1))
    vt.observe(key, 7200.0, D(2))  # 1 / 0: not raised while observing
    with pytest.raises(ArithmeticError):
        vt.hourly_vol_pct(key)


def test_tick_decision_and_risk_report_builders_equal_the_dataclasses() -> None:
    decision = tick_decision(1.0, (), (), (), (), (), {SkipReason.STALE_BOOK: 2}, 3)
    assert decision == dataclasses.replace(decision) and repr(decision) == repr(dataclasses.replace(decision))
    gate = RiskGate(FundingArbSettings(), MarginBrackets({}))
    leg = leg_risk("p-1", "binance_perpetual", "BTC", D("-0.01"), D("60000"), D("61000"), D(1))
    report = gate.evaluate(1.0, equity_quote=D(100), last_update_ts_by_venue={}, legs=[leg], unpaired_legs=[])
    assert report == dataclasses.replace(report) and repr(report) == repr(dataclasses.replace(report))
    assert report.legs[0] == dataclasses.replace(report.legs[0])
