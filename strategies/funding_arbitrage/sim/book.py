"""Synthetic L2 books for the simulated venues, shaped by the calibrated captures (no hummingbot import).

Shape of a market's book (`book_shape`):
* profile: hyperliquid markets use the hyperliquid BTC capture; every other venue uses Binance's, BTCUSDT for BTC
  and ETHUSDT for every other coin (the only captures there are; bybit, spot and altcoin books are approximations);
* depth scale: the market's median hourly traded value (candle v x close) divided by that of the profile's own
  market in the same dataset, clipped to [0.01, 10]; 1 when either market has no candles. A thinner market gets a
  proportionally thinner book; the spread (in bps) is the profile's, but never less than one price tick.

Levels (`synthesize`): the spread is the calibrated bps of mid rounded to whole ticks (at least one); the best bid is
mid - spread/2 rounded to the nearest tick and the best ask sits one spread above it; then one level per band:
band 0's depth sits at the touch, band i > 0 at its mid-distance from the touch. Sizes = band depth / level price.

Speed (`BookSynth`, used by the venues every tick): the same levels, decided in float arithmetic on the tick grid. A
level whose float position lies within a tiny margin of a rounding boundary (a tie, an exact tick) is recomputed
with the Decimal formula above, so every price is the one `synthesize` gives. The Hummingbot book (floats) is fed
directly: price = k ticks exactly rounded to float, size = the exact quotient depth / price rounded once to float
(`synthesize` rounds it to 28 digits first; the two differ only if that rounding crosses a float rounding midpoint,
about once in 10^12 levels). The Decimal levels are built only when something reads them (matching, tests), from the
same tick counts, equal to `synthesize`'s in value and representation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, getcontext
from typing import Any

from .calibration import BAND_EDGES_BPS, CALIBRATED_PROFILES
from .data import MarketData

Level = tuple[Decimal, Decimal]  # (price, size in base)
PROFILE_MARKETS = {
    "binance_btcusdt": ("binance", "BTC"),
    "binance_ethusdt": ("binance", "ETH"),
    "hyperliquid_btc": ("hyperliquid", "BTC"),
}
DEPTH_SCALE_BOUNDS = (Decimal("0.01"), Decimal(10))
_BPS = Decimal(10000)
_OFFSETS = tuple(
    Decimal(0) if i == 0 else (BAND_EDGES_BPS[i] + BAND_EDGES_BPS[i + 1]) / 2 / _BPS
    for i in range(len(BAND_EDGES_BPS) - 1)
)


@dataclass(frozen=True)
class BookShape:
    """Spread (bps of mid) and per-band depth (quote, one side) of one simulated market's book."""

    profile: str
    spread_bps: Decimal
    band_depth_quote: tuple[Decimal, ...]
    depth_scale: Decimal


def profile_for(venue: str, coin: str) -> str:
    if venue == "hyperliquid":
        return "hyperliquid_btc"
    return "binance_btcusdt" if coin == "BTC" else "binance_ethusdt"


def book_shape(venue: str, coin: str, data: MarketData | None = None, depth_scale: Decimal | None = None) -> BookShape:
    """The calibrated shape for (venue, coin); `depth_scale` overrides the volume-based scale."""
    key = profile_for(venue, coin)
    profile = CALIBRATED_PROFILES[key]
    scale = depth_scale if depth_scale is not None else _volume_scale(venue, coin, key, data)
    return BookShape(key, profile.spread_bps, tuple(d * scale for d in profile.completed_depths()), scale)


def _volume_scale(venue: str, coin: str, key: str, data: MarketData | None) -> Decimal:
    ref = PROFILE_MARKETS[key]
    if data is None or (venue, coin) == ref or not (data.has_candles(venue, coin) and data.has_candles(*ref)):
        return Decimal(1)
    ours = data.candle_series(venue, coin).median_quote_volume()
    theirs = data.candle_series(*ref).median_quote_volume()
    if theirs <= 0:
        return Decimal(1)
    lo, hi = DEPTH_SCALE_BOUNDS
    return min(hi, max(lo, ours / theirs))


