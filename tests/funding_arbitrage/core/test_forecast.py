"""The funding forecast: calibration recovers known parameters; the forecast's formulas behave."""

from __future__ import annotations

import math
import random
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from strategies.funding_arbitrage.core.forecast import (
    LEVEL_DEFAULTS,
    FundingForecaster,
    OUParams,
    calibrate,
    expected_holding_hours,
    forecast,
)


def _ou_series(mu: float, theta: float, sigma: float, dt_h: float, n: int, seed: int) -> list[tuple[float, float]]:
    """Exact discretisation of an OU process sampled every dt_h hours."""
    rng = random.Random(seed)
    phi = math.exp(-theta * dt_h)
    sd = sigma * math.sqrt((1 - phi * phi) / (2 * theta))
    x, out = mu, []
    for i in range(n):
        x = mu + (x - mu) * phi + rng.gauss(0, sd)
        out.append((i * dt_h * 3600, x))
    return out


def test_calibration_recovers_the_parameters_of_synthetic_mean_reverting_series() -> None:
    mu, theta, sigma = 1.2e-5, 0.05, 1.5e-5
    series = [_ou_series(mu, theta, sigma, 8.0, 3000, seed) for seed in range(6)]

    p = calibrate(series)

    assert abs(float(p.reversion_per_hour) - theta) / theta < 0.15
    assert abs(float(p.vol_per_sqrt_hour) - sigma) / sigma < 0.1
    stationary_sd = sigma / math.sqrt(2 * theta)
    assert abs(float(p.mean_per_hour) - mu) < 0.2 * stationary_sd


def test_calibration_on_hourly_and_four_hourly_series_gives_the_same_speed() -> None:
    """The per-hour reversion speed does not depend on the venue's settlement interval."""
    mu, theta, sigma = 0.0, 0.1, 1e-5
    hourly = calibrate([_ou_series(mu, theta, sigma, 1.0, 20000, 1)])
    four_hourly = calibrate([_ou_series(mu, theta, sigma, 4.0, 5000, 2)])

    assert abs(float(hourly.reversion_per_hour) - theta) / theta < 0.15
    assert abs(float(four_hourly.reversion_per_hour) - theta) / theta < 0.15


def test_calibration_refuses_too_short_or_non_reverting_history() -> None:
    walk = [(i * 3600.0, float(i)) for i in range(100)]  # a trend: phi >= 1, no reversion
    for bad in ([], [walk[:5]], [walk]):
        try:
            calibrate(bad)
        except ValueError as e:
            assert "no series" in str(e)
        else:
            raise AssertionError(f"calibrate accepted {bad!r:.40}")


P = OUParams(D("0.00001"), D("0.1"), D("0.00001"), D("0.000002"))


def test_forecast_starts_at_the_current_rate_and_reverts_to_the_mean() -> None:
    short = forecast(P, D("0.0001"), D("0.01"))
    long = forecast(P, D("0.0001"), D(10000))

    assert abs(short.mean_rate_per_hour - D("0.0001")) < D("0.0000001")
    assert abs(long.mean_rate_per_hour - P.mean_per_hour) < D("0.000001")
    assert forecast(P, P.mean_per_hour, D(100)).mean_rate_per_hour == P.mean_per_hour


@settings(max_examples=60, deadline=None)
@given(
    x0=st.decimals(D("-0.001"), D("0.001"), places=7),
    h1=st.decimals(D(1), D(500), places=1),
    extra=st.decimals(D(1), D(500), places=1),
)
def test_forecast_mean_lies_between_start_and_mean_and_uncertainty_of_the_total_grows(x0: D, h1: D, extra: D) -> None:
    a, b = forecast(P, x0, h1), forecast(P, x0, h1 + extra)
    lo, hi = min(x0, P.mean_per_hour), max(x0, P.mean_per_hour)

    assert lo - D("1e-12") <= a.mean_rate_per_hour <= hi + D("1e-12")
    assert b.sd_fraction >= a.sd_fraction > 0


def test_expected_holding_period_is_the_cap_for_a_positive_mean_and_finite_for_a_negative_one() -> None:
    cap = D(720)
    assert expected_holding_hours(P, D("0.00005"), cap) == cap
    assert expected_holding_hours(P, D("-0.00005"), cap) == 0
    negative_mean = OUParams(D("-0.00001"), D("0.1"), D("0.00001"), D(0))
    hours = expected_holding_hours(negative_mean, D("0.00003"), cap)
    # the expected rate mu + (x0 - mu) e^{-theta t} reaches 0 at t = ln(4) / 0.1
    assert abs(hours - D(4).ln() / D("0.1")) < D("1e-9")


def test_the_market_mean_moves_from_the_calibrated_one_towards_what_the_market_settled() -> None:
    fc = FundingForecaster(prior_weight=10)
    key = ("binance_perpetual", "BTC-USDT")
    for i in range(30):  # 30 settlements at 0.00005 per hour
        fc.observe(key, 1000 + i, D("0.00005"))
    fc.observe(key, 2000, D("0.00005"))

    mu = fc.market_params(key).mean_per_hour
    assert len(fc.settled(key)) == 30
    assert mu == (10 * LEVEL_DEFAULTS.mean_per_hour + 30 * D("0.00005")) / 40
    assert fc.market_params(("bybit_perpetual", "BTC-USDT")) == LEVEL_DEFAULTS
