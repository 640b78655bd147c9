"""Pricing candidate hedges: the optimistic screen and the full sized-and-costed evaluation (pure core).

The screen keeps the engine fast. Per token, a bound from the extremes of its legs (`coarse_bound`) rejects
tokens no pair of which can reach `min_net_edge_pct`; for the others each pair's best conceivable net edge
(exact funding, fees at mid, no slippage, borrow at mid, the exact mid basis; `pair_bound`) decides
whether it is sized and walked through its books.
Fees at mid are a true floor: a buy pays fee on a VWAP >= mid, and a sell's lower fee is more than
offset by its slippage (fee * (mid - vwap) <= mid - vwap).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from operator import attrgetter
from typing import Any, NamedTuple

from .config import FundingArbSettings
from .costs import BorrowProvider, Infeasible, LegMarket, pair_costs, resolve_borrow_rate
from .edge import (
    EdgeResult,
    LegFunding,
    OpportunityKind,
    break_even_hours,
    compose,
    verdict,
)
from .forecast import Forecast, FundingForecaster
from .funding import HOURS_PER_YEAR
from .market_data import MarketKey, MarketQuote, check_rules
from .orderbook import BookDataError, check_book
from .reasons import Reason, SkipReason
from .sizing import LegLimits, size_hedge
from .snapshots import BorrowQuote

_ZERO = Decimal(0)
_TWO = Decimal(2)
_HUNDRED = Decimal(100)
SCREEN_SLACK = Decimal("0.02")
_RATE = attrgetter("rate_per_hour")
_SLACK_UP = 1 + SCREEN_SLACK
_SLACK_DOWN = 1 - SCREEN_SLACK


@dataclass(frozen=True, slots=True)
class EngineParams:
    """The settings the engine consumes, converted once (fractions where the settings hold %)."""

    zero: Decimal
    horizon_hours: Decimal
    min_edge_pct: Decimal
    min_edge_frac: Decimal
    max_break_even_hours: Decimal
    exit_basis_pct: Decimal
    exit_basis_frac: Decimal
    order_quote: Decimal
    depth_share_pct: Decimal
    vol_reference_pct: Decimal
    persistence: int
    exit_apr_pct: Decimal
    exit_confirmations: int
    take_profit_pct: Decimal
    max_holding_hours: Decimal
    spot_borrows_quote: bool
    borrow_table_apr_pct: Mapping[str, Decimal]
    quote_assets: Mapping[str, str]
    token_cap: Decimal
    venue_cap: Decimal
    total_cap: Decimal
    borrow_year_share: Decimal  # ceil(horizon hours) / 8760
    horizon_slack: Decimal  # horizon hours * (1 + SCREEN_SLACK), for the coarse screen
    leverage: Mapping[str, Decimal]  # per perp connector: capital tied by a perp leg = notional / leverage
    entry_z: Decimal  # required margin over costs, in std errors of the expected carry
    exit_z: Decimal  # exit only when expected forward carry + exit_z std errors < 0
    exit_forward_hours: Decimal  # horizon of the hold rule's forward carry

    @classmethod
    def from_settings(cls, s: FundingArbSettings) -> EngineParams:
        return cls(
            _ZERO,
            s.holding_horizon_hours,
            s.min_net_edge_pct,
            s.min_net_edge_pct / _HUNDRED,
            s.max_break_even_hours,
            s.exit_basis_pct,
            s.exit_basis_pct / _HUNDRED,
            s.order_amount_quote,
            s.max_book_depth_share_pct,
            s.volatility_reference_pct,
            s.persistence_observations,
            s.exit_edge_apr_pct,
            s.exit_confirmations,
            s.take_profit_pct,
            s.max_holding_hours,
            s.spot_leg_borrows_quote,
            dict(s.borrow_rates_apr_pct),
            dict(s.quote_assets),
            s.max_token_exposure_quote,
            s.max_venue_exposure_quote,
            s.max_total_exposure_quote,
            s.holding_horizon_hours.to_integral_value(rounding=ROUND_CEILING) / HOURS_PER_YEAR,
            s.holding_horizon_hours * _SLACK_UP,
            {c: Decimal(v) for c, v in s.leverage.items()},
            s.entry_uncertainty_z,
            s.exit_uncertainty_z,
            s.exit_forward_hours,
        )


class TickScratch:
    """Per-tick caches shared by the candidates of one evaluation (legs, funding, borrow rates, bad books)."""

    __slots__ = (
        "_bad_books",
        "_borrow",
        "_funding",
        "_legs",
        "_p",
        "_providers",
        "_rules_checked",
        "forecaster",
        "market_leverage",
        "skipped",
        "ts",
        "volatility",
    )

    def __init__(
        self,
        ts: float,
        providers: Mapping[str, BorrowProvider],
        params: EngineParams,
        volatility: Callable[[MarketKey], Decimal | None],
        forecaster: FundingForecaster | None = None,
    ) -> None:
        self.ts = ts
        self.forecaster = forecaster if forecaster is not None else FundingForecaster()
        self.volatility = volatility  # realised hourly vol % of a market, None when unknown
        self.market_leverage: Mapping[MarketKey, Decimal] = {}  # chosen per market (volatility mode), else empty
        self.skipped: Counter[SkipReason] = Counter()
        self._providers = providers
        self._p = params
        self._bad_books: dict[MarketKey, SkipReason] = {}  # books (or rules) found bad on a deeper check
        self._rules_checked: set[MarketKey] = set()
        self._legs: dict[MarketKey, LegMarket] = {}
        self._funding: dict[MarketKey, LegFunding] = {}
        self._borrow: dict[str, BorrowQuote | None] = {}

    def bad_book(self, q: MarketQuote) -> SkipReason | None:
        """Why this market's book failed a deeper check earlier this tick, if it did."""
        return self._bad_books.get(q.key)

    def bad_rules(self, q: MarketQuote) -> SkipReason | None:
        """Lot size and minimums, checked where sizing first uses them; counted once per market per tick."""
        if q.key not in self._rules_checked:
            self._rules_checked.add(q.key)
            problem = check_rules(q.market.rules)
            if problem is not None:
                self.mark_bad_book(q, problem)
        return self._bad_books.get(q.key)

    def mark_bad_book(self, q: MarketQuote, reason: SkipReason) -> None:
        """Remember a book that failed validation; counted once per market per tick."""
        if q.key not in self._bad_books:
            self._bad_books[q.key] = reason
            self.skipped[reason] += 1

    def leg(self, q: MarketQuote) -> LegMarket:
        leg = self._legs.get(q.key)
        if leg is None:
            m = q.market
            assert m.book is not None
            leg = self._legs[q.key] = LegMarket(m.connector, m.trading_pair, m.kind, m.book, q.mid, m.fees)
        return leg

    def leg_funding(self, q: MarketQuote) -> LegFunding | None:
        if not q.is_perp:
            return None
        lf = self._funding.get(q.key)
        if lf is None:
            f = q.market.funding
            assert f is not None and q.interval is not None and q.rate_per_hour is not None
            lf = self._funding[q.key] = LegFunding(
                q.key[0], q.key[1], f.rate, q.interval, q.rate_per_hour, f.next_funding_ts, f.mark_price
            )
        return lf

    def borrow_rate(self, q: MarketQuote) -> BorrowQuote | None:
        """Rate of the quote borrowed to buy on spot leg `q` (venue first, then configured)."""
        connector = q.key[0]
        if connector not in self._borrow:
            asset = self._p.quote_assets.get(connector, q.key[1].rsplit("-", 1)[-1])
            self._borrow[connector] = resolve_borrow_rate(
                asset, connector, self.ts, self._providers, self._p.borrow_table_apr_pct
            )
        return self._borrow[connector]

    def borrows(self, long: MarketQuote) -> bool:
        """Only a spot long leg borrows, and only with spot_leg_borrows_quote."""
        return self._p.spot_borrows_quote and not long.is_perp


