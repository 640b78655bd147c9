"""Leverage per perp leg from recent volatility, and the guard that keeps held legs away from liquidation (pure).

With `leverage_mode: volatility`, each perp market's leverage is the highest whole number whose distance to
liquidation is at least `liquidation_distance_vol_multiple` x sigma(horizon):

    sigma(horizon) % = realised hourly vol % (`sizing.VolatilityTracker`, over `leverage_vol_lookback_hours`)
                       x sqrt(leverage_vol_horizon_hours)

Distance to liquidation of a position opened at mark with margin = notional / L (isolated margin, Binance's
formula with the venue's maintenance brackets from `margin`, plus the taker fee to close it), as a fraction d of
mark, for a short (price rises) and a long (price falls); m = MMR + close fee, c = cum / entry notional:

    short:  1/L − d − f(1 + d) = (1 + d) × MMR − c   =>   d = (1/L − m + c) / (1 + m)
    long:   1/L − d − f(1 − d) = (1 − d) × MMR − c   =>   d = (1/L − m + c) / (1 − m)

using the bracket that holds the notional at the liquidation price. d falls as L rises, so the choice is the
largest L in [1, cap] meeting the distance; cap = min(configured `leverage` (the maximum), venue maximum, the
bracket's maximum). Unknown volatility (too little history) gives 1x with status "unknown_volatility" (sigma
None, never 0). When even 1x is nearer than required the choice is 1x with status "floored".

The guard (`guard_leg`) re-checks a held leg every tick against a threshold above the risk gate's own cut
(`min_liquidation_distance_pct`): below it, lower the leverage (more margin, no trade, so the leg is `target` away:
threshold x (1 + hysteresis), so one action does not flap) or, when no lower leverage can (at 1x, or the venue
refused), close the pair. A partial cut does not help: the venue releases an isolated position's margin pro rata,
so the rest liquidates at the same price (`margin.max_amount_for_distance`; only a lower maintenance bracket helps,
and then the cut is sized by it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from .config import FundingArbSettings
from .margin import (
    BracketTable,
    MarginBrackets,
    estimate_liquidation_price,
    liquidation_distance_pct,
    reduce_fraction_for_distance,
)

LEVERAGE_FIXED = "fixed"
LEVERAGE_VOLATILITY = "volatility"
STATUS_FIXED = "fixed"
STATUS_VOLATILITY = "volatility"  # the distance rule decided, below the cap
STATUS_CAPPED = "capped"  # the cap decided (the rule would allow more)
STATUS_FLOORED = "floored"  # even 1x is nearer than required: 1x, reported
STATUS_UNKNOWN = "unknown_volatility"  # too little price history: 1x, sigma unknown
ACTION_LOWER = "lower_leverage"
ACTION_REDUCE = "reduce"
_ZERO = Decimal(0)
_ONE = Decimal(1)
_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class LeverageChoice:
    """Leverage for one perp market and why. Distances in % of mark; sigma in % over the horizon (None unknown)."""

    leverage: int
    cap: int
    status: str
    sigma_horizon_pct: Decimal | None
    required_distance_pct: Decimal | None
    distance_pct: Decimal  # distance to liquidation of a fresh position at the chosen leverage
    note: str = ""


def sigma_horizon_pct(hourly_vol_pct: Decimal | None, horizon_hours: Decimal) -> Decimal | None:
    """sigma over `horizon_hours` (%), from the hourly vol (%) by the square-root-of-time rule; None if unknown."""
    if hourly_vol_pct is None:
        return None
    return hourly_vol_pct * horizon_hours.sqrt()


def distance_at_leverage_pct(
    leverage: Decimal, notional_quote: Decimal, table: BracketTable, close_fee: Decimal, *, is_long: bool
) -> Decimal:
    """Distance (% of mark) to liquidation of a position of `notional_quote` opened at mark with margin notional/L,
    the close fee (fraction) counted; see the module docstring. Negative when it would be liquidated at once.

    Example (BTCUSDT tier 1, MMR 0.004, fee 0.0005), short at 5x: d = (0.2 − 0.0045) / 1.0045 = 19.46 %.

    Raises:
        ValueError: leverage below 1 or notional not positive.
    """
    if leverage < 1 or notional_quote <= 0:
        raise ValueError(f"leverage ({leverage}) must be >= 1 and notional_quote ({notional_quote}) positive")
    inv = _ONE / leverage
    for b in table.tiers:
        m = b.maint_margin_rate + close_fee
        c = b.cum_quote / notional_quote
        d = (inv - m + c) / ((_ONE - m) if is_long else (_ONE + m))
        at_liq = notional_quote * ((_ONE - d) if is_long else (_ONE + d))
        if b.contains(at_liq) or b is table.tiers[-1] or (is_long and at_liq <= 0):
            return d * _HUNDRED
    raise AssertionError("unreachable: the last tier always answers")  # pragma: no cover


def leverage_cap(configured_max: int, venue_max: int | None, table: BracketTable, notional_quote: Decimal) -> int:
    """The highest leverage allowed: the configured maximum, the venue's, and the bracket's at this notional."""
    caps = [configured_max, int(table.bracket_for(notional_quote).max_leverage)]
    if venue_max is not None:
        caps.append(venue_max)
    return max(1, min(caps))


def choose_leverage(
    hourly_vol_pct: Decimal | None,
    *,
    multiple: Decimal,
    horizon_hours: Decimal,
    cap: int,
    notional_quote: Decimal,
    table: BracketTable,
    close_fee: Decimal,
    is_long: bool = False,
) -> LeverageChoice:
    """The largest leverage in [1, cap] whose distance to liquidation is >= multiple x sigma(horizon); see module.

    `is_long` False judges a short leg (the nearer side for the same leverage: use it when the side is not known).
    """
    cap = max(1, cap)

    def dist(lev: int) -> Decimal:
        return distance_at_leverage_pct(Decimal(lev), notional_quote, table, close_fee, is_long=is_long)

    sigma = sigma_horizon_pct(hourly_vol_pct, horizon_hours)
    if sigma is None:
        return LeverageChoice(1, cap, STATUS_UNKNOWN, None, None, dist(1), "too little price history: 1x")
    required = multiple * sigma
    if dist(1) < required:
        return LeverageChoice(
            1, cap, STATUS_FLOORED, sigma, required, dist(1), f"even 1x is nearer than {required:.2f}%: 1x"
        )
    estimate = _closed_form(required, notional_quote, table, close_fee, is_long)
    lev = max(1, min(cap, estimate))
    while lev < cap and dist(lev + 1) >= required:  # the closed form used one tier: settle on the exact rule
        lev += 1
    while lev > 1 and dist(lev) < required:
        lev -= 1
    status = STATUS_CAPPED if lev == cap and dist(cap + 1) >= required else STATUS_VOLATILITY
    return LeverageChoice(lev, cap, status, sigma, required, dist(lev))


def _closed_form(
    required_pct: Decimal, notional_quote: Decimal, table: BracketTable, close_fee: Decimal, is_long: bool
) -> int:
    """1/L = d(1 ± m) + m − c in the tier of the notional at the required distance, floored to a whole number."""
    d = required_pct / _HUNDRED
    at_liq = notional_quote * ((_ONE - d) if is_long else (_ONE + d))
    b = table.bracket_for(max(at_liq, _ZERO))
    m = b.maint_margin_rate + close_fee
    inv = d * ((_ONE - m) if is_long else (_ONE + m)) + m - b.cum_quote / notional_quote
    if inv <= 0:
        return 10**6
    return int((_ONE / inv).to_integral_value(rounding=ROUND_FLOOR))


def fresh_short_too_near(
    leverage: int, notional_quote: Decimal, bound_pct: Decimal, tables: Iterable[tuple[str, BracketTable | None]]
) -> tuple[str, Decimal] | None:
    """The (token, distance %) whose new short of `notional_quote`, opened at the mark with isolated margin
    notional / `leverage` (no fee), would start nearest its liquidation, if nearer than `bound_pct` % of the mark;
    None when no token would (tokens without a table are skipped: their distance is unknown). A short is the nearer
    side.

    Example: BTCUSDT tier 1 (MMR 0.004), 20x: (1 + d) x 0.004 = 0.05 - d -> d = 4.58 %; within a bound of 4.56 %? no.
    """
    nearest: tuple[str, Decimal] | None = None
    for token, table in tables:
        if table is None:
            continue
        liq = estimate_liquidation_price(-notional_quote, _ONE, notional_quote / leverage, table)  # price 1: base=quote
        assert liq is not None
        distance = liquidation_distance_pct(_ONE, liq, is_long=False)
        if distance < bound_pct and (nearest is None or distance < nearest[1]):
            nearest = token, distance
    return nearest


def fixed_leverage_problems(settings: FundingArbSettings, brackets: MarginBrackets, cut_margin: Decimal) -> list[str]:
    """`leverage_mode: fixed`: one problem per perp venue whose configured `leverage` would open a short of
    `order_amount_quote` within `cut_margin` x `min_liquidation_distance_pct` of its liquidation on some token (the
    risk gate denies entries there at run time, `RiskGate.fresh_leg_reason`: such a leg would be closed whole at once
    or on the first small move, then opened again). Empty in volatility mode (the leverage is chosen per market)."""
    if settings.leverage_mode != LEVERAGE_FIXED:
        return []
    min_pct = settings.min_liquidation_distance_pct
    bound = min_pct * cut_margin
    out = []
    for venue in settings.perp_connectors:
        leverage, quote = settings.leverage.get(venue), settings.quote_assets.get(venue)
        if leverage is None or not quote:
            continue  # reported by the field checks
        tables = ((token, brackets.resolve(venue, token, quote)) for token in settings.tokens)
        found = fresh_short_too_near(leverage, settings.order_amount_quote, bound, tables)
        if found is not None:
            token, distance = found
            out.append(
                f"leverage.{venue} ({leverage}): a new {token} short of order_amount_quote "
                f"({settings.order_amount_quote}) at {leverage}x starts {distance:.2f}% from liquidation, within "
                f"{cut_margin} x min_liquidation_distance_pct ({min_pct}) = {bound:.2f}%; entries on {venue} would "
                "all be denied (lower the leverage, or min_liquidation_distance_pct)"
            )
    return out


def fixed_choice(leverage: int) -> LeverageChoice:
    """`leverage_mode: fixed`: the configured leverage, distance not computed here (the risk gate reports it)."""
    return LeverageChoice(leverage, leverage, STATUS_FIXED, None, None, _ZERO, "leverage_mode fixed")


# --- the guard on held legs ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GuardParams:
    """Thresholds of the guard, in % of mark. `gate_pct`: the risk gate's `min_liquidation_distance_pct`."""

    multiple: Decimal
    gate_pct: Decimal
    hysteresis_pct: Decimal

    def threshold_pct(self, sigma_pct: Decimal | None, reachable_pct: Decimal) -> Decimal:
        """Act below max(multiple x sigma, gate x (1 + hysteresis)): always above the risk gate's own cut. When
        sigma asks more than a fresh 1x position reaches (`reachable_pct`), the threshold is that / (1 +
        hysteresis), so the target stays reachable: the leg is floored at 1x, never reduced to nothing."""
        step = _ONE + self.hysteresis_pct / _HUNDRED
        floor = self.gate_pct * step
        wanted = floor if sigma_pct is None else max(self.multiple * sigma_pct, floor)
        return max(min(wanted, reachable_pct / step), floor)

    def target_pct(self, sigma_pct: Decimal | None, reachable_pct: Decimal) -> Decimal:
        """After acting, the leg should be this far away: threshold x (1 + hysteresis)."""
        return self.threshold_pct(sigma_pct, reachable_pct) * (_ONE + self.hysteresis_pct / _HUNDRED)


