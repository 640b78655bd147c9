"""Order books as the core sees them: lazily read sides (`BookLevels`) and the snapshot that holds them
(`LiveBookSnapshot`), built by the adapter (`adapter.SnapshotBuilder`) from live Hummingbot books.

Why lazy: Hummingbot's `bid_entries()` builds a Python row object per level (~1 µs each), while the core reads every
market's touch every tick but deeper levels of only the few books it prices. The touch is read once per book and
tick (`read_touch`: one call where the book type offers `touch()`, else the first row of each side) and its prices
converted at build; the sides are made on first read, and their deeper levels read from the live book on first use,
checked against the book's version at the snapshot (`StaleBookError` otherwise, never other data).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from itertools import islice
from typing import Any, Optional

from ..core.snapshots import BookSnapshot

BOOK_LEVELS = 20


class LiveBookSnapshot(BookSnapshot):
    """A `BookSnapshot` of a live Hummingbot book, built by `SnapshotBuilder`: `best_bid` and `best_ask` are stored
    when the snapshot is built (the core reads every market's touch every tick), and each side (`bids`, `asks`: a
    `BookLevels`, as its tuple) is made on its first read, from the touch read at build and the book's version then
    (the core reads the sides of only the few books it prices). Its fields, hash and touch are those of the
    BookSnapshot of the same levels (its repr names its own class, and a dataclass compares equal only to an instance
    of its own class); deeper reads after the book changed raise `StaleBookError`, as `BookLevels` does.
    """

    @property
    def bids(self) -> BookLevels:  # type: ignore[override]  # read-only, as every field of the frozen snapshot
        d = self.__dict__
        side = d.get("_bids")
        if side is None:
            side = d["_bids"] = _side(d["_book"], True, d["_guard"], d["_bid_row"])
        return side

    @property
    def asks(self) -> BookLevels:  # type: ignore[override]
        d = self.__dict__
        side = d.get("_asks")
        if side is None:
            side = d["_asks"] = _side(d["_book"], False, d["_guard"], d["_ask_row"])
        return side


def live_book(
    connector: str,
    trading_pair: str,
    observed_ts: float,
    book: Any,
    guard: tuple[Any, Any],
    bid: tuple[float, float] | None,
    ask: tuple[float, float] | None,
) -> LiveBookSnapshot:
    """The snapshot of `book` (version `guard`) whose best rows, already read and checked, are `bid` and `ask`."""
    snap = _new(LiveBookSnapshot)
    d = snap.__dict__  # BookSnapshot is frozen: its fields are written as its __init__ would, the sides made lazily
    d["connector"], d["trading_pair"], d["observed_ts"] = connector, trading_pair, observed_ts
    d["_book"], d["_guard"], d["_bid_row"], d["_ask_row"] = book, guard, bid, ask
    # = bids[0][0], asks[0][0]: the core reads every touch. `_decimal`'s memo asked here first (saves a call)
    best_bid = best_ask = None
    if bid is not None:
        best_bid = _DECIMALS.get(bid[0]) if type(bid[0]) is float else None
        best_bid = _decimal(bid[0]) if best_bid is None else best_bid
    if ask is not None:
        best_ask = _DECIMALS.get(ask[0]) if type(ask[0]) is float else None
        best_ask = _decimal(ask[0]) if best_ask is None else best_ask
    d["best_bid"], d["best_ask"] = best_bid, best_ask
    return snap


class StaleBookError(RuntimeError):
    """Levels below the top were asked for after the venue's book changed (they are read within the tick only)."""


