"""Costs of a hedge at its real size, entry AND exit: taker fees, book slippage and borrow (pure core).

Per leg: entry is a taker order opening the position (long leg buys on the asks, short leg sells on the bids),
exit the reverse closing it, estimated on the current book. Fees come from the market's own FeeSchedule
(`taker_open` on entry, `taker_close` on exit; a spot market's schedule carries spot fees). Borrow is charged
only on a leg that borrows; a leg that does not borrow carries `borrow=None`, not a zero rate.
Every quote amount is in the leg's quote currency (USDT and USD treated at par).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from enum import StrEnum
from typing import NamedTuple, Protocol

from .funding import HOURS_PER_YEAR
from .orderbook import Side, slippage_quote, walk
from .reasons import Reason
from .snapshots import BookSnapshot, BorrowQuote, FeeSchedule, MarketKind

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


class BorrowSource(StrEnum):
    VENUE = "venue"  # published by the venue through a BorrowProvider
    CONFIGURED = "configured"  # settings.borrow_rates_apr_pct


class BorrowProvider(Protocol):
    """Venue-published borrow rates for one connector (implemented by the adapter where a venue has any)."""

    def borrow_quote(self, asset: str, ts: float) -> BorrowQuote | None:
        """Current borrow APR (fraction per year) of `asset`, or None when the venue publishes none."""
        ...


@dataclass(frozen=True, slots=True)
class Infeasible:
    """A candidate that cannot be traded at any size considered, and why."""

    reason: Reason
    detail: str


def resolve_borrow_rate(
    asset: str,
    connector: str,
    ts: float,
    providers: Mapping[str, BorrowProvider],
    configured_apr_pct: Mapping[str, Decimal],
) -> BorrowQuote | None:
    """The venue's rate when its provider publishes a usable one, else the configured rate, else None."""
    provider = providers.get(connector)
    if provider is not None:
        quote = provider.borrow_quote(asset, ts)
        if quote is not None and quote.apr.is_finite() and quote.apr >= _ZERO:
            return BorrowQuote(quote.asset, quote.connector, quote.apr, BorrowSource.VENUE.value)
    pct = configured_apr_pct.get(asset)
    if pct is None:
        return None
    return BorrowQuote(asset, connector, pct / _HUNDRED, BorrowSource.CONFIGURED.value)


class BorrowCharge(NamedTuple):
    """Interest on borrowed quote over the horizon; charged per started hour (Binance margin style)."""

    asset: str
    connector: str
    borrowed_quote: Decimal
    apr: Decimal  # fraction per year
    hours_charged: Decimal
    cost_quote: Decimal
    source: str  # "venue" or "configured"

    @classmethod
    def over(cls, rate: BorrowQuote, borrowed_quote: Decimal, horizon_hours: Decimal) -> BorrowCharge:
        """E.g. 1000 quote at 10 % APR for 72 h: 1000 * 0.10 * 72 / 8760 = 0.8219 quote."""
        hours = horizon_hours.to_integral_value(rounding=ROUND_CEILING)
        cost = borrowed_quote * rate.apr * hours / HOURS_PER_YEAR
        return cls(rate.asset, rate.connector, borrowed_quote, rate.apr, hours, cost, rate.source)


class TradeCost(NamedTuple):
    """One taker order: its fee for the side/position action and its slippage against mid at its real size."""

    side: Side
    action: str  # "open" or "close"
    amount_base: Decimal
    vwap: Decimal
    mid: Decimal
    fee_rate: Decimal
    fee_quote: Decimal
    slippage_quote: Decimal


def taker_cost(
    book: BookSnapshot, mid: Decimal, amount_base: Decimal, side: Side, opening: bool, fees: FeeSchedule
) -> TradeCost | None:
    """Fee and slippage of a taker order of `amount_base`; None when the visible book is too thin."""
    fill = walk(book.asks if side is Side.BUY else book.bids, amount_base, side)
    if fill is None:
        return None
    rate = fees.taker_open if opening else fees.taker_close
    return TradeCost(
        side,
        "open" if opening else "close",
        amount_base,
        fill.vwap,
        mid,
        rate,
        rate * fill.notional_quote,
        slippage_quote(fill, mid),
    )