@dataclass(frozen=True)
class HeldLeg:
    """A held perp leg: signed amount (base), entry and mark (quote), isolated margin now (quote), leverage now."""

    amount: Decimal
    entry_price: Decimal
    mark_price: Decimal
    margin_quote: Decimal
    leverage: int
    table: BracketTable
    lot_size_base: Decimal | None = None

    @property
    def equity_quote(self) -> Decimal:
        return self.margin_quote + self.amount * (self.mark_price - self.entry_price)

    def distance_pct(self, margin_quote: Decimal | None = None) -> Decimal:
        """Distance (% of mark) to liquidation with this margin (default: the current one)."""
        margin = self.margin_quote if margin_quote is None else margin_quote
        liq = estimate_liquidation_price(self.amount, self.entry_price, margin, self.table)
        assert liq is not None
        return liquidation_distance_pct(self.mark_price, liq, is_long=self.amount > 0)


@dataclass(frozen=True)
class GuardAction:
    """What the guard asks for one leg: lower its leverage to `leverage`, or reduce its pair by `fraction`."""

    action: str
    distance_pct: Decimal
    threshold_pct: Decimal
    target_pct: Decimal
    leverage: int | None = None
    fraction: Decimal | None = None

    @property
    def reason(self) -> str:
        if self.action == ACTION_LOWER:
            what = f"leverage to {self.leverage}x"
        elif self.fraction is not None and self.fraction >= 1:
            what = "close the pair (no lower leverage can restore it; a partial cut keeps the liquidation price)"
        else:
            what = f"reduce by {self.fraction:.4f} (the rest falls into a lower maintenance bracket)"
        return (
            f"liquidation {self.distance_pct:.2f}% away, below the volatility threshold {self.threshold_pct:.2f}%: "
            f"{what} (target {self.target_pct:.2f}%)"
        )


