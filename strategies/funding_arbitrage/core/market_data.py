"""Per-tick intake of market snapshots: explicit bad-data checks, funding intervals, price history.

Pure core. Every market of a tick either becomes a `MarketQuote` or is counted under a
`SkipReason`; nothing here raises on bad data. Only what the screen needs is checked here, for every
market every tick (top of book, fees, funding); deeper book levels and lot rules are checked where the
engine first reads them (`orderbook.walk`, `check_rules`), for the few candidates it sizes.
"""

from __future__ import annotations

import logging
from collections import Counter
from decimal import Decimal, InvalidOperation
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
_HALF = Decimal("0.5")
_INF = Decimal("Infinity")

MarketKey = tuple[str, str]  # (connector, trading pair)
TokenQuotes = tuple[list["MarketQuote"], list["MarketQuote"]]  # (perps with a known interval, spots)
_NONE: dict[str, _Static] = {}  # for connectors not configured
_new_quote = tuple.__new__  # builds a MarketQuote without the Python-level NamedTuple constructor (hot path)


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
    """Lot size and minimums usable: finite, lot > 0, minimums >= 0 (checked where sizing reads them)."""
    lot, min_size, min_notional = rules.lot_size, rules.min_order_size, rules.min_notional
    if not (lot.is_finite() and min_size.is_finite() and min_notional.is_finite()):
        return SkipReason.BAD_RULES
    if lot <= _ZERO or min_size < _ZERO or min_notional < _ZERO:
        return SkipReason.BAD_RULES
    return None


def check_fees(fees: FeeSchedule) -> SkipReason | None:
    """Taker fees usable: finite and in [0, 1)."""
    taker_open, taker_close = fees.taker_open, fees.taker_close
    if not (taker_open.is_finite() and taker_close.is_finite()):
        return SkipReason.BAD_FEES
    if not (_ZERO <= taker_open < _ONE and _ZERO <= taker_close < _ONE):
        return SkipReason.BAD_FEES
    return None


class _Static:
    """Per configured market, computed once: expected kind, interval hint, rate bound (hashed by identity)."""

    __slots__ = ("bound", "fee_floor", "fees_ok", "hint_s", "key", "kind", "neg_bound")

    def __init__(self, kind: MarketKind, hint_s: int | None, bound: Decimal, key: MarketKey) -> None:
        self.kind = kind
        self.hint_s = hint_s
        self.bound = bound
        self.neg_bound = -bound
        self.key = key  # (connector, configured trading pair), one tuple for the engine's whole life
        # The last fee schedule object that passed the checks and its round-trip taker fee: the shell hands the
        # same (immutable) object over until its fees are refreshed, so the checks and the sum run once per object.
        self.fees_ok: FeeSchedule | None = None
        self.fee_floor = _ZERO


