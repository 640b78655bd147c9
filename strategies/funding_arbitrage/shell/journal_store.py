"""The pair store and the order tracker's store persisted in the journal (exec's `PairStore` / `OrderStore`).

`JournaledPairStore` is the `PairStore` of `state.py` whose `save()` writes every changed pair record to the journal in
one transaction (a state change adds a transition row) and then refreshes the JSON `state_file`, which is only an
export for people and tools (never read back, except once to import a pre-journal state file into an empty journal).
Its order tracker persists through `JournalOrderStore`: each order change is one journal transaction (the
`TrackedOrder` document keyed by client order id, its status indexed). `load()` reads both from the journal.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..core.orders import OrderTracker, TrackedOrder
from .journal import Journal
from .state import PairRecord, PairStore, StateError, _record_from, record_text

log = logging.getLogger(__name__)


class JournalOrderStore:
    """`OrderStore` over the journal: one transaction per order change; the JSON export follows the pairs' saves."""

    def __init__(self, pairs: JournaledPairStore) -> None:
        self._pairs = pairs

    def upsert(self, order: TrackedOrder) -> None:
        self._pairs.orders[order.client_order_id] = order
        self._pairs.journal.put_order(
            order.client_order_id,
            order.pair_id,
            order.status.value,
            order.updated_ts or order.placed_ts,
            order.to_dict(),
        )

    def load(self) -> list[TrackedOrder]:
        return list(self._pairs.orders.values())


class JournaledPairStore(PairStore):
    """`PairStore` backed by the journal; the JSON file at `path` is a read-only export of it."""

    def __init__(self, path: Path | None, journal: Journal) -> None:
        super().__init__(path)
        self.journal = journal
        self._saved: dict[str, str] = {}  # pair_id -> last document written (to write only what changed)
        self.tracker = OrderTracker(JournalOrderStore(self))

    def load(self) -> list[PairRecord]:
        """Records and orders from the journal; an empty journal imports a pre-journal JSON state file once.

        Raises:
            StateError: a stored document cannot be read (the journal is left as it is).
        """
        docs = self.journal.load_pairs()
        if not docs and self.path is not None and self.path.exists():
            records = super().load()
            self.tracker = OrderTracker(JournalOrderStore(self))
            if records:
                log.warning(
                    "journal_import path=%s pairs=%d orders=%d: the JSON state file was imported into the journal "
                    "%s; from now on the journal is the source and the JSON file its export",
                    self.path,
                    len(records),
                    len(self.orders),
                    self.journal.path,
                )
                for order in list(self.orders.values()):
                    JournalOrderStore(self).upsert(order)
                self.save()
            return records
        try:
            records = [_record_from(d) for d in docs]
            orders = [TrackedOrder.from_dict(d) for d in self.journal.load_orders()]
        except (ValueError, KeyError, TypeError) as e:
            raise StateError(
                f"{self.journal.path}: a pair or order document is unreadable ({e!r}); the journal was left untouched"
            ) from e
        self.records = {r.pair_id: r for r in records}
        self.orders = {o.client_order_id: o for o in orders}
        self._seq = int(self.journal.get_meta("pair_seq") or 0)
        self._saved = {r.pair_id: record_text(r) for r in records}
        self.tracker = OrderTracker(JournalOrderStore(self))
        return records

    def new_id(self, token: str, ts: float) -> str:
        pair_id = super().new_id(token, ts)
        self.journal.set_meta("pair_seq", str(self._seq))
        return pair_id

    def save(self) -> None:
        """Write changed records to the journal in one transaction, then the JSON export. Each record is encoded
        once: the same document finds the change, goes to the journal and becomes the export's line."""
        texts = self.pair_texts()
        saved = self._saved
        changed = [(r, texts[pair_id]) for pair_id, r in self.records.items() if saved.get(pair_id) != texts[pair_id]]
        if changed:
            self.journal.put_pair_docs(
                (r.pair_id, r.state.value, r.token, r.updated_ts, text, r.close_reason) for r, text in changed
            )
            for r, text in changed:
                saved[r.pair_id] = text
        self._write(texts)