def guard_leg(leg: HeldLeg, sigma_pct: Decimal | None, params: GuardParams) -> GuardAction | None:
    """None while the leg is at least the threshold away; else the gentlest action restoring the target.

    Lowering leverage re-margins the position at entry notional / L (how the venue does it for isolated
    positions; it needs free margin, which the shell verifies). At 1x, or when no lower leverage would help, the
    pair is reduced by `margin.reduce_fraction_for_distance` (the rest keeps its margin pro rata, as on the venue):
    1, the whole pair, unless the rest falls into a lower maintenance bracket.
    """
    distance = leg.distance_pct()
    notional = abs(leg.amount) * leg.mark_price
    reachable = distance_at_leverage_pct(_ONE, notional, leg.table, _ZERO, is_long=leg.amount > 0)
    threshold, target = params.threshold_pct(sigma_pct, reachable), params.target_pct(sigma_pct, reachable)
    if distance >= threshold:
        return None
    notional_entry = abs(leg.amount) * leg.entry_price
    for lev in range(leg.leverage - 1, 0, -1):
        margin = notional_entry / Decimal(lev)
        if margin > leg.margin_quote and leg.distance_pct(margin) >= target:
            return GuardAction(ACTION_LOWER, distance, threshold, target, leverage=lev)
    if leg.leverage > 1:  # even 1x does not reach the target: take the margin it gives now, reduce after
        return GuardAction(ACTION_LOWER, distance, threshold, target, leverage=1)
    fraction = reduce_fraction_for_distance(
        leg.amount, leg.entry_price, leg.margin_quote, leg.mark_price, target, leg.table, leg.lot_size_base
    )
    return GuardAction(ACTION_REDUCE, distance, threshold, target, fraction=fraction)
