"""The one order tracker: every order the strategy placed, keyed by client order id, persisted (pure core).

Each `TrackedOrder` says which pair and leg it belongs to, why it was placed (`OrderIntent`), its amount, when it
was placed, what filled (by trade id, so a fill learnt twice, from an event and from the venue's trade history, is
counted once) and its state. Persistence sits behind `OrderStore` (`upsert` / `load`): today the shell's state
file, later the SQLite journal; the tracker writes through on every change.

After a disconnect or a restart every order that was still working is UNKNOWN until the venue has been asked
(order status, trade history): nothing decides on it meanwhile, and it is never assumed unfilled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from .lifecycle import LegSide, OrderIntent


class OrderStatus(StrEnum):
    WORKING = "working"  # placed, may still fill
    UNKNOWN = "unknown"  # was working when events stopped (disconnect, restart): ask the venue
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"

    @property
    def done(self) -> bool:
        return self in (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED)


@dataclass(frozen=True)
class TrackedOrder:
    """One order; amounts in base (absolute), times in seconds."""

    client_order_id: str
    pair_id: str
    leg: LegSide
    intent: OrderIntent
    connector: str
    trading_pair: str
    amount_base: Decimal
    placed_ts: float
    status: OrderStatus = OrderStatus.WORKING
    filled_base: Decimal = Decimal(0)
    trade_ids: tuple[str, ...] = ()
    updated_ts: float = 0.0

    @property
    def remaining_base(self) -> Decimal:
        return max(Decimal(0), self.amount_base - self.filled_base)

    @property
    def is_buy(self) -> bool:
        """OPEN on the long leg buys; every reducing intent on the long leg sells (and the reverse on the short)."""
        return (self.leg is LegSide.LONG) == (self.intent is OrderIntent.OPEN)

    def to_dict(self) -> dict[str, Any]:
        return {
            "client_order_id": self.client_order_id,
            "pair_id": self.pair_id,
            "leg": self.leg.value,
            "intent": self.intent.value,
            "connector": self.connector,
            "trading_pair": self.trading_pair,
            "amount_base": str(self.amount_base),
            "placed_ts": self.placed_ts,
            "status": self.status.value,
            "filled_base": str(self.filled_base),
            "trade_ids": list(self.trade_ids),
            "updated_ts": self.updated_ts,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrackedOrder:
        """Raises ValueError naming the order and the field when a persisted order is malformed."""
        oid = d.get("client_order_id", "?")
        try:
            return cls(
                client_order_id=str(d["client_order_id"]),
                pair_id=str(d["pair_id"]),
                leg=LegSide(d["leg"]),
                intent=OrderIntent(d["intent"]),
                connector=str(d["connector"]),
                trading_pair=str(d["trading_pair"]),
                amount_base=Decimal(str(d["amount_base"])),
                placed_ts=float(d["placed_ts"]),
                status=OrderStatus(d["status"]),
                filled_base=Decimal(str(d.get("filled_base", "0"))),
                trade_ids=tuple(str(t) for t in d.get("trade_ids", [])),
                updated_ts=float(d.get("updated_ts", d["placed_ts"])),
            )
        except (KeyError, ValueError, ArithmeticError) as e:
            raise ValueError(f"order {oid}: malformed persisted order ({e!r})") from e


class OrderStore(Protocol):
    """Where tracked orders live between runs (state file today, SQLite journal next)."""

    def upsert(self, order: TrackedOrder) -> None: ...

    def load(self) -> list[TrackedOrder]: ...


class MemoryOrderStore:
    """An `OrderStore` that keeps nothing across runs (tests, replays without a state file)."""

    def __init__(self) -> None:
        self.orders: dict[str, TrackedOrder] = {}

    def upsert(self, order: TrackedOrder) -> None:
        self.orders[order.client_order_id] = order

    def load(self) -> list[TrackedOrder]:
        return list(self.orders.values())


@dataclass(frozen=True)
class FillResult:
    """What a fill did to its order: the order after it and the amount newly counted (0 for a duplicate)."""

    order: TrackedOrder
    new_base: Decimal


class OrderTracker:
    """All orders by client order id; every change is written to the store before it is returned."""

    def __init__(self, store: OrderStore) -> None:
        self._store = store
        self._orders: dict[str, TrackedOrder] = {o.client_order_id: o for o in store.load()}
        # the orders that may still fill, in tracking order: a done order never reopens, so every tick's
        # `open_orders()` reads these few instead of every order of the run
        self._open: dict[str, TrackedOrder] = {k: o for k, o in self._orders.items() if not o.status.done}

    def get(self, client_order_id: str) -> TrackedOrder | None:
        return self._orders.get(client_order_id)

    def all(self) -> list[TrackedOrder]:
        return list(self._orders.values())

    def _put(self, order: TrackedOrder) -> TrackedOrder:
        self._orders[order.client_order_id] = order
        if order.status.done:
            self._open.pop(order.client_order_id, None)
        else:
            self._open[order.client_order_id] = order
        self._store.upsert(order)
        return order

    def add(self, order: TrackedOrder) -> TrackedOrder:
        """Track a new order. Raises ValueError if the client id is already tracked (ids are never reused)."""
        if order.client_order_id in self._orders:
            raise ValueError(f"order {order.client_order_id} is already tracked")
        return self._put(order)

    def fill(self, client_order_id: str, trade_id: str, amount_base: Decimal, ts: float) -> FillResult | None:
        """Count a fill once per trade id; None for an order this strategy did not place."""
        order = self._orders.get(client_order_id)
        if order is None:
            return None
        if trade_id in order.trade_ids:
            return FillResult(order, Decimal(0))
        filled = order.filled_base + amount_base
        status = OrderStatus.FILLED if filled >= order.amount_base else order.status
        order = self._put(
            replace(order, filled_base=filled, trade_ids=(*order.trade_ids, trade_id), status=status, updated_ts=ts)
        )
        return FillResult(order, amount_base)

    def end(self, client_order_id: str, status: OrderStatus, ts: float) -> TrackedOrder | None:
        """The order can no longer fill (FILLED, CANCELLED, REJECTED). A second end is ignored (None)."""
        order = self._orders.get(client_order_id)
        if order is None or order.status.done:
            return None
        if not status.done:
            raise ValueError(f"order {client_order_id}: {status} is not an end state")
        return self._put(replace(order, status=status, updated_ts=ts))

    def mark_unknown(self, ts: float, connectors: Iterable[str] | None = None) -> list[TrackedOrder]:
        """Every working order (on `connectors`, or all) becomes UNKNOWN: events may have been lost."""
        names = None if connectors is None else set(connectors)
        out = []
        for order in list(self._open.values()):
            if order.status is OrderStatus.WORKING and (names is None or order.connector in names):
                out.append(self._put(replace(order, status=OrderStatus.UNKNOWN, updated_ts=ts)))
        return out

    def confirm_working(self, client_order_id: str, ts: float) -> TrackedOrder | None:
        """The venue says the order is still open: it is WORKING again."""
        order = self._orders.get(client_order_id)
        if order is None or order.status is not OrderStatus.UNKNOWN:
            return None
        return self._put(replace(order, status=OrderStatus.WORKING, updated_ts=ts))

    def open_orders(self, pair_id: str | None = None, leg: LegSide | None = None) -> list[TrackedOrder]:
        """Orders that may still fill (WORKING or UNKNOWN), optionally of one pair / leg."""
        if not self._open:
            return []
        return [
            o
            for o in self._open.values()
            if not o.status.done and (pair_id is None or o.pair_id == pair_id) and (leg is None or o.leg is leg)
        ]

    def unknown(self) -> list[TrackedOrder]:
        return [o for o in self._orders.values() if o.status is OrderStatus.UNKNOWN]

    def of_pair(self, pair_id: str) -> list[TrackedOrder]:
        return [o for o in self._orders.values() if o.pair_id == pair_id]
