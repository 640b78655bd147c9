"""Position size of a hedge and the exposure caps it must fit (pure core).

Size = order_amount_quote, scaled down by volatility (min(1, reference / realised hourly vol)) and liquidity
(at most max_book_depth_share_pct of the visible depth on each leg's taking side), then rounded DOWN to the
coarser of the two venues' lot sizes so both legs match within one lot; each leg must still meet its
venue's min order size and min notional.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from decimal import ROUND_FLOOR, Decimal
from typing import NamedTuple

from .costs import Infeasible
from .orderbook import Levels, depth_up_to
from .reasons import Reason
from .snapshots import MarketRules
from .venues import venue_name

_ZERO = Decimal(0)
_ONE = Decimal(1)
_HUNDRED = Decimal(100)
_HOUR_SCALES: dict[float, Decimal] = {}  # sample spacing (s) -> sqrt(3600 / spacing): spacings repeat


def _hour_scale(dt: float) -> Decimal:
    """sqrt(3600 / dt) for a return over `dt` seconds, memoised for float spacings (the same digits as computed)."""
    if type(dt) is not float:
        return (Decimal(3600) / Decimal(str(dt))).sqrt()
    scale = _HOUR_SCALES.get(dt)
    if scale is None:
        if len(_HOUR_SCALES) >= 4096:
            _HOUR_SCALES.clear()
        scale = _HOUR_SCALES[dt] = (Decimal(3600) / Decimal(str(dt))).sqrt()
    return scale


_GAP = object()  # no return between two samples further apart than max_gap_s
_FAILED = object()  # a return whose arithmetic raised


def floor_to_step(amount: Decimal, step: Decimal) -> Decimal:
    """Largest multiple of `step` not above `amount` (step > 0)."""
    return (amount / step).to_integral_value(rounding=ROUND_FLOOR) * step


def matched_amounts(amount_base: Decimal, long_lot: Decimal, short_lot: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    """(common, long, short): common floored to the coarser lot, each leg floored to its own lot.

    Both legs lie in (common - own lot, common], so they differ by less than the coarser lot.
    Example: 1.2345 with lots 0.01 and 0.001 -> (1.23, 1.230, 1.23).
    """
    common = floor_to_step(amount_base, max(long_lot, short_lot))
    return common, floor_to_step(common, long_lot), floor_to_step(common, short_lot)


class HedgeSize(NamedTuple):
    """How a hedge's size was reached, multiplier by multiplier."""

    target_quote: Decimal
    target_base: Decimal
    volatility_pct: Decimal | None  # realised hourly vol used (the larger leg's), None when unknown
    volatility_multiplier: Decimal
    volatility_note: str
    depth_cap_base: Decimal | None  # share of the thinner taking side; None when depth did not bind
    liquidity_multiplier: Decimal
    lot_step: Decimal
    amount_base: Decimal  # common amount
    long_amount_base: Decimal
    short_amount_base: Decimal
    notional_quote: Decimal  # common amount at the reference mid


class LegLimits(NamedTuple):
    """What sizing needs of one leg: the book side its entry takes, its rules and price."""

    taking_levels: Levels  # asks for the long leg, bids for the short leg
    descending: bool  # True for bids
    rules: MarketRules
    price: Decimal
    connector: str
    trading_pair: str


def volatility_multiplier(vol_pct: Decimal | None, reference_pct: Decimal) -> tuple[Decimal, str]:
    """min(1, reference / vol); 1 with a note when the volatility is unknown."""
    if vol_pct is None:
        return _ONE, "volatility unknown: no scaling"
    if vol_pct <= reference_pct:
        return _ONE, f"hourly vol {vol_pct:.4f}% <= reference {reference_pct}%"
    return reference_pct / vol_pct, f"hourly vol {vol_pct:.4f}% > reference {reference_pct}%"


def depth_cap(wanted_base: Decimal, long: LegLimits, short: LegLimits, share_pct: Decimal) -> Decimal | None:
    """share_pct % of the thinner taking side when that is below `wanted_base`, else None (does not bind).

    Raises:
        BookDataError: a level read on the way failed validation.
    """
    needed = wanted_base * _HUNDRED / share_pct
    caps = []
    for leg in (long, short):
        depth, reached = depth_up_to(leg.taking_levels, needed, leg.descending)
        if not reached:
            caps.append(depth * share_pct / _HUNDRED)
    return min(caps) if caps else None


