"""Funding forecast per market: an Ornstein-Uhlenbeck (continuous AR(1)) model of the per-hour rate (pure core).

The per-hour funding rate x(t) (a settlement's rate / its interval in hours, each venue's real interval) reverts
to a long-run mean mu at speed theta (per hour) with diffusion sigma (per sqrt hour):

    E[x(t)]                 = mu + (x0 - mu) * exp(-theta t)
    E[integral_0^H x dt]    = mu H + (x0 - mu) (1 - exp(-theta H)) / theta
    Var[integral | x0]      = sigma^2 / theta^2 * (H - 2 (1 - e^{-theta H}) / theta + (1 - e^{-2 theta H}) / (2 theta))
                              + (mean_sd * (H - (1 - e^{-theta H}) / theta))^2     (uncertainty of mu itself)

x0 is the rate of the coming settlement (the venue's published predicted rate, i.e. the connector's current
FundingInfo rate). Two calibrated parameter sets ship as constants: LEVEL (one perp market's rate, used for
spot-perp carry) and SPREAD (short minus long rate across venues, used for perp-perp). `calibrate` produced
them (see `bench/forecast_calibration.py` and docs/forecast.md); per market the long-run mean is shrunk from the
calibrated one towards what that market has settled at since the strategy started (`FundingForecaster`).

Money and rates are Decimal; `calibrate` is statistics over history and works in floats.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

_ZERO = Decimal(0)
_ONE = Decimal(1)
_TWO = Decimal(2)
_TINY_THETA_H = Decimal("1e-6")


@dataclass(frozen=True, slots=True)
class OUParams:
    """Mean-reverting model of a per-hour funding rate (fractions per hour)."""

    mean_per_hour: Decimal  # long-run mean mu
    reversion_per_hour: Decimal  # theta > 0; half-life ln2 / theta hours
    vol_per_sqrt_hour: Decimal  # sigma
    mean_sd_per_hour: Decimal  # standard error of mu (spread of long-run means across markets)

    def __post_init__(self) -> None:
        if not self.reversion_per_hour > 0:
            raise ValueError(f"reversion_per_hour ({self.reversion_per_hour}) must be positive")
        if self.vol_per_sqrt_hour < 0 or self.mean_sd_per_hour < 0:
            raise ValueError(
                f"vol_per_sqrt_hour ({self.vol_per_sqrt_hour}) and mean_sd_per_hour "
                f"({self.mean_sd_per_hour}) must not be negative"
            )

    @property
    def half_life_hours(self) -> Decimal:
        return Decimal(2).ln() / self.reversion_per_hour


# Calibrated by `calibrate` on funding_2020_2023 (binance, bybit, gate, htx, kucoin, mexc BTC/ETH, 2020-2023) and
# cross_venue_2025 up to 2025-06-01 (binance, bybit); reproduce with `python bench/forecast_calibration.py`.
# CALIBRATION_CUT_TS is that cut (2025-06-01T00:00:00Z, UTC seconds): no settlement at or after it was seen, so a
# backtest window judged out of sample must start at or after it (`funding-arb sweep` refuses test windows before).
CALIBRATION_CUT_TS = 1748736000
LEVEL_DEFAULTS = OUParams(Decimal("0.0000116"), Decimal("0.1"), Decimal("0.0000145"), Decimal("0.00000772"))
SPREAD_DEFAULTS = OUParams(Decimal(0), Decimal("0.132"), Decimal("0.0000164"), Decimal("0.00000325"))
# "The last rate persists": no reversion, no uncertainty (the holding period is then the whole cap).
PERSISTENT = OUParams(Decimal(0), Decimal("1e-12"), Decimal(0), Decimal(0))


def forecaster_for(model: str) -> FundingForecaster:
    """The forecaster a `funding_forecast` setting names."""
    if model == "persistent":
        return FundingForecaster(PERSISTENT, PERSISTENT, shrink=False)
    if model == "mean_reverting":
        return FundingForecaster()
    raise ValueError(f"funding_forecast ({model!r}) must be mean_reverting or persistent")


@dataclass(frozen=True, slots=True)
class Forecast:
    """Expected funding per hour over `horizon_hours` from a start rate, and the std error of that mean."""

    start_rate_per_hour: Decimal
    horizon_hours: Decimal
    mean_rate_per_hour: Decimal
    sd_mean_rate_per_hour: Decimal

    @property
    def expected_fraction(self) -> Decimal:
        """Expected funding over the horizon as a fraction of notional."""
        return self.mean_rate_per_hour * self.horizon_hours

    @property
    def sd_fraction(self) -> Decimal:
        return self.sd_mean_rate_per_hour * self.horizon_hours


def forecast(params: OUParams, start_rate_per_hour: Decimal, horizon_hours: Decimal) -> Forecast:
    """Expected mean rate per hour over [0, H] from `start_rate_per_hour`, with its std error."""
    if horizon_hours <= 0:
        return Forecast(start_rate_per_hour, _ZERO, start_rate_per_hour, _ZERO)
    mu, theta, sigma = params.mean_per_hour, params.reversion_per_hour, params.vol_per_sqrt_hour
    h = horizon_hours
    th = theta * h
    if th < _TINY_THETA_H:  # no reversion within the horizon: the rate persists, a random walk around it
        integral = start_rate_per_hour * h
        var = sigma * sigma * h * h * h / 3
        decayed = h * h * theta / 2
    else:
        e1 = (-th).exp()
        decayed = h - (_ONE - e1) / theta  # weight of mu in the integral
        integral = mu * decayed + start_rate_per_hour * (_ONE - e1) / theta
        e2 = (-2 * th).exp()
        var = sigma * sigma / (theta * theta) * (h - 2 * (_ONE - e1) / theta + (_ONE - e2) / (2 * theta))
    var += (params.mean_sd_per_hour * decayed) ** 2
    sd = var.sqrt() if var > 0 else _ZERO
    return Forecast(start_rate_per_hour, h, integral / h, sd / h)


def expected_holding_hours(params: OUParams, start_rate_per_hour: Decimal, cap_hours: Decimal) -> Decimal:
    """Hours until the expected rate reaches 0 (after that a held position pays), capped at `cap_hours`.

    A position is worth holding while its expected instantaneous carry is positive: with mu >= 0 and a
    positive start that is the whole cap; with mu < 0 it is ln((x0 - mu) / -mu) / theta; 0 if x0 <= 0.
    """
    x0, mu = start_rate_per_hour, params.mean_per_hour
    if x0 <= 0:
        return _ZERO
    if mu >= 0:
        return cap_hours
    hours = ((x0 - mu) / -mu).ln() / params.reversion_per_hour
    return min(hours, cap_hours)


# --- per-market state ---------------------------------------------------------------------------------


class FundingForecaster:
    """Settled per-hour rates per market (one per settlement) and the market's shrunk long-run mean.

    `observe` is called every tick with the market's coming settlement time and its current per-hour rate;
    when the settlement time advances, the last rate seen for the previous one is recorded as settled.
    The market's mean is (prior_weight * mu0 + n * observed mean) / (prior_weight + n), n settlements.
    """

    def __init__(
        self,
        level: OUParams = LEVEL_DEFAULTS,
        spread: OUParams = SPREAD_DEFAULTS,
        prior_weight: int = 42,
        max_history: int = 500,
        shrink: bool = True,
    ) -> None:
        if prior_weight < 1 or max_history < 1:
            raise ValueError(f"prior_weight ({prior_weight}) and max_history ({max_history}) must be at least 1")
        self.level, self.spread = level, spread
        self._k = Decimal(prior_weight)
        self._shrink = shrink
        self._max = max_history
        self._pending: dict[tuple[str, str], tuple[int, Decimal]] = {}
        self._settled: dict[tuple[str, str], deque[Decimal]] = {}
        self._version: dict[tuple[str, str], int] = {}  # settlements recorded per market: memo keys
        self.revision = 0  # settlements recorded over every market: grows whenever any market's parameters may change
        self._params: dict[tuple[object, ...], tuple[tuple[int, int], OUParams]] = {}
        self._cache: dict[tuple[object, ...], tuple[Forecast, Decimal]] = {}
        self._forward: dict[tuple[object, ...], Forecast] = {}

    def observe(self, key: tuple[str, str], next_funding_ts: int, rate_per_hour: Decimal) -> None:
        pending = self._pending.get(key)
        if pending is not None and next_funding_ts > pending[0]:
            hist = self._settled.get(key)
            if hist is None:
                hist = self._settled[key] = deque(maxlen=self._max)
            hist.append(pending[1])
            self._version[key] = self._version.get(key, 0) + 1
            self.revision += 1
        self._pending[key] = (next_funding_ts, rate_per_hour)

    def recorded(self, key: tuple[str, str]) -> int:
        """How many settlements of this market were recorded so far (changes exactly when its parameters may)."""
        return self._version.get(key, 0)

    def settled(self, key: tuple[str, str]) -> tuple[Decimal, ...]:
        return tuple(self._settled.get(key, ()))

    def market_params(self, key: tuple[str, str]) -> OUParams:
        """LEVEL parameters with the long-run mean shrunk towards this market's settled mean (memoised until the
        market's next settlement is recorded)."""
        if not self._shrink:
            return self.level
        version = (self._version.get(key, 0), 0)
        hit = self._params.get(key)
        if hit is not None and hit[0] == version:
            return hit[1]
        params = _shrunk(self.level, self._settled.get(key, ()), self._k)
        self._params[key] = (version, params)
        return params

    def spread_params(self, long_key: tuple[str, str] | None, short_key: tuple[str, str]) -> OUParams:
        """Parameters of (short - long) per-hour rate; a spot long (None) pays nothing: the short's level.
        Memoised until either market's next settlement is recorded."""
        if long_key is None:
            return self.market_params(short_key)
        if not self._shrink:
            return self.spread
        memo_key = (long_key, short_key)
        version = (self._version.get(long_key, 0), self._version.get(short_key, 0))
        hit = self._params.get(memo_key)
        if hit is not None and hit[0] == version:
            return hit[1]
        a, b = self._settled.get(short_key, ()), self._settled.get(long_key, ())
        n = min(len(a), len(b))
        diffs = [x - y for x, y in zip(list(a)[len(a) - n :], list(b)[len(b) - n :], strict=True)]
        params = _shrunk(self.spread, diffs, self._k)
        self._params[memo_key] = (version, params)
        return params

    def outlook(
        self,
        long_key: tuple[str, str] | None,
        short_key: tuple[str, str],
        start_rate_per_hour: Decimal,
        cap_hours: Decimal,
    ) -> tuple[Forecast, Decimal]:
        """(forecast over the expected holding period, that period in hours) for a pair's funding spread."""
        params = self.spread_params(long_key, short_key)
        cache_key = (params, start_rate_per_hour, cap_hours)
        hit = self._cache.get(cache_key)
        if hit is None:
            hours = expected_holding_hours(params, start_rate_per_hour, cap_hours)
            hit = (forecast(params, start_rate_per_hour, hours), hours)
            if len(self._cache) > 4096:
                self._cache.clear()
            self._cache[cache_key] = hit
        return hit

    def forward(
        self,
        long_key: tuple[str, str] | None,
        short_key: tuple[str, str],
        start_rate_per_hour: Decimal,
        horizon_hours: Decimal,
    ) -> Forecast:
        """Forecast of a held pair's funding spread over a fixed forward horizon (for the hold rule); memoised on
        its inputs (parameters, start rate, horizon), which change only when a rate or a settlement does."""
        params = self.spread_params(long_key, short_key)
        cache_key = (params, start_rate_per_hour, horizon_hours)
        hit = self._forward.get(cache_key)
        if hit is None:
            hit = forecast(params, start_rate_per_hour, horizon_hours)
            if len(self._forward) > 4096:
                self._forward.clear()
            self._forward[cache_key] = hit
        return hit


