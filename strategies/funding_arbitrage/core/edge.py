"""Expected net edge of one hedge over the holding horizon, component by component (pure core).

    net = funding - borrow - entry fees - exit fees - entry slippage - exit slippage + basis

* funding (perp-perp) = (short rate/h * short mark-notional - long rate/h * long mark-notional) * horizon;
  carry: the long leg is spot and pays none. With equal notionals this is (short - long rate/h) * h * N.
* basis = (entry mid basis - exit basis) * N, mid basis = (short mid - long mid) / reference mid and the
  exit basis `settings.exit_basis_pct`. The short-minus-long *VWAP* difference at entry equals the mid basis
  minus the entry slippage; slippage is counted in its own component, so nothing is counted twice.
* break-even hours = (fees + slippage - basis) / (funding/h - borrow/h).

Worked example: N = 1000, short 0.01 %/h, long 0.002 %/h, 72 h -> funding 5.76; fees 2.0, slippage 0.4,
basis 0 -> net 3.36 = 0.336 % of N; break-even 2.4 / 0.08 = 30 h.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from .costs import BorrowCharge, PairCosts
from .funding import IntervalInfo, apr_pct
from .reasons import Reason
from .sizing import HedgeSize
from .snapshots import MarketKind

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)

PairKey = tuple[str, str, str]  # (token, long connector, short connector)


class OpportunityKind(StrEnum):
    PERP_PERP = "perp_perp"  # long the lower-funding perp, short the higher
    CARRY = "carry"  # long spot, short perp: earns the whole perp funding rate


class LegFunding(NamedTuple):
    """Funding of one perp leg as used for the edge."""

    connector: str
    trading_pair: str
    rate: Decimal  # per settlement interval
    interval: IntervalInfo
    rate_per_hour: Decimal
    next_funding_ts: int
    mark_price: Decimal

    @property
    def apr_pct(self) -> Decimal:
        return apr_pct(self.rate_per_hour)


class EdgeComponents(NamedTuple):
    """Each part of the edge over the horizon, in quote: costs positive when paid, funding and basis gains."""

    funding_quote: Decimal
    borrow_quote: Decimal
    entry_fees_quote: Decimal
    exit_fees_quote: Decimal
    entry_slippage_quote: Decimal
    exit_slippage_quote: Decimal
    basis_quote: Decimal

    @property
    def fixed_costs_quote(self) -> Decimal:
        """Costs paid once, net of the basis gain."""
        return (
            self.entry_fees_quote
            + self.exit_fees_quote
            + self.entry_slippage_quote
            + self.exit_slippage_quote
            - self.basis_quote
        )

    @property
    def net_quote(self) -> Decimal:
        return self.funding_quote - self.borrow_quote - self.fixed_costs_quote

    def as_dict(self) -> dict[str, Decimal]:
        return {name: getattr(self, name) for name in COMPONENT_NAMES}


COMPONENT_NAMES = (
    "funding_quote",
    "borrow_quote",
    "entry_fees_quote",
    "exit_fees_quote",
    "entry_slippage_quote",
    "exit_slippage_quote",
    "basis_quote",
)


class EdgeResult(NamedTuple):
    """One candidate hedge at one tick: its legs, size, every edge component and the verdict.

    Figures that could not be computed (an infeasible size, a book too thin) are None, never 0.
    """

    ts: float
    token: str
    kind: OpportunityKind
    long_connector: str
    long_pair: str
    long_kind: MarketKind
    short_connector: str
    short_pair: str
    long_funding: LegFunding | None  # None: spot leg, pays no funding
    short_funding: LegFunding
    funding_spread_apr_pct: Decimal  # short APR - long APR (carry: short APR)
    horizon_hours: Decimal  # expected holding period from the funding forecast (capped)
    threshold_pct: Decimal
    reason: Reason
    detail: str = ""
    size: HedgeSize | None = None
    costs: PairCosts | None = None
    components: EdgeComponents | None = None
    net_edge_quote: Decimal | None = None
    net_edge_pct: Decimal | None = None  # % of notional over the horizon
    edge_margin_pct: Decimal | None = None  # net - threshold, percentage points
    edge_ratio: Decimal | None = None  # net / threshold
    break_even_hours: Decimal | None = None  # None: never breaks even
    entry_basis_pct: Decimal | None = None
    exit_basis_pct: Decimal | None = None
    borrow: BorrowCharge | None = None
    funding_sd_quote: Decimal | None = None  # std error of the expected funding over the holding period
    capital_quote: Decimal | None = None  # capital tied up: spot notional + perp notional / leverage
    value_per_capital: Decimal | None = None  # net edge / capital tied: the allocation's ranking key

    @property
    def key(self) -> PairKey:
        return (self.token, self.long_connector, self.short_connector)

    @property
    def accepted(self) -> bool:
        return self.reason is Reason.ACCEPTED

    @property
    def notional_quote(self) -> Decimal | None:
        return None if self.size is None else self.size.notional_quote

    @property
    def borrow_source(self) -> str:
        return "none" if self.borrow is None else self.borrow.source


class ScreenedPair(NamedTuple):
    """A candidate rejected before any book walk: its optimistic edge (zero slippage) is below the minimum."""

    token: str
    kind: OpportunityKind
    long_connector: str
    short_connector: str
    long_rate_per_hour: Decimal  # 0 for a spot long
    short_rate_per_hour: Decimal
    upper_bound: Decimal  # best possible net edge over the horizon, fraction of notional
    reason: Reason = Reason.FUNDING_BELOW_COST_FLOOR

    @property
    def funding_spread_apr_pct(self) -> Decimal:
        return apr_pct(self.short_rate_per_hour - self.long_rate_per_hour)

    @property
    def upper_bound_pct(self) -> Decimal:
        return self.upper_bound * _HUNDRED


def funding_over_horizon(
    long: LegFunding | None,
    short: LegFunding,
    long_amount_base: Decimal,
    short_amount_base: Decimal,
    horizon_hours: Decimal,
) -> Decimal:
    """Funding received (short) minus paid (long) over the horizon, in quote, on mark-price notional."""
    received = short.rate_per_hour * short_amount_base * short.mark_price
    paid = _ZERO if long is None else long.rate_per_hour * long_amount_base * long.mark_price
    return (received - paid) * horizon_hours


def break_even_hours(components: EdgeComponents, horizon_hours: Decimal) -> Decimal | None:
    """Hours of net carry that pay the fixed costs; 0 when the basis already covers them; None when never."""
    hourly = (components.funding_quote - components.borrow_quote) / horizon_hours
    fixed = components.fixed_costs_quote
    if fixed <= _ZERO:
        return _ZERO
    if hourly <= _ZERO:
        return None
    return fixed / hourly


def compose(costs: PairCosts, funding_quote: Decimal, basis_quote: Decimal) -> EdgeComponents:
    return EdgeComponents(
        funding_quote,
        costs.borrow_quote,
        costs.entry_fees_quote,
        costs.exit_fees_quote,
        costs.entry_slippage_quote,
        costs.exit_slippage_quote,
        basis_quote,
    )


def verdict(
    net_pct: Decimal, be_hours: Decimal | None, min_net_edge_pct: Decimal, max_break_even_hours: Decimal
) -> tuple[Reason, str]:
    """Entry rule on the edge alone (persistence is judged by the engine)."""
    if be_hours is None:
        return Reason.NO_BREAK_EVEN, "funding net of borrow does not pay the costs at any horizon"
    if net_pct < min_net_edge_pct:
        return Reason.EDGE_BELOW_MIN, f"net {net_pct:.4f}% < required {min_net_edge_pct:.4f}%"
    if be_hours > max_break_even_hours:
        return Reason.BREAK_EVEN_TOO_LONG, f"break-even {be_hours:.1f}h > max {max_break_even_hours}h"
    return Reason.ACCEPTED, "net edge and break-even within limits"


@dataclass(frozen=True, slots=True)
class EdgeSummary:
    """Averages over a pair's recorded history."""

    count: int
    costed: int  # results with components (feasible size and books)
    averages_quote: dict[str, Decimal]  # per component, over costed results
    average_net_edge_pct: Decimal | None
    profitable_rate: Decimal | None  # share of costed results with net edge > 0
    accepted_rate: Decimal  # share of all results accepted


