"""`SimOrderBook`: Hummingbot's C++ `OrderBook` with the simulated venue's book written on first read.

Why: every tick each venue showed every market's synthesized book (22 float rows a side) in its C++ book, ~9 µs a
book, 15 books a tick, while the strategy reads the best level of every book but deeper levels of only the few it
prices. Now a tick only records what the book is (`publish`: the synthesizer, the mid, the update id); the rows are
computed and applied (`OrderBook.apply_snapshot`, as before) the first time anything reads below the top.

What a reader sees is what the eager book showed, exactly:
* `bid_entries()` / `ask_entries()` yield the best row from `BookSynth.top` (the same floats the full book's first
  row holds), then the rest from `BookSynth.rows` (best first, one row per price: the order and values the C++
  book yields them in), without writing the C++ book;
* `snapshot_uid` is the published update id (what `apply_snapshot` sets); `last_diff_uid` is untouched by snapshots;
* every other read of the book (`get_price`, `simulate_buy`, `snapshot`, the volume queries, ...) applies the
  pending book first. Hummingbot's Cython `ExchangeBase` reads books below Python (`c_get_order_book(pair)`
  followed by `order_book.c_get_price`), so the simulated connectors apply the pair's book in each connector
  method that leads there (`venue.SimVenueMixin`, `get_price` and the volume queries). A Cython caller holding the
  book itself and calling its `c_` methods directly (none in this project or in Hummingbot's Python strategies)
  would see the previous tick's book.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from itertools import islice
from typing import Any

from hummingbot.core.data_type.order_book import OrderBook
from hummingbot.core.data_type.order_book_row import OrderBookRow

from .book import BookSynth

_snapshot_uid = OrderBook.snapshot_uid.__get__  # type: ignore[attr-defined]
_new_row = tuple.__new__  # OrderBookRow(price, amount, update_id) without the NamedTuple's Python-level __new__


class SimOrderBook(OrderBook):
    """An `OrderBook` whose next snapshot is computed when first read (see the module doc)."""

    def __init__(self, dex: bool = False) -> None:
        super().__init__(dex)
        # (synthesizer or None for an empty book, mid, update id, top floats or None if not computed / not available)
        self._pending: list[Any] | None = None

    def publish(self, synth: BookSynth | None, mid: Decimal | None, update_id: int) -> None:
        """The book from now on is `synth`'s book around `mid` (an empty one when `mid` or `synth` is None)."""
        # [synthesizer (None: empty book), mid, update id, best rows (False: not computed yet), rows of both sides]
        self._pending = [synth if mid is not None else None, mid, update_id, False, None]

    def apply_pending(self) -> None:
        """Write the published book into the C++ book now (nothing to do if it is there already)."""
        pending = self._pending
        if pending is None:
            return
        self._pending = None
        synth, mid, update_id = pending[0], pending[1], pending[2]
        bids, asks = ([], []) if synth is None else synth.rows(mid, update_id)
        OrderBook.apply_snapshot(self, bids, asks, update_id)

    @staticmethod
    def _top(pending: list[Any]) -> tuple[float, float, float, float] | None:
        top = pending[3]
        if top is False:
            top = pending[3] = pending[0].top(pending[1])
        return top  # type: ignore[no-any-return]

    def best_price(self, is_buy: bool) -> float | None:
        """The best ask (`is_buy`) or bid price, as `get_price` gives it; None for an empty side (where `get_price`
        raises). Answered from the published book's best rows when they are known, else from the C++ book."""
        pending = self._pending
        if pending is not None and pending[0] is not None:
            top = self._top(pending)
            if top is not None:
                return top[2] if is_buy else top[0]
        self.apply_pending()
        try:
            return OrderBook.get_price(self, is_buy)  # type: ignore[no-any-return]
        except OSError:  # "Order book is empty - no price quote is possible." (EnvironmentError)
            return None

    def touch(self) -> tuple[float, float, float, float] | None:
        """(best bid price, its amount, best ask price, its amount): exactly the first rows `bid_entries()` and
        `ask_entries()` yield (the same floats), in one call and without building row objects or iterators; the
        shell's adapter reads a book's touch through it (`shell/adapter.py`, a book type's `touch()`). None where only
        the rows decide (the book is written already, an empty book, a mid off the synthesizer's fast path): read
        the entries then."""
        pending = self._pending
        if pending is None or pending[0] is None:
            return None
        top = pending[3]  # = self._top(pending), inlined: every book's touch is read every tick
        if top is False:
            top = pending[3] = pending[0].top(pending[1])
        return top  # type: ignore[no-any-return]

    def _entries(self, bids: bool) -> Iterator[OrderBookRow]:
        pending = self._pending
        if pending is None or pending[0] is None:  # written already, or an empty book: the C++ book answers
            self.apply_pending()
            return OrderBook.bid_entries(self) if bids else OrderBook.ask_entries(self)  # type: ignore[no-any-return]
        top = self._top(pending)
        if top is None:
            return self._rows(pending, bids, 0)
        uid = pending[2]
        first = _new_row(OrderBookRow, (top[0], top[1], uid) if bids else (top[2], top[3], uid))
        return self._after_top(first, pending, bids)

    def _after_top(self, first: OrderBookRow, pending: list[Any], bids: bool) -> Iterator[OrderBookRow]:
        yield first
        yield from self._rows(pending, bids, 1)

    @staticmethod
    def _rows(pending: list[Any], bids: bool, skip: int) -> Iterator[OrderBookRow]:
        """The published book's rows of one side from `skip` on, as the C++ book would yield them: the rows
        `BookSynth.side` / `BookSynth.rows` give are already best first, one per price. Built once per side."""
        sides = pending[4]
        if sides is None:
            sides = pending[4] = [None, None]
        i = 0 if bids else 1
        rows = sides[i]
        if rows is None:
            synth, mid, update_id = pending[0], pending[1], pending[2]
            rows = sides[i] = synth.side(mid, bids, update_id, OrderBookRow)
            if rows is None:  # only the whole book decides: both sides (the synthesizer reuses its row objects)
                both = synth.rows(mid, update_id)
                sides[0], sides[1] = ([_new_row(OrderBookRow, (r.price, r.amount, update_id)) for r in x] for x in both)
                rows = sides[i]
        return islice(rows, skip, None)

    # --- reads ------------------------------------------------------------------------------------------------
    def bid_entries(self) -> Iterator[OrderBookRow]:
        return self._entries(True)

    def ask_entries(self) -> Iterator[OrderBookRow]:
        return self._entries(False)

    @property
    def snapshot_uid(self) -> int:
        pending = self._pending
        return int(pending[2]) if pending is not None else int(_snapshot_uid(self))

    @property
    def snapshot(self) -> Any:
        self.apply_pending()
        return OrderBook.snapshot.__get__(self)  # type: ignore[attr-defined]

    def get_price(self, is_buy: bool) -> float:
        self.apply_pending()
        return super().get_price(is_buy)  # type: ignore[no-any-return]

    def simulate_buy(self, amount: float) -> Any:
        self.apply_pending()
        return super().simulate_buy(amount)

    def simulate_sell(self, amount: float) -> Any:
        self.apply_pending()
        return super().simulate_sell(amount)

    def get_price_for_volume(self, is_buy: bool, volume: float) -> Any:
        self.apply_pending()
        return super().get_price_for_volume(is_buy, volume)

    def get_vwap_for_volume(self, is_buy: bool, volume: float) -> Any:
        self.apply_pending()
        return super().get_vwap_for_volume(is_buy, volume)

    def get_price_for_quote_volume(self, is_buy: bool, quote_volume: float) -> Any:
        self.apply_pending()
        return super().get_price_for_quote_volume(is_buy, quote_volume)

    def get_quote_volume_for_base_amount(self, is_buy: bool, base_amount: float) -> Any:
        self.apply_pending()
        return super().get_quote_volume_for_base_amount(is_buy, base_amount)

    def get_volume_for_price(self, is_buy: bool, price: float) -> Any:
        self.apply_pending()
        return super().get_volume_for_price(is_buy, price)

    def get_quote_volume_for_price(self, is_buy: bool, price: float) -> Any:
        self.apply_pending()
        return super().get_quote_volume_for_price(is_buy, price)

    # --- writes from elsewhere replace whatever was published -------------------------------------------------
    def apply_snapshot(self, bids: Any, asks: Any, update_id: int) -> None:
        self._pending = None
        super().apply_snapshot(bids, asks, update_id)

    def apply_diffs(self, bids: Any, asks: Any, update_id: int) -> None:
        self.apply_pending()
        super().apply_diffs(bids, asks, update_id)

    def apply_numpy_snapshot(self, bids_array: Any, asks_array: Any) -> None:
        self._pending = None
        super().apply_numpy_snapshot(bids_array, asks_array)

    def apply_numpy_diffs(self, bids_array: Any, asks_array: Any) -> None:
        self.apply_pending()
        super().apply_numpy_diffs(bids_array, asks_array)

    def apply_pandas_diffs(self, bids_df: Any, asks_df: Any) -> None:
        self.apply_pending()
        super().apply_pandas_diffs(bids_df, asks_df)

    def restore_from_snapshot_and_diffs(self, snapshot: Any, diffs: Any) -> None:
        self._pending = None
        super().restore_from_snapshot_and_diffs(snapshot, diffs)
