"""The sim perp's liquidation check, fast path: is a position out of reach of liquidation over a tick?

The full check (`SimPerpetualDerivative._check_liquidations`) computes the extremes of the price path since the last
tick and asks `MaintenanceBrackets.is_liquidatable` at the worst one. Margin + uPnL - maintenance is strictly
monotone in the mark where the bracket table is continuous (`monotone`): a long is liquidatable only at or below its
liquidation price, a short at or above it. So when every price the candles can give over the tick
(`CandleSeries.price_bounds`) stays above (long) or below (short) the liquidation price by a relative 1e-9, far
beyond Decimal rounding (1e-28), the full check would find nothing and is skipped. A long margined at its full
notional (1x) is never liquidatable at a positive price. Nothing here changes what is liquidated.
"""

from __future__ import annotations

import itertools
from decimal import Decimal

from .brackets import MaintenanceBrackets
from .data import CandleSeries
from .positions import SimPosition

Limits = tuple[Decimal | None, Decimal | None]  # (every price must exceed, every price must stay under); None: no bound
REACH_MARGIN = Decimal("1e-9")  # relative gap kept between a liquidation price and every price bound to skip a check


def monotone(brackets: MaintenanceBrackets) -> bool:
    """Whether maintenance margin is continuous in notional, from 0, with every rate in [0, 1) (Binance's `cum`
    makes its tiers meet: checked, not assumed). Then margin + amount x (P - entry) - maintenance(|amount| x P) has
    slope amount x (1 - rate) > 0 for a long and -|amount| x (1 + rate) < 0 for a short: strictly monotone in P."""
    tiers = brackets.brackets
    if not tiers or tiers[0].min_notional != 0 or tiers[0].cum < 0:
        return False
    if any(not 0 <= b.maint_margin_rate < 1 for b in tiers):
        return False
    return all(
        low.max_notional == high.min_notional
        and high.min_notional * low.maint_margin_rate - low.cum == high.min_notional * high.maint_margin_rate - high.cum
        for low, high in itertools.pairwise(tiers)
    )


def liquidation_limits(pos: SimPosition, brackets: MaintenanceBrackets) -> Limits:
    """(price every path price must exceed, price every path price must stay under) for `pos` to be out of reach of
    liquidation; (None, None): never assume it (table not monotone, no liquidation price found)."""
    if pos.amount == 0 or not monotone(brackets):
        return None, None
    price = brackets.liquidation_price(pos.amount, pos.entry_price, pos.margin)
    if pos.amount > 0:
        if price is not None:
            return price * (1 + REACH_MARGIN), None
        # no positive liquidation price: margin + uPnL - maintenance > 0 at every P > 0 when the margin covers the
        # whole entry notional (it is >= amount x P x (1 - rate) > 0); kept above entry x 1e-9 so that rounding
        # cannot matter either; otherwise assume nothing
        if pos.margin >= pos.amount * pos.entry_price:
            return pos.entry_price * REACH_MARGIN, None
        return None, None
    return (None, price * (1 - REACH_MARGIN)) if price is not None else (None, None)


class LiquidationReach:
    """`out_of_reach` with each position's limits kept while the position and its table are unchanged."""

    def __init__(self) -> None:
        # id(position) -> (position, amount, entry, margin, table, its limits): valid while those are the same objects
        self._known: dict[int, tuple[SimPosition, Decimal, Decimal, Decimal, MaintenanceBrackets, Limits]] = {}

    def out_of_reach(
        self,
        pos: SimPosition,
        brackets: MaintenanceBrackets,
        candles: CandleSeries,
        prev_ts: float,
        ts: float,
        max_staleness_s: int,
    ) -> bool:
        """True when no price of `candles` over [prev_ts, ts] can liquidate `pos` under `brackets`."""
        if type(prev_ts) not in (int, float) or type(ts) not in (int, float):
            return False
        known = self._known.get(id(pos))
        if (
            known is not None
            and known[0] is pos
            and known[1] is pos.amount
            and known[2] is pos.entry_price
            and known[3] is pos.margin
            and known[4] is brackets
        ):
            lowest_safe, highest_safe = known[5]
        else:  # a new position, or changed (its Decimal fields are replaced, never mutated)
            lowest_safe, highest_safe = limits = liquidation_limits(pos, brackets)
            if len(self._known) >= 256:
                self._known.clear()
            self._known[id(pos)] = (pos, pos.amount, pos.entry_price, pos.margin, brackets, limits)
        if lowest_safe is None and highest_safe is None:
            return False
        bounds = candles.price_bounds(prev_ts, ts, max_staleness_s)
        if bounds is None:
            return False
        if lowest_safe is not None:
            return bounds[0] > lowest_safe
        return highest_safe is not None and bounds[1] < highest_safe
