"""Hedged-pair records, the order tracker's store, and their persistence (no hummingbot import).

A `PairRecord` is one delta-neutral position: a long leg and a short leg of the same token on two venues. Its
behaviour is the pure lifecycle table (`core/lifecycle.py`); the record keeps the lifecycle's book (`book`) and a
coarse, stable view of it for status, metrics and reports (`state`):

    OPENING (OPENING_FIRST, OPENING_SECOND) -> HEDGED <-> REDUCING -> UNWINDING (CLOSING) -> CLOSED

Orders are tracked once, by client order id, in `core/orders.OrderTracker`; this file is its store today
(`StateFileOrderStore`), behind the `OrderStore` interface so the SQLite journal can replace it.

The file is written atomically (temp file, fsync, rename) after every change, so a crash never leaves a
half-written file and no position or order is forgotten across restarts.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, Iterable, Optional

from ..core import lifecycle as lc
from ..core.lifecycle import LifecycleState
from ..core.orders import OrderStatus, OrderTracker, TrackedOrder
from .state_codec import RecordDecoder, array_text, doc_text


class PairState(str, Enum):  # noqa: UP042 - same str-Enum idiom as snapshots.MarketKind
    """The coarse view of `LifecycleState` shown in status, metrics and reports."""

    OPENING = "OPENING"
    HEDGED = "HEDGED"
    REDUCING = "REDUCING"
    UNWINDING = "UNWINDING"
    CLOSED = "CLOSED"


VIEW = {
    LifecycleState.OPENING_FIRST: PairState.OPENING,
    LifecycleState.OPENING_SECOND: PairState.OPENING,
    LifecycleState.HEDGED: PairState.HEDGED,
    LifecycleState.REDUCING: PairState.REDUCING,
    LifecycleState.CLOSING: PairState.UNWINDING,
    LifecycleState.CLOSED: PairState.CLOSED,
}


_CLOSED = PairState.CLOSED


class StateError(RuntimeError):
    """The state file cannot be read or a transition is not allowed."""


@dataclass
class Leg:
    connector: str
    trading_pair: str
    kind: str  # "perp" or "spot"
    side: str  # "long" or "short"
    filled_base: Decimal = Decimal(0)  # signed: + long, - short
    cost_quote: Decimal = Decimal(0)  # sum(price * amount) of opening fills (absolute)
    fees_quote: Decimal = Decimal(0)
    target_base: Decimal = Decimal(0)  # absolute amount this leg should hold once hedged
    margin_quote: Decimal = Decimal(0)  # margin posted at the leg's largest size; stays with the rest when reduced
    leverage: Optional[int] = None  # perp: the leverage it was opened / last confirmed at (None: spot, older file)

    @property
    def avg_entry_price(self) -> Optional[Decimal]:
        return self.cost_quote / abs(self.filled_base) if self.filled_base else None


@dataclass
class PairRecord:
    pair_id: str
    token: str
    long: Leg
    short: Leg
    state: PairState
    opened_ts: float
    updated_ts: float
    funding_received_quote: Decimal = Decimal(0)
    close_reason: Optional[str] = None
    closed_ts: Optional[float] = None
    book: dict[str, Any] = field(default_factory=dict)  # the lifecycle's PairBook (shell/execution.py encodes it)
    entry_edge_pct: Optional[Decimal] = None
    first_fill_ts: Optional[float] = None  # when the first leg filled: starts the single-leg timer

    def legs(self) -> tuple[Leg, Leg]:
        return self.long, self.short

    def leg(self, side: str) -> Leg:
        return self.long if side == "long" else self.short

    @property
    def hedge_gap_base(self) -> Decimal:
        """Long fill minus short fill (absolute); 0 when perfectly hedged."""
        return abs(self.long.filled_base + self.short.filled_base)

    @property
    def is_open(self) -> bool:
        return self.state not in (PairState.CLOSED,)

    def transition(self, new: PairState, ts: float, reason: Optional[str] = None) -> None:
        """Show the lifecycle's new state (the lifecycle table decides; this only records it)."""
        if reason and self.close_reason is None and new in (PairState.UNWINDING, PairState.CLOSED):
            self.close_reason = reason
        if new == self.state:
            return
        self.state = new
        self.updated_ts = ts
        if new is PairState.CLOSED:
            self.closed_ts = ts


V1_STATES = {"FAILED": "UNWINDING", "IMBALANCED": "REDUCING"}  # version-1 files: states that no longer rest


def _pair_state(value: Any) -> PairState:
    return PairState(V1_STATES.get(value, value))


# Fields every file version holds: missing, the file is corrupt. Any other field missing (a file written before the
# field existed) loads as its dataclass default. Both directions are generic over the fields (state_codec.py).
_LEG_REQUIRED = frozenset(
    {"connector", "trading_pair", "kind", "side", "filled_base", "cost_quote", "fees_quote", "target_base"}
)
_RECORD_REQUIRED = frozenset(
    {"pair_id", "token", "long", "short", "state", "opened_ts", "updated_ts", "funding_received_quote"}
)
_decode_leg = RecordDecoder(Leg, _LEG_REQUIRED, {PairState: _pair_state})
_decode_record = RecordDecoder(PairRecord, _RECORD_REQUIRED, {PairState: _pair_state, Leg: _decode_leg})


