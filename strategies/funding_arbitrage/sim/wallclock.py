"""Wall-clock views of recorded market data, for simulated venues running on Hummingbot's REALTIME clock.

The live engine stamps everything with wall time (the strategy's `current_timestamp`, order and fill times), so a
simulated venue must present the replayed market on the same clock. `TimeMap` maps wall time to data time at a
chosen speed::

    data_ts = data_start_ts + (wall_ts - wall_start_ts) * speed
    wall_ts = wall_start_ts + (data_ts - data_start_ts) / speed

`wall_clock_market_data(data, time_map)` returns the same dataset whose series take and return *wall* times:
`price_at(wall_ts)` is the recorded price at the mapped data time, and a funding settlement recorded at data time T
is reported (`next_settlement`, `settlements_between`) at wall time `to_wall(T)`. A simulated connector built on it
needs no change: its `current_timestamp`, `get_funding_info(...).next_funding_utc_timestamp`, fills and
`FundingPaymentCompletedEvent.timestamp` are all wall times, consistent with the strategy's clock.

Example: data_start 2025-03-09T00:00Z, speed 3600, wall_start 1_800_000_000. At wall 1_800_000_010 the venues show
2025-03-09T10:00Z prices; the 2025-03-09T16:00Z settlement is announced for wall 1_800_000_016 and paid then.
Intervals shrink by the same factor (8h -> 8 s of wall time). Price staleness (`max_staleness_s`) stays in data
seconds. No hummingbot import.
"""

from __future__ import annotations

import math
from dataclasses import replace
from decimal import Decimal

from .data import DEFAULT_MAX_STALENESS_S, Candle, CandleSeries, FundingSeries, MarketData, Settlement


class TimeMap:
    """Wall time <-> data time at `speed` data seconds per wall second, anchored at the first wall time mapped.

    The anchor is set by `anchor(wall_ts)` or, if nobody called it, by the first `to_data(wall_ts)`: on the REALTIME
    clock that is the clock's start tick, when the connectors first read the replay.
    """

    def __init__(self, data_start_ts: float, speed: float, wall_start_ts: float | None = None) -> None:
        if not (speed > 0 and math.isfinite(speed)):
            raise ValueError(f"speed ({speed}) must be a positive number of data seconds per wall second")
        self.data_start_ts, self.speed = float(data_start_ts), float(speed)
        self.wall_start_ts: float | None = None if wall_start_ts is None else float(wall_start_ts)

    @property
    def anchored(self) -> bool:
        return self.wall_start_ts is not None

    def anchor(self, wall_ts: float) -> None:
        """Pin data_start_ts to `wall_ts`; later calls are ignored (the first anchor wins)."""
        if self.wall_start_ts is None:
            self.wall_start_ts = float(wall_ts)

    def to_data(self, wall_ts: float) -> float:
        self.anchor(wall_ts)
        assert self.wall_start_ts is not None
        return self.data_start_ts + (wall_ts - self.wall_start_ts) * self.speed

    def to_wall(self, data_ts: float) -> float:
        """Raises RuntimeError before the map is anchored (no wall time corresponds to data yet)."""
        if self.wall_start_ts is None:
            raise RuntimeError("TimeMap.to_wall() before the map is anchored to a wall time")
        return self.wall_start_ts + (data_ts - self.data_start_ts) / self.speed


class WallClockCandles(CandleSeries):
    """A candle series whose time-taking methods take wall times. `candles` and `open_times` stay in data time.

    Every time-taking method delegates to the wrapped series (`inner`) with mapped times, never to its own
    inherited code: a base method calling another (path_extremes calls price_at) would otherwise map twice.
    """

    def __init__(self, inner: CandleSeries, time_map: TimeMap) -> None:
        super().__init__(inner.venue, inner.coin, inner.candles, inner.price_decimals)
        self.inner, self.time_map = inner, time_map

    @property
    def first_ts(self) -> int:
        """Wall time of the first candle's open (RuntimeError before the map is anchored)."""
        return self.time_map.to_wall(self.inner.first_ts)  # type: ignore[return-value]

    @property
    def end_ts(self) -> int:
        """Wall time of the last candle's close (RuntimeError before the map is anchored)."""
        return self.time_map.to_wall(self.inner.end_ts)  # type: ignore[return-value]

    def candle_at(self, ts: float) -> Candle | None:
        return self.inner.candle_at(self.time_map.to_data(ts))

    def price_at(self, ts: float, max_staleness_s: int = DEFAULT_MAX_STALENESS_S, path: str = "ohlc") -> Decimal | None:
        return self.inner.price_at(self.time_map.to_data(ts), max_staleness_s, path)

    def path_extremes(
        self, start_ts: float, end_ts: float, path: str = "ohlc", max_staleness_s: int = DEFAULT_MAX_STALENESS_S
    ) -> tuple[Decimal, Decimal] | None:
        return self.inner.path_extremes(
            self.time_map.to_data(start_ts), self.time_map.to_data(end_ts), path, max_staleness_s
        )


class WallClockFunding(FundingSeries):
    """A funding series whose lookups take wall times and whose settlements carry wall times (`ts`).

    `times` and `Settlement.interval_s` stay in data time (the recorded schedule). Lookups delegate to the wrapped
    series (`inner`), as in WallClockCandles.
    """

    def __init__(self, inner: FundingSeries, time_map: TimeMap) -> None:
        super().__init__(inner.venue, inner.coin, inner.times, inner.rates)
        self.inner, self.time_map = inner, time_map

    def _wall(self, settlement: Settlement | None) -> Settlement | None:
        if settlement is None:
            return None
        return replace(settlement, ts=self.time_map.to_wall(settlement.ts))  # type: ignore[arg-type]

    def settlement(self, index: int) -> Settlement:
        return replace(self.inner.settlement(index), ts=self.time_map.to_wall(self.inner.times[index]))  # type: ignore[arg-type]

    def next_settlement(self, ts: float) -> Settlement | None:
        return self._wall(self.inner.next_settlement(self.time_map.to_data(ts)))

    def last_settlement(self, ts: float) -> Settlement | None:
        return self._wall(self.inner.last_settlement(self.time_map.to_data(ts)))

    def settlements_between(self, start_ts: float, end_ts: float) -> list[Settlement]:
        found = self.inner.settlements_between(self.time_map.to_data(start_ts), self.time_map.to_data(end_ts))
        return [s for s in map(self._wall, found) if s is not None]


def wall_clock_market_data(data: MarketData, time_map: TimeMap) -> MarketData:
    """The same dataset with every funding and candle series viewed on the wall clock of `time_map`."""
    return MarketData(
        source_dir=data.source_dir,
        funding={k: WallClockFunding(s, time_map) for k, s in data.funding.items()},
        candles={k: WallClockCandles(s, time_map) for k, s in data.candles.items()},
        quotes=dict(data.quotes),
        funding_only=data.funding_only,
    )
