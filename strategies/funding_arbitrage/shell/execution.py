"""Plain two-leg market execution and fill bookkeeping for hedged pairs (shell layer).

Both legs are sent as MARKET orders of the same lot-rounded amount; closes are marked `PositionAction.CLOSE`
(reduce-only where the venue supports it). Fills update the `PairRecord`; a leg whose partner fails or does
not fill within `single_leg_timeout_s` is unwound, so no naked leg is kept.
"""
from __future__ import annotations

import logging
from decimal import ROUND_CEILING, Decimal
from typing import Any, Callable, Mapping, Optional

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

    def close_pair(self, record: PairRecord, ts: float, reason: str, fraction: Decimal = Decimal(1),
                   lots: Optional[Mapping[tuple[str, str], Decimal]] = None) -> None:
        """Close `fraction` of both legs (1 = all); a partial cut is rounded up to the leg's lot
        (`lots`: (connector, trading_pair) -> lot size), as venues reject amounts below one lot.
        Marks the pair UNWINDING when closing fully (also when the rounded cuts take everything)."""
        cuts = {leg.side: _cut(abs(leg.filled_base), fraction, (lots or {}).get((leg.connector, leg.trading_pair)))
                for leg in record.legs()}
        full = all(cuts[leg.side] >= abs(leg.filled_base) for leg in record.legs())
        if full:
            record.transition(PairState.UNWINDING, ts, reason)
        for leg in record.legs():
            if not full:
                leg.target_base = abs(leg.filled_base) - cuts[leg.side]
            if cuts[leg.side] > 0:
                self._place(record, leg, cuts[leg.side], opening=False, ts=ts)
        self._store.save()

    def unwind_imbalanced(self, record: PairRecord, venue_amounts: Mapping[tuple[str, str], Decimal], ts: float
                          ) -> None:
        """Close what the venues really hold for an IMBALANCED pair (e.g. one leg was liquidated): perp legs adopt
        the venue's position first, so reduce-only closes match it; a leg already flat needs no order."""
        for leg in record.legs():
            key = (leg.connector, leg.trading_pair)
            if leg.kind == "perp" and key in venue_amounts:
                leg.filled_base = venue_amounts[key]
        self.close_pair(record, ts, record.close_reason or "imbalanced: venue position differs from the record; closing what the venues hold")
        self._advance(record, ts)
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
            self._mark_failed_leg(record, leg.side, ts, closing=not opening)
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
        if opening and record.state is PairState.UNWINDING:
            # an entry order filled after the pair was given up (partner rejected, single-leg timeout): close it too
            self._place(record, leg, amount, opening=False, ts=ts)
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
        pending = self._pending.pop(order_id, None)
        found = self._store.by_order(order_id)
        if found is None:
            return None
        record, side = found
        self._on_error(ts, "order_failed", f"pair={record.pair_id} leg={side}: {message}")
        closing = pending is None or pending[2] != PositionAction.OPEN.name  # unknown (restart): assume a close
        self._mark_failed_leg(record, side, ts, closing)
        self._store.save()
        return record

    def _mark_failed_leg(self, record: PairRecord, side: str, ts: float, closing: bool) -> None:
        """React to a leg's order that failed: unwind the partner of a failed entry; a failed close order of an
        unwinding pair needs the operator (FAILED); a failed entry order of an unwinding pair only ends it."""
        if record.state is PairState.OPENING:
            other = "short" if side == "long" else "long"
            if abs(record.leg(other).filled_base) > 0 or self._has_pending(record, other):
                self.unwind_leg(record, other, ts, f"{side} leg rejected")
            else:
                record.transition(PairState.UNWINDING, ts, f"{side} leg rejected")
                self._advance(record, ts)
        elif record.state is PairState.UNWINDING and closing:
            record.transition(PairState.FAILED, ts, f"unwind order on {side} leg failed")
        elif record.state is PairState.UNWINDING:
            self._advance(record, ts)

    def working_entry_orders(self) -> dict[str, tuple[str, str]]:
        """Opening orders not yet completed: order_id -> (connector, trading_pair)."""
        out = {}
        for order_id, (pair_id, side, action) in self._pending.items():
            record = self._store.records.get(pair_id)
            if record is not None and action == PositionAction.OPEN.name:
                leg = record.leg(side)
                out[order_id] = (leg.connector, leg.trading_pair)
        return out

    def working_markets(self) -> set[tuple[str, str]]:
        """(connector, trading_pair) of every order still working."""
        out = set()
        for pair_id, side, _ in self._pending.values():
            record = self._store.records.get(pair_id)
            if record is not None:
                out.add((record.leg(side).connector, record.leg(side).trading_pair))
        return out

    def has_pending(self, record: PairRecord) -> bool:
        """Any order of this pair still working (placed, not completed, failed or cancelled)."""
        return any(pid == record.pair_id for pid, _, _ in self._pending.values())

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


def _cut(held: Decimal, fraction: Decimal, lot: Optional[Decimal]) -> Decimal:
    """Base amount to close of a leg holding `held`: all at fraction >= 1, else `held * fraction` rounded up to
    `lot` (None or 0: unrounded), at most `held`."""
    if fraction >= 1:
        return held
    cut = held * fraction
    if lot:
        cut = (cut / lot).to_integral_value(rounding=ROUND_CEILING) * lot
    return min(cut, held)
