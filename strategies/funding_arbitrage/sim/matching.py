"""Orders resting at a simulated venue and how the synthetic book fills them (no event plumbing here).

Matching rules (documented in docs/simulation.md):
* MARKET: takes liquidity at the tick it becomes eligible (placement tick + fill delay), walking the book; the fill
  price is the volume-weighted average of the levels taken. What the book cannot fill is cancelled (like an
  exchange expiring the rest of an IOC market order).
* LIMIT marketable on arrival: takes liquidity up to its limit price (taker fee), the rest rests as a maker order.
* LIMIT resting / LIMIT_MAKER: fills completely, at its own price and with the maker fee, at the first tick whose
  opposite best price reaches it (no queue position is modelled). A LIMIT_MAKER that would take is rejected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from hummingbot.core.data_type.common import OrderType, PositionAction, TradeType

from .book import Level, walk


@dataclass
class SimOrder:
    """An order the venue accepted. `reserved` is what the venue locks for it (margin or balance, in
    `reserved_asset`)."""

    client_order_id: str
    exchange_order_id: str
    trading_pair: str
    trade_type: TradeType
    order_type: OrderType
    amount: Decimal
    price: Decimal | None
    position_action: PositionAction
    placed_ts: float
    eligible_ts: float
    resting: bool = False
    partial_drawn: bool = False
    filled: Decimal = Decimal(0)
    reserved: Decimal = Decimal(0)
    reserved_asset: str = ""

    @property
    def is_buy(self) -> bool:
        return self.trade_type is TradeType.BUY

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.filled

    def reserved_now(self) -> Decimal:
        """The reservation still held: proportional to the unfilled amount."""
        return self.reserved * self.remaining / self.amount if self.amount > 0 else Decimal(0)


@dataclass(frozen=True)
class FillPlan:
    """What the book gives an order this tick."""

    amount: Decimal
    price: Decimal
    is_maker: bool
    cancel_rest: bool


def is_marketable(
    order_type: OrderType, is_buy: bool, price: Decimal | None, bids: Sequence[Level], asks: Sequence[Level]
) -> bool:
    """Would this order take liquidity on arrival?"""
    if order_type is OrderType.MARKET:
        return True
    levels = asks if is_buy else bids
    if price is None or not levels:
        return False
    return levels[0][0] <= price if is_buy else levels[0][0] >= price


def plan_fill(order: SimOrder, wanted: Decimal, bids: Sequence[Level], asks: Sequence[Level]) -> FillPlan | None:
    """The fill `order` gets for `wanted` base against the current book; None if nothing fills this tick."""
    levels = asks if order.is_buy else bids
    if not levels or wanted <= 0:
        return None
    if order.order_type is OrderType.MARKET:
        taken = walk(levels, wanted, None, order.is_buy)
        if taken.average_price is None:
            return None
        return FillPlan(taken.filled, taken.average_price, False, taken.filled < wanted)
    if not order.resting:
        taken = walk(levels, wanted, order.price, order.is_buy)
        if taken.average_price is None:
            return None
        return FillPlan(taken.filled, taken.average_price, False, False)
    assert order.price is not None
    best = levels[0][0]
    if (best <= order.price) if order.is_buy else (best >= order.price):
        return FillPlan(wanted, order.price, True, False)
    return None
