"""The liquidation model against the simulated venue's own margin book, after partial reductions.

The sim perps (`sim/positions.py`, `sim/brackets.py`) hold an isolated margin per position and release it pro rata
when the position is reduced, as Binance and Bybit do for isolated positions. The model (`core.margin`) must give the
same margin and the same liquidation price after any reduction, at any size and leverage, and must never show a
partial cut as moving the liquidation price away within one maintenance bracket.
"""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest
from hummingbot.core.data_type.common import PositionAction
from hypothesis import given, settings
from hypothesis import strategies as st

from strategies.funding_arbitrage.core.margin import (
    BracketTable,
    MarginBrackets,
    default_brackets_path,
    estimate_liquidation_price,
    isolated_margin_quote,
    liquidation_distance_pct,
    margin_after_reduction,
    reduce_fraction_for_distance,
)
from strategies.funding_arbitrage.sim.brackets import MaintenanceBrackets, load_brackets
from strategies.funding_arbitrage.sim.positions import PositionBook

ROOT = Path(__file__).resolve().parents[3]
SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT", "HYPEUSDT"]
PAIR = "X-USDT"


@pytest.fixture(scope="module")
def model() -> MarginBrackets:
    return MarginBrackets.load(default_brackets_path(ROOT))


@pytest.fixture(scope="module")
def venue() -> dict[str, MaintenanceBrackets]:
    return load_brackets(default_brackets_path(ROOT), SYMBOLS)


def _table(model: MarginBrackets, symbol: str) -> BracketTable:
    table = model.table(symbol)
    assert table is not None
    return table


def _venue_liq(brackets: MaintenanceBrackets, amount: D, entry: D, margin: D) -> D:
    liq = brackets.liquidation_price(amount, entry, margin)
    return D(0) if liq is None else liq  # the sim says None where a long cannot be liquidated; the model says 0


def _close_enough(a: D, b: D) -> bool:
    return abs(a - b) <= max(abs(a), abs(b), D(1)) * D("1e-20")


@settings(max_examples=300, deadline=None)
@given(
    symbol=st.sampled_from(SYMBOLS),
    is_long=st.booleans(),
    leverage=st.integers(min_value=1, max_value=50),
    first=st.decimals(min_value=D("0.001"), max_value=D("5000"), places=3),
    second=st.decimals(min_value=D("0"), max_value=D("5000"), places=3),
    price=st.decimals(min_value=D("0.05"), max_value=D("120000"), places=2),
    price_move=st.decimals(min_value=D("0.8"), max_value=D("1.2"), places=3),
    cuts=st.lists(st.decimals(min_value=D("0.01"), max_value=D("0.99"), places=2), min_size=1, max_size=4),
    relever=st.one_of(st.none(), st.integers(min_value=1, max_value=50)),
)
def test_model_margin_and_liquidation_equal_the_venue_after_every_reduction(
    model: MarginBrackets,
    venue: dict[str, MaintenanceBrackets],
    symbol: str,
    is_long: bool,
    leverage: int,
    first: D,
    second: D,
    price: D,
    price_move: D,
    cuts: list[D],
    relever: int | None,
) -> None:
    """Open in one or two fills, maybe change the leverage, then cut several times: after each step the model's
    margin (|amount| x entry / leverage, `margin_after_reduction`) and liquidation price are the venue's."""
    book, table, brackets = PositionBook(), _table(model, symbol), venue[symbol]
    book.apply(PAIR, is_long, PositionAction.OPEN, first, price, leverage)
    if second > 0:
        book.apply(PAIR, is_long, PositionAction.OPEN, second, price * price_move, leverage)
    if relever is not None:
        book.set_leverage(PAIR, relever)
        leverage = relever
    pos = book.get(PAIR)
    assert pos is not None
    margin = isolated_margin_quote(pos.amount, pos.entry_price, D(leverage))
    assert _close_enough(margin, pos.margin)  # equal to Decimal's 28 digits
    for cut in cuts:
        before, entry = pos.amount, pos.entry_price
        step = (abs(before) * cut).quantize(D("0.001"))
        if step <= 0 or step >= abs(before):
            continue
        book.apply(PAIR, not is_long, PositionAction.CLOSE, step, price * price_move, leverage)
        assert pos.entry_price == entry  # a reduction never moves the entry price
        margin = margin_after_reduction(margin, before, pos.amount)
        assert _close_enough(margin, pos.margin)
        assert _close_enough(isolated_margin_quote(pos.amount, pos.entry_price, D(leverage)), pos.margin)
        liq = estimate_liquidation_price(pos.amount, pos.entry_price, margin, table)
        assert liq is not None
        assert _close_enough(liq, _venue_liq(brackets, pos.amount, pos.entry_price, pos.margin))


