"""Order-book checks and walks: VWAP and slippage of a taker order at its real size (pure core).

Levels are `(price, size_base)` tuples of Decimal, bids descending and asks ascending, as in `BookSnapshot`.
Slippage is measured against the book's own mid, so it includes half the spread. The top prices of every
book are checked each tick (`check_top`); every level (prices and sizes) is validated as it is read (`walk`,
`depth_up_to`), so a bad level raises `BookDataError` exactly when it would have entered a figure.

Worked example (asks 100 x 1, 101 x 2; mid 99.5): buying 2 fills 1 @ 100 + 1 @ 101 -> notional 201,
VWAP 100.5, slippage (100.5 - 99.5) * 2 = 2 quote.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from .reasons import SkipReason
from .snapshots import BookSnapshot

Level = tuple[Decimal, Decimal]
Levels = tuple[Level, ...]

_ZERO = Decimal(0)
_TWO = Decimal(2)


class Side(StrEnum):
    BUY = "buy"  # takes asks
    SELL = "sell"  # takes bids


def book_from_levels(
    connector: str,
    trading_pair: str,
    bids: Iterable[tuple[object, object]],
    asks: Iterable[tuple[object, object]],
    observed_ts: float,
) -> BookSnapshot:
    """Build a BookSnapshot from raw (price, size) pairs (strings, ints or Decimals; floats go through `str`).

    Levels are sorted (bids descending, asks ascending) and zero-size levels dropped: in venue protocols a
    zero size deletes the level. Nothing else is repaired: bad prices stay for `check_top`/`check_levels`.
    """

    def parse(raw: Iterable[tuple[object, object]]) -> list[Level]:
        out = [(Decimal(str(p)), Decimal(str(s))) for p, s in raw]
        return [lv for lv in out if not (lv[1].is_finite() and lv[1] == _ZERO)]

    bid_levels = sorted(parse(bids), key=lambda lv: lv[0], reverse=True)
    ask_levels = sorted(parse(asks), key=lambda lv: lv[0])
    return BookSnapshot(connector, trading_pair, tuple(bid_levels), tuple(ask_levels), observed_ts)


def check_top(book: BookSnapshot | None, ts: float, stale_data_s: int) -> SkipReason | None:
    """Cheap per-tick check of a book's top: present, fresh, positive finite prices, not crossed.

    Sizes are not read here: every level a walk or depth scan reads is checked there (`BookDataError`).
    """
    if book is None:
        return SkipReason.MISSING_BOOK
    if not book.bids or not book.asks:
        return SkipReason.EMPTY_BOOK
    bid, ask = book.bids[0][0], book.asks[0][0]
    if not (bid.is_finite() and ask.is_finite()) or bid <= _ZERO or ask <= _ZERO:
        return SkipReason.BAD_PRICE
    if bid >= ask:
        return SkipReason.CROSSED_BOOK
    if ts - book.observed_ts > stale_data_s:
        return SkipReason.STALE_BOOK
    return None


class BookDataError(ValueError):
    """A book level failed validation while being read; `reason` says how."""

    def __init__(self, reason: SkipReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason


def _checked(price: Decimal, size: Decimal, prev: Decimal | None, descending: bool) -> None:
    """Raise BookDataError unless the level is finite, positive and strictly beyond `prev`."""
    if not price.is_finite() or price <= _ZERO:
        raise BookDataError(SkipReason.BAD_PRICE, f"level price {price}")
    if not size.is_finite() or size <= _ZERO:
        raise BookDataError(SkipReason.BAD_SIZE, f"level size {size} at {price}")
    if prev is not None and (price >= prev if descending else price <= prev):
        raise BookDataError(SkipReason.UNSORTED_BOOK, f"level {price} after {prev}")


def check_levels(levels: Levels, descending: bool) -> SkipReason | None:
    """Full check of one side: every price and size finite and positive, prices strictly ordered."""
    prev: Decimal | None = None
    try:
        for price, size in levels:
            _checked(price, size, prev, descending)
            prev = price
    except BookDataError as e:
        return e.reason
    return None


def check_book(book: BookSnapshot) -> SkipReason | None:
    """Full check of both sides of a book."""
    return check_levels(book.bids, descending=True) or check_levels(book.asks, descending=False)


def depth_up_to(levels: Levels, needed_base: Decimal, descending: bool) -> tuple[Decimal, bool]:
    """Visible size summed level by level until it reaches `needed_base`: (depth seen, reached).

    Only the levels read are validated (BookDataError); when not reached the whole side was read and the
    depth is the side's total.
    """
    if levels:  # the top alone, first: most needs end there, and a lazily read side then reads no deeper level
        price, size = levels[0]
        _checked(price, size, None, descending)
        total = _ZERO + size
        if total >= needed_base:
            return total, True
    total = _ZERO
    prev: Decimal | None = None
    for price, size in levels:
        _checked(price, size, prev, descending)
        total += size
        if total >= needed_base:
            return total, True
        prev = price
    return total, False


def mid_price(book: BookSnapshot) -> Decimal:
    """(best bid + best ask) / 2 of a book that passed `check_top`."""
    return (book.bids[0][0] + book.asks[0][0]) / _TWO


def visible_depth_base(levels: Levels) -> Decimal:
    """Total size on one side of the visible book, in base."""
    total = _ZERO
    for _, size in levels:
        total += size
    return total


class Fill(NamedTuple):
    """A taker order walked through one side of a book."""

    side: Side
    amount_base: Decimal
    notional_quote: Decimal
    vwap: Decimal
    levels_used: int


def walk(levels: Levels, amount_base: Decimal, side: Side) -> Fill | None:
    """Fill `amount_base` level by level; None when the visible book is too thin.

    Raises:
        ValueError: amount_base is not positive.
        BookDataError: a level read on the way is not finite, not positive or out of order.
    """
    if amount_base <= _ZERO:
        raise ValueError(f"amount_base ({amount_base}) must be positive")
    descending = side is Side.SELL
    if levels:  # the top alone, first (the usual fill): a lazily read side then reads no deeper level
        price, size = levels[0]
        _checked(price, size, None, descending)
        if size >= amount_base:
            notional = _ZERO + price * amount_base  # the loop's first step, the same arithmetic
            return Fill(side, amount_base, notional, notional / amount_base, 1)
    remaining = amount_base
    notional = _ZERO
    prev: Decimal | None = None
    for used, (price, size) in enumerate(levels, start=1):
        _checked(price, size, prev, descending)
        if size >= remaining:
            notional += price * remaining
            return Fill(side, amount_base, notional, notional / amount_base, used)
        notional += price * size
        remaining -= size
        prev = price
    return None


def slippage_quote(fill: Fill, mid: Decimal) -> Decimal:
    """Cost of a fill against mid, in quote (>= 0 on a sane book): buys pay above mid, sells receive below."""
    if fill.side is Side.BUY:
        return fill.notional_quote - mid * fill.amount_base
    return mid * fill.amount_base - fill.notional_quote
