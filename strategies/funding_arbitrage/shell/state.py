"""Hedged-pair records and their persistence (no hummingbot import).

A `PairRecord` is one delta-neutral position: a long leg and a short leg of the same token on two venues.
Its lifecycle is an explicit state machine (IDLE is implicit: no record):

    OPENING -> HEDGED -> UNWINDING -> CLOSED
    OPENING -> IMBALANCED -> UNWINDING | HEDGED
    any non-terminal -> FAILED (an unrecoverable error, e.g. a rejected unwind; needs the operator)

The store is written atomically (temp file, fsync, rename) after every change, so a crash never leaves a
half-written file and no position is forgotten across restarts.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, Iterable, Optional


class PairState(str, Enum):
    OPENING = "OPENING"
    HEDGED = "HEDGED"
    IMBALANCED = "IMBALANCED"
    UNWINDING = "UNWINDING"
    CLOSED = "CLOSED"
    FAILED = "FAILED"


ALLOWED = {
    PairState.OPENING: {PairState.HEDGED, PairState.IMBALANCED, PairState.UNWINDING, PairState.FAILED},
    PairState.HEDGED: {PairState.UNWINDING, PairState.IMBALANCED, PairState.FAILED},
    PairState.IMBALANCED: {PairState.HEDGED, PairState.UNWINDING, PairState.FAILED},
    PairState.UNWINDING: {PairState.CLOSED, PairState.IMBALANCED, PairState.FAILED},
    PairState.CLOSED: set(),
    PairState.FAILED: {PairState.UNWINDING},
}


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
    orders: dict[str, str] = field(default_factory=dict)  # order_id -> "long"/"short"
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
        """Move to `new`. Raises StateError if the state machine does not allow it."""
        if new == self.state:
            return
        if new not in ALLOWED[self.state]:
            raise StateError(f"pair {self.pair_id}: {self.state.value} -> {new.value} is not allowed")
        self.state = new
        self.updated_ts = ts
        if reason and new in (PairState.UNWINDING, PairState.FAILED) and self.close_reason is None:
            self.close_reason = reason
        if new is PairState.CLOSED:
            self.closed_ts = ts


def _encode(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, Enum):
        return obj.value
    raise TypeError(f"cannot encode {type(obj).__name__}")


def _leg_from(d: dict[str, Any]) -> Leg:
    return Leg(d["connector"], d["trading_pair"], d["kind"], d["side"], Decimal(d["filled_base"]),
               Decimal(d["cost_quote"]), Decimal(d["fees_quote"]), Decimal(d["target_base"]),
               Decimal(d.get("margin_quote", "0")))


def _record_from(d: dict[str, Any]) -> PairRecord:
    return PairRecord(
        pair_id=d["pair_id"], token=d["token"], long=_leg_from(d["long"]), short=_leg_from(d["short"]),
        state=PairState(d["state"]), opened_ts=float(d["opened_ts"]),
        updated_ts=float(d["updated_ts"]), funding_received_quote=Decimal(d["funding_received_quote"]),
        close_reason=d.get("close_reason"), closed_ts=d.get("closed_ts"), orders=dict(d.get("orders", {})),
        entry_edge_pct=Decimal(d["entry_edge_pct"]) if d.get("entry_edge_pct") is not None else None,
        first_fill_ts=d.get("first_fill_ts"),
    )


class PairStore:
    """All pair records, persisted to one JSON file. Closed records are kept (bounded) for the status."""

    VERSION = 1
    MAX_CLOSED = 200

    def __init__(self, path: Optional[Path]) -> None:
        self.path = path
        self.records: dict[str, PairRecord] = {}
        self._seq = 0

    def open_records(self) -> list[PairRecord]:
        return [r for r in self.records.values() if r.is_open]

    def by_order(self, order_id: str) -> Optional[tuple[PairRecord, str]]:
        for r in self.records.values():
            side = r.orders.get(order_id)
            if side is not None:
                return r, side
        return None

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

    def load(self) -> list[PairRecord]:
        """Read the file if it exists. Raises StateError naming the file when it is corrupt."""
        if self.path is None or not self.path.exists():
            return []
        try:
            data = json.loads(self.path.read_text())
            if data.get("version") != self.VERSION:
                raise StateError(f"{self.path}: unsupported state version {data.get('version')!r}")
            records = [_record_from(d) for d in data["pairs"]]
            self._seq = int(data.get("seq", 0))
        except (ValueError, KeyError, TypeError) as e:
            raise StateError(f"{self.path}: state file is unreadable ({e!r}); it was left untouched, "
                             "move it aside after checking positions on the venues") from e
        self.records = {r.pair_id: r for r in records}
        return records

    def save(self) -> None:
        if self.path is None:
            return
        payload = {"version": self.VERSION, "seq": self._seq,
                   "pairs": [asdict(r) for r in sorted(self.records.values(), key=lambda r: r.pair_id)]}
        atomic_write_text(self.path, json.dumps(payload, default=_encode, indent=1, sort_keys=True))


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