class BookLevels(Sequence[tuple[Decimal, Decimal]]):
    """One side of a book, as the tuple of (price, amount) Decimals it stands for, read from the live Hummingbot
    book only as far as it is used.

    Why: Hummingbot's `bid_entries()` builds a Python row object per level (~1 µs each); reading 20 levels of
    15 books every tick was half of a replay's time, while the core reads every market's top level but walks
    deeper levels only for the few pairs it prices. The top row is read (and typed) when the snapshot is built;
    the rest on first use. Within a tick a book cannot change (the clock ticks the strategy synchronously; the
    order book tracker updates books between ticks), so deferred reads see the book as it was at the snapshot.
    A deferred read checks that (same book version: `snapshot_uid`, `last_diff_uid`, same top row) and raises
    `StaleBookError` otherwise, never returning other data. Levels are exact: `Decimal(repr(x))` of each float.
    """

    __slots__ = ("_all", "_bids", "_book", "_done", "_guard", "_rows", "_top", "_top_row")
    _all: tuple[tuple[Decimal, Decimal], ...] | None  # every level as Decimals, once read
    _bids: bool
    _book: Any  # the live book until its levels are read (None after, or for an empty side)
    _done: list[tuple[Decimal, Decimal]]  # the levels converted so far, in order (set with `_rows`)
    _guard: tuple[Any, Any]  # the book's (snapshot_uid, last_diff_uid) when the snapshot was built
    _rows: list[tuple[float, float]] | None  # every level as read (floats), on first deep use
    _top: tuple[Decimal, Decimal] | None  # the best level as Decimals, once read
    _top_row: tuple[float, float] | None  # the best level as read (floats); None for an empty side

    def __init__(self, book: Any, bids: bool, guard: tuple[Any, Any] | None = None) -> None:
        """`guard`: the book's (snapshot_uid, last_diff_uid) if the caller has just read them (else read here)."""
        if guard is None:
            guard = (getattr(book, "snapshot_uid", None), getattr(book, "last_diff_uid", None))
        _init_side(self, book, bids, guard, _read_top(book, bids))

    def top_row(self) -> tuple[float, float] | None:
        """The best level as read (floats), without converting anything; None for an empty side."""
        return self._top_row

    def _deep_rows(self) -> list[tuple[float, float]]:
        """Every row (up to BOOK_LEVELS) of the live book, read once, on first use below the top.

        Raises:
            StaleBookError: the book changed since the snapshot and the levels were not read before.
        """
        if self._rows is None:
            book = self._book
            guard = (getattr(book, "snapshot_uid", None), getattr(book, "last_diff_uid", None))
            rows = _read_rows(book, self._bids, BOOK_LEVELS)
            if guard != self._guard or not rows or rows[0] != self._top_row:
                raise StaleBookError(
                    f"order book changed since the snapshot (version {self._guard} -> {guard}): "
                    "levels below the top are read within the tick only"
                )
            self._rows, self._done = rows, []
            self._book = None  # read once; keep no reference to the live book
        return self._rows

    def levels(self) -> tuple[tuple[Decimal, Decimal], ...]:
        """Every level (up to BOOK_LEVELS) as Decimals.

        Raises:
            StaleBookError: the book changed since the snapshot and the levels were not read before.
        """
        if self._all is None:
            rows, done = self._deep_rows(), self._done
            done.extend((_decimal(p), _decimal(a)) for p, a in rows[len(done) :])
            self._all = tuple(done)
        return self._all

    def _lazy(self, rows: list[tuple[float, float]]) -> Iterator[tuple[Decimal, Decimal]]:
        """The levels in order, converting each on first use: a walk that stops after a few levels (the usual
        case) converts only those. Conversions are shared with `levels()` and other iterations."""
        done = self._done
        for i, (price, amount) in enumerate(rows):
            if i == len(done):
                done.append((_decimal(price), _decimal(amount)))
            yield done[i]

    def __bool__(self) -> bool:
        return self._top_row is not None

    def __len__(self) -> int:
        return len(self.levels())

    def __getitem__(self, index: Any) -> Any:
        if index == 0:  # the top, converted once (a slice never equals 0)
            top = self._top
            if top is None:
                if self._top_row is None:
                    return self.levels()[index]  # an empty side: IndexError, as a tuple
                price, amount = self._top_row
                top = self._top = (_decimal(price), _decimal(amount))
            return top
        return self.levels()[index]

    def __iter__(self) -> Iterator[tuple[Decimal, Decimal]]:
        if self._all is not None:
            return iter(self._all)
        return self._lazy(self._deep_rows())  # reads (and checks) the book now, converts as the caller goes

    def __eq__(self, other: object) -> bool:
        if isinstance(other, BookLevels):
            return self.levels() == other.levels()
        return isinstance(other, tuple) and self.levels() == other

    def __hash__(self) -> int:
        return hash(self.levels())

    def __repr__(self) -> str:
        return repr(self.levels())


_new = object.__new__


