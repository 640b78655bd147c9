"""Plain two-leg market execution and fill bookkeeping for hedged pairs (shell layer).

Both legs are sent as MARKET orders of the same lot-rounded amount; closes are marked `PositionAction.CLOSE`
(reduce-only where the venue supports it). Fills update the `PairRecord`; a leg whose partner fails or does
not fill within `single_leg_timeout_s` is unwound, so no naked leg is kept.
"""
from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any, Callable, Optional

from hummingbot.core.data_type.common import OrderType, PositionAction, TradeType

from .state import Leg, PairRecord, PairState, PairStore

log = logging.getLogger(__name__)
DUST_FRACTION = Decimal("0.001")  # a leg below 0.1 % of target counts as flat


class LegExecutor:
    """Places and tracks orders for pair records through the strategy's `buy`/`sell`."""

    def __init__(self, strategy: Any, store: PairStore, on_error: Callable[[float, str, str], None]) -> None:
        self._strategy = strategy
        self._store = store
        self._on_error = on_error
        self._pending: dict[str, tuple[str, str, str]] = {}  # order_id -> (pair_id, side, action)

    # --- placing -------------------------------------------------------------------------------------
    def open_pair(self, record: PairRecord, ts: float) -> None:
        self._store.add(record)
        for leg in record.legs():
            self._place(record, leg, leg.target_base, opening=True, ts=ts)
        self._store.save()

    def close_pair(self, record: PairRecord, ts: float, reason: str, fraction: Decimal = Decimal(1)) -> None:
        """Close `fraction` of both legs (1 = all). Marks the pair UNWINDING when closing fully."""
        if fraction >= 1:
            record.transition(PairState.UNWINDING, ts, reason)
        for leg in record.legs():
            amount = abs(leg.filled_base) * min(fraction, Decimal(1))
            if amount > 0:
                self._place(record, leg, amount, opening=False, ts=ts)
        if fraction < 1:
            for leg in record.legs():
                leg.target_base = abs(leg.filled_base) * (1 - fraction)
        self._store.save()

    def unwind_leg(self, record: PairRecord, side: str, ts: float, reason: str) -> None:
        """Close whatever one leg holds (single-leg timeout or partner rejected)."""
        leg = record.leg(side)
        if record.state is not PairState.UNWINDING:
            record.transition(PairState.UNWINDING, ts, reason)
        if abs(leg.filled_base) > 0:
            self._place(record, leg, abs(leg.filled_base), opening=False, ts=ts)
        self._store.save()

    def _place(self, record: PairRecord, leg: Leg, amount: Decimal, opening: bool, ts: float) -> None:
        buy = (leg.side == "long") == opening
        action = PositionAction.OPEN if opening else PositionAction.CLOSE
        try:
            fn = self._strategy.buy if buy else self._strategy.sell
            if leg.kind == "perp":
                order_id = fn(leg.connector, leg.trading_pair, amount, OrderType.MARKET, position_action=action)
            else:
                order_id = fn(leg.connector, leg.trading_pair, amount, OrderType.MARKET)
        except Exception as e:  # the connector refused synchronously: count it, leave the record consistent
            self._on_error(ts, "order_place_failed", f"{leg.connector} {leg.trading_pair}: {e!r}")
            self._mark_failed_leg(record, leg.side, ts)
            return
        record.orders[order_id] = leg.side
        self._pending[order_id] = (record.pair_id, leg.side, action.name)
        log.info("order_placed pair=%s leg=%s connector=%s pair=%s side=%s amount=%s action=%s id=%s",
                 record.pair_id, leg.side, leg.connector, leg.trading_pair, "BUY" if buy else "SELL",
                 amount, action.name, order_id)

    # --- events --------------------------------------------------------------------------------------
    def on_fill(self, order_id: str, trade_type: TradeType, price: Decimal, amount: Decimal,
                fee_quote: Decimal, ts: float) -> Optional[PairRecord]:
        found = self._store.by_order(order_id)
        if found is None:
            return None
        record, side = found
        leg = record.leg(side)
        signed = amount if trade_type == TradeType.BUY else -amount
        opening = (signed > 0) == (leg.side == "long")
        if opening:
            leg.cost_quote += price * amount
        elif leg.filled_base:
            leg.cost_quote -= leg.cost_quote * min(Decimal(1), amount / abs(leg.filled_base))
        leg.filled_base += signed
        leg.fees_quote += fee_quote
        if record.first_fill_ts is None:
            record.first_fill_ts = ts
        record.updated_ts = ts
        self._advance(record, ts)
        self._store.save()
        return record

    def on_order_done(self, order_id: str, ts: float) -> None:
        """An order completed: it can no longer fill, so the pair may now be hedged or closed."""
        self._pending.pop(order_id, None)
        found = self._store.by_order(order_id)
        if found is not None:
            self._advance(found[0], ts)
            self._store.save()

    def on_failure(self, order_id: str, ts: float, message: str) -> Optional[PairRecord]:
        self._pending.pop(order_id, None)
        found = self._store.by_order(order_id)
        if found is None:
            return None
        record, side = found
        self._on_error(ts, "order_failed", f"pair={record.pair_id} leg={side}: {message}")
        self._mark_failed_leg(record, side, ts)
        self._store.save()
        return record

    def _mark_failed_leg(self, record: PairRecord, side: str, ts: float) -> None:
        if record.state is PairState.OPENING:
            other = "short" if side == "long" else "long"
            if abs(record.leg(other).filled_base) > 0 or self._has_pending(record, other):
                self.unwind_leg(record, other, ts, f"{side} leg rejected")
            else:
                record.transition(PairState.UNWINDING, ts, f"{side} leg rejected")
                self._advance(record, ts)
        elif record.state is PairState.UNWINDING:
            record.transition(PairState.FAILED, ts, f"unwind order on {side} leg failed")

    def working_entry_orders(self) -> dict[str, tuple[str, str]]:
        """Opening orders not yet completed: order_id -> (connector, trading_pair)."""
        out = {}
        for order_id, (pair_id, side, action) in self._pending.items():
            record = self._store.records.get(pair_id)
            if record is not None and action == PositionAction.OPEN.name:
                leg = record.leg(side)
                out[order_id] = (leg.connector, leg.trading_pair)
        return out

    def _has_pending(self, record: PairRecord, side: str) -> bool:
        return any(pid == record.pair_id and s == side for pid, s, _ in self._pending.values())

    def _advance(self, record: PairRecord, ts: float) -> None:
        def done(leg: Leg) -> bool:
            return abs(leg.filled_base) >= leg.target_base * (1 - DUST_FRACTION)

        def flat(leg: Leg) -> bool:
            return abs(leg.filled_base) <= leg.target_base * DUST_FRACTION

        idle = not self._has_pending(record, "long") and not self._has_pending(record, "short")
        if record.state is PairState.OPENING and done(record.long) and done(record.short):
            record.transition(PairState.HEDGED, ts)
        elif record.state is PairState.UNWINDING and idle and flat(record.long) and flat(record.short):
            record.transition(PairState.CLOSED, ts)

    def abort_opening(self, record: PairRecord, ts: float, reason: str) -> None:
        """Single-leg timeout: the pair never got hedged; close whatever each leg holds."""
        if record.state is not PairState.OPENING:
            return
        self._on_error(ts, "single_leg_timeout", f"pair={record.pair_id}: {reason}")
        record.transition(PairState.UNWINDING, ts, "single-leg timeout")
        for leg in record.legs():
            if abs(leg.filled_base) > 0:
                self._place(record, leg, abs(leg.filled_base), opening=False, ts=ts)
        self._advance(record, ts)
        self._store.save()
