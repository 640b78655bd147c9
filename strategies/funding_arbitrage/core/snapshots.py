"""Frozen market snapshots: the only way venue data enters the core.

The adapter (`adapter.py`) copies Hummingbot's mutable FundingInfo, order books, trading rules, fees and
positions into these once per tick. Prices and sizes are Decimal; timestamps are seconds (`_ts`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from functools import cached_property
from typing import Optional


class MarketKind(str, Enum):  # noqa: UP042 (str mixin: values compare and serialise as plain strings)
    PERP = "perp"
    SPOT = "spot"


@dataclass(frozen=True)
class FundingSnapshot:
    """Funding as the venue reports it: `rate` is for ONE settlement interval (not annualised)."""

    connector: str
    trading_pair: str
    rate: Decimal
    next_funding_ts: int
    mark_price: Decimal
    index_price: Decimal
    observed_ts: float


@dataclass(frozen=True)
class BookSnapshot:
    """Top levels of an order book; bids descending, asks ascending, (price, size in base)."""

    connector: str
    trading_pair: str
    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]
    observed_ts: float

    # Computed once per snapshot (the book is frozen). The adapter stores them when it builds a snapshot (the same
    # values, from the touch it read): the core reads every market's touch every tick.
    @cached_property
    def best_bid(self) -> Optional[Decimal]:
        """`bids[0][0]`; None for an empty side."""
        return self.bids[0][0] if self.bids else None

    @cached_property
    def best_ask(self) -> Optional[Decimal]:
        """`asks[0][0]`; None for an empty side."""
        return self.asks[0][0] if self.asks else None

    @property
    def mid(self) -> Optional[Decimal]:
        """(best bid + best ask) / 2; None if a side is empty."""
        bid, ask = self.best_bid, self.best_ask
        if bid is None or ask is None:
            return None
        return (bid + ask) / 2


@dataclass(frozen=True)
class FeeSchedule:
    """Fee rates (fractions) for one market from the connector's schedule, per order kind."""

    taker_open: Decimal
    taker_close: Decimal
    maker_open: Decimal
    maker_close: Decimal
    source: str  # "connector" or "venue-spec"


@dataclass(frozen=True)
class MarketRules:
    """Lot and tick sizes of one market (Hummingbot TradingRule)."""

    min_order_size: Decimal
    lot_size: Decimal
    tick_size: Decimal
    min_notional: Decimal


@dataclass(frozen=True)
class PositionSnapshot:
    """A perp position; `amount` signed (negative = short), as Hummingbot's Position."""

    connector: str
    trading_pair: str
    amount: Decimal
    entry_price: Decimal
    unrealized_pnl: Decimal
    leverage: Decimal


@dataclass(frozen=True)
class MarketSnapshot:
    """Everything known about one (connector, token) market at one tick."""

    connector: str
    token: str
    trading_pair: str
    kind: MarketKind
    book: Optional[BookSnapshot]
    funding: Optional[FundingSnapshot]  # None for spot, or a perp whose funding is not initialised
    fees: FeeSchedule
    rules: MarketRules
    leverage: Decimal = Decimal(1)


@dataclass(frozen=True)
class BorrowQuote:
    """Borrow rate for one asset on one venue; `source` is "venue" or "configured"."""

    asset: str
    connector: str
    apr: Decimal  # fraction per year
    source: str


@dataclass(frozen=True)
class TickSnapshot:
    """One tick's view of every configured market, balances and positions."""

    ts: float
    markets: tuple[MarketSnapshot, ...]
    positions: tuple[PositionSnapshot, ...] = ()
    balances_quote: dict[str, Decimal] = field(default_factory=dict)  # connector -> quote balance
    ready: dict[str, bool] = field(default_factory=dict)  # connector -> connector.ready


# --- hot-path constructors -----------------------------------------------------------------------------------------
# A frozen dataclass's generated __init__ sets each field through `object.__setattr__` (about 0.15 µs a field); the
# adapter builds a funding and a market snapshot per market per tick (25 a tick on the default markets), so these
# write the same fields straight into the new instance's __dict__ instead (about a third of the time). The
# result is the same instance as the constructor's (equal, same repr and hash, still frozen); no field is checked
# here, as the dataclass constructors check none either.
_new = object.__new__


def new_funding_snapshot(
    connector: str,
    trading_pair: str,
    rate: Decimal,
    next_funding_ts: int,
    mark_price: Decimal,
    index_price: Decimal,
    observed_ts: float,
) -> FundingSnapshot:
    """`FundingSnapshot(...)` with the same arguments, faster (see above)."""
    snap = _new(FundingSnapshot)
    d = snap.__dict__
    d["connector"] = connector
    d["trading_pair"] = trading_pair
    d["rate"] = rate
    d["next_funding_ts"] = next_funding_ts
    d["mark_price"] = mark_price
    d["index_price"] = index_price
    d["observed_ts"] = observed_ts
    return snap


def new_market_snapshot(
    connector: str,
    token: str,
    trading_pair: str,
    kind: MarketKind,
    book: Optional[BookSnapshot],
    funding: Optional[FundingSnapshot],
    fees: FeeSchedule,
    rules: MarketRules,
    leverage: Decimal,
) -> MarketSnapshot:
    """`MarketSnapshot(...)` with the same arguments, faster (see above)."""
    snap = _new(MarketSnapshot)
    d = snap.__dict__
    d["connector"] = connector
    d["token"] = token
    d["trading_pair"] = trading_pair
    d["kind"] = kind
    d["book"] = book
    d["funding"] = funding
    d["fees"] = fees
    d["rules"] = rules
    d["leverage"] = leverage
    return snap