def _shrunk(base: OUParams, observed: Iterable[Decimal], k: Decimal) -> OUParams:
    values = list(observed)
    if not values:
        return base
    n = Decimal(len(values))
    mean = sum(values, _ZERO) / n
    mu = (k * base.mean_per_hour + n * mean) / (k + n)
    sd = base.mean_sd_per_hour * (k / (k + n)).sqrt()
    return OUParams(mu, base.reversion_per_hour, base.vol_per_sqrt_hour, sd)


# --- calibration (floats: statistics over recorded history) ------------------------------------------------


def calibrate(series: Iterable[Sequence[tuple[float, float]]], min_points: int = 30) -> OUParams:
    """Fit OU parameters to settled per-hour rate series [(ts_s, rate_per_hour), ...], one per market.

    Per series: AR(1) by least squares on consecutive settlements (x_{t+1} = a + phi x_t + e) with the
    series' median interval dt; theta = -ln(phi) / dt, sigma^2 = var(e) * 2 theta / (1 - phi^2); mu = the
    series' mean. The result pools series by their number of points (theta, sigma) and takes the mean of the
    series' means for mu, with their standard deviation as `mean_sd_per_hour`.

    Raises:
        ValueError: no series has `min_points` settlements or every series is degenerate.
    """
    fits: list[tuple[int, float, float, float]] = []  # (n, mean, theta, sigma)
    for s in series:
        pts = sorted(s)
        if len(pts) < min_points:
            continue
        fit = _fit_one(pts)
        if fit is not None:
            fits.append(fit)
    if not fits:
        raise ValueError(f"calibrate: no series with at least {min_points} settlements and a mean-reverting fit")
    w = sum(f[0] for f in fits)
    theta = sum(f[0] * f[2] for f in fits) / w
    sigma = math.sqrt(sum(f[0] * f[3] ** 2 for f in fits) / w)
    means = [f[1] for f in fits]
    mu = sum(means) / len(means)
    mean_sd = math.sqrt(sum((m - mu) ** 2 for m in means) / max(len(means) - 1, 1))
    return OUParams(_dec(mu), _dec(theta), _dec(sigma), _dec(mean_sd))


def _fit_one(pts: Sequence[tuple[float, float]]) -> tuple[int, float, float, float] | None:
    gaps = sorted(b[0] - a[0] for a, b in itertools.pairwise(pts))
    dt_h = gaps[len(gaps) // 2] / 3600
    xs = [p[1] for p in pts[:-1]]
    ys = [p[1] for p in pts[1:]]
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx <= 0 or dt_h <= 0:
        return None
    phi = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    if not 0 < phi < 1:
        return None
    a = my - phi * mx
    resid = [y - a - phi * x for x, y in zip(xs, ys, strict=True)]
    var_e = sum(r * r for r in resid) / max(n - 2, 1)
    theta = -math.log(phi) / dt_h
    sigma = math.sqrt(var_e * 2 * theta / (1 - phi * phi))
    mean = sum(p[1] for p in pts) / len(pts)
    return len(pts), mean, theta, sigma


def _dec(x: float) -> Decimal:
    return Decimal(f"{x:.3g}")
