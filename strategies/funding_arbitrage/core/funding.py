"""Funding rates: settlement intervals, sanity checks and normalisation to per-hour and APR (pure core).

A venue reports `rate` for ONE settlement interval. The interval differs per venue and per contract and
changes over time (Binance/Bybit/OKX switch a contract to 1h when its rate hits the cap), so it is
*observed*: when a market's `next_funding_ts` advances from T1 to T2, the interval is T2 - T1. Until then a
declared hint (`FundingArbSettings.interval_hint_s`) is used, and without either the interval is UNKNOWN
and the market is not traded. There is no default interval.

Normalisation, worked example: Binance 4h rate 0.0001 -> 0.0001 * 3600 / 14400 = 0.000025 per hour
-> 0.000025 * 8760 * 100 = 21.9 % APR; Hyperliquid 1h rate 0.000025 is the same APR.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from .reasons import SkipReason
from .snapshots import FundingSnapshot
from .venues import venue_spec

logger = logging.getLogger(__name__)

SECONDS_PER_HOUR = 3600
HOURS_PER_YEAR = Decimal(8760)
SANE_RATE_BOUND = Decimal("0.05")  # per interval, for venues whose cap varies per contract
MIN_INTERVAL_S = 300
MAX_INTERVAL_S = 86400
SCHEDULE_TOLERANCE_S = 60  # jitter allowed between a venue's next_funding_ts and the interval

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
_SECONDS_PER_HOUR = Decimal(SECONDS_PER_HOUR)


class IntervalSource(StrEnum):
    OBSERVED = "observed"
    HINT = "hint"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class IntervalInfo:
    """Settlement interval of one market and where it came from; `interval_s` is None when unknown."""

    interval_s: int | None
    source: IntervalSource
    note: str = ""
    per_hour: Decimal | None = field(init=False, repr=False, compare=False)  # 3600 / interval_s

    def __post_init__(self) -> None:
        factor = None if self.interval_s is None else _SECONDS_PER_HOUR / self.interval_s
        object.__setattr__(self, "per_hour", factor)

    @property
    def known(self) -> bool:
        return self.interval_s is not None

    @property
    def hours(self) -> Decimal | None:
        return None if self.interval_s is None else Decimal(self.interval_s) / _SECONDS_PER_HOUR


UNKNOWN_INTERVAL = IntervalInfo(None, IntervalSource.UNKNOWN, "no hint and not yet observed")


def rate_per_hour(rate: Decimal, interval_s: int) -> Decimal:
    """Per-interval rate -> per-hour fraction: rate * 3600 / interval_s."""
    return rate * _SECONDS_PER_HOUR / interval_s


def apr_pct(rate_hourly: Decimal) -> Decimal:
    """Per-hour fraction -> simple (not compounded) APR in %: rate_hourly * 8760 * 100."""
    return rate_hourly * HOURS_PER_YEAR * _HUNDRED


def rate_bound(connector: str) -> Decimal:
    """Largest believable |rate| per interval: the venue cap, or SANE_RATE_BOUND when the cap varies."""
    spec = venue_spec(connector)
    if spec is None or spec.funding_rate_cap is None:
        return SANE_RATE_BOUND
    return spec.funding_rate_cap


def check_funding(funding: FundingSnapshot | None, ts: float, stale_data_s: int, bound: Decimal) -> SkipReason | None:
    """Why a perp's funding snapshot cannot be used at `ts`, or None when it can."""
    if funding is None:
        return SkipReason.MISSING_FUNDING
    rate = funding.rate
    if not rate.is_finite():
        return SkipReason.BAD_RATE
    mark = funding.mark_price
    if not mark.is_finite() or mark <= _ZERO:
        return SkipReason.BAD_PRICE
    if ts - funding.observed_ts > stale_data_s:
        return SkipReason.STALE_FUNDING
    if funding.next_funding_ts < ts - stale_data_s:
        return SkipReason.FUNDING_PAST_DUE
    if abs(rate) > bound:
        return SkipReason.RATE_BEYOND_CAP
    return None


@dataclass(frozen=True, slots=True)
class FundingView:
    """One perp market's funding at one tick, normalised; per-hour and APR None if the interval is unknown."""

    connector: str
    trading_pair: str
    rate: Decimal  # per settlement interval, as the venue reports it
    interval: IntervalInfo
    next_funding_ts: int
    mark_price: Decimal
    rate_per_hour: Decimal | None
    apr_pct: Decimal | None

    @classmethod
    def build(cls, funding: FundingSnapshot, interval: IntervalInfo) -> FundingView:
        hourly = None if interval.interval_s is None else rate_per_hour(funding.rate, interval.interval_s)
        return cls(
            funding.connector,
            funding.trading_pair,
            funding.rate,
            interval,
            funding.next_funding_ts,
            funding.mark_price,
            hourly,
            None if hourly is None else apr_pct(hourly),
        )


def valid_from_ts(next_funding_ts: int, info: IntervalInfo) -> float:
    """Earliest observation time at which `info` still holds for this `next_funding_ts`: an interval is
    contradicted when the next settlement is more than one interval (+ tolerance) away. An unknown interval
    is never reused (inf): it is re-derived on every sighting."""
    if info.interval_s is None:
        return float("inf")
    return next_funding_ts - info.interval_s - SCHEDULE_TOLERANCE_S