class TokenScreen(NamedTuple):
    """A token's optimistic bound over all its candidates, and the pair with the widest funding spread."""

    bound: Decimal  # net edge fraction no candidate of the token can exceed
    long: MarketQuote
    short: MarketQuote
    fixed: Decimal  # fees net of the best basis, as a fraction: the least any pair pays once
    b: Decimal  # relative price range of the token's legs (mids and marks)
    h_abs: Decimal  # largest |funding rate per hour| among the legs


_new_screen = tuple.__new__  # built for every token every tick: skip the Python-level NamedTuple constructor


def coarse_bound(p: EngineParams, perps: list[MarketQuote], spots: list[MarketQuote]) -> TokenScreen:
    """Upper bound of any candidate's net edge fraction for one token, from the extremes of its legs.

    With h the legs' funding rate per hour (spot: 0) and b = (max - min) / min over every mid and mark,
    any pair's funding fraction per hour is at most (h_max - h_min) + b * (|h_max| + |h_min|), its basis
    at most b, and its fees at least twice the cheapest round trip * (1 - b).
    """
    high, low = max(perps, key=_RATE), min(perps, key=_RATE)
    h_max, h_min = high.rate_per_hour, low.rate_per_hour
    assert h_max is not None and h_min is not None
    if spots and (len(perps) < 2 or h_min > _ZERO):
        low, h_min = spots[0], _ZERO  # the spot long (rate 0) is the lowest, or the only, long leg
    prices = [q.mid for q in perps]
    prices += [q.mark for q in perps]
    prices += [q.mid for q in spots]
    lo_price = min(prices)
    b = (max(prices) - lo_price) / lo_price
    fees = [q.fee_floor for q in perps]
    fees += [q.fee_floor for q in spots]
    h_abs = max(abs(h_max), abs(h_min))
    fixed = 2 * min(fees) * (1 - b) - b + p.exit_basis_frac
    bound = (h_max - h_min + 2 * b * h_abs) * p.horizon_slack - fixed
    return _new_screen(TokenScreen, (bound, low, high, fixed, b, h_abs))