def _record_from(d: dict[str, Any]) -> PairRecord:
    """A record from its document. Raises KeyError, ValueError or TypeError naming the field."""
    return _decode_record(d)  # type: ignore[no-any-return]


def record_text(record: PairRecord) -> str:
    """The record as one compact JSON line, keys sorted (every dataclass field; the journal's document format)."""
    return doc_text(record)


class PairStore:
    """All pair records, persisted to one JSON file. Closed records are kept (bounded) for the status."""

    VERSION = 2
    MAX_CLOSED = 200

    def __init__(self, path: Optional[Path]) -> None:
        self.path = path
        self.records: dict[str, PairRecord] = {}
        self.orders: dict[str, TrackedOrder] = {}  # what StateFileOrderStore keeps; OrderTracker is the reader
        self._seq = 0
        self._order_texts: dict[str, tuple[TrackedOrder, str]] = {}  # client order id -> (order, its line)
        self.tracker = OrderTracker(StateFileOrderStore(self))

    def open_records(self) -> list[PairRecord]:
        """Every record not CLOSED (`PairRecord.is_open`, inlined: several calls a tick)."""
        return [r for r in self.records.values() if r.state != _CLOSED]

    def by_order(self, order_id: str) -> Optional[tuple[PairRecord, str]]:
        """The pair and leg ("long" / "short") of a tracked order, or None."""
        order = self.tracker.get(order_id)
        if order is None or order.pair_id not in self.records:
            return None
        return self.records[order.pair_id], order.leg.value

    def order_ids(self, pair_id: str) -> list[str]:
        return [o.client_order_id for o in self.tracker.of_pair(pair_id)]

    def new_id(self, token: str, ts: float) -> str:
        self._seq += 1
        return f"{token}-{int(ts)}-{self._seq}"

    def add(self, record: PairRecord) -> None:
        self.records[record.pair_id] = record
        self._trim()

    def _trim(self) -> None:
        closed = sorted((r for r in self.records.values() if not r.is_open), key=lambda r: r.closed_ts or 0)
        for r in closed[: max(0, len(closed) - self.MAX_CLOSED)]:
            del self.records[r.pair_id]
        for oid, order in list(self.orders.items()):  # finished orders of forgotten pairs
            if order.status.done and order.pair_id not in self.records:
                del self.orders[oid]

    def load(self) -> list[PairRecord]:
        """Read the file if it exists (this version's one-record-per-line layout or the older indented one: both are
        plain JSON). Raises StateError naming the file when it is corrupt."""
        if self.path is None or not self.path.exists():
            return []
        try:
            data = json.loads(self.path.read_text())
            if not isinstance(data, dict):
                raise TypeError(f"expected a JSON object, found {type(data).__name__}")
            if data.get("version") not in (1, self.VERSION):  # 1: no orders section; recovery asks the venues
                raise StateError(
                    f"{self.path}: unsupported state version {data.get('version')!r} "
                    f"(this version reads {self.VERSION})"
                )
            records = [_record_from(d) for d in data["pairs"]]
            orders = [TrackedOrder.from_dict(d) for d in data.get("orders", [])]
            self._seq = int(data.get("seq", 0))
        except (ValueError, KeyError, TypeError) as e:
            raise StateError(
                f"{self.path}: state file is unreadable ({e!r}); it was left untouched, "
                "move it aside after checking positions on the venues"
            ) from e
        self.records = {r.pair_id: r for r in records}
        self.orders = {o.client_order_id: o for o in orders}
        self.tracker = OrderTracker(StateFileOrderStore(self))
        return records

    def save(self) -> None:
        """Write the file atomically (temp file, fsync, rename): every record and order, one per line."""
        if self.path is None:
            return
        self._write(self.pair_texts())

    def pair_texts(self) -> dict[str, str]:
        """pair_id -> the record's document (`record_text`), for every record."""
        return {pair_id: doc_text(r) for pair_id, r in self.records.items()}

    def _write(self, pair_texts: dict[str, str]) -> None:
        """The file from the records' documents: valid JSON, keys sorted, one record or order per line."""
        if self.path is None:
            return
        pairs = [pair_texts[pair_id] for pair_id in sorted(pair_texts)]
        text = (
            f'{{"orders":{array_text(self._order_lines())},\n"pairs":{array_text(pairs)},\n'
            f'"seq":{int(self._seq)},\n"version":{self.VERSION}}}\n'
        )
        atomic_write_text(self.path, text)

    def _order_lines(self) -> list[str]:
        """Each order's document line, by client order id; an order (frozen) is encoded once per version of it."""
        known = self._order_texts
        lines: dict[str, tuple[TrackedOrder, str]] = {}
        for oid in sorted(self.orders):
            order = self.orders[oid]
            hit = known.get(oid)
            lines[oid] = hit if hit is not None and hit[0] is order else (order, doc_text(order.to_dict()))
        self._order_texts = lines
        return [text for _, text in lines.values()]


