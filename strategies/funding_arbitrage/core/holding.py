"""Hold, exit and switch on expected value (pure core).

Entry costs are sunk once a pair is held. Over the next `exit_forward_hours` the pair is expected to earn
F = forecast mean spread * hours * notional (std error S). The rule:

* hold while F exceeds the cost of exiting now (closing later costs about the same, so there is nothing to gain);
* exit only when the forecast is *confidently* negative: F + z * S < 0 (so F < 0 <= exit cost), and that
  has held for `exit_confirmations` ticks in a row (a short dip of the rate never closes a pair: the
  forecast's mean reversion already discounts it);
* switch to another pair of the same token only when its expected value over its holding period, after its
  entry and exit costs, beats the held pair's forward value by more than the held pair's exit cost plus
  z standard errors of both (`switch_gain`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from .forecast import Forecast

_ZERO = Decimal(0)
_HOURS_PER_YEAR = Decimal(8760)
_HUNDRED = Decimal(100)


class ForwardValue(NamedTuple):
    """Expected funding of a held pair over the forward horizon, in quote, with its std error."""

    carry_quote: Decimal
    sd_quote: Decimal
    upper_apr_pct: Decimal  # (mean rate + z * std error) as APR %, what the hysteresis counter watches

    @classmethod
    def of(cls, fc: Forecast, notional_quote: Decimal, z: Decimal) -> ForwardValue:
        upper = (fc.mean_rate_per_hour + z * fc.sd_mean_rate_per_hour) * _HOURS_PER_YEAR * _HUNDRED
        return cls(fc.expected_fraction * notional_quote, fc.sd_fraction * notional_quote, upper)


def confidently_negative(value: ForwardValue, exit_cost_quote: Decimal | None, z: Decimal) -> bool:
    """True when the forward carry is negative by more than z std errors AND below the exit cost.

    An unknown exit cost does not block an exit of a confidently losing pair (the cost is then at least 0).
    """
    if value.carry_quote + z * value.sd_quote >= _ZERO:
        return False
    return exit_cost_quote is None or value.carry_quote < exit_cost_quote


def should_exit(
    value: ForwardValue, exit_cost_quote: Decimal | None, z: Decimal, negative_ticks: int, confirmations: int
) -> bool:
    """The hold rule: exit on a confidently negative forecast that lasted `confirmations` ticks."""
    return negative_ticks >= confirmations and confidently_negative(value, exit_cost_quote, z)


def switch_gain(
    held: ForwardValue, held_exit_cost_quote: Decimal, new_net_value_quote: Decimal, new_sd_quote: Decimal, z: Decimal
) -> Decimal:
    """Expected gain of closing the held pair for a new one (> 0: the switch pays for itself with margin).

    `new_net_value_quote` is the new pair's expected value after its own entry and exit costs.
    """
    margin = z * (held.sd_quote * held.sd_quote + new_sd_quote * new_sd_quote).sqrt()
    return new_net_value_quote - held.carry_quote - held_exit_cost_quote - margin