def min_pair_spread(p: EngineParams, screen: TokenScreen, floor: Decimal) -> Decimal:
    """The hourly funding spread (short - long rate/h) below which no pair of the token can reach `floor`:
    the coarse bound solved for the spread, with b * (|h_short| + |h_long|) <= 2 * b * h_abs."""
    return (floor + screen.fixed) / p.horizon_slack - 2 * screen.b * screen.h_abs


def pair_bound(t: TickScratch, p: EngineParams, long: MarketQuote, short: MarketQuote) -> Decimal:
    """Optimistic net edge fraction of one candidate: no slippage, fees and borrow at mid, exact mid basis.

    The only approximation is lot rounding: when neither lot size divides the other, the legs' amounts may
    differ by up to one lot, which SCREEN_SLACK covers.
    """
    ref = (long.mid + short.mid) / _TWO
    funding = (short.funding_per_hour_quote - long.funding_per_hour_quote) * p.horizon_hours / ref
    fees = (long.fee_floor * long.mid + short.fee_floor * short.mid) / ref
    if not _lots_nested(t, long, short):
        funding = funding * _SLACK_UP if funding > _ZERO else funding
        fees *= _SLACK_DOWN
    basis = (short.mid - long.mid) / ref - p.exit_basis_frac
    borrow = _ZERO
    if t.borrows(long):
        rate = t.borrow_rate(long)
        if rate is not None:
            borrow = rate.apr * p.borrow_year_share * long.mid / ref * _SLACK_DOWN
    return funding - fees - borrow + basis


def _lots_nested(t: TickScratch, long: MarketQuote, short: MarketQuote) -> bool:
    """True when one lot size divides the other (then both legs round to the same amount)."""
    if t.bad_rules(long) or t.bad_rules(short):
        return False  # the evaluation rejects the pair; the bound just must not fail on a bad lot
    lot_l, lot_s = long.market.rules.lot_size, short.market.rules.lot_size
    return lot_l == lot_s or max(lot_l, lot_s) % min(lot_l, lot_s) == _ZERO


def evaluate_pair(
    t: TickScratch,
    p: EngineParams,
    token: str,
    long: MarketQuote,
    short: MarketQuote,
    target_quote: Decimal,
    streak_before: int,
) -> EdgeResult:
    """Size, cost and judge one candidate (long `long`, short `short`) aiming at `target_quote` notional.

    `streak_before` is the candidate's count of consecutive passing evaluations before this one: a passing
    candidate is ACCEPTED only when this evaluation completes `persistence_observations`.
    """
    lf, sf = t.leg_funding(long), t.leg_funding(short)
    assert sf is not None
    spread_apr = sf.apr_pct - (lf.apr_pct if lf is not None else _ZERO)
    lm, sm = long.market, short.market
    kind = OpportunityKind.PERP_PERP if long.is_perp else OpportunityKind.CARRY

    def result(reason: Reason, detail: str, horizon: Decimal | None = None, **figures: Any) -> EdgeResult:
        return EdgeResult(
            t.ts,
            token,
            kind,
            lm.connector,
            lm.trading_pair,
            lm.kind,
            sm.connector,
            sm.trading_pair,
            lf,
            sf,
            spread_apr,
            p.horizon_hours if horizon is None else horizon,
            p.min_edge_pct,
            reason,
            detail,
            **figures,
        )

    bad = t.bad_book(long) or t.bad_book(short) or t.bad_rules(long) or t.bad_rules(short)
    if bad is not None:
        return result(Reason.BAD_MARKET_DATA, f"market check failed: {bad.value}")
    rate = t.borrow_rate(long) if t.borrows(long) else None
    if t.borrows(long) and rate is None:
        return result(Reason.NO_BORROW_RATE, f"{lm.connector} publishes no borrow rate and none is configured")
    try:
        return _size_and_cost(t, p, long, short, target_quote, rate, result, streak_before)
    except BookDataError as e:
        t.mark_bad_book(long if _book_has_problem(long) else short, e.reason)
        return result(Reason.BAD_MARKET_DATA, f"book check failed: {e}")