def synthesize(mid: Decimal, shape: BookShape, tick: Decimal) -> tuple[list[Level], list[Level]]:
    """(bids best first, asks best first) around `mid` on a `tick` grid."""
    spread = max(Decimal(1), (mid * shape.spread_bps / _BPS / tick).to_integral_value()) * tick
    best_bid = _to_tick(mid - spread / 2, tick, ROUND_HALF_EVEN)
    best_ask = best_bid + spread
    bids: list[Level] = []
    asks: list[Level] = []
    for offset, depth in zip(_OFFSETS, shape.band_depth_quote, strict=False):
        bid = _to_tick(best_bid - mid * offset, tick, ROUND_FLOOR)
        ask = _to_tick(best_ask + mid * offset, tick, ROUND_CEILING)
        if bid > 0:
            _add(bids, bid, depth / bid)
        _add(asks, ask, depth / ask)
    return bids, asks


def _to_tick(price: Decimal, tick: Decimal, rounding: str) -> Decimal:
    return (price / tick).to_integral_value(rounding=rounding) * tick


def _add(levels: list[Level], price: Decimal, size: Decimal) -> None:
    if levels and levels[-1][0] == price:
        levels[-1] = (price, levels[-1][1] + size)
    else:
        levels.append((price, size))


# A float estimate farther than this from a rounding boundary (in ticks, scaled by the magnitude of the terms)
# rounds the way the exact value does; float error here is ~1e-16 relative, so the margin is ~1e6 times wider.
_REL_MARGIN = 1e-10
_ABS_MARGIN = 1e-9
_MAX_TICKS = 2.0**50  # beyond this many ticks a float no longer counts ticks exactly: use the Decimal path
_MIN_TICKS = 16.0  # a mid this few ticks above zero gives degenerate books: use the Decimal path
TickLevels = list[tuple[int, tuple[int, ...]]]  # (price in ticks, bands merged into the level), best first


