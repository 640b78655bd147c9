"""The same capital, caps and leverage for the computed runs (`passive_carry`, `oracle`) as the strategy's config.

Budget of one side (quote, per leg): the most notional the config lets any run hold at once,

    budget = min(max_total_exposure_quote, max_venue_exposure_quote, total_capital_quote ÷ capital_per_unit)

with `capital_per_unit` the capital one unit of hedged notional ties up: a carry (long spot, short perp) posts the
spot leg in full and the perp leg's margin, 1 + 1/leverage; a perp–perp pair posts 2/leverage. The venue cap is
binding on the whole side because a computed run may hold every coin's leg on one venue. Each coin is further
capped at `max_token_exposure_quote`. Example (sample config, 5 coins, leverage 3, spot venue present): capital
10 000, caps total 4 000 / venue 6 000 / token 3 000 -> per unit 1.333…, budget min(4 000, 6 000, 7 500) = 4 000;
passive carry holds 800 per coin; the oracle may put 3 000 on its best coin and 1 000 on the next.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

_CENT = Decimal("0.01")
_ONE = Decimal(1)
_TWO = Decimal(2)
_ZERO = Decimal(0)


@dataclass(frozen=True)
class ExposureCaps:
    """Capital and caps in quote per leg; `min_leverage`: the lowest perp leverage configured."""

    capital_quote: Decimal
    order_amount_quote: Decimal
    max_token_exposure_quote: Decimal
    max_venue_exposure_quote: Decimal
    max_total_exposure_quote: Decimal
    min_leverage: Decimal

    def __post_init__(self) -> None:
        for name in (
            "capital_quote",
            "order_amount_quote",
            "max_token_exposure_quote",
            "max_venue_exposure_quote",
            "max_total_exposure_quote",
            "min_leverage",
        ):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value > 0:
                raise ValueError(f"ExposureCaps.{name} ({value!r}) must be a positive Decimal")

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> ExposureCaps:
        """From the strategy's settings dict (the replay's sim settings).

        Raises:
            KeyError: a cap is missing; ValueError: a cap is not positive.
        """
        leverage = settings.get("leverage") or {}
        return cls(
            capital_quote=Decimal(str(settings["total_capital_quote"])),
            order_amount_quote=Decimal(str(settings["order_amount_quote"])),
            max_token_exposure_quote=Decimal(str(settings["max_token_exposure_quote"])),
            max_venue_exposure_quote=Decimal(str(settings["max_venue_exposure_quote"])),
            max_total_exposure_quote=Decimal(str(settings["max_total_exposure_quote"])),
            min_leverage=Decimal(str(min(leverage.values()))) if leverage else _ONE,
        )

    def capital_per_unit(self, with_spot: bool) -> Decimal:
        """Capital tied per unit of hedged notional: carry 1 + 1/leverage, perp–perp 2/leverage."""
        return _ONE + _ONE / self.min_leverage if with_spot else _TWO / self.min_leverage

    def side_budget_quote(self, with_spot: bool) -> Decimal:
        """Most notional per side held at once (see the module docstring), rounded down to a cent."""
        by_capital = self.capital_quote / self.capital_per_unit(with_spot)
        budget = min(self.max_total_exposure_quote, self.max_venue_exposure_quote, by_capital)
        return budget.quantize(_CENT, rounding=ROUND_DOWN)


def passive_notional_quote(caps: ExposureCaps, n_coins: int) -> Decimal:
    """Notional per coin of a passive carry holding every coin equally: min(token cap, budget ÷ coins).

    Raises:
        ValueError: no coin.
    """
    if n_coins <= 0:
        raise ValueError(f"passive carry needs at least one coin (got {n_coins})")
    share = caps.side_budget_quote(with_spot=True) / n_coins
    return min(caps.max_token_exposure_quote, share).quantize(_CENT, rounding=ROUND_DOWN)


def allocate_with_foresight(
    value_per_unit: Mapping[str, Decimal], caps: ExposureCaps, with_spot: bool
) -> dict[str, Decimal]:
    """Notional per coin for a plan whose value is linear in notional: the budget goes to the coins with the best
    value per unit first, each up to the token cap; coins whose plan does not pay (value <= 0) get 0.

    Example: values {BTC: 0.01, ETH: 0.03, SOL: -0.001}, budget 4 000, token cap 3 000 -> ETH 3 000, BTC 1 000,
    SOL 0.
    """
    remaining = caps.side_budget_quote(with_spot)
    out = {coin: _ZERO for coin in value_per_unit}
    for coin in sorted(value_per_unit, key=lambda c: (-value_per_unit[c], c)):
        if value_per_unit[coin] <= 0 or remaining <= 0:
            continue
        out[coin] = min(caps.max_token_exposure_quote, remaining)
        remaining -= out[coin]
    return out