class EdgeTracker:
    """Bounded history of EdgeResults per pair (default 1000 each) for status and metrics.

    The engine records every candidate it sized and costed; candidates the screen rejected (their optimistic
    edge is below the minimum, see `TickDecision.screened`) never had slippage computed and are not recorded.
    """

    def __init__(self, max_per_pair: int = 1000) -> None:
        if max_per_pair < 1:
            raise ValueError(f"max_per_pair ({max_per_pair}) must be at least 1")
        self._max = max_per_pair
        self._history: dict[PairKey, deque[EdgeResult]] = {}

    def record(self, results: Iterable[EdgeResult]) -> None:
        for r in results:
            hist = self._history.get(r.key)
            if hist is None:
                hist = self._history[r.key] = deque(maxlen=self._max)
            hist.append(r)

    def history(self, key: PairKey) -> tuple[EdgeResult, ...]:
        return tuple(self._history.get(key, ()))

    def pairs(self) -> tuple[PairKey, ...]:
        return tuple(self._history)

    def forget(self, key: PairKey) -> None:
        self._history.pop(key, None)

    def summary(self, key: PairKey) -> EdgeSummary | None:
        hist = self._history.get(key)
        if not hist:
            return None
        costed = [r for r in hist if r.components is not None and r.net_edge_pct is not None]
        accepted = sum(1 for r in hist if r.accepted)
        if not costed:
            return EdgeSummary(len(hist), 0, {}, None, None, Decimal(accepted) / len(hist))
        n = Decimal(len(costed))
        averages = {name: sum((getattr(r.components, name) for r in costed), _ZERO) / n for name in COMPONENT_NAMES}
        avg_net = sum((r.net_edge_pct for r in costed if r.net_edge_pct is not None), _ZERO) / n
        profitable = sum(1 for r in costed if r.net_edge_quote is not None and r.net_edge_quote > _ZERO)
        return EdgeSummary(
            len(hist), len(costed), averages, avg_net, Decimal(profitable) / n, Decimal(accepted) / len(hist)
        )