class _Schedule:
    """What one market's settlement schedule has shown so far (mutable, internal)."""

    __slots__ = ("hint_s", "info", "last_next_ts", "last_observed_ts", "observed", "valid_from_ts")

    def __init__(self, next_ts: int, observed_ts: float) -> None:
        self.last_next_ts = next_ts
        self.last_observed_ts = observed_ts
        self.observed: IntervalInfo | None = None
        # Cache of the answer for (last_next_ts, hint_s): valid while observed_ts >= valid_from_ts.
        self.hint_s: int | None = None
        self.info: IntervalInfo | None = None
        self.valid_from_ts = float("inf")


class IntervalTracker:
    """Each market's settlement interval from successive `next_funding_ts` values, re-checked every call.

    An advance T1 -> T2 is accepted as the interval only when it was seen in the first half of the new
    interval (observed_ts - T1 < (T2 - T1) / 2): a later first sighting could hide missed settlements
    (after a restart T2 - T1 may be several intervals). A next_funding_ts that moves *earlier* means the
    schedule changed: the observed interval is dropped until the next advance.
    """

    def __init__(self) -> None:
        self._schedules: dict[tuple[str, str], _Schedule] = {}
        self._hints: dict[int, IntervalInfo] = {}

    def observe(
        self, connector: str, trading_pair: str, next_funding_ts: int, observed_ts: float, hint_s: int | None
    ) -> IntervalInfo:
        """Record one sighting of a market's next settlement time; returns its interval as known now."""
        return self.observe_key((connector, trading_pair), next_funding_ts, observed_ts, hint_s)

    def observe_key(
        self, key: tuple[str, str], next_funding_ts: int, observed_ts: float, hint_s: int | None
    ) -> IntervalInfo:
        """`observe` for a (connector, trading pair) key tuple the caller keeps (cheaper lookups)."""
        sched = self._schedules.get(key)
        if sched is None:
            self._schedules[key] = sched = _Schedule(next_funding_ts, observed_ts)
        elif next_funding_ts != sched.last_next_ts:
            self._advance(key, sched, next_funding_ts, observed_ts)
        else:
            sched.last_observed_ts = observed_ts
            if hint_s == sched.hint_s and observed_ts >= sched.valid_from_ts and sched.info is not None:
                return sched.info  # unchanged schedule, still within one interval of the next settlement
        info = self._current(sched, next_funding_ts, observed_ts, hint_s)
        sched.hint_s, sched.info = hint_s, info
        sched.valid_from_ts = valid_from_ts(next_funding_ts, info)
        return info

    def info(self, connector: str, trading_pair: str, hint_s: int | None) -> IntervalInfo:
        """The interval as last derived, without a new sighting."""
        sched = self._schedules.get((connector, trading_pair))
        if sched is not None and sched.observed is not None:
            return sched.observed
        return self._hint(hint_s) if hint_s else UNKNOWN_INTERVAL

    def forget(self, connector: str, trading_pair: str) -> None:
        self._schedules.pop((connector, trading_pair), None)

    def _advance(self, key: tuple[str, str], sched: _Schedule, next_ts: int, observed_ts: float) -> None:
        gap = next_ts - sched.last_next_ts
        if gap < 0:
            if sched.observed is not None:
                logger.warning(
                    "funding_schedule=moved_earlier market=%s:%s from_ts=%s to_ts=%s interval=unknown",
                    key[0],
                    key[1],
                    sched.last_next_ts,
                    next_ts,
                )
            sched.observed = None
        elif observed_ts - sched.last_next_ts < gap / 2 and MIN_INTERVAL_S <= gap <= MAX_INTERVAL_S:
            interval_s = round(gap / 60) * 60  # to the minute: venue clocks jitter
            if sched.observed is None or sched.observed.interval_s != interval_s:
                logger.info(
                    "funding_interval=observed market=%s:%s interval_s=%s previous=%s",
                    key[0],
                    key[1],
                    interval_s,
                    sched.observed.interval_s if sched.observed else None,
                )
                sched.observed = IntervalInfo(interval_s, IntervalSource.OBSERVED)
        sched.last_next_ts = next_ts
        sched.last_observed_ts = observed_ts
        sched.info = None

    def _current(self, sched: _Schedule, next_ts: int, observed_ts: float, hint_s: int | None) -> IntervalInfo:
        info = sched.observed if sched.observed is not None else (self._hint(hint_s) if hint_s else None)
        if info is None:
            return UNKNOWN_INTERVAL
        assert info.interval_s is not None
        if next_ts - observed_ts > info.interval_s + SCHEDULE_TOLERANCE_S:
            # The next settlement is further away than one interval: the interval we hold is wrong.
            return IntervalInfo(
                None,
                IntervalSource.UNKNOWN,
                f"{info.source} interval {info.interval_s}s contradicted by next settlement in "
                f"{int(next_ts - observed_ts)}s",
            )
        return info

    def _hint(self, hint_s: int) -> IntervalInfo:
        info = self._hints.get(hint_s)
        if info is None:
            info = self._hints[hint_s] = IntervalInfo(hint_s, IntervalSource.HINT)
        return info