def size_hedge(
    target_quote: Decimal,
    ref_mid: Decimal,
    long: LegLimits,
    short: LegLimits,
    depth_share_pct: Decimal,
    vol_pct: Decimal | None,
    vol_reference_pct: Decimal,
) -> HedgeSize | Infeasible:
    """Size one hedge; Infeasible when it rounds to nothing or breaks a venue minimum.

    Raises:
        BookDataError: a book level read for the depth check failed validation.
    """
    target_base = target_quote / ref_mid
    vol_mult, vol_note = volatility_multiplier(vol_pct, vol_reference_pct)
    wanted = target_base * vol_mult
    cap = depth_cap(wanted, long, short, depth_share_pct)
    liq_mult = _ONE if cap is None else cap / wanted
    amount = wanted if cap is None else cap
    lot = max(long.rules.lot_size, short.rules.lot_size)
    common, long_amt, short_amt = matched_amounts(amount, long.rules.lot_size, short.rules.lot_size)
    if common <= _ZERO or long_amt <= _ZERO or short_amt <= _ZERO:
        return Infeasible(Reason.SIZE_ROUNDS_TO_ZERO, f"{amount} base rounds to 0 at lot {lot}")
    for leg, amt in ((long, long_amt), (short, short_amt)):
        if amt < leg.rules.min_order_size:
            return Infeasible(
                Reason.BELOW_MIN_ORDER_SIZE,
                f"{leg.connector} {leg.trading_pair} {amt} < min order {leg.rules.min_order_size}",
            )
        if amt * leg.price < leg.rules.min_notional:
            return Infeasible(
                Reason.BELOW_MIN_NOTIONAL,
                f"{leg.connector} {leg.trading_pair} {amt * leg.price} < min notional {leg.rules.min_notional}",
            )
    return HedgeSize(
        target_quote,
        target_base,
        vol_pct,
        vol_mult,
        vol_note,
        cap,
        liq_mult,
        lot,
        common,
        long_amt,
        short_amt,
        common * ref_mid,
    )


