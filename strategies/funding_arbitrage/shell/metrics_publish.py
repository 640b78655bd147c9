"""What the runtime tells the metrics registry: gauges per publish, counters per event, events and the
critical alerts derived from the pair book (presentation only: no decisions are made here).

Names, units and labels follow `core/metric_catalog.py` (base units, ratios, `_quote` with a `quote` label).
Unknown values are None (absent in Prometheus, null in JSON), never 0.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Optional

from ..core.margin import SOURCE_PROXY
from ..core.metric_catalog import CRITICAL_KINDS
from .metrics_export import money_quote
from .state import PairState

log = logging.getLogger(__name__)
HUNDRED = Decimal(100)
_STATES = ("ACTIVE", "REDUCING", "HALTED")
FUNDING_DAYS = 7
MAX_BUFFERED_TICKS = 1024  # tick durations held for the next reader at most
HOUR_S = Decimal(3600)
_PER_PAIR = (
    "candidate_net_edge_ratio",
    "candidate_break_even_seconds",
    "candidate_borrow_quote",
    "hedge_gap_base",
    "pair_funding_received_quote",
    "liquidation_distance_ratio",
    "margin_ratio",
    "position_base",
)


def utc_day(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d")


def _ratio(pct: Optional[Decimal]) -> Optional[Decimal]:
    return None if pct is None else pct / HUNDRED


def _seconds(hours: Optional[Decimal]) -> Optional[Decimal]:
    return None if hours is None else Decimal(hours) * HOUR_S


def quote_of(trading_pair: str) -> str:
    return trading_pair.split("-", 1)[1] if "-" in trading_pair else "unknown"


def margin_source(bracket_source: Optional[str]) -> str:
    """`venue` (the venue reported it: no connector does today), `proxy:binance` (Binance's brackets stand in for
    this venue), else `estimated` (own margin model on the venue's own brackets)."""
    return SOURCE_PROXY if bracket_source == SOURCE_PROXY else "estimated"


Rows = dict[str, list[tuple[dict[str, Any], Any]]]  # gauge name -> (labels, value) of every series it should have


@dataclass(frozen=True, slots=True)
class PairFrame:
    """One open pair's figures as the tick left them (quote money, base amounts)."""

    pair_id: str
    hedged: bool  # state HEDGED
    imbalanced: bool  # legs differ outside an entry in progress
    hedge_gap_base: Decimal
    funding_quote: str  # the `quote` label of its funding
    funding_total_quote: Optional[Decimal]  # None: unknown
    legs_pnl_quote: Optional[Decimal]  # None: a price is unknown
    perp_legs: tuple[tuple[str, str, Decimal], ...]  # (connector, trading_pair, filled_base) of filled perp legs


@dataclass(frozen=True, slots=True)
class PublishFrame:
    """What the dashboard gauges are computed from, captured on the tick thread at a publish: immutable values and
    references to the tick's own immutable objects (snapshot, decision, leg reports). The gauges are computed from it
    by the first reader after it (scrape, export, `value`), under the registry's lock. The funding views are read
    from the engine by that reader (`_funding_views`): the newest, not older than the frame."""

    ts: float
    settings: Any
    state: str
    equity_quote: Optional[Decimal]
    drawdown_quote: Optional[Decimal]
    tick: Any  # TickSnapshot (frozen)
    decision: Any  # TickDecision (frozen)
    engine: Any  # EdgeEngine: its funding views are built by the reader
    leg_reports: tuple[Any, ...]  # LegReport (frozen)
    pairs: tuple[PairFrame, ...]


def publish_gauges(m: Any, rt: Any, tick: Any, decision: Any) -> None:
    """Refresh the dashboard gauges (every `metrics_export_interval_s`). On the tick thread: capture a
    `PublishFrame` (O(open pairs)), count adapter errors and sync the risk alerts; the gauges themselves are computed
    from the frame by the next reader of the registry (`TickObserver.apply_frame`), off the tick."""
    rt.observer.adapter_errors(rt.snapshots.errors)
    rt.observer.publish(capture(rt, tick, decision))
    gate = rt.risk
    active = gate.alerts()
    if active or m.has_active_alerts("risk."):  # nothing to raise, refresh or clear: the usual publish
        m.sync_alerts(tick.ts, active, "risk.")


def capture(rt: Any, tick: Any, decision: Any) -> PublishFrame:
    """The frame of this publish (see `PublishFrame`)."""
    gate = rt.risk
    pairs = []
    for r in rt.store.open_records():
        perp = tuple((lg.connector, lg.trading_pair, lg.filled_base) for lg in r.legs() if lg.kind == "perp")
        pairs.append(
            PairFrame(
                r.pair_id,
                r.state is PairState.HEDGED,
                r.state is not PairState.OPENING and r.hedge_gap_base != 0,
                r.hedge_gap_base,
                quote_of(r.short.trading_pair),
                _funding_total(rt, r),
                rt._legs_pnl(r),
                tuple(p for p in perp if p[2] != 0),
            )
        )
    return PublishFrame(
        tick.ts,
        rt.settings,
        gate.state.value,
        gate.last_equity_quote,
        gate.drawdown_quote,
        tick,
        decision,
        rt.engine,
        tuple(gate.leg_reports),
        tuple(pairs),
    )


def materialise(m: Any, f: PublishFrame) -> None:
    """Set the gauges of frame `f`. Families with a series per market, pair or candidate are set whole
    (`set_gauges`): one step each, and series no longer there (closed pairs, vanished candidates, reasons that no
    longer occur) go."""
    quote = money_quote(f.settings)
    rows: Rows = {name: [] for name in (*_PER_PAIR, "skipped_markets")}
    m.set_gauges("trading_state", [({"state": s}, 1 if f.state == s else 0) for s in _STATES])
    m.gauge("equity_quote", f.equity_quote, quote=quote)
    m.gauge("drawdown_quote", f.drawdown_quote, quote=quote)
    m.gauge("drawdown_limit_quote", f.settings.max_drawdown_quote, quote=quote)
    m.gauge("open_pairs", sum(1 for p in f.pairs if p.hedged))
    m.gauge("imbalanced_pairs", sum(1 for p in f.pairs if p.imbalanced))
    ready = f.tick.ready
    m.set_gauges("venue_ready", [({"connector": c}, 1 if ready.get(c) else 0) for c in f.settings.all_connectors])
    read = _funding_views(f.engine)
    views = {(v.connector, v.trading_pair): v for v in read or ()}
    if read is not None:  # else the funding families keep their last values
        market = [({"connector": v.connector, "pair": v.trading_pair}, v) for v in views.values()]
        m.set_gauges("funding_rate_apr_ratio", [(labels, _ratio(v.apr_pct)) for labels, v in market])
        m.set_gauges("funding_interval_seconds", [(labels, v.interval.interval_s) for labels, v in market])
    for reason, n in f.decision.skipped.items():  # counts of this tick only
        rows["skipped_markets"].append(({"reason": str(reason)}, n))
    _candidates(rows, f)
    _pairs(m, rows, f, views, quote)
    for leg in f.leg_reports:
        labels = dict(pair_id=leg.pair_id, connector=leg.connector, source=margin_source(leg.bracket_source))
        rows["liquidation_distance_ratio"].append((labels, _ratio(leg.distance_pct)))
        rows["margin_ratio"].append((labels, leg.margin_ratio))
    for name, series in rows.items():
        m.set_gauges(name, series)


def _funding_views(engine: Any) -> Optional[tuple[Any, ...]]:
    """`engine.funding_views()` called from a reader thread (None if it could not be read). Each view is built from
    one market's (funding snapshot, interval) pair, both immutable, that the tick thread replaces whole in a dict
    (one atomic store under the GIL); the one thing that can interrupt the reader is a market seen for the first
    time (the dict grows: RuntimeError), and it is then read again."""
    for _ in range(3):
        try:
            return tuple(engine.funding_views())
        except RuntimeError:  # "dictionary changed size during iteration"
            continue
    log.warning("funding_views_unreadable: the funding gauges keep their last values until the next publish")
    return None


def _candidates(rows: Rows, f: PublishFrame) -> None:
    for c in f.decision.candidates:
        labels = dict(token=c.token, long=c.long_connector, short=c.short_connector)
        rows["candidate_net_edge_ratio"].append((labels, _ratio(c.net_edge_pct)))
        rows["candidate_break_even_seconds"].append((labels, _seconds(c.break_even_hours)))
        if c.components is not None:
            quote = quote_of(f.settings.trading_pair(c.long_connector, c.token))
            rows["candidate_borrow_quote"].append(
                ({"source": c.borrow_source, "quote": quote, **labels}, c.components.borrow_quote)
            )


def _pairs(m: Any, rows: Rows, f: PublishFrame, views: dict[tuple[str, str], Any], quote: str) -> None:
    """Per-pair gauges, positions, unrealised PnL and the funding the open pairs earn per second."""
    pnl: Optional[Decimal] = Decimal(0)
    expected: Optional[Decimal] = Decimal(0)
    for p in f.pairs:
        rows["hedge_gap_base"].append(({"pair_id": p.pair_id}, p.hedge_gap_base))
        rows["pair_funding_received_quote"].append(
            ({"pair_id": p.pair_id, "quote": p.funding_quote}, p.funding_total_quote)
        )
        pnl = None if pnl is None or p.legs_pnl_quote is None else pnl + p.legs_pnl_quote
        for connector, trading_pair, filled_base in p.perp_legs:
            if expected is None:
                break
            v = views.get((connector, trading_pair))
            if v is None or v.interval.interval_s is None:
                expected = None  # unknown rate or interval: the total is unknown, not smaller
                break
            # a long position pays rate x notional per interval, a short one receives it
            expected += -filled_base * v.mark_price * v.rate / Decimal(v.interval.interval_s)
    for pos in f.tick.positions:
        rows["position_base"].append(({"connector": pos.connector, "pair": pos.trading_pair}, pos.amount))
    m.gauge("unrealized_pnl_quote", pnl, quote=quote)
    m.gauge("expected_funding_quote_per_second", expected, quote=quote)


def _funding_total(rt: Any, r: Any) -> Optional[Decimal]:
    """The pair's funding (None while unknown: paid while down and in no venue history)."""
    total = getattr(rt, "funding_total", None)
    return total(r) if total is not None else r.funding_received_quote


def book_fill(m: Any, trading_pair: str, connector: str, fee_quote: Decimal) -> None:
    m.inc("fills", connector=connector)
    m.add("fees_paid_quote", max(fee_quote, Decimal(0)), quote=quote_of(trading_pair))


def book_funding(m: Any, trading_pair: str, amount_quote: Decimal) -> None:
    """A funding settlement: received (amount > 0) and paid (amount < 0) are two monotonic counters."""
    name = "funding_received_quote" if amount_quote >= 0 else "funding_paid_quote"
    m.add(name, abs(amount_quote), quote=quote_of(trading_pair))


def reduction_failure(rt: Any, pair_id: str, ts: float, deliverable_ts: Optional[float]) -> Optional[str]:
    """Why the reduction of a pair the risk gate still asks to reduce has failed, or None while it is in progress.

    A reduction sent on tick t0 (`runtime._update_risk`) cannot have its fills before the next tick t1 (a venue
    fills on its own tick, after the strategy's; the executor's order timeout counts the same way), so on t0 and on
    t1 with its orders still working it is in progress at any tick length. It has failed when:
    - no reduction order of the pair is working after t0: it was rejected (the lifecycle retries after a backoff),
      or it was done and the pair is still near liquidation; or
    - its orders are still working more than `single_leg_timeout_s` after t1 (the executor's order timeout fires
      at the same bound and re-sends them)."""
    if deliverable_ts is None:
        return None  # t0: the reduction was just asked for (and sent, if the pair could take one)
    record = rt.store.records.get(pair_id)
    if record is None or not rt.executor.has_pending(record):
        return "no reduction order is working (rejected, or done without restoring the distance)"
    late_s = ts - deliverable_ts
    if late_s > rt.settings.single_leg_timeout_s:
        return (
            f"its orders are still working {late_s:.0f}s after they could first have filled "
            f"(single_leg_timeout_s={rt.settings.single_leg_timeout_s})"
        )
    return None


class TickObserver:
    """Per-tick hooks: tick duration and heartbeat, halt events, and the critical alerts derived from the pair
    book (failed close, hedge gap, reduction that did not help, orphan position found at start)."""

    def __init__(self, metrics: Any) -> None:
        self.metrics = metrics
        self._halt_reason: Optional[str] = None
        # pair_id -> (first tick its reduction was asked for, the next tick: the first that can have its fills)
        self._reduce_since: dict[str, tuple[float, Optional[float]]] = {}
        self._started = False
        self._adapter_seen: dict[str, int] = {}
        self._orphans: set[tuple[str, str]] = set()
        self._raised: set[str] = set()  # derived alerts this observer holds active
        self._counts: dict[str, int] = {}
        self._day: Optional[str] = None
        self._day_index: Optional[int] = None
        self.funding_by_day: dict[str, dict[str, Decimal]] = {}  # UTC date -> pair_id -> funding (quote)
        self._tick_series: Optional[tuple[Any, Any]] = None
        self._durations: deque[float] = deque()  # appended by the tick thread, drained under the registry's lock
        self._last_tick_ts: Optional[float] = None
        self._frame: Optional[PublishFrame] = None  # the last publish's frame (set by the tick thread)
        self._applied: Optional[PublishFrame] = None  # the frame the gauges hold (set by a reader, under the lock)
        metrics.add_collect_hook(self.flush_ticks)
        metrics.add_collect_hook(self.apply_frame)

    def publish(self, frame: PublishFrame) -> None:
        """Keep `frame` for the next reader (one reference assignment on the tick thread)."""
        self._frame = frame

    def apply_frame(self) -> None:
        """Collect hook (under the registry's lock): compute the gauges of the newest frame once. A frame that fails
        (a NaN in a figure) is logged by the registry and not retried; the next publish brings a new one."""
        frame = self._frame
        if frame is not None and frame is not self._applied:
            self._applied = frame
            materialise(self.metrics, frame)

    def flush_ticks(self) -> None:
        """Move the buffered tick durations into `tick_duration_seconds` and the last tick's time into the heartbeat
        (`last_tick_timestamp_seconds`). Thread-safe: `deque.popleft` against the tick thread's `append`."""
        if self._tick_series is None:  # resolved once
            self._tick_series = (
                self.metrics.series("tick_duration_seconds", "histogram"),
                self.metrics.series("last_tick_timestamp_seconds"),
            )
        duration, last_tick = self._tick_series
        while True:  # the tick thread (publish) and a reader (scrape, export) may drain at once
            try:
                elapsed_s = self._durations.popleft()
            except IndexError:
                break
            duration.observe(elapsed_s)
        if self._last_tick_ts is not None:
            last_tick.set(self._last_tick_ts)

    def adapter_errors(self, errors: dict[str, int]) -> None:
        """The adapter's cumulative read-error counts, added to the counter as increments (restart-safe)."""
        for reason, n in errors.items():
            step = n - self._adapter_seen.get(reason, 0)
            if step > 0:
                self.metrics.inc("adapter_read_errors", step, reason=reason)
            self._adapter_seen[reason] = n

    def tick_done(self, ts: float, elapsed_s: float) -> None:
        """Buffer the tick's duration and time (seconds): `flush_ticks` moves them into the histogram and the
        heartbeat before every read of the registry (or when MAX_BUFFERED_TICKS are buffered), so a tick pays an
        append."""
        self._durations.append(elapsed_s)
        self._last_tick_ts = ts
        if len(self._durations) >= MAX_BUFFERED_TICKS:  # nobody reads the registry (no scrape, no export): bounded
            self.flush_ticks()
        day_index = int(ts // 86400)
        if day_index != self._day_index:
            day = utc_day(ts)
            if self._day is not None and self._day in self.funding_by_day:
                log.info("funding_day %s", self.funding_line(self._day))  # one line per UTC day, when it ends
            self._day, self._day_index = day, day_index

    def funding_booked(self, pair_id: str, ts: float, amount_quote: Decimal) -> None:
        """Funding attributed to a pair, summed per UTC day (the last FUNDING_DAYS days are kept)."""
        day = self.funding_by_day.setdefault(utc_day(ts), {})
        day[pair_id] = day.get(pair_id, Decimal(0)) + amount_quote
        for old in sorted(self.funding_by_day)[:-FUNDING_DAYS]:
            del self.funding_by_day[old]

    def funding_split(self, ts: float, amount_quote: Decimal, holders: list[Any]) -> None:
        """Book one settlement to the per-day ledger, split over `holders` by long size (as the journal does)."""
        total = sum((abs(r.long.filled_base) for r in holders), Decimal(0))
        for r in holders:
            share = abs(r.long.filled_base) / total if total else Decimal(1) / len(holders)
            self.funding_booked(r.pair_id, ts, amount_quote * share)

    def funding_line(self, day: str) -> str:
        """`date=2025-03-10 total=+0.4081 BTC-1741536180-1=+0.4081 ...` (quote)."""
        pairs = self.funding_by_day.get(day, {})
        total = sum(pairs.values(), Decimal(0))
        return f"date={day} total={total:+.4f} " + " ".join(f"{p}={v:+.4f}" for p, v in sorted(pairs.items()))

    def after_risk(self, rt: Any, ts: float) -> None:
        """Record a halt as an event; raise/clear the derived critical alerts (level-triggered, every tick)."""
        m, gate = self.metrics, rt.risk
        if gate.halt_reason is not None and gate.halt_reason != self._halt_reason:
            m.event(ts, "halt", gate.halt_reason, reason=gate.halt_reason)
        self._halt_reason = gate.halt_reason
        report = rt.last_risk
        quiet = self._started and not (self._raised or self._reduce_since or self._orphans)
        if quiet and (report is None or not report.reduce_actions):
            return  # the usual tick: no reduction asked, no orphan left, no derived alert active (none to clear)
        active: dict[str, str] = {}
        # failed closes and hedge gaps are alerted by the lifecycle (pair.<id>) and the hedge monitor (runtime)
        asked = {a.pair_id for a in report.reduce_actions} if report is not None else set()
        self._reduce_since = {p: self._reduce_since.get(p, (ts, None)) for p in asked}
        for pair_id, (since, deliverable) in list(self._reduce_since.items()):
            if ts > since and deliverable is None:  # the first tick that can have delivered its fills
                self._reduce_since[pair_id] = (since, deliverable := ts)
            why = reduction_failure(rt, pair_id, ts, deliverable)
            if why is not None:
                active[f"leverage_reduction_failed.{pair_id}"] = (
                    f"{pair_id}: still near liquidation {ts - since:.0f}s after its reduction was asked for: {why}"
                )
        if not self._started:  # positions on the venues that no record explains, at start: orphans
            self._orphans = set(rt.unmanaged)
        self._orphans &= set(rt.unmanaged)  # cleared once the position is gone or explained
        for connector, pair in self._orphans:
            active[f"orphan_position.{connector}.{pair}"] = (
                f"{connector} {pair} holds "
                f"{rt.unmanaged[(connector, pair)]} not opened by this "
                "strategy (found at start)"
            )
        self._started = True
        self._sync(ts, active)

    def _sync(self, ts: float, active: dict[str, str]) -> None:
        """Raise (refresh) every active derived alert, clear the ones gone, count them per kind."""
        if not active and not self._raised and self._counts:
            return  # none active before or now (the usual tick): the zero counts are already published
        for name, message in active.items():
            self.metrics.alert(name, "critical", message, ts)
        for name in self._raised - set(active):
            self.metrics.clear_alert(name, ts)
        self._raised = set(active)
        counts = dict.fromkeys(CRITICAL_KINDS, 0)
        for name in active:
            counts[name.split(".", 1)[0]] += 1
        if counts != self._counts:  # gauges change only when a count does
            for kind, n in counts.items():
                self.metrics.gauge("critical_conditions", n, kind=kind)
            self._counts = counts
