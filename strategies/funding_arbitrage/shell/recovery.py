"""Restart recovery, before the first entry: persisted pairs and orders against what the venues hold.

Runs from the first tick on which every venue is ready; entries wait until it has finished:

1. every order that was working when the last run stopped becomes UNKNOWN and is resolved from the venue (order
   status, trade history) by the executor: interrupted entries and unwinds then finish through their lifecycle;
   the rest waits until no order is unknown any more (fills that landed while down are then in the records);
2. open pairs whose venue positions match are adopted as they are (the per-tick reconcile keeps checking);
3. perp positions no record explains (and no open order of ours may explain) are orphans, per `orphan_policy`:
   * `flatten`: each orphan becomes a pair record closing it reduce-only (retried like any close);
   * `adopt_if_hedged`: a long and a short orphan of one token that hedge each other (gap within one lot) are
     adopted as a HEDGED pair; anything else halts as below;
   * `halt` (default): entries halt, the positions are left to the operator.
   Whatever was done is logged, shown in the status (`RecoveryReport.summary`) and raised as an alert.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..core import lifecycle as lc
from ..core.snapshots import TickSnapshot
from .execution import lifecycle_params
from .state import Leg, PairRecord, PairState, encode_book, net_exposure
from .status import when

log = logging.getLogger(__name__)


@dataclass
class RecoveryReport:
    ts: float
    unknown_orders: list[str] = field(default_factory=list)
    adopted_pairs: list[str] = field(default_factory=list)
    orphans: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    actions: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return (
            f"recovery at {when(self.ts)}: {len(self.adopted_pairs)} open pairs kept, "
            f"{len(self.unknown_orders)} orders asked of the venues, {len(self.orphans)} orphan legs"
            + (f"; {'; '.join(self.actions)}" if self.actions else "")
        )


class Recovery:
    """The restart recovery of one runtime: `step` every tick until it returns the finished report."""

    def __init__(self) -> None:
        self.started: RecoveryReport | None = None

    def step(self, rt: Any, ts: float, tick: TickSnapshot) -> RecoveryReport | None:
        """None while waiting (venues not ready, orders still unknown); the report once recovery is done."""
        if not all(tick.ready.get(c, False) for c in rt.settings.all_connectors):
            return None
        if self.started is None:
            self.started = RecoveryReport(ts)
            self.started.unknown_orders = [o.client_order_id for o in rt.executor.restart_unknown(ts)]
            if self.started.unknown_orders:
                log.warning(
                    "recovery: asking the venues about %d orders of unknown state: %s",
                    len(self.started.unknown_orders),
                    ", ".join(self.started.unknown_orders),
                )
        if rt.store.tracker.unknown():
            return None  # decisions on orphans wait for the venues' answers
        return recover(rt, ts, tick, self.started)


def recover(rt: Any, ts: float, tick: TickSnapshot, report: RecoveryReport) -> RecoveryReport:
    """Orphans and the summary, once every order's state is known."""
    report.ts = ts
    report.adopted_pairs = [r.pair_id for r in rt.store.open_records()]
    expected = net_exposure(rt.store.records.values())
    working = rt.executor.working_markets()
    actual: dict[tuple[str, str], Decimal] = {}
    for p in tick.positions:
        actual[(p.connector, p.trading_pair)] = actual.get((p.connector, p.trading_pair), Decimal(0)) + p.amount
    report.orphans = {
        k: a
        for k, a in sorted(actual.items())
        if a != 0 and expected.get(k, Decimal(0)) == 0 and k not in working and k[0] in rt.settings.perp_connectors
    }
    if report.orphans:
        _orphans(rt, ts, tick, report)
    log.warning("%s", report.summary) if report.orphans or report.unknown_orders else log.info("%s", report.summary)
    if report.orphans or report.unknown_orders:
        rt.metrics.alert("restart_recovery", "critical" if report.orphans else "warning", report.summary, ts)
    rt.metrics.event(ts, "restart_recovery", report.summary)
    rt.store.save()
    return report


