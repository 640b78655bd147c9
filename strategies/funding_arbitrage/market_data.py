"""Per-tick intake of market snapshots: explicit bad-data checks, funding intervals, price history.

Pure core. Every market of a tick either becomes a `MarketQuote` or is counted under a
`SkipReason`; nothing here raises on bad data. Only the top of each book is checked here (cheap, every
market, every tick); the engine checks every level of the few books it walks (`orderbook.check_book`).
"""
from __future__ import annotations

import logging
from collections import Counter
from decimal import Decimal
from typing import NamedTuple

from .config import FundingArbSettings
from .funding import FundingView, IntervalInfo, IntervalTracker, check_funding, rate_bound
from .orderbook import check_top
from .reasons import SkipReason
from .sizing import VolatilityTracker
from .snapshots import FeeSchedule, FundingSnapshot, MarketKind, MarketRules, MarketSnapshot, TickSnapshot

logger = logging.getLogger(__name__)

_ZERO = Decimal(0)
_ONE = Decimal(1)
_TWO = Decimal(2)
_SECONDS_PER_HOUR = Decimal(3600)

MarketKey = tuple[str, str]  # (connector, trading pair)


class MarketQuote(NamedTuple):
    """A market that passed this tick's checks. Perps with an unknown interval have `rate_per_hour` None."""

    market: MarketSnapshot
    key: MarketKey
    is_perp: bool
    mid: Decimal
    interval: IntervalInfo | None  # None for spot
    rate_per_hour: Decimal | None  # None for spot or unknown interval
    mark: Decimal  # funding mark price; the mid for spot
    fee_floor: Decimal  # taker_open + taker_close: the fees of a round trip, as a fraction

    @property
    def funding_per_hour_quote(self) -> Decimal:
        """Funding per hour per 1 base held, in quote (rate/h * mark); 0 for spot and unknown intervals."""
        return _ZERO if self.rate_per_hour is None else self.rate_per_hour * self.mark

    @property
    def tradeable(self) -> bool:
        return not self.is_perp or self.rate_per_hour is not None


def check_rules(rules: MarketRules) -> SkipReason | None:
    lot, min_size, min_notional = rules.lot_size, rules.min_order_size, rules.min_notional
    if not (lot.is_finite() and min_size.is_finite() and min_notional.is_finite()):
        return SkipReason.BAD_RULES
    if lot <= _ZERO or min_size < _ZERO or min_notional < _ZERO:
        return SkipReason.BAD_RULES
    return None


def check_fees(fees: FeeSchedule) -> SkipReason | None:
    taker_open, taker_close = fees.taker_open, fees.taker_close
    if not (taker_open.is_finite() and taker_close.is_finite()):
        return SkipReason.BAD_FEES
    if not (_ZERO <= taker_open < _ONE and _ZERO <= taker_close < _ONE):
        return SkipReason.BAD_FEES
    return None


class _Static(NamedTuple):
    """Per configured market, computed once: expected kind, interval hint, rate bound."""

    kind: MarketKind
    hint_s: int | None
    bound: Decimal


class MarketIntake:
    """Turns a tick's snapshots into usable quotes, counting every market it has to leave out."""

    def __init__(self, settings: FundingArbSettings, intervals: IntervalTracker, volatility: VolatilityTracker) -> None:
        self._intervals = intervals
        self._volatility = volatility
        self._stale_s = settings.stale_data_s
        self._static: dict[tuple[str, str], _Static] = {}
        for token in settings.tokens:
            for c in settings.perp_connectors:
                self._static[(c, token)] = _Static(MarketKind.PERP, settings.interval_hint_s(c, token), rate_bound(c))
            for c in settings.spot_connectors:
                self._static[(c, token)] = _Static(MarketKind.SPOT, None, _ZERO)
        self._last_funding: dict[MarketKey, tuple[FundingSnapshot, IntervalInfo]] = {}
        self._hour_factor: dict[int, Decimal] = {}  # interval_s -> 3600 / interval_s

    def intake(self, tick: TickSnapshot, skipped: Counter[SkipReason]
               ) -> tuple[dict[str, list[MarketQuote]], dict[MarketKey, MarketQuote]]:
        """Quotes per token (tradeable or not) and by market key; bad markets counted in `skipped`."""
        by_token: dict[str, list[MarketQuote]] = {}
        by_key: dict[MarketKey, MarketQuote] = {}
        seen: set[tuple[str, str]] = set()
        for market in tick.markets:
            try:
                result = self._quote(market, tick, seen)
            except Exception:  # last line: a snapshot shape no check foresaw
                logger.exception("market_skip reason=internal_error market=%r", market)
                result = SkipReason.INTERNAL_ERROR
            if type(result) is MarketQuote:
                quotes = by_token.get(market.token)
                if quotes is None:
                    quotes = by_token[market.token] = []
                quotes.append(result)
                by_key[result.key] = result
                if result.is_perp and result.rate_per_hour is None:
                    skipped[SkipReason.INTERVAL_UNKNOWN] += 1  # kept for held pairs' exits, never traded
            else:
                skipped[result] += 1  # type: ignore[index]
        missing = len(self._static) - len(seen)
        if missing > 0:
            skipped[SkipReason.MISSING_SNAPSHOT] += missing
        return by_token, by_key

    def funding_views(self) -> tuple[FundingView, ...]:
        """Latest usable funding of every perp market seen, normalised (for status)."""
        return tuple(FundingView.build(f, i) for f, i in self._last_funding.values())

    def _quote(self, market: MarketSnapshot | None, tick: TickSnapshot, seen: set[tuple[str, str]]
               ) -> MarketQuote | SkipReason:
        if market is None:
            return SkipReason.MISSING_SNAPSHOT
        ck = (market.connector, market.token)
        static = self._static.get(ck)
        if static is None or static.kind != market.kind:
            return SkipReason.UNCONFIGURED_MARKET
        seen.add(ck)
        if tick.ready.get(market.connector) is False:
            return SkipReason.VENUE_NOT_READY
        book = market.book
        problem = check_top(book, tick.ts, self._stale_s) or check_rules(market.rules) or check_fees(market.fees)
        if problem is not None:
            return problem
        assert book is not None
        mid = (book.bids[0][0] + book.asks[0][0]) / _TWO
        fee_floor = market.fees.taker_open + market.fees.taker_close
        key = (market.connector, market.trading_pair)
        if static.kind is MarketKind.SPOT:
            self._volatility.observe(key, tick.ts, mid)
            return MarketQuote(market, key, False, mid, None, None, mid, fee_floor)
        return self._perp_quote(market, static, key, mid, fee_floor, tick.ts)

    def _perp_quote(self, market: MarketSnapshot, static: _Static, key: MarketKey, mid: Decimal, fee_floor: Decimal,
                    ts: float) -> MarketQuote | SkipReason:
        funding = market.funding
        problem = check_funding(funding, ts, self._stale_s, static.bound)
        if problem is not None:
            return problem
        assert funding is not None
        interval = self._intervals.observe(key[0], key[1], funding.next_funding_ts, funding.observed_ts,
                                           static.hint_s)
        self._last_funding[key] = (funding, interval)
        self._volatility.observe(key, ts, funding.mark_price)
        if interval.interval_s is None:
            return MarketQuote(market, key, True, mid, interval, None, funding.mark_price, fee_floor)
        factor = self._hour_factor.get(interval.interval_s)
        if factor is None:
            factor = self._hour_factor[interval.interval_s] = _SECONDS_PER_HOUR / interval.interval_s
        return MarketQuote(market, key, True, mid, interval, funding.rate * factor, funding.mark_price, fee_floor)