class VolatilityTracker:
    """Bounded per-market price history, sampled at most once per `sample_interval_s`; realised hourly vol.

    Returns between samples further apart than `max_gap_s` are dropped (no filling across gaps); the others
    are scaled to one hour by sqrt(3600 / dt). Vol = sample stdev of those hourly returns, in %.
    """

    def __init__(
        self,
        sample_interval_s: int = 3600,
        max_samples: int = 169,
        min_returns: int = 6,
        max_gap_s: int = 3 * 3600,
        round_window_s: int = 60,
    ) -> None:
        self._min_spacing_s = sample_interval_s * 0.9  # "hour-ish": tolerate tick jitter
        self._round_window_s = round_window_s
        self._round_start: float | None = None
        self._max_samples = max_samples
        self._min_returns = min_returns
        self._max_gap_s = max_gap_s
        self._series: dict[tuple[str, str], deque[tuple[float, Decimal]]] = {}
        # the hourly return between each two consecutive samples of a series, computed once as the later one arrives
        # (aligned: i-th = series[i] -> series[i + 1]; _GAP across a gap, _FAILED where the arithmetic raised)
        self._returns: dict[tuple[str, str], deque[Decimal | object]] = {}
        self._cache: dict[tuple[str, str], Decimal | None] = {}
        self._cache_over: dict[tuple[tuple[str, str], float], tuple[float, Decimal | None]] = {}

    def round_open(self, ts: float) -> bool:
        """Whether prices should be offered at `ts`: rounds open ~hourly and stay open `round_window_s`.

        The intake offers every market's price only while a round is open (a market skipped for bad data
        through a whole round misses that hour), instead of on every tick.
        """
        start = self._round_start
        if start is None or ts - start >= self._min_spacing_s or ts < start:
            self._round_start = ts
            return True
        return ts - start < self._round_window_s

    def observe(self, key: tuple[str, str], ts: float, price: Decimal) -> None:
        """Offer one price; kept only if the last sample is at least ~one interval old."""
        series = self._series.get(key)
        if series is None:
            self._series[key] = deque([(ts, price)], maxlen=self._max_samples)
            self._returns[key] = deque(maxlen=max(self._max_samples - 1, 0))
            return
        last_ts = series[-1][0]
        returns = self._returns[key]
        if ts < last_ts:  # clock went backwards (a replay restarted): start over
            series.clear()
            returns.clear()
        elif ts - last_ts < self._min_spacing_s:
            return
        else:
            returns.append(self._return(series[-1], ts, price))
        series.append((ts, price))
        self._cache.pop(key, None)

    def _return(self, prev: tuple[float, Decimal], ts: float, price: Decimal) -> Decimal | object:
        """The hourly return from sample `prev` to (ts, price), as `_compute` scales it; _GAP beyond `max_gap_s`,
        _FAILED where the arithmetic raises (then `_compute` on the samples raises it where it always did)."""
        t0, p0 = prev
        dt = ts - t0
        if dt > self._max_gap_s:
            return _GAP
        try:
            return (price / p0 - _ONE) * _hour_scale(dt)
        except Exception:  # e.g. a zero or non-numeric price: raised by `_compute` when the volatility is read
            return _FAILED

    def samples(self, key: tuple[str, str]) -> int:
        series = self._series.get(key)
        return len(series) if series else 0

    def hourly_vol_pct(self, key: tuple[str, str]) -> Decimal | None:
        """Realised hourly volatility in %, None with fewer than `min_returns` usable returns."""
        if key in self._cache:
            return self._cache[key]
        series = self._series.get(key)
        vol = None if series is None else self._vol_of(key, series, len(series))
        self._cache[key] = vol
        return vol

    def hourly_vol_pct_over(self, key: tuple[str, str], lookback_s: float) -> Decimal | None:
        """Realised hourly volatility in % from the samples of the last `lookback_s` seconds (at most the kept
        history); None with fewer than `min_returns` usable returns. Cached until the next sample."""
        series = self._series.get(key)
        if not series:
            return None
        last_ts = series[-1][0]
        cached = self._cache_over.get((key, lookback_s))
        if cached is not None and cached[0] == last_ts:
            return cached[1]
        since = last_ts - lookback_s
        vol = self._vol_of(key, series, sum(1 for s in series if s[0] >= since))  # samples ascend: the last ones
        self._cache_over[(key, lookback_s)] = (last_ts, vol)
        return vol

    def _vol_of(self, key: tuple[str, str], series: deque[tuple[float, Decimal]], n_last: int) -> Decimal | None:
        """`_compute` of the last `n_last` samples of `key`'s series, from the returns kept for it (the same returns,
        in the same order); `_compute` itself where a return could not be computed (it raises there, as always)."""
        returns = list(self._returns[key])
        if len(returns) != len(series) - 1 or any(r is _FAILED for r in returns):
            return self._compute(list(series)[len(series) - n_last :] if n_last > 0 else [])
        used = returns[len(returns) - (n_last - 1) :] if n_last > 1 else []
        return self._stdev_pct([r for r in used if r is not _GAP])  # type: ignore[misc]

    def _compute(self, series: Sequence[tuple[float, Decimal]]) -> Decimal | None:
        returns: list[Decimal] = []
        for (t0, p0), (t1, p1) in zip(series, list(series)[1:], strict=False):
            dt = t1 - t0
            if dt > self._max_gap_s:
                continue
            scale = _hour_scale(dt)
            returns.append((p1 / p0 - _ONE) * scale)
        return self._stdev_pct(returns)

    def _stdev_pct(self, returns: list[Decimal]) -> Decimal | None:
        """Sample standard deviation of hourly returns, in %; None with fewer than `min_returns`."""
        if len(returns) < self._min_returns:
            return None
        mean = sum(returns, _ZERO) / len(returns)
        var = sum(((r - mean) ** 2 for r in returns), _ZERO) / (len(returns) - 1)
        return var.sqrt() * _HUNDRED

    def forget(self, key: tuple[str, str]) -> None:
        self._series.pop(key, None)
        self._returns.pop(key, None)
        self._cache.pop(key, None)