def _size_and_cost(
    t: TickScratch,
    p: EngineParams,
    long: MarketQuote,
    short: MarketQuote,
    target_quote: Decimal,
    rate: BorrowQuote | None,
    result: Callable[..., EdgeResult],
    streak_before: int,
) -> EdgeResult:
    """The sized, costed verdict (see `evaluate_pair`). Raises BookDataError on a bad level read."""
    lm, sm = long.market, short.market
    assert lm.book is not None and sm.book is not None
    ref = (long.mid + short.mid) / _TWO
    size = size_hedge(
        target_quote,
        ref,
        LegLimits(lm.book.asks, False, lm.rules, long.mid, lm.connector, lm.trading_pair),
        LegLimits(sm.book.bids, True, sm.rules, short.mid, sm.connector, sm.trading_pair),
        p.depth_share_pct,
        _pair_volatility(t, long, short),
        p.vol_reference_pct,
    )
    if isinstance(size, Infeasible):
        return result(size.reason, size.detail)
    outlook, hours = _outlook(t, long, short, p.horizon_hours)
    costs = pair_costs(t.leg(long), t.leg(short), size.long_amount_base, size.short_amount_base, rate, hours)
    if isinstance(costs, Infeasible):
        return result(costs.reason, costs.detail, hours, size=size)
    entry_basis = (short.mid - long.mid) / ref
    mark_notional = size.short_amount_base * t.leg_funding(short).mark_price  # type: ignore[union-attr]
    funding = outlook.expected_fraction * mark_notional
    funding_sd = outlook.sd_fraction * mark_notional
    components = compose(costs, funding, (entry_basis - p.exit_basis_frac) * size.notional_quote)
    if hours <= _ZERO:
        return result(
            Reason.NO_BREAK_EVEN,
            "the forecast expects no positive carry (current spread <= 0)",
            hours,
            size=size,
            costs=costs,
            components=components,
            funding_sd_quote=funding_sd,
        )
    net = components.net_quote
    net_pct = net / size.notional_quote * _HUNDRED
    required_pct = p.min_edge_pct + p.entry_z * funding_sd / size.notional_quote * _HUNDRED
    be_hours = break_even_hours(components, hours)
    reason, detail = verdict(net_pct, be_hours, required_pct, p.max_break_even_hours)
    if reason is Reason.ACCEPTED and streak_before + 1 < p.persistence:
        reason = Reason.AWAITING_PERSISTENCE
        detail = f"{streak_before + 1}/{p.persistence} consecutive passing evaluations; {detail}"
    capital = capital_tied(
        p, long, short, size.long_amount_base * long.mid, size.short_amount_base * short.mid, t.market_leverage
    )
    return result(
        reason,
        detail,
        hours,
        size=size,
        costs=costs,
        components=components,
        net_edge_quote=net,
        net_edge_pct=net_pct,
        edge_margin_pct=net_pct - required_pct,
        edge_ratio=net_pct / required_pct,
        break_even_hours=be_hours,
        entry_basis_pct=entry_basis * _HUNDRED,
        exit_basis_pct=p.exit_basis_pct,
        borrow=costs.long.borrow,
        funding_sd_quote=funding_sd,
        capital_quote=capital,
        value_per_capital=net / capital,
    )


def _outlook(t: TickScratch, long: MarketQuote, short: MarketQuote, cap_hours: Decimal) -> tuple[Forecast, Decimal]:
    """Forecast of the pair's funding spread (short - long rate per hour) over its expected holding period."""
    assert short.rate_per_hour is not None
    start = short.rate_per_hour - (long.rate_per_hour if long.is_perp and long.rate_per_hour is not None else _ZERO)
    return t.forecaster.outlook(long.key if long.is_perp else None, short.key, start, cap_hours)


def capital_tied(
    p: EngineParams,
    long: MarketQuote,
    short: MarketQuote,
    long_notional: Decimal,
    short_notional: Decimal,
    market_leverage: Mapping[MarketKey, Decimal] | None = None,
) -> Decimal:
    """Capital a hedge ties up: a spot leg its whole notional, a perp leg notional / its leverage (the market's
    chosen one in `market_leverage` (volatility mode), else the connector's configured one)."""
    chosen = market_leverage or {}

    def tied(q: MarketQuote, notional: Decimal) -> Decimal:
        if not q.is_perp:
            return notional
        return notional / chosen.get(q.key, p.leverage.get(q.key[0], Decimal(1)))

    return tied(long, long_notional) + tied(short, short_notional)


def _book_has_problem(q: MarketQuote) -> bool:
    assert q.market.book is not None
    return check_book(q.market.book) is not None


def _pair_volatility(t: TickScratch, long: MarketQuote, short: MarketQuote) -> Decimal | None:
    """The larger known realised hourly vol of the two legs (None when neither is known)."""
    vols = [v for v in (t.volatility(long.key), t.volatility(short.key)) if v is not None]
    return max(vols) if vols else None