def test_the_old_model_showed_a_partial_cut_moving_liquidation_away_the_venue_does_not(model: MarginBrackets) -> None:
    """The claim, checked on the sim's book: ETH short 0.248 at 2 534.82, 1x; ETH rallies to 4 700 (Aug 2025). A
    half cut leaves the venue's liquidation price where it was; the old model (margin of the largest size kept
    with the rest) moved it to ~2.5x entry and showed the distance restored."""
    venue = load_brackets(default_brackets_path(ROOT), ["ETHUSDT"])["ETHUSDT"]
    table = _table(model, "ETHUSDT")
    book, entry, mark = PositionBook(), D("2534.82"), D("4700")
    book.apply(PAIR, False, PositionAction.OPEN, D("0.248"), entry, 1)
    pos = book.get(PAIR)
    assert pos is not None
    largest_margin, liq_before = pos.margin, venue.liquidation_price(pos.amount, entry, pos.margin)
    book.apply(PAIR, True, PositionAction.CLOSE, D("0.124"), mark, 1)
    venue_liq = venue.liquidation_price(pos.amount, entry, pos.margin)
    assert venue_liq == liq_before  # the real liquidation price did not move
    old_liq = estimate_liquidation_price(pos.amount, entry, largest_margin, table)
    new_liq = estimate_liquidation_price(pos.amount, entry, isolated_margin_quote(pos.amount, entry, D(1)), table)
    assert old_liq is not None and new_liq is not None and venue_liq is not None
    assert liquidation_distance_pct(mark, venue_liq, is_long=False) < 8  # really ~6.6 % away
    assert liquidation_distance_pct(mark, old_liq, is_long=False) > 50  # the old model: "safe"
    assert new_liq == venue_liq
    # and the gate no longer sizes a cut that "restores" 15 %: it closes everything
    assert reduce_fraction_for_distance(pos.amount, entry, pos.margin, mark, D(15), table, D("0.001")) == 1


@settings(max_examples=200, deadline=None)
@given(
    symbol=st.sampled_from(SYMBOLS),
    is_long=st.booleans(),
    leverage=st.integers(min_value=1, max_value=20),
    notional=st.decimals(min_value=D("10"), max_value=D("200000"), places=2),
    cut=st.decimals(min_value=D("0.01"), max_value=D("0.99"), places=2),
)
def test_within_the_first_bracket_a_cut_never_moves_the_venue_liquidation_price(
    model: MarginBrackets,
    venue: dict[str, MaintenanceBrackets],
    symbol: str,
    is_long: bool,
    leverage: int,
    notional: D,
    cut: D,
) -> None:
    brackets, table = venue[symbol], _table(model, symbol)
    if notional * 3 > table.tiers[0].max_notional_quote:  # keep the position (and its liquidation) in tier 1
        return
    book, price = PositionBook(), D("100")
    book.apply(PAIR, is_long, PositionAction.OPEN, notional / price, price, leverage)
    pos = book.get(PAIR)
    assert pos is not None
    before = brackets.liquidation_price(pos.amount, pos.entry_price, pos.margin)
    book.apply(PAIR, not is_long, PositionAction.CLOSE, abs(pos.amount) * cut, price, leverage)
    after = brackets.liquidation_price(pos.amount, pos.entry_price, pos.margin)
    assert (before is None and after is None) or (
        before is not None and after is not None and _close_enough(before, after)
    )