class LegCost(NamedTuple):
    """Entry and exit of one leg, and its borrow (None: this leg does not borrow)."""

    connector: str
    trading_pair: str
    kind: MarketKind
    entry: TradeCost
    exit: TradeCost
    borrow: BorrowCharge | None
    fee_source: str


class LegMarket(NamedTuple):
    """What costing needs of one leg's market."""

    connector: str
    trading_pair: str
    kind: MarketKind
    book: BookSnapshot
    mid: Decimal
    fees: FeeSchedule


def leg_cost(
    leg: LegMarket, amount_base: Decimal, is_long: bool, borrow: BorrowQuote | None, horizon_hours: Decimal
) -> LegCost | Infeasible:
    """Entry (open) and exit (close) of one leg at `amount_base`; borrow charged on the entry notional."""
    entry_side, exit_side = (Side.BUY, Side.SELL) if is_long else (Side.SELL, Side.BUY)
    entry = taker_cost(leg.book, leg.mid, amount_base, entry_side, True, leg.fees)
    exit_ = taker_cost(leg.book, leg.mid, amount_base, exit_side, False, leg.fees) if entry else None
    if entry is None or exit_ is None:
        which = "entry" if entry is None else "exit"
        return Infeasible(
            Reason.BOOK_TOO_THIN,
            f"{leg.connector} {leg.trading_pair} {which} {amount_base} exceeds the visible book",
        )
    charge = None
    if borrow is not None:
        charge = BorrowCharge.over(borrow, entry.vwap * amount_base, horizon_hours)
    return LegCost(leg.connector, leg.trading_pair, leg.kind, entry, exit_, charge, leg.fees.source)


class PairCosts(NamedTuple):
    """All costs of one hedge over its life, in quote (each a cost: positive means paid)."""

    long: LegCost
    short: LegCost

    @property
    def entry_fees_quote(self) -> Decimal:
        return self.long.entry.fee_quote + self.short.entry.fee_quote

    @property
    def exit_fees_quote(self) -> Decimal:
        return self.long.exit.fee_quote + self.short.exit.fee_quote

    @property
    def entry_slippage_quote(self) -> Decimal:
        return self.long.entry.slippage_quote + self.short.entry.slippage_quote

    @property
    def exit_slippage_quote(self) -> Decimal:
        return self.long.exit.slippage_quote + self.short.exit.slippage_quote

    @property
    def borrow_quote(self) -> Decimal:
        return sum((c.cost_quote for c in (self.long.borrow, self.short.borrow) if c is not None), _ZERO)

    @property
    def total_quote(self) -> Decimal:
        return (
            self.entry_fees_quote
            + self.exit_fees_quote
            + self.entry_slippage_quote
            + self.exit_slippage_quote
            + self.borrow_quote
        )


def pair_costs(
    long: LegMarket,
    short: LegMarket,
    long_amount_base: Decimal,
    short_amount_base: Decimal,
    long_borrow: BorrowQuote | None,
    horizon_hours: Decimal,
) -> PairCosts | Infeasible:
    """Costs of buying `long_amount_base` on `long`, selling `short_amount_base` on `short`, then unwinding.

    `long_borrow` is the rate of the quote borrowed to buy a spot long leg, None when that leg does not borrow
    (perp legs never borrow in this product).
    """
    long_cost = leg_cost(long, long_amount_base, True, long_borrow, horizon_hours)
    if isinstance(long_cost, Infeasible):
        return long_cost
    short_cost = leg_cost(short, short_amount_base, False, None, horizon_hours)
    if isinstance(short_cost, Infeasible):
        return short_cost
    return PairCosts(long_cost, short_cost)


def exit_cost(long: LegMarket, short: LegMarket, amount_base: Decimal) -> tuple[TradeCost, TradeCost] | Infeasible:
    """Closing a held pair now: sell the long leg on its bids, buy the short leg back on its asks."""
    sell = taker_cost(long.book, long.mid, amount_base, Side.SELL, False, long.fees)
    buy = taker_cost(short.book, short.mid, amount_base, Side.BUY, False, short.fees)
    if sell is None or buy is None:
        leg = long if sell is None else short
        return Infeasible(
            Reason.BOOK_TOO_THIN,
            f"{leg.connector} {leg.trading_pair} exit {amount_base} exceeds the visible book",
        )
    return sell, buy
