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
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

from .calibration import BAND_EDGES_BPS, CALIBRATED_PROFILES
from .data import MarketData

Level = tuple[Decimal, Decimal]  # (price, size in base)
PROFILE_MARKETS = {"binance_btcusdt": ("binance", "BTC"), "binance_ethusdt": ("binance", "ETH"),
                   "hyperliquid_btc": ("hyperliquid", "BTC")}
DEPTH_SCALE_BOUNDS = (Decimal("0.01"), Decimal(10))
_BPS = Decimal(10000)
_OFFSETS = tuple(Decimal(0) if i == 0 else (BAND_EDGES_BPS[i] + BAND_EDGES_BPS[i + 1]) / 2 / _BPS
                 for i in range(len(BAND_EDGES_BPS) - 1))


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


def book_shape(venue: str, coin: str, data: MarketData | None = None,
               depth_scale: Decimal | None = None) -> BookShape:
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
    for offset, depth in zip(_OFFSETS, shape.band_depth_quote):
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
