"""Perp positions of one simulated account, in ONEWAY or HEDGE mode, with isolated-style margin per position.

Conventions (as Hummingbot's `Position`): `amount` is signed (negative = short). The position key is the trading
pair in ONEWAY and pair + side name (`BTC-USDTLONG`) in HEDGE, like `PerpetualTrading.position_key`.

Margin: a position holds margin = |amount| x entry price / leverage, added when it grows and released in proportion
when it shrinks. Which position an order acts on:
* HEDGE: BUY+OPEN and SELL+CLOSE act on LONG; SELL+OPEN and BUY+CLOSE on SHORT. OPEN never reduces.
* ONEWAY: one net position per pair; an order against it reduces it and may flip it (OPEN), CLOSE only reduces.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from decimal import Decimal

from hummingbot.core.data_type.common import PositionAction, PositionMode, PositionSide

_0 = Decimal(0)


@dataclass
class SimPosition:
    trading_pair: str
    amount: Decimal
    entry_price: Decimal
    margin: Decimal
    leverage: int

    @property
    def side(self) -> PositionSide:
        return PositionSide.LONG if self.amount > 0 else PositionSide.SHORT

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        return self.amount * (mark - self.entry_price)


class PositionBook:
    """All positions of one account; `apply` books a fill and returns the realised PnL in quote."""

    def __init__(self) -> None:
        self.mode = PositionMode.ONEWAY
        self.positions: dict[str, SimPosition] = {}

    def key(self, trading_pair: str, side: PositionSide) -> str:
        return f"{trading_pair}{side.name}" if self.mode is PositionMode.HEDGE else trading_pair

    def for_pair(self, trading_pair: str) -> list[SimPosition]:
        return [p for p in self.positions.values() if p.trading_pair == trading_pair]

    def _hedge_side(self, is_buy: bool, action: PositionAction) -> PositionSide:
        return PositionSide.LONG if is_buy == (action is PositionAction.OPEN) else PositionSide.SHORT

    def target_key(self, trading_pair: str, is_buy: bool, action: PositionAction) -> str:
        if self.mode is PositionMode.HEDGE:
            return self.key(trading_pair, self._hedge_side(is_buy, action))
        return trading_pair

    def reducible(self, trading_pair: str, is_buy: bool, action: PositionAction) -> Decimal:
        """How much an order could reduce (0 if it would only open or grow a position)."""
        pos = self.positions.get(self.target_key(trading_pair, is_buy, action))
        if pos is None or (self.mode is PositionMode.HEDGE and action is PositionAction.OPEN):
            return _0
        reduces = pos.amount < 0 if is_buy else pos.amount > 0
        return abs(pos.amount) if reduces else _0

    def margin_increase(
        self, trading_pair: str, is_buy: bool, action: PositionAction, amount: Decimal, price: Decimal, leverage: int
    ) -> Decimal:
        """Margin after the fill minus margin before (negative when the order releases margin)."""
        trial = PositionBook()
        trial.mode, trial.positions = self.mode, copy.deepcopy(self.positions)
        before = sum((p.margin for p in trial.for_pair(trading_pair)), _0)
        trial.apply(trading_pair, is_buy, action, amount, price, leverage)
        return sum((p.margin for p in trial.for_pair(trading_pair)), _0) - before

    def apply(
        self, trading_pair: str, is_buy: bool, action: PositionAction, amount: Decimal, price: Decimal, leverage: int
    ) -> Decimal:
        """Book a fill of `amount` (> 0) at `price`; returns realised PnL (quote)."""
        key = self.target_key(trading_pair, is_buy, action)
        sign = Decimal(1) if is_buy else Decimal(-1)
        if self.mode is PositionMode.HEDGE:
            sign = Decimal(1) if self._hedge_side(is_buy, action) is PositionSide.LONG else Decimal(-1)
            if action is PositionAction.OPEN:
                self._grow(key, trading_pair, sign, amount, price, leverage)
                return _0
            return self._reduce(key, amount, price)
        pos = self.positions.get(key)
        if pos is None or (pos.amount > 0) == (sign > 0):
            self._grow(key, trading_pair, sign, amount, price, leverage)
            return _0
        reduced = min(amount, abs(pos.amount))
        realized = self._reduce(key, reduced, price)
        if amount > reduced:
            self._grow(key, trading_pair, sign, amount - reduced, price, leverage)
        return realized

    def _grow(self, key: str, trading_pair: str, sign: Decimal, amount: Decimal, price: Decimal, leverage: int) -> None:
        pos = self.positions.get(key)
        if pos is None:
            self.positions[key] = SimPosition(trading_pair, sign * amount, price, amount * price / leverage, leverage)
            return
        size = abs(pos.amount) + amount
        pos.entry_price = (abs(pos.amount) * pos.entry_price + amount * price) / size
        pos.amount = sign * size
        pos.margin += amount * price / pos.leverage

    def _reduce(self, key: str, amount: Decimal, price: Decimal) -> Decimal:
        pos = self.positions.get(key)
        if pos is None or amount <= 0:
            return _0
        amount = min(amount, abs(pos.amount))
        direction = Decimal(1) if pos.amount > 0 else Decimal(-1)
        realized = amount * (price - pos.entry_price) * direction
        pos.margin -= pos.margin * amount / abs(pos.amount)
        pos.amount -= direction * amount
        if pos.amount == 0:
            del self.positions[key]
        return realized

    def leverage_change_cost(self, trading_pair: str, leverage: int) -> Decimal:
        """Extra margin re-margining the pair's positions at `leverage` would take (negative: margin released)."""
        return sum((abs(p.amount) * p.entry_price / leverage - p.margin for p in self.for_pair(trading_pair)), _0)

    def set_leverage(self, trading_pair: str, leverage: int) -> None:
        for pos in self.for_pair(trading_pair):
            pos.margin, pos.leverage = abs(pos.amount) * pos.entry_price / leverage, leverage

    def get(self, key: str) -> SimPosition | None:
        return self.positions.get(key)