class BookSynth:
    """`synthesize` for one (shape, tick), fast: tick counts from floats, Decimal only near rounding boundaries.

    * `rows(mid, update_id)`: the book as Hummingbot rows (objects with float `price`, `amount` and `update_id`),
      equal to `OrderBookRow(float(p), float(s), update_id)` over `synthesize`'s levels (sizes: see the module doc).
      The rows are reused by the next call: apply them (`OrderBook.apply_snapshot` copies them) before calling again.
    * `decimal_levels(mid)`: exactly `synthesize(mid, shape, tick)`, computed from the tick counts.

    When the tick is not a positive finite number, the Decimal context is not the default one the formula assumes
    (28 digits, half-even), or the mid is within 16 ticks of zero, both go through `synthesize` itself.
    """

    def __init__(self, shape: BookShape, tick: Decimal) -> None:
        self.shape, self.tick = shape, tick
        self.depths: tuple[Decimal, ...] = tuple(shape.band_depth_quote[: len(_OFFSETS)])
        self.offsets: tuple[Decimal, ...] = _OFFSETS[: len(self.depths)]
        self._memo: tuple[Decimal, list[Any], list[Any]] | None = None
        # the last mid `_fast_touch` answered, and its answer (a function of the mid's value under the fast context)
        self._touch_memo: tuple[Decimal, tuple[float, float, int, int] | None] | None = None
        self._tick_exp = 0
        self._fast = False  # rows() may take the inlined fast path
        self.exact_only = (
            not (tick.is_finite() and tick > 0)
            or not all(d.is_finite() for d in self.depths)
            or not self.depths
            or any(o <= 0 for o in self.offsets[1:])
            or self.offsets[0] != 0
        )
        if self.exact_only:
            return
        _, digits, exponent = tick.as_tuple()
        assert isinstance(exponent, int)
        self._tick_coef = int("".join(map(str, digits)))  # tick = coef x 10^exponent
        self._tick_exp = exponent
        # float price of k ticks = (k x mul) / den: one correctly rounded integer division, as float(Decimal) rounds
        self._price_den = 10**-exponent if exponent < 0 else 1
        self._price_mul = self._tick_coef * (10**exponent if exponent > 0 else 1)
        # the fast path needs price = k / div (same rational, so the same rounding): ticks like 0.1, 0.5, 0.25
        self._price_div = self._price_den // self._price_mul if self._price_den % self._price_mul == 0 else 0
        self._per_tick = 1.0 / float(tick)
        self._spread_per_mid = float(shape.spread_bps / _BPS / tick)  # spread in ticks per unit of mid
        self._offset_ticks = tuple(float(o / tick) for o in self.offsets)  # band distance in ticks per unit of mid
        # size of band i at k ticks = num_i / (k x per_k_i): the exact quotient depth_i / (k x tick) in integers
        self._size_terms: list[tuple[int, int]] = []
        for depth in self.depths:
            sign, ddigits, dexp = depth.as_tuple()
            assert isinstance(dexp, int)
            coef = int("".join(map(str, ddigits))) * (-1 if sign else 1)
            shift = dexp - exponent
            self._size_terms.append(
                (coef * 10**shift, self._tick_coef) if shift >= 0 else (coef, self._tick_coef * 10**-shift)
            )
        # reusable rows; update_id is a class attribute, set once per book
        self._row_cls: Any = type("SimBookRow", (), {"__slots__": ("price", "amount"), "update_id": 0})
        self._bid_rows = [self._row_cls() for _ in self.depths]
        self._ask_rows = [self._row_cls() for _ in self.depths]
        self._bands = tuple(
            (per, num, per_k, brow, arow)
            for per, (num, per_k), brow, arow in zip(
                self._offset_ticks[1:], self._size_terms[1:], self._bid_rows[1:], self._ask_rows[1:], strict=False
            )
        )
        self._touch_size = self._size_terms[0]
        self._deepest = self._offset_ticks[-1]
        self._fast = self._price_div != 0

    def usable(self) -> bool:
        if self.exact_only:
            return False
        ctx = getcontext()
        return ctx.prec == 28 and ctx.rounding == ROUND_HALF_EVEN

    # --- the touch ----------------------------------------------------------------------------------------
    def _touch(self, mid: Decimal, m: float, scale: float, margin: float) -> tuple[int, int]:
        """(best bid, best ask) in ticks, as synthesize rounds them."""
        x = m * self._spread_per_mid  # spread = max(1, half-even(mid x bps / 10000 / tick)) ticks
        fl = math.floor(x)
        frac = x - fl
        if abs(frac - 0.5) <= _ABS_MARGIN + _REL_MARGIN * x:
            s = int((mid * self.shape.spread_bps / _BPS / self.tick).to_integral_value())
        else:
            s = fl + 1 if frac > 0.5 else fl
        s = max(s, 1)
        y = scale - s * 0.5  # best bid = half-even((mid - spread / 2) / tick) ticks
        fl = math.floor(y)
        frac = y - fl
        if abs(frac - 0.5) <= margin:
            kb = int(((mid - Decimal(s) * self.tick / 2) / self.tick).to_integral_value(rounding=ROUND_HALF_EVEN))
        else:
            kb = fl + 1 if frac > 0.5 else fl
        return kb, kb + s

    def touch(self, mid: Decimal) -> tuple[int, int] | None:
        """(best bid, best ask) in ticks, as `synthesize` prices its first levels (a best bid <= 0 means no bids);
        None: use `synthesize`."""
        if not self.usable():
            return None
        m = float(mid)
        scale = m * self._per_tick
        if not _MIN_TICKS <= scale < _MAX_TICKS:
            return None
        return self._touch(mid, m, scale, _ABS_MARGIN + _REL_MARGIN * scale)

    # --- general path: tick counts ----------------------------------------------------------------------------
    def ticks(self, mid: Decimal) -> tuple[TickLevels, TickLevels] | None:
        """(bids, asks) best first as (tick count, bands merged into the level); None: use `synthesize`."""
        if not self.usable():
            return None
        m = float(mid)
        scale = m * self._per_tick  # mid in ticks: the magnitude of every term below
        if not _MIN_TICKS <= scale < _MAX_TICKS:
            return None
        margin = _ABS_MARGIN + _REL_MARGIN * scale
        kb, ka = self._touch(mid, m, scale, margin)
        bids: TickLevels = [(kb, (0,))] if kb > 0 else []
        asks: TickLevels = [(ka, (0,))]
        per_mid, offsets, tick = self._offset_ticks, self.offsets, self.tick
        for band in range(1, len(self.depths)):
            d = m * per_mid[band]  # band distance in ticks: floor(kb - d) = kb - ceil(d), ceil(ka + d) = ka + ceil(d)
            c = math.ceil(d)
            if margin < c - d < 1 - margin:
                kbi, kai = kb - c, ka + c
            else:  # d is (nearly) whole: synthesize's Decimal arithmetic decides, rounding included
                kbi = int(((Decimal(kb) * tick - mid * offsets[band]) / tick).to_integral_value(rounding=ROUND_FLOOR))
                kai = int(((Decimal(ka) * tick + mid * offsets[band]) / tick).to_integral_value(rounding=ROUND_CEILING))
            if kbi > 0:
                if bids and bids[-1][0] == kbi:
                    bids[-1] = (kbi, bids[-1][1] + (band,))
                else:
                    bids.append((kbi, (band,)))
            if asks[-1][0] == kai:
                asks[-1] = (kai, asks[-1][1] + (band,))
            else:
                asks.append((kai, (band,)))
        return bids, asks

    def price(self, k: int) -> Decimal:
        """k ticks as `synthesize` writes it: coefficient k x the tick's coefficient, the tick's exponent."""
        return Decimal(k * self._tick_coef).scaleb(self._tick_exp)

    def decimal_levels(self, mid: Decimal) -> tuple[list[Level], list[Level]]:
        """Exactly `synthesize(mid, shape, tick)`."""
        plan = self.ticks(mid) if self._tick_exp <= 0 else None  # a tick like 1E+1: synthesize's exponents vary
        if plan is None:
            return synthesize(mid, self.shape, self.tick)
        return self._decimal_side(plan[0]), self._decimal_side(plan[1])

    def _decimal_side(self, levels: TickLevels) -> list[Level]:
        out: list[Level] = []
        depths = self.depths
        for k, bands in levels:
            price = self.price(k)
            size = depths[bands[0]] / price
            for band in bands[1:]:
                size = size + depths[band] / price
            out.append((price, size))
        return out

    def _float_side(self, levels: TickLevels, pool: list[Any]) -> list[Any]:
        out = []
        den, mul, terms, depths = self._price_den, self._price_mul, self._size_terms, self.depths
        for k, bands in levels:
            if len(bands) == 1:
                num, per_k = terms[bands[0]]
                size = num / (k * per_k)
            else:  # several bands at one price: the Decimal sum, as synthesize adds them
                price = self.price(k)
                total = depths[bands[0]] / price
                for band in bands[1:]:
                    total = total + depths[band] / price
                size = float(total)
            row = pool[len(out)]
            row.price, row.amount = k * mul / den, size
            out.append(row)
        return out

    # --- fast path: the best level of each side only -----------------------------------------------------------
    def _fast_touch(self, mid: Decimal) -> tuple[float, float, int, int] | None:
        """(mid as float, rounding margin, best bid, best ask in ticks) as `rows`' fast path computes them up to the
        touch; None where `rows` takes its general path (another Decimal context, a mid outside the fast range, bids
        near zero): then only `rows` decides."""
        ctx = getcontext()
        if not self._fast or ctx.prec != 28 or ctx.rounding != ROUND_HALF_EVEN:
            return None
        last = self._touch_memo  # the same mid again (a book's sides read after its touch): the same answer
        if last is not None and last[0] == mid:
            return last[1]
        m = float(mid)
        scale = m * self._per_tick
        touch: tuple[float, float, int, int] | None = None
        if _MIN_TICKS <= scale < _MAX_TICKS:
            margin = _ABS_MARGIN + _REL_MARGIN * scale
            kb, ka = self._touch(mid, m, scale, margin)
            if kb - m * self._deepest > 1:
                touch = m, margin, kb, ka
        self._touch_memo = (mid, touch)
        return touch

    def top(self, mid: Decimal) -> tuple[float, float, float, float] | None:
        """(best bid price, its size, best ask price, its size) as floats, equal to the first rows `rows(mid, ...)`
        gives, without the deeper levels; None where only the full book decides (then call `rows`).

        Same arithmetic as `rows`' fast path up to the touch: the best levels are band 0 alone (a deeper band lies
        at least one tick away), priced k / div (= k x mul / den, one correctly rounded quotient either way) and
        sized num / (k x per_k), which the general path computes identically."""
        memo = self._memo
        if memo is not None and memo[0] == mid:
            bid, ask = memo[1][0], memo[2][0]
            return bid.price, bid.amount, ask.price, ask.amount
        touch = self._fast_touch(mid)
        if touch is None:
            return None
        _, _, kb, ka = touch
        div = self._price_div
        num, per_k = self._touch_size
        return kb / div, num / (kb * per_k), ka / div, num / (ka * per_k)

    def side(self, mid: Decimal, bids: bool, update_id: int, row_type: type) -> list[Any] | None:
        """One side of `rows(mid, update_id)` (bids when `bids`, else asks), best first, as new `row_type` tuples
        (price, amount, update_id); None where `rows` would take its general path (then call `rows`).

        The same arithmetic as `rows`' fast path for that side only: a reader of one side of a book (a walk for one
        order) does not pay for the other."""
        new = tuple.__new__
        memo = self._memo
        if memo is not None and memo[0] == mid:
            return [new(row_type, (r.price, r.amount, update_id)) for r in (memo[1] if bids else memo[2])]
        touch = self._fast_touch(mid)
        if touch is None:
            return None
        m, margin, kb, ka = touch
        upper = 1.0 - margin
        div = self._price_div
        num, per_k = self._touch_size
        k = kb if bids else ka
        out = [new(row_type, (k / div, num / (k * per_k), update_id))]
        ceil = math.ceil
        prev = 0
        for per_mid, num, per_k, _, _ in self._bands:
            d = m * per_mid
            c = ceil(d)
            f = c - d
            if not margin < f < upper or c == prev:
                return None
            prev = c
            k = kb - c if bids else ka + c
            out.append(new(row_type, (k / div, num / (k * per_k), update_id)))
        return out

    # --- fast path: rows ---------------------------------------------------------------------------------------
    def rows(self, mid: Decimal, update_id: int) -> tuple[list[Any], list[Any]]:
        """(bid rows, ask rows) for Hummingbot's OrderBook.apply_snapshot (see the class doc)."""
        memo = self._memo
        if memo is not None and memo[0] == mid:  # same book as the last call (a spot priced off the same perp)
            self._row_cls.update_id = update_id
            return memo[1], memo[2]
        self._memo = None
        ctx = getcontext()
        if not self._fast or ctx.prec != 28 or ctx.rounding != ROUND_HALF_EVEN:
            return self._general_rows(mid, update_id)
        m = float(mid)
        scale = m * self._per_tick
        if not _MIN_TICKS <= scale < _MAX_TICKS:
            return self._general_rows(mid, update_id)
        margin = _ABS_MARGIN + _REL_MARGIN * scale
        upper = 1.0 - margin
        # the touch, as _touch computes it (inlined: this runs for every market every tick)
        x = m * self._spread_per_mid
        s = math.floor(x)
        frac = x - s
        if abs(frac - 0.5) <= _ABS_MARGIN + _REL_MARGIN * x:
            s = int((mid * self.shape.spread_bps / _BPS / self.tick).to_integral_value())
        elif frac > 0.5:
            s += 1
        s = max(s, 1)
        y = scale - s * 0.5
        kb = math.floor(y)
        frac = y - kb
        if abs(frac - 0.5) <= margin:  # a tie (a mid on the tick grid, odd spread): Decimal's half-even decides
            kb = int(((mid - Decimal(s) * self.tick / 2) / self.tick).to_integral_value(rounding=ROUND_HALF_EVEN))
        elif frac > 0.5:
            kb += 1
        ka = kb + s
        if kb - m * self._deepest <= 1:  # the deepest bid would be at or below zero: general path
            return self._general_rows(mid, update_id)
        div = self._price_div
        num, per_k = self._touch_size
        bid_rows, ask_rows = self._bid_rows, self._ask_rows
        row = bid_rows[0]
        row.price, row.amount = kb / div, num / (kb * per_k)
        row = ask_rows[0]
        row.price, row.amount = ka / div, num / (ka * per_k)
        ceil = math.ceil
        prev = 0
        for per_mid, num, per_k, brow, arow in self._bands:
            d = m * per_mid
            c = ceil(d)
            f = c - d
            if not margin < f < upper or c == prev:  # near a boundary, or two bands on one level: general path
                return self._general_rows(mid, update_id)
            prev = c
            k = kb - c
            brow.price, brow.amount = k / div, num / (k * per_k)
            k = ka + c
            arow.price, arow.amount = k / div, num / (k * per_k)
        self._row_cls.update_id = update_id
        self._memo = (mid, bid_rows, ask_rows)
        return bid_rows, ask_rows

    def _general_rows(self, mid: Decimal, update_id: int) -> tuple[list[Any], list[Any]]:
        """Rows from `ticks` (the reused ones), or fresh ones from `synthesize` when that is the only way."""
        plan = self.ticks(mid)
        if plan is None:
            return _float_rows(synthesize(mid, self.shape, self.tick), update_id)
        self._row_cls.update_id = update_id
        return self._float_side(plan[0], self._bid_rows), self._float_side(plan[1], self._ask_rows)