class MarketIntake:
    """Turns a tick's snapshots into usable quotes, counting every market it has to leave out."""

    def __init__(self, settings: FundingArbSettings, intervals: IntervalTracker, volatility: VolatilityTracker) -> None:
        self._intervals = intervals
        self._volatility = volatility
        self._stale_s = settings.stale_data_s
        # connector -> token -> facts: two lookups on strings (their hashes are cached), no tuple per market
        self._static: dict[str, dict[str, _Static]] = {c: {} for c in settings.all_connectors}
        self._n_static = 0
        for token in settings.tokens:
            for c in settings.perp_connectors:
                key = (c, settings.trading_pair(c, token))
                self._static[c][token] = _Static(
                    MarketKind.PERP, settings.interval_hint_s(c, token), rate_bound(c), key
                )
            for c in settings.spot_connectors:
                self._static[c][token] = _Static(MarketKind.SPOT, None, _ZERO, (c, settings.trading_pair(c, token)))
            self._n_static += len(settings.perp_connectors) + len(settings.spot_connectors)
        # Latest usable funding per perp. Only funding snapshots are kept: holding a tick's books past
        # `evaluate` would make the engine, not the shell, free the previous tick (milliseconds of work).
        self._last_funding: dict[MarketKey, tuple[FundingSnapshot, IntervalInfo]] = {}

    def intake(
        self, tick: TickSnapshot, skipped: Counter[SkipReason]
    ) -> tuple[dict[str, TokenQuotes], dict[MarketKey, MarketQuote]]:
        """Tradeable quotes per token (perps with a known interval, spots) and every usable quote by key
        (held pairs' exits need books even when an interval is unknown); bad markets counted in `skipped`."""
        by_token: dict[str, TokenQuotes] = {}
        by_key: dict[MarketKey, MarketQuote] = {}
        seen: set[_Static] = set()
        ts = tick.ts
        not_ready = {c for c, ok in tick.ready.items() if ok is False}
        sampling = self._volatility.round_open(ts)
        for market in tick.markets:
            try:
                result = self._quote(market, ts, not_ready, seen)
            except Exception:  # last line: a snapshot shape no check foresaw
                logger.exception("market_skip reason=internal_error market=%r", market)
                result = SkipReason.INTERNAL_ERROR
            if type(result) is not MarketQuote:
                skipped[result] += 1  # type: ignore[index]
                continue
            by_key[result.key] = result
            token = by_token.get(market.token)
            if token is None:
                token = by_token[market.token] = ([], [])
            if not result.is_perp:
                token[1].append(result)
            elif result.rate_per_hour is not None:
                token[0].append(result)
            else:
                skipped[SkipReason.INTERVAL_UNKNOWN] += 1  # kept for held pairs' exits, never traded
            if sampling:
                self._volatility.observe(result.key, ts, result.mark)
        missing = self._n_static - len(seen)
        if missing > 0:
            skipped[SkipReason.MISSING_SNAPSHOT] += missing
        return by_token, by_key

    def funding_views(self) -> tuple[FundingView, ...]:
        """Latest usable funding of every perp market, normalised (for status)."""
        return tuple(FundingView.build(f, i) for f, i in self._last_funding.values())

    def _quote(
        self, market: MarketSnapshot | None, ts: float, not_ready: set[str], seen: set[_Static]
    ) -> MarketQuote | SkipReason:
        """One market's checks; a market failing any is reported under the first failing explicit check."""
        if market is None:
            return SkipReason.MISSING_SNAPSHOT
        static = self._static.get(market.connector, _NONE).get(market.token)
        if static is None or static.kind != market.kind:
            return SkipReason.UNCONFIGURED_MARKET
        if static in seen:  # the first snapshot wins: one market must never pair with itself
            return SkipReason.DUPLICATE_MARKET
        seen.add(static)
        if not_ready and market.connector in not_ready:
            return SkipReason.VENUE_NOT_READY
        funding, fees = market.funding, market.fees
        perp = static.kind is MarketKind.PERP
        top = _sound(market, static, ts, self._stale_s)
        if top is None:
            return self._first_problem(market, static, ts)
        mid = (top[0] + top[1]) * _HALF
        # The configured key object when the pair matches: dict lookups keyed by it then hit on identity.
        key = static.key if market.trading_pair == static.key[1] else (market.connector, market.trading_pair)
        if fees is not static.fees_ok:
            static.fees_ok, static.fee_floor = fees, fees.taker_open + fees.taker_close
        fee_floor = static.fee_floor
        if not perp:
            return _new_quote(MarketQuote, (market, key, False, mid, None, None, mid, fee_floor))
        assert funding is not None
        interval = self._intervals.observe_key(key, funding.next_funding_ts, funding.observed_ts, static.hint_s)
        self._last_funding[key] = (funding, interval)
        hourly = None if interval.per_hour is None else funding.rate * interval.per_hour
        return _new_quote(MarketQuote, (market, key, True, mid, interval, hourly, funding.mark_price, fee_floor))

    def _first_problem(self, market: MarketSnapshot, static: _Static, ts: float) -> SkipReason:
        """The explicit checks, in order; they name what `_sound` rejected."""
        problem = check_top(market.book, ts, self._stale_s) or check_fees(market.fees)
        if problem is None and static.kind is MarketKind.PERP:
            problem = check_funding(market.funding, ts, self._stale_s, static.bound)
        if problem is None:  # _sound and the explicit checks disagree: a bug, not bad data
            logger.error(
                "market_skip reason=internal_error market=%s:%s detail=fast check rejected a market the "
                "explicit checks accept",
                market.connector,
                market.trading_pair,
            )
            return SkipReason.INTERNAL_ERROR
        return problem


def _sound(market: MarketSnapshot, static: _Static, ts: float, stale_s: int) -> tuple[Decimal, Decimal] | None:
    """Fast path of the explicit checks (`check_top`, `check_fees`, `check_funding`): the best bid and ask only
    when every one of them would pass, else None. Chained comparisons reject NaN (they raise) and infinity
    (bounded by _INF)."""
    book, fees = market.book, market.fees
    if book is None or ts - book.observed_ts > stale_s:
        return None
    bid, ask = book.best_bid, book.best_ask
    if bid is None or ask is None:
        return None
    try:
        if not _ZERO < bid < ask < _INF:
            return None
        if fees is not static.fees_ok and not (
            _ZERO <= fees.taker_open < _ONE and _ZERO <= fees.taker_close < _ONE
        ):  # a schedule object that passed stays valid: it is immutable
            return None
        if static.kind is MarketKind.SPOT:
            return bid, ask
        f = market.funding
        if (
            f is not None
            and static.neg_bound <= f.rate <= static.bound
            and _ZERO < f.mark_price < _INF
            and ts - f.observed_ts <= stale_s
            and f.next_funding_ts >= ts - stale_s
        ):
            return bid, ask
        return None
    except InvalidOperation:  # a NaN somewhere: let the explicit checks name it
        return None