def encode_book(book: lc.PairBook) -> dict[str, Any]:
    return {
        "state": book.state.value,
        "first": book.first.value,
        "target_base": str(book.target_base),
        "lot_base": str(book.params.lot_base),
        "min_base": str(book.params.min_base),
        "max_entry_retries": book.params.max_entry_retries,
        "retry_backoff_s": book.params.retry_backoff_s,
        "max_backoff_s": book.params.max_backoff_s,
        "escalate_after": book.params.escalate_after,
        "held": [str(book.long.held_base), str(book.short.held_base)],
        "close_reason": book.close_reason.value if book.close_reason else None,
        "failures": book.failures,
        "entry_retries": book.entry_retries,
        "retry_at_ts": book.retry_at_ts,
        "reduce_to_base": None if book.reduce_to_base is None else str(book.reduce_to_base),
        "followed_base": str(book.followed_base),
        "maker_first": sorted(s.value for s in book.maker_first),
    }


FROM_VIEW = {
    PairState.HEDGED: LifecycleState.HEDGED,
    PairState.REDUCING: LifecycleState.REDUCING,
    PairState.UNWINDING: LifecycleState.CLOSING,
    PairState.CLOSED: LifecycleState.CLOSED,
}


def book_of_record(record: PairRecord) -> dict[str, Any]:
    """A book for a record that has none (state files of version 1): its state and what its legs hold; no lot
    rounding (unknown), nothing working (the venues are asked at restart)."""
    if record.state is PairState.OPENING:
        state = (
            LifecycleState.OPENING_SECOND
            if record.long.filled_base or record.short.filled_base
            else LifecycleState.OPENING_FIRST
        )
    else:
        state = FROM_VIEW[record.state]
    first = lc.LegSide.SHORT if record.short.filled_base and not record.long.filled_base else lc.LegSide.LONG
    params = lc.LifecycleParams(Decimal(0), Decimal(0))
    held = (abs(record.long.filled_base), abs(record.short.filled_base))
    book = lc.PairBook(
        state,
        first,
        max(record.long.target_base, held[0]),
        params,
        lc.LegBook(held[0]),
        lc.LegBook(held[1]),
        followed_base=held[0] if first is lc.LegSide.LONG else held[1],
    )
    return encode_book(book)


def decode_book(d: dict[str, Any], open_orders: list[TrackedOrder]) -> lc.PairBook:
    """The persisted book; working amounts come from the tracker's open orders (the one record of them)."""
    params = lc.LifecycleParams(
        Decimal(d["lot_base"]),
        Decimal(d["min_base"]),
        int(d["max_entry_retries"]),
        float(d["retry_backoff_s"]),
        float(d["max_backoff_s"]),
        int(d["escalate_after"]),
    )

    def leg(side: lc.LegSide, held: str) -> lc.LegBook:
        mine = [o for o in open_orders if o.leg is side]
        return lc.LegBook(
            Decimal(held),
            sum((o.remaining_base for o in mine if o.intent is lc.OrderIntent.OPEN), Decimal(0)),
            sum((o.remaining_base for o in mine if o.intent.reduces), Decimal(0)),
        )

    return lc.PairBook(
        lc.LifecycleState(d["state"]),
        lc.LegSide(d["first"]),
        Decimal(d["target_base"]),
        params,
        leg(lc.LegSide.LONG, d["held"][0]),
        leg(lc.LegSide.SHORT, d["held"][1]),
        lc.CloseReason(d["close_reason"]) if d.get("close_reason") else None,
        int(d["failures"]),
        int(d["entry_retries"]),
        d.get("retry_at_ts"),
        frozenset(o.leg for o in open_orders if o.status is OrderStatus.UNKNOWN),
        Decimal(d["reduce_to_base"]) if d.get("reduce_to_base") is not None else None,
        frozenset(lc.LegSide(s) for s in d.get("maker_first", [])),
        Decimal(d.get("followed_base", "0")),
    )


class StateFileOrderStore:
    """`OrderStore` over the state file: orders are written with the pairs, in the same atomic write."""

    def __init__(self, pairs: PairStore) -> None:
        self._pairs = pairs

    def upsert(self, order: TrackedOrder) -> None:
        self._pairs.orders[order.client_order_id] = order
        self._pairs.save()

    def load(self) -> list[TrackedOrder]:
        return list(self._pairs.orders.values())


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` so readers see the old or the new file, never a torn one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def net_exposure(records: Iterable[PairRecord]) -> dict[tuple[str, str], Decimal]:
    """Expected signed base exposure per (connector, trading_pair) from our own records (for reconciliation)."""
    out: dict[tuple[str, str], Decimal] = {}
    for r in records:
        if not r.is_open:
            continue
        for leg in r.legs():
            key = (leg.connector, leg.trading_pair)
            out[key] = out.get(key, Decimal(0)) + leg.filled_base
    return out