def _init_side(
    side: BookLevels, book: Any, bids: bool, guard: tuple[Any, Any], top: tuple[float, float] | None
) -> BookLevels:
    """Set up `side` as one side of `book` (version `guard`) whose best row, already read and checked, is `top`."""
    side._bids = bids
    side._guard = guard
    side._top_row = top
    side._top = None
    side._rows = None  # `_done` is set with `_rows`, on first deep use
    if top is None:
        side._all = ()
        side._book = None
    else:
        side._all = None
        side._book = book
    return side


def _side(book: Any, bids: bool, guard: tuple[Any, Any], top: tuple[float, float] | None) -> BookLevels:
    """`BookLevels(book, bids, guard)` for a top row the caller has read and checked already."""
    return _init_side(_new(BookLevels), book, bids, guard, top)


# book type -> its `touch` method, or None where the type has none (Hummingbot's own books)
_TOUCH_READERS: dict[type, Callable[[Any], Optional[tuple[Any, Any, Any, Any]]] | None] = {}


def read_touch(book: Any) -> tuple[tuple[float, float] | None, tuple[float, float] | None]:
    """The best (price, amount) rows of a Hummingbot book's bids and asks (None for an empty side): the first rows
    of `bid_entries()` and `ask_entries()`.

    A book type may answer this in one call without building Hummingbot's row objects: a `touch()` method returning
    (best bid price, its amount, best ask price, its amount), exactly those rows' values, or None where it cannot
    cheaply (then the rows are read).

    Raises:
        TypeError: a price or amount is not a float or int (read by the caller as an unreadable venue).
    """
    kind = type(book)
    try:
        reader = _TOUCH_READERS[kind]
    except KeyError:
        reader = _TOUCH_READERS[kind] = getattr(kind, "touch", None)
    touch = reader(book) if reader is not None else None
    if touch is None:
        return _read_top(book, True), _read_top(book, False)
    bid_price, bid_amount, ask_price, ask_amount = touch
    if (
        type(bid_price) not in _NUMBER_TYPES
        or type(bid_amount) not in _NUMBER_TYPES
        or type(ask_price) not in _NUMBER_TYPES
        or type(ask_amount) not in _NUMBER_TYPES
    ):
        raise TypeError(f"book touch {touch!r} is not four numbers (float or int)")
    return (bid_price, bid_amount), (ask_price, ask_amount)


_NUMBER_TYPES = (float, int)
_DECIMALS: dict[float, Decimal] = {}  # float -> Decimal(repr(float)): book prices and sizes recur from tick to tick
_DECIMALS_MAX = 100_000  # entries kept before the memo starts over (a few MB)


def _decimal(x: float | int) -> Decimal:
    """`Decimal(repr(x))`, memoised for floats (the same value always gives the same Decimal, digits included).

    Only nonzero, non-NaN floats are memoised: an int and the equal float (5 and 5.0) hash alike but print
    differently, as do 0.0 and -0.0, and NaN never finds itself.
    """
    if type(x) is float and x == x and x != 0.0:
        found = _DECIMALS.get(x)
        if found is None:
            if len(_DECIMALS) >= _DECIMALS_MAX:
                _DECIMALS.clear()
            found = _DECIMALS[x] = Decimal(repr(x))
        return found
    return Decimal(repr(x))


def _read_top(book: Any, bids: bool) -> tuple[float, float] | None:
    """The best (price, amount) row of one side of a Hummingbot book; None for an empty side.

    Raises:
        TypeError: the row's price or amount is not a float or int (read by the caller as an unreadable venue).
    """
    row = next(iter(book.bid_entries() if bids else book.ask_entries()), None)
    if row is None:
        return None
    price, amount = row.price, row.amount
    if type(price) not in _NUMBER_TYPES or type(amount) not in _NUMBER_TYPES:
        raise TypeError(f"book row ({price!r}, {amount!r}) is not a pair of numbers (float or int)")
    return price, amount


def _read_rows(book: Any, bids: bool, depth: int) -> list[tuple[float, float]]:
    """The first `depth` (price, amount) rows of one side of a Hummingbot book.

    Raises:
        TypeError: a row's price or amount is not a float or int (read by the caller as an unreadable venue).
    """
    entries = book.bid_entries() if bids else book.ask_entries()
    rows = [(row.price, row.amount) for row in islice(entries, depth)]
    for price, amount in rows:
        if type(price) not in _NUMBER_TYPES or type(amount) not in _NUMBER_TYPES:
            raise TypeError(f"book row ({price!r}, {amount!r}) is not a pair of numbers (float or int)")
    return rows