def _orphans(rt: Any, ts: float, tick: TickSnapshot, report: RecoveryReport) -> None:
    policy = rt.settings.orphan_policy
    by_token: dict[str, list[tuple[tuple[str, str], Decimal]]] = {}
    for key, amount in report.orphans.items():
        by_token.setdefault(key[1].split("-", 1)[0], []).append((key, amount))
    for token, legs in sorted(by_token.items()):
        longs = [(k, a) for k, a in legs if a > 0]
        shorts = [(k, a) for k, a in legs if a < 0]
        if policy == "adopt_if_hedged" and len(longs) == 1 and len(shorts) == 1:
            (lk, la), (sk, sa) = longs[0], shorts[0]
            lot = _lot(tick, lk, sk) or Decimal(0)  # without the markets' rules only an exact match is adopted
            if abs(la + sa) <= lot:
                record = _record(rt, ts, token, lk, la, sk, -sa, tick, lot)
                report.actions.append(f"adopted {token} {lk[0]} {la} / {sk[0]} {sa} as {record.pair_id}")
                continue
        if policy in ("flatten",):
            for key, amount in legs:
                other = next((c for c in rt.settings.perp_connectors if c != key[0]), key[0])
                lot = _lot(tick, key, key) or Decimal(0)
                if amount > 0:
                    record = _record(rt, ts, token, key, amount, (other, key[1]), Decimal(0), tick, lot)
                else:
                    record = _record(rt, ts, token, (other, key[1]), Decimal(0), key, -amount, tick, lot)
                rt.executor.send(record, lc.CloseRequested(ts, lc.CloseReason.ORPHAN), ts, "orphan")
                report.actions.append(f"flattening {key[0]} {key[1]} {amount} ({record.pair_id})")
            continue
        reason = (
            f"orphan legs on restart ({token}: {', '.join(f'{k[0]} {a}' for k, a in legs)}); "
            "orphan_policy=halt: left to the operator"
        )
        rt.risk._halt(ts, reason)  # the gate's own halt, as its error-burst halt uses
        report.actions.append(f"halted: {reason}")


def _lot(tick: TickSnapshot, a: tuple[str, str], b: tuple[str, str]) -> Decimal | None:
    lots = [m.rules.lot_size for m in tick.markets if (m.connector, m.trading_pair) in (a, b)]
    return max(lots) if lots else None


def _record(
    rt: Any,
    ts: float,
    token: str,
    long_key: tuple[str, str],
    long_base: Decimal,
    short_key: tuple[str, str],
    short_base: Decimal,
    tick: TickSnapshot,
    lot: Decimal,
) -> PairRecord:
    """A HEDGED pair record for legs found on the venues (entry prices from the venue positions)."""
    entry = {(p.connector, p.trading_pair): p.entry_price for p in tick.positions}
    held = min(long_base, short_base) if long_base and short_base else max(long_base, short_base)
    record = PairRecord(
        pair_id=rt.store.new_id(token, ts),
        token=token,
        long=Leg(
            long_key[0],
            long_key[1],
            "perp",
            "long",
            long_base,
            long_base * entry.get(long_key, Decimal(0)),
            target_base=held,
        ),
        short=Leg(
            short_key[0],
            short_key[1],
            "perp",
            "short",
            -short_base,
            short_base * entry.get(short_key, Decimal(0)),
            target_base=held,
        ),
        state=PairState.HEDGED,
        opened_ts=ts,
        updated_ts=ts,
    )
    params = lifecycle_params(rt.settings, lot, lot)
    book = lc.PairBook(
        lc.LifecycleState.HEDGED, lc.LegSide.LONG, held, params, lc.LegBook(long_base), lc.LegBook(short_base)
    )
    record.book = encode_book(book)
    rt.store.add(record)
    return record