class BookRow(tuple):
    """What `OrderBook.apply_snapshot` reads (Hummingbot's OrderBookRow has the same three fields)."""

    __slots__ = ()
    price = property(lambda self: self[0])
    amount = property(lambda self: self[1])
    update_id = property(lambda self: self[2])


def _float_rows(levels: tuple[list[Level], list[Level]], update_id: int) -> tuple[list[Any], list[Any]]:
    bids, asks = levels
    return (
        [BookRow((float(p), float(s), update_id)) for p, s in bids],
        [BookRow((float(p), float(s), update_id)) for p, s in asks],
    )


_SYNTHS: dict[str, BookSynth] = {}


def book_synth(shape: BookShape, tick: Decimal) -> BookSynth:
    """The shared BookSynth of (shape, tick): markets with the same shape and tick (to the last digit written, as
    the Decimal levels' representation depends on it) reuse each other's last book, e.g. a spot priced off its perp."""
    key = repr((shape, tick))
    synth = _SYNTHS.get(key)
    if synth is None:
        synth = _SYNTHS[key] = BookSynth(shape, tick)
    return synth


@dataclass(frozen=True)
class BookWalk:
    """Result of taking liquidity: `filled` base at volume-weighted `average_price` (None if nothing filled)."""

    filled: Decimal
    average_price: Decimal | None
    quote: Decimal


def walk(levels: Sequence[Level], amount: Decimal, limit_price: Decimal | None, is_buy: bool) -> BookWalk:
    """Take up to `amount` from `levels` (best first), never past `limit_price` (None: no limit)."""
    remaining, quote = amount, Decimal(0)
    for price, size in levels:
        if remaining <= 0:
            break
        if limit_price is not None and (price > limit_price if is_buy else price < limit_price):
            break
        take = min(remaining, size)
        quote += take * price
        remaining -= take
    filled = amount - remaining
    return BookWalk(filled, quote / filled if filled > 0 else None, quote)


def default_lot_size(price: Decimal) -> Decimal:
    """A power of ten worth between 1 and 10 quote at `price` (e.g. 1E-4 for BTC at 90000, 10 for DOGE at 0.2)."""
    exponent = (Decimal(10) / price).log10().to_integral_value(rounding=ROUND_FLOOR)
    return Decimal(1).scaleb(int(exponent))
