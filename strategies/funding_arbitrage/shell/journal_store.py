"""The pair store persisted in the journal: pair records and their orders as journal documents.

`JournaledPairStore` is the `PairStore` of `state.py` whose `save()` writes every changed record to the journal in
one transaction (a state change adds a transition row; an order id not seen before adds an order document) and then
refreshes the JSON `state_file`, which is only an export for people and tools (never read back, except once to
import a pre-journal state file into an empty journal). `load()` reads the journal.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .journal import Journal, encode
from .state import PairRecord, PairStore, StateError, _record_from

log = logging.getLogger(__name__)


class JournaledPairStore(PairStore):
    """`PairStore` backed by the journal; the JSON file at `path` is a read-only export of it."""

    def __init__(self, path: Path | None, journal: Journal) -> None:
        super().__init__(path)
        self.journal = journal
        self._saved: dict[str, str] = {}  # pair_id -> last document written (to write only what changed)
        self._orders_seen: set[str] = set()

    def load(self) -> list[PairRecord]:
        """Records from the journal; an empty journal imports a pre-journal JSON state file once.

        Raises:
            StateError: a stored document cannot be read (the journal is left as it is).
        """
        docs = self.journal.load_pairs()
        if not docs and self.path is not None and self.path.exists():
            records = super().load()
            if records:
                log.warning(
                    "journal_import path=%s pairs=%d: the JSON state file was imported into the journal %s; "
                    "from now on the journal is the source and the JSON file its export",
                    self.path,
                    len(records),
                    self.journal.path,
                )
                self.save()
            return records
        try:
            records = [_record_from(d) for d in docs]
        except (ValueError, KeyError, TypeError) as e:
            raise StateError(
                f"{self.journal.path}: a pair document is unreadable ({e!r}); the journal was left untouched"
            ) from e
        self.records = {r.pair_id: r for r in records}
        self._seq = int(self.journal.get_meta("pair_seq") or 0)
        self._saved = {r.pair_id: _doc_text(r) for r in records}
        self._orders_seen = {oid for r in records for oid in r.orders}
        return records

    def new_id(self, token: str, ts: float) -> str:
        pair_id = super().new_id(token, ts)
        self.journal.set_meta("pair_seq", str(self._seq))
        return pair_id

    def save(self) -> None:
        """Write changed records (and new orders) to the journal in one transaction, then the JSON export."""
        changed = []
        for r in self.records.values():
            text = _doc_text(r)
            if self._saved.get(r.pair_id) != text:
                changed.append((r, text))
        if changed:
            self.journal.put_pairs(
                (r.pair_id, r.state.value, r.token, r.updated_ts, json.loads(text), r.close_reason)
                for r, text in changed
            )
            for r, text in changed:
                self._saved[r.pair_id] = text
                for order_id, side in r.orders.items():
                    if order_id not in self._orders_seen:
                        self._orders_seen.add(order_id)
                        leg = r.leg(side)
                        self.journal.put_order(
                            order_id,
                            r.pair_id,
                            "placed",
                            r.updated_ts,
                            {
                                "client_order_id": order_id,
                                "pair_id": r.pair_id,
                                "side": side,
                                "connector": leg.connector,
                                "trading_pair": leg.trading_pair,
                                "state": "placed",
                            },
                        )
        super().save()

    def order_event(self, order_id: str, state: str, ts: float, detail: dict[str, Any] | None = None) -> None:
        """Record an order's new state (filled, failed, cancelled, ...) in its journal document."""
        found = self.by_order(order_id)
        if found is None:
            return
        record, side = found
        leg = record.leg(side)
        doc = {
            "client_order_id": order_id,
            "pair_id": record.pair_id,
            "side": side,
            "connector": leg.connector,
            "trading_pair": leg.trading_pair,
            "state": state,
            **(detail or {}),
        }
        self._orders_seen.add(order_id)
        self.journal.put_order(order_id, record.pair_id, state, ts, doc)


def _doc_text(record: PairRecord) -> str:
    return json.dumps(asdict(record), default=encode, sort_keys=True)
