"""What the runtime keeps in the journal besides pairs: risk state, funding (including funding paid while down),
liveness. One `Durability` per runtime; the runtime calls its hooks (see `runtime.py`).

Funding while the bot was down: at the first tick, every open pair's perp legs are checked. Where the connector
exposes a funding-payment history (`funding_payment_history(trading_pair, start_ts, end_ts)`, as the simulated
venues do like real venues' REST income endpoints), the payments since the pair opened are booked (the journal keys
them by venue + market + settlement time, so a payment already booked from its event is not booked twice). Where it
does not, and a settlement may have fallen inside the downtime, the gap is journaled and the pair's funding total
becomes unknown (None: N/A in status, metrics and reports; take-profit does not use it), never 0.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..core.config import FundingArbSettings
from ..core.risk import RiskGate
from .journal import Journal
from .state import PairRecord

log = logging.getLogger(__name__)
LAST_ALIVE_KEY = "last_alive_ts"
# strategy time between liveness marks (one journal write each): an older mark only makes a downtime look longer
# (funding booked from venue history or marked unknown, never assumed received); a clean stop always marks
ALIVE_EVERY_S = 300.0
HISTORY_METHOD = "funding_payment_history"


def journal_path(settings: FundingArbSettings, root: Path) -> Path:
    """`journal_file` under the project `root`; empty = beside `state_file` as `<state stem>.journal.sqlite`."""
    if settings.journal_file:
        return root / settings.journal_file
    state = root / settings.state_file
    return state.with_name(f"{state.stem}.journal.sqlite")


class Durability:
    """Risk-state persistence, funding booking and recovery, liveness marks, for one runtime."""

    def __init__(self, journal: Journal, settings: FundingArbSettings, risk: RiskGate) -> None:
        self.journal = journal
        self.settings = settings
        self.risk = risk
        self._risk_revision = -1
        self._alive_ts: float | None = None
        self._recovered = False
        self._pending: dict[tuple[str, str], tuple[float, set[str]]] = {}  # market -> (since_ts, pair ids)
        self.unknown_funding_pairs: set[str] = journal.funding_gap_pairs()
        doc = journal.load_risk_state()
        if doc is not None:
            risk.restore_state(doc)
        self._risk_revision = risk.revision

    # --- risk state ---------------------------------------------------------------------------------
    def save_risk(self, ts: float) -> None:
        """Persist the risk state when it changed since the last save (one transaction)."""
        if self.risk.revision != self._risk_revision:
            self.journal.save_risk_state(ts, self.risk.export_state())
            self._risk_revision = self.risk.revision

    def mark_alive(self, ts: float, force: bool = False) -> None:
        if force or self._alive_ts is None or ts - self._alive_ts >= ALIVE_EVERY_S:
            self.journal.set_meta(LAST_ALIVE_KEY, repr(ts))
            self._alive_ts = ts

    # --- funding ------------------------------------------------------------------------------------
    def funding_total(self, record: PairRecord) -> Decimal | None:
        """The pair's funding received (quote), None while unknown (a downtime gap, or history not yet read)."""
        if record.pair_id in self.unknown_funding_pairs or self._pending_for(record.pair_id):
            return None
        return record.funding_received_quote

    def _pending_for(self, pair_id: str) -> bool:
        if not self._pending:  # the usual tick: no funding history owed
            return False
        return any(pair_id in ids for _, ids in self._pending.values())

    def book(
        self,
        connector: str,
        trading_pair: str,
        settlement_ts: float,
        amount_quote: Decimal,
        rate: Decimal | None,
        source: str,
        holders: list[PairRecord],
    ) -> bool:
        """Journal one payment and split it over `holders` by their long size; False if it was already booked."""
        ids = [r.pair_id for r in holders]
        if not self.journal.record_funding(connector, trading_pair, settlement_ts, amount_quote, rate, source, ids):
            log.info(
                "funding_known connector=%s pair=%s ts=%s source=%s: already booked",
                connector,
                trading_pair,
                settlement_ts,
                source,
            )
            return False
        total = sum((abs(r.long.filled_base) for r in holders), Decimal(0))
        for r in holders:
            share = abs(r.long.filled_base) / total if total else Decimal(1) / len(holders)
            r.funding_received_quote += amount_quote * share
        return True

    def recover(self, ts: float, records: Iterable[PairRecord], connectors: dict[str, Any]) -> None:
        """At the first tick: plan the funding each open pair's perp legs may have missed while down, then try."""
        if self._recovered:
            return
        self._recovered = True
        last_alive = self.journal.get_meta(LAST_ALIVE_KEY)
        down_since = float(last_alive) if last_alive is not None else None
        for r in records:
            for leg in r.legs():
                if leg.kind != "perp":
                    continue
                key = (leg.connector, leg.trading_pair)
                connector = connectors.get(leg.connector)
                if connector is not None and callable(getattr(connector, HISTORY_METHOD, None)):
                    since, ids = self._pending.get(key, (r.opened_ts, set()))
                    self._pending[key] = (min(since, r.opened_ts), ids | {r.pair_id})
                else:
                    self._gap_if_settled(ts, down_since, r, leg.connector, leg.trading_pair)
        self.retry_history(ts, records, connectors)

    def retry_history(self, ts: float, records: Iterable[PairRecord], connectors: dict[str, Any]) -> None:
        """Query venue funding histories still pending (a failed query is retried next tick; funding stays N/A)."""
        if not self._pending:
            return
        open_records = list(records)
        for key, (since, ids) in list(self._pending.items()):
            connector, trading_pair = key
            try:
                payments = getattr(connectors[connector], HISTORY_METHOD)(trading_pair, since, ts)
            except (
                OSError,
                TimeoutError,
                ValueError,
                RuntimeError,
            ) as e:  # REST failure: retried next tick, N/A meanwhile
                log.warning(
                    "funding_history_failed connector=%s pair=%s error=%r (retried next tick)",
                    connector,
                    trading_pair,
                    e,
                )
                continue
            booked = Decimal(0)
            for p in payments:
                holders = [r for r in open_records if r.pair_id in ids and r.opened_ts <= p.ts]
                if holders and self.book(
                    connector, trading_pair, float(p.ts), Decimal(p.amount_quote), Decimal(p.rate), "history", holders
                ):
                    booked += Decimal(p.amount_quote)
            del self._pending[key]
            log.info(
                "funding_history_booked connector=%s pair=%s since=%s payments=%d new_total_quote=%s",
                connector,
                trading_pair,
                since,
                len(payments),
                booked,
            )

    def _gap_if_settled(
        self, ts: float, down_since: float | None, record: PairRecord, connector: str, trading_pair: str
    ) -> None:
        """Journal a funding gap when a settlement may lie in the downtime and no history can tell what was paid."""
        start = max(record.opened_ts, down_since) if down_since is not None else record.updated_ts
        interval = self.settings.interval_hint_s(connector, record.token)
        if interval and int(start // interval) == int(ts // interval):
            return  # no settlement boundary inside the downtime
        reason = f"{connector} exposes no funding-payment history; down from {start} to {ts}"
        self.journal.record_funding_gap(connector, trading_pair, start, ts, reason, [record.pair_id])
        self.unknown_funding_pairs.add(record.pair_id)
        log.warning(
            "funding_unknown pair=%s connector=%s market=%s from=%s to=%s: funding total is N/A from now on",
            record.pair_id,
            connector,
            trading_pair,
            start,
            ts,
        )