class ExposureBook:
    """Notional per token, per venue and in total (per side), counting held pairs and this tick's entries.

    Venues are counted by venue name (`binance` and `binance_perpetual` are one venue: one counterparty).
    """

    def __init__(self, token_cap: Decimal, venue_cap: Decimal, total_cap: Decimal) -> None:
        self._caps = (token_cap, venue_cap, total_cap)
        self._token: dict[str, Decimal] = {}
        self._venue: dict[str, Decimal] = {}
        self._total = _ZERO

    def add(self, token: str, long_connector: str, short_connector: str, notional_quote: Decimal) -> None:
        self._token[token] = self._token.get(token, _ZERO) + notional_quote
        for c in (long_connector, short_connector):
            v = venue_name(c)
            self._venue[v] = self._venue.get(v, _ZERO) + notional_quote
        self._total += notional_quote

    def headroom(self, token: str, long_connector: str, short_connector: str) -> tuple[Decimal, Reason]:
        """Largest notional this hedge may still add, and the cap that binds."""
        token_cap, venue_cap, total_cap = self._caps
        room = [(token_cap - self._token.get(token, _ZERO), Reason.TOKEN_CAP)]
        long_v, short_v = venue_name(long_connector), venue_name(short_connector)
        if long_v == short_v:  # e.g. binance spot + binance_perpetual: both legs on one venue
            room.append(((venue_cap - self._venue.get(long_v, _ZERO)) / 2, Reason.VENUE_CAP))
        else:
            room += [(venue_cap - self._venue.get(v, _ZERO), Reason.VENUE_CAP) for v in (long_v, short_v)]
        room.append((total_cap - self._total, Reason.TOTAL_CAP))
        return min(room, key=lambda r: r[0])

    @property
    def total_quote(self) -> Decimal:
        return self._total

    def token_quote(self, token: str) -> Decimal:
        return self._token.get(token, _ZERO)

    def venue_quote(self, connector_or_venue: str) -> Decimal:
        return self._venue.get(venue_name(connector_or_venue), _ZERO)


FUNDS_BUFFER = Decimal("0.05")  # share of each venue's balance never committed (fees, price moves, rounding)


class VenueFunds:
    """Quote funds free on each venue for new hedges: a spot leg pays its whole notional, a perp leg posts
    notional / leverage as margin. Spot balances already exclude the spot bought for held pairs; perp wallet
    balances include the margin of held legs, which `commit(..., held=True)` takes off. A venue whose balance
    is unknown (not in `balances_quote`) is not constrained here: its orders are checked by the venue.
    `market_leverage` (volatility mode) overrides the connector's leverage per (connector, trading pair)."""

    def __init__(
        self,
        balances_quote: Mapping[str, Decimal],
        leverage: Mapping[str, Decimal],
        buffer: Decimal,
        market_leverage: Mapping[tuple[str, str], Decimal] | None = None,
    ) -> None:
        self._free = {c: b * (1 - buffer) for c, b in balances_quote.items()}
        self._leverage = leverage
        self._market_leverage = market_leverage or {}

    def _lev(self, connector: str, pair: str | None = None) -> Decimal:
        if pair is not None and (connector, pair) in self._market_leverage:
            return self._market_leverage[(connector, pair)]
        return self._leverage.get(connector, Decimal(1))

    def commit(
        self,
        long_connector: str,
        long_is_perp: bool,
        short_connector: str,
        notional_quote: Decimal,
        held: bool = False,
        long_pair: str | None = None,
        short_pair: str | None = None,
    ) -> None:
        """Take one hedge's funds off its venues (`held`: an existing pair, whose spot was already paid)."""
        if long_connector in self._free and (long_is_perp or not held):
            lev = self._lev(long_connector, long_pair)
            self._free[long_connector] -= notional_quote / lev if long_is_perp else notional_quote
        if short_connector in self._free:
            self._free[short_connector] -= notional_quote / self._lev(short_connector, short_pair)

    def room(
        self,
        long_connector: str,
        long_is_perp: bool,
        short_connector: str,
        long_pair: str | None = None,
        short_pair: str | None = None,
    ) -> Decimal | None:
        """Largest notional the free funds allow for this hedge; None when no leg's balance is known."""
        rooms = []
        if long_connector in self._free:
            free = self._free[long_connector]
            rooms.append(free * self._lev(long_connector, long_pair) if long_is_perp else free)
        if short_connector in self._free:
            rooms.append(self._free[short_connector] * self._lev(short_connector, short_pair))
        return max(min(rooms), _ZERO) if rooms else None
