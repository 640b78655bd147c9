"""The strategy shell: one tick = snapshot -> risk -> edge engine -> execution -> metrics.

Runs inside the Hummingbot script (`scripts/funding_arbitrage.py`) live, headless and in replay alike.
Nothing here may raise out of `on_tick`: every failure is counted, logged and, past the error-burst limit,
halts trading (risk gate).
"""

from __future__ import annotations

import logging
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Optional

from hummingbot.core.data_type.common import PositionMode

from ..core import lifecycle as lc
from ..core.actions import held_pair
from ..core.config import ConfigError, FundingArbSettings
from ..core.decisions import EdgeEngine, HeldPair
from ..core.hedge import HedgeMonitor, HeldLeg
from ..core.margin import isolated_margin_quote
from ..core.metrics import MetricsRegistry
from ..core.portfolio import account_equity
from ..core.risk import LegRisk, RiskGate, RiskReport, leg_risk
from ..core.snapshots import MarketKind, TickSnapshot
from . import metrics_publish, recovery
from . import status as status_view
from .adapter import SnapshotBuilder
from .alerts import AlertNotifier, alert_urls_from_env, hummingbot_notify
from .controls import OperatorControls
from .durability import Durability, journal_path
from .execution import LegExecutor, lifecycle_params
from .home import project_root
from .journal import Journal, JournalError
from .journal_store import JournaledPairStore
from .leverage_control import LeverageControl
from .log_format import apply_log_format
from .metrics_export import BackgroundJsonExporter, PrometheusServer, prepare_metrics
from .state import Leg, PairRecord, PairState, PairStore, StateError, net_exposure

log = logging.getLogger(__name__)
MARKET_KINDS = {k.value: k for k in MarketKind}  # a leg's kind text -> MarketKind (no enum lookup per tick)
_ZERO = Decimal(0)
_UNSET: Any = object()  # not yet computed this tick (a mid may be None)
PLACEHOLDER_VALUES = {
    "",
    "none",
    "null",
    "xxx",
    "changeme",
    "your_api_key",
    "your_api_secret",
    "api_key",
    "secret",
    "placeholder",
    "test",
    "dummy",
}


def require_credentials(settings: FundingArbSettings) -> None:
    """Fail fast when a real venue has no keys, or placeholder keys, in Hummingbot's keystore.

    Raises:
        ConfigError: naming the connector and what to run (`connect <connector>`); never the key values.
    """
    from hummingbot.client.config.security import Security

    for connector in settings.all_connectors:
        if connector.startswith("sim_"):
            continue
        keys = Security.api_keys(connector)
        if not keys:
            raise ConfigError(f"{connector}: no API keys in the keystore; run `connect {connector}` in the client")
        bad = sorted(
            k
            for k, v in keys.items()
            if v is None or str(v).strip().lower() in PLACEHOLDER_VALUES or set(str(v).strip()) <= {"x", "X", "*", "0"}
        )
        if bad:
            raise ConfigError(
                f"{connector}: keystore entries {bad} are empty or placeholders; "
                f"run `connect {connector}` with the real keys"
            )


class FundingArbRuntime:
    """Owns the strategy's state for one run; called by the script's hooks."""

    def __init__(self, strategy: Any, settings: FundingArbSettings) -> None:
        self.strategy = strategy
        self.settings = settings
        root = project_root()
        self.metrics = MetricsRegistry()
        self.risk = RiskGate(settings)
        self.fatal_error: Optional[str] = None
        self.journal: Optional[Journal] = None
        try:  # the journal is the source of truth across restarts; the JSON state file is its export
            self.journal = Journal(journal_path(settings, root))
        except JournalError as e:
            self.fatal_error = str(e)
            log.error("journal_open_failed %s", e)
        self.store: PairStore = (
            JournaledPairStore(root / settings.state_file, self.journal) if self.journal else PairStore(None)
        )
        self.durability = Durability(self.journal, settings, self.risk) if self.journal else None
        self.controls = OperatorControls(self, self.journal, root / settings.kill_switch_file) if self.journal else None
        self.engine = EdgeEngine(settings)
        self.leverage_ctl = LeverageControl(self)  # leverage_mode volatility: per-market leverage and its guard
        apply_log_format(settings.log_format)  # json: one JSON object per log line on every handler
        self.snapshots = SnapshotBuilder(settings)
        self.executor = LegExecutor(
            strategy, self.store, self._record_error, settings.single_leg_timeout_s, settings.entry_maker_timeout_s
        )
        self.executor.hooks.on_alert = lambda ts, name, sev, msg: self.metrics.alert(name, sev, msg, ts)
        self.executor.hooks.on_halt = lambda ts, reason: self.risk._halt(ts, reason)  # the gate's own halt
        self.executor.hooks.on_entry_failed = self._entry_failed
        self.executor.hooks.venue_amount = self._venue_amount
        self.executor.hooks.maker_price = self._maker_price
        self.cooldowns: dict[str, tuple[float, int]] = {}  # token -> (until_ts, consecutive failed entries)
        self.recovery_report: recovery.RecoveryReport | None = None  # set once restart recovery has finished
        self._recovery = recovery.Recovery()
        self.hedge = HedgeMonitor(
            settings.hedge_gap_tolerance_pct, settings.hedge_gap_halt_pct, float(settings.hedge_rebalance_cooldown_s)
        )
        self.exporter = (
            BackgroundJsonExporter(
                root / settings.metrics_export_path, settings.metrics_export_interval_s, registry=self.metrics
            )
            if settings.metrics_export_path
            else None
        )
        prepare_metrics(self.metrics, settings, self.exporter.path if self.exporter else None, self.journal)
        self.alerts = AlertNotifier(self.metrics, alert_urls_from_env(), settings.alert_repeat_s, hummingbot_notify)
        self.observer = metrics_publish.TickObserver(self.metrics)
        self.prometheus: Optional[PrometheusServer] = None
        self.last_decision: Any = None
        self.decided_ts: Optional[float] = None  # clock time of `last_decision` (decisions every decision_interval_s)
        self.last_tick: Optional[TickSnapshot] = None
        self.last_risk: Optional[RiskReport] = None
        self.last_ts: Optional[float] = None
        self._markets: dict[tuple[str, str], Any] = {}
        self._mids: dict[tuple[str, str], Optional[Decimal]] = {}
        self._spot_markets = [  # (spot connector, token, (connector, trading pair)) whose balance counts in equity
            (name, token, (name, settings.trading_pair(name, token)))
            for name in settings.spot_connectors
            for token in settings.tokens
        ]
        self._hedge_verdict: Any = None  # the hedge monitor's last verdict (the same object: nothing changed)
        self._hedge_inputs: Any = None  # `_holdings_key` and lots the monitor last measured
        self._reconciled_clean: Any = None  # inputs of the last reconciliation that found venue and records agreeing
        self._positions_key: tuple[Any, tuple[Any, ...]] = (None, ())  # (tick, its positions as `_holdings_key` reads)
        self._gauges_ts: Optional[float] = None
        self.unmanaged: dict[tuple[str, str], Decimal] = {}
        self._mismatch_since: dict[tuple[str, str], float] = {}  # venue position != record, since
        self._reconciled = False  # the first check (at start, after a restart) flags at once
        self._initialised = False
        self._state_loaded = False
        self._load_state()

    # --- lifecycle -----------------------------------------------------------------------------------
    def _load_state(self) -> None:
        if self.journal is None:
            return
        try:
            records = self.store.load()
        except StateError as e:
            self.fatal_error = str(e)
            log.error("state_load_failed %s", e)
            return
        self._state_loaded = True
        if records:
            log.info("state_loaded pairs=%d open=%d", len(records), len(self.store.open_records()))

    def _first_ready_tick(self, ts: float) -> None:
        """Set position mode and leverage per venue, start metrics (reconciliation runs every tick)."""
        mode = PositionMode[self.settings.position_mode]
        for name in self.settings.perp_connectors:
            self.strategy.set_position_mode(name, mode)
            for token in self.settings.tokens:
                if not self.leverage_ctl.enabled:  # volatility mode: `leverage_ctl.start()` below
                    pair = self.settings.trading_pair(name, token)
                    self.strategy.set_leverage(name, pair, self.settings.leverage[name])
        self.leverage_ctl.start()
        if self.settings.prometheus_port:
            self.prometheus = PrometheusServer(
                self.metrics, self.settings.prometheus_port, addr=self.settings.prometheus_host
            )
            self.prometheus.start()
        if self.durability is not None:  # funding paid while down: booked from venue history, else N/A
            self.durability.recover(ts, self.store.open_records(), self.strategy.connectors)
        self._initialised = True

    def _reconcile(self, ts: float, tick: TickSnapshot) -> None:
        """Compare recorded perp legs with venue positions, every tick (after a restart, and to notice what the venue
        did on its own, e.g. a liquidation): a position not opened by us blocks its token (`unmanaged_position`);
        a differing one marks its hedged pair IMBALANCED (`reconcile_mismatch`). Markets with working orders are
        skipped (their fills may not have reached us yet); after the first check a difference must last
        `single_leg_timeout_s` before it is flagged, as a venue's position feed may lag its fill events."""
        working = self.executor.working_markets()
        inputs = (self._holdings_key(tick), frozenset(working))
        if inputs == self._reconciled_clean:  # what was in agreement last tick still is: nothing to flag
            self.metrics.clear_alert("unmanaged_position", ts)
            return
        expected = net_exposure(self.store.records.values())
        actual: dict[tuple[str, str], Decimal] = {}
        for p in tick.positions:  # HEDGE mode: a long and a short position may share a pair; net them
            actual[(p.connector, p.trading_pair)] = actual.get((p.connector, p.trading_pair), Decimal(0)) + p.amount
        unmanaged, since, changed = {}, {}, False
        for key in sorted(set(expected) | set(actual)):
            if key[0] not in self.settings.perp_connectors or key in working:
                continue  # spot balances cannot be attributed to positions
            exp, act = expected.get(key, Decimal(0)), actual.get(key, Decimal(0))
            if exp == act:
                continue
            if exp == 0:
                unmanaged[key] = act  # blocked at once; alerted once it lasts
            since[key] = self._mismatch_since.get(key, ts)
            if self._reconciled and ts - since[key] < self.settings.single_leg_timeout_s:
                continue
            if exp == 0:
                self.metrics.alert(
                    "unmanaged_position",
                    "warning",
                    f"{key[0]} {key[1]} holds {act} not opened by this strategy; token blocked",
                    ts,
                )
                continue
            changed = True
            self.metrics.alert("reconcile_mismatch", "critical", f"{key[0]} {key[1]}: recorded {exp}, venue {act}", ts)
            self._mismatch_to_lifecycle(ts, key, actual)
        self.unmanaged, self._mismatch_since, self._reconciled = unmanaged, since, True
        self._reconciled_clean = inputs if not since and not changed else None
        if not unmanaged:
            self.metrics.clear_alert("unmanaged_position", ts)
        if changed:
            self.store.save()

    def _holdings_key(self, tick: TickSnapshot) -> tuple[Any, ...]:
        """What the venues' positions and the open pairs hold this tick: reconciliation and the hedge monitor redo
        their work only when it (or what else they read) changed."""
        positions = self._positions_key
        if positions[0] is not tick:  # the tick's positions are frozen: one tuple a tick for both callers
            positions = self._positions_key = (
                tick,
                tuple([(p.connector, p.trading_pair, p.amount) for p in tick.positions]),
            )
        return (
            positions[1],
            tuple([(r.pair_id, r.state, r.long.filled_base, r.short.filled_base) for r in self.store.open_records()]),
        )

    def _check_hedge(self, ts: float, tick: TickSnapshot) -> None:
        """Net exposure per token across every venue (unmanaged positions included): trim, or halt past the limit."""
        inputs = (self._holdings_key(tick), self._held_lots(tick))
        if inputs == self._hedge_inputs and self.hedge.unchanged(ts) is not None:
            return  # the same holdings and lots, every token within tolerance last tick: still nothing to do
        self._hedge_inputs = inputs
        lots = {(m.connector, m.trading_pair): m.rules.lot_size for m in tick.markets}
        records = self.store.open_records()
        managed = {(lg.connector, lg.trading_pair) for r in records for lg in r.legs()}
        legs = [
            HeldLeg(
                p.connector,
                p.trading_pair,
                self._token_of(p.trading_pair),
                p.amount,
                lots.get((p.connector, p.trading_pair), Decimal(0)),
                (p.connector, p.trading_pair) in managed,
            )
            for p in tick.positions
            if p.connector in self.settings.perp_connectors
        ]
        legs += [
            HeldLeg(
                r.long.connector,
                r.long.trading_pair,
                r.token,
                r.long.filled_base,
                lots.get((r.long.connector, r.long.trading_pair), Decimal(0)),
            )
            for r in records
            if r.long.kind == "spot"
        ]
        settling = {r.token for r in records if self.executor.has_pending(r) or r.state is not PairState.HEDGED}
        verdict = self.hedge.update(ts, legs, settling)
        if verdict is self._hedge_verdict:
            return  # the same holdings, all within tolerance: nothing to rebalance or halt, gauges already set
        self._hedge_verdict = verdict
        for token, e in verdict.exposures.items():
            gap = e.gap_pct
            self.metrics.gauge("token_hedge_gap_ratio", None if gap is None else gap / 100, token=token)
        for token, reason in verdict.bad_data.items():
            log.warning("hedge_bad_data token=%s %s (left out of the monitor)", token, reason)
        for token in verdict.rebalance:
            owners = [r for r in records if r.token == token]
            e = verdict.exposures[token]
            if len(owners) == 1 and e.unmanaged_base == 0:
                self.metrics.inc("hedge_rebalances", token=token)
                self._mismatch_to_lifecycle(
                    ts,
                    (owners[0].long.connector, owners[0].long.trading_pair),
                    {(p.connector, p.trading_pair): p.amount for p in tick.positions},
                )
            else:
                self.metrics.alert(
                    f"hedge_gap.{token}",
                    "warning",
                    f"{token}: net {e.net_base} beyond tolerance "
                    f"{e.tolerance_base}, not attributable to one pair (unmanaged {e.unmanaged_base})",
                    ts,
                )
        if verdict.halt_reason is not None:
            self.metrics.alert("hedge_gap_limit", "critical", verdict.halt_reason, ts)
            if self.risk.halt_reason is None:
                self.risk._halt(ts, f"hedge gap: {verdict.halt_reason}")  # the gate's own halt

    def _held_lots(self, tick: TickSnapshot) -> tuple[Optional[Decimal], ...]:
        """The lot size of every market held (positions, then the open pairs' spot legs), as the monitor reads it."""
        keys = [(p.connector, p.trading_pair) for p in tick.positions]
        keys += [(r.long.connector, r.long.trading_pair) for r in self.store.open_records() if r.long.kind == "spot"]
        markets = self._markets
        return tuple([markets[k].rules.lot_size if k in markets else None for k in keys])

    def _mismatch_to_lifecycle(self, ts: float, key: tuple[str, str], actual: dict[tuple[str, str], Decimal]) -> None:
        """The venue is the truth: the one open pair holding this market adopts it (its lifecycle rebalances or
        closes). A market shared by two open pairs cannot be attributed: it stays alerted for the operator."""
        owners = [
            r for r in self.store.open_records() if any((lg.connector, lg.trading_pair) == key for lg in r.legs())
        ]
        if len(owners) != 1 or self.executor.has_pending(owners[0]):
            return
        r = owners[0]
        held = []
        for side, leg in (("long", r.long), ("short", r.short)):
            k = (leg.connector, leg.trading_pair)
            venue = actual.get(k, Decimal(0)) if leg.kind == "perp" else leg.filled_base
            held.append(max(Decimal(0), venue if side == "long" else -venue))
        self.metrics.event(ts, "position_mismatch", f"{r.pair_id}: venue holds long {held[0]} short {held[1]}")
        self.executor.position_mismatch(r, ts, held[0], held[1])

    def on_stop(self) -> None:
        """Stop serving metrics and persist state; hedged positions stay open and are reloaded at restart."""
        if self.fatal_error or not self._state_loaded:
            return  # nothing was loaded: never overwrite what could not be read
        self.store.save()
        if self.durability is not None and self.last_ts is not None:
            self.durability.save_risk(self.last_ts)
            self.durability.mark_alive(self.last_ts, force=True)
        if self.exporter is not None:  # the last totals, written before stop returns, for the next start
            if self.last_ts is not None:
                self.exporter.last_export_ts = None
                self.exporter.maybe_export(self.last_ts)
            self.exporter.close()
        self.alerts.close()
        if self.prometheus is not None:
            self.prometheus.stop()

    # --- tick ----------------------------------------------------------------------------------------
    def on_tick(self, ts: float) -> None:
        started = time.perf_counter()
        try:
            self._tick(ts)
        except Exception as e:  # the tick loop must survive anything; the risk gate halts on bursts
            log.exception("tick_failed ts=%s", ts)
            self._record_error(ts, "tick_exception", repr(e))
        self.observer.tick_done(ts, time.perf_counter() - started)

    def _tick(self, ts: float) -> None:
        if self.fatal_error or not self._state_loaded:
            return
        if not self._initialised:
            self._first_ready_tick(ts)
        tick = self.snapshots.build(ts, self.strategy.connectors)
        self.last_tick, self.last_ts = tick, ts
        self._markets = {(m.connector, m.trading_pair): m for m in tick.markets}  # one index per tick for lookups
        self._mids = {}  # this tick's mids, each computed on first use
        if self.controls is not None:
            self.controls.poll(ts)  # operator commands and the kill switch act before anything else this tick
        if self.recovery_report is None:
            self.recovery_report = self._recovery.step(self, ts, tick)
        self._reconcile(ts, tick)
        self.executor.tick(ts, tick.ready)
        self._check_hedge(ts, tick)
        try:
            self._update_risk(ts, tick)
            self.leverage_ctl.guard(ts)  # volatility mode: lower leverage / reduce hedged before the gate's cut
            risk_ok = True
        except Exception as e:  # a bad input in one pair's risk figures must not stop the other pairs' exits
            log.exception("risk_failed ts=%s", ts)
            self._record_error(ts, "risk_exception", repr(e))
            risk_ok = False
        self.observer.after_risk(self, ts)
        if self.durability is not None:  # funding history still owed, risk state and liveness into the journal
            self.durability.retry_history(ts, self.store.open_records(), self.strategy.connectors)
            self.durability.save_risk(ts)
            self.durability.mark_alive(ts)
        self.leverage_ctl.plan(ts)
        if self._decision_due(ts):
            decision = self.engine.evaluate(tick, self._held())
            self.last_decision, self.decided_ts = decision, ts
            self._apply_exits(ts, decision)
            if self.recovery_report is not None and risk_ok:  # no entry before recovery, nor while risk is unknown
                self._apply_entries(ts, decision)
        self._publish(ts, tick, self.last_decision)

    def _decision_due(self, ts: float) -> bool:
        """Whether the edge engine decides on this tick: every `decision_interval_s` of the strategy clock (every
        tick when 0; always on the first tick, and when the clock went back). Between decisions nothing the engine
        decides can be acted on, while fills, hedging, the risk gate and the leverage guard above run every tick.
        A fixed cadence in clock time also keeps decisions (and the confirmation counts, which count decisions)
        independent of how often the clock ticks."""
        interval = self.settings.decision_interval_s
        last = self.decided_ts
        return interval <= 0 or last is None or ts - last >= interval or ts < last

    def _held(self) -> list[HeldPair]:
        """Every open pair (OPENING and UNWINDING too, at their target size) so exposure caps and the
        same-market conflict check count them; exits are acted on for HEDGED pairs only."""
        out = []
        hedged, funding_total, legs_pnl = PairState.HEDGED, self.funding_total, self._legs_pnl
        for r in self.store.open_records():
            long, short = r.long, r.short
            filled = abs(long.filled_base)
            out.append(
                held_pair(  # = HeldPair(...) without its frozen __init__ (the hot path: one per open pair per tick)
                    r.pair_id,
                    r.token,
                    long.connector,
                    long.trading_pair,
                    MARKET_KINDS[long.kind],
                    short.connector,
                    short.trading_pair,
                    filled if r.state is hedged else max(filled, long.target_base),
                    r.opened_ts,
                    long.cost_quote,
                    funding_total(r),
                    legs_pnl(r),
                )
            )
        return out

    def funding_total(self, r: PairRecord) -> Optional[Decimal]:
        """The pair's funding received (quote); None while unknown (funding paid while down and not in any venue
        history): status, metrics and take-profit show or treat it as unknown, never as 0."""
        return self.durability.funding_total(r) if self.durability is not None else r.funding_received_quote

    def _legs_pnl(self, r: PairRecord) -> Optional[Decimal]:
        """Mark-to-mid PnL of both legs; None when a price is unknown."""
        total = _ZERO
        for leg in (r.long, r.short):
            mid = self._mid(leg.connector, leg.trading_pair)
            filled = leg.filled_base
            if mid is None or not filled:  # no fill: no entry price (`Leg.avg_entry_price` is None)
                return None
            total += (mid - leg.cost_quote / abs(filled)) * filled
        return total

    def _mid(self, connector: str, pair: str) -> Optional[Decimal]:
        """This tick's mid of a market (computed on first use; None without a book or a side)."""
        key = (connector, pair)
        mid = self._mids.get(key, _UNSET)
        if mid is _UNSET:
            market = self._markets.get(key)
            book = None if market is None else market.book
            mid = self._mids[key] = None if book is None else book.mid
        return mid  # type: ignore[no-any-return]

    def _update_risk(self, ts: float, tick: TickSnapshot) -> None:
        """Run the risk gate; reduce pairs near liquidation and unwind pairs that never got hedged."""
        opening: list[tuple[str, float]] = []  # single legs are the lifecycle's (LegTimeout, retries, rollback)
        report = self.risk.evaluate(
            ts,
            equity_quote=self._equity(tick),
            last_update_ts_by_venue=self._freshness(tick),
            legs=self._leg_risks(tick),
            unpaired_legs=opening,
        )
        self.last_risk = report
        if report.cancel_entry_orders:
            for order_id, (connector, pair) in self.executor.working_entry_orders().items():
                log.warning("halt: cancelling entry order %s on %s %s", order_id, connector, pair)
                self.strategy.cancel(connector, pair, order_id)
        for action in report.reduce_actions:
            record = self.store.records.get(action.pair_id)
            # level-triggered: never stack a second reduction on one whose orders are still working
            if record is not None and record.state is PairState.HEDGED and not self.executor.has_pending(record):
                self.metrics.inc("leverage_reductions", reason="liquidation_distance")
                self.metrics.event(
                    ts,
                    "leverage_reduction",
                    f"{record.pair_id}: {action.reason}",
                    pair_id=record.pair_id,
                    token=record.token,
                    reason="liquidation_distance",
                )
                self.executor.reduce_pair(record, ts, action.fraction, action.reason)

    def _freshness(self, tick: TickSnapshot) -> dict[str, Optional[float]]:
        """Per venue, the older of its latest book change and its latest funding change: a venue whose funding feed
        froze is stale even while its books move (spot venues have books only). None: not ready or nothing received."""
        books: dict[str, float] = {}  # connector -> newest book observed_ts
        fundings: dict[str, float] = {}  # connector -> newest funding observed_ts
        ready = tick.ready
        for m in tick.markets:
            name = m.connector
            if not ready.get(name, False):
                continue
            if m.book is not None:
                seen = m.book.observed_ts
                if name not in books or seen > books[name]:
                    books[name] = seen
            if m.funding is not None:
                seen = m.funding.observed_ts
                if name not in fundings or seen > fundings[name]:
                    fundings[name] = seen
        out: dict[str, Optional[float]] = dict.fromkeys(self.settings.all_connectors)
        for name in (*books, *(n for n in fundings if n not in books)):
            book, funding = books.get(name), fundings.get(name)
            out[name] = book if funding is None else funding if book is None else min(book, funding)
        return out

    def _equity(self, tick: TickSnapshot) -> Optional[Decimal]:
        """Every leg counted (`core.portfolio.account_equity`): quote balances, spot inventory at mid, perp
        unrealised PnL; None while a venue's balance or a held spot asset's mid is unknown."""
        base: dict[tuple[str, str], Decimal] = {}
        mids: dict[tuple[str, str], Optional[Decimal]] = {}
        connectors = self.strategy.connectors
        for name, token, key in self._spot_markets:
            connector = connectors.get(name)
            if connector is None:
                return None
            try:
                amount = connector.get_balance(token)
                if type(amount) is not Decimal:  # a Decimal is kept as it is (the same value and digits)
                    amount = Decimal(amount)
            except Exception as e:  # an unreadable balance makes equity unknown, never 0
                log.warning("connector=%s balance of %s unreadable: %r", name, token, e)
                return None
            base[key] = amount
            if amount != 0:  # zero holdings need no mid
                mids[key] = self._mid(*key)
        equity = account_equity(self.settings.all_connectors, tick.balances_quote, base, mids, tick.positions)
        if equity is not None and not equity.is_finite():  # a NaN balance or PnL: unknown, never compared
            return None
        return equity

    def _leg_risks(self, tick: TickSnapshot) -> list[LegRisk]:
        """Perp legs for the liquidation check. No connector reports margin or liquidation price, so each leg's
        isolated margin is modelled as the venue holds it: |amount| x entry / leverage at its CURRENT size
        (`margin.isolated_margin_quote`; a reduction releases margin pro rata, so a partial cut leaves the
        liquidation price where it was), against the maintenance brackets. `leg.margin_quote` keeps that figure in
        the state file (saved when it changes), from which a restart recovers the leverage of held markets."""
        out, changed = [], False
        for r in self.store.open_records():
            for leg in r.legs():
                if leg.kind != "perp" or leg.filled_base == 0:
                    continue
                market = self._markets.get((leg.connector, leg.trading_pair))
                leverage = self.leverage_ctl.leverage_of(leg.connector, leg.trading_pair)
                entry = leg.avg_entry_price or Decimal(0)
                margin = isolated_margin_quote(leg.filled_base, entry, leverage)
                changed, leg.margin_quote = changed or margin != leg.margin_quote, margin
                out.append(
                    leg_risk(  # = LegRisk(...) without its frozen __init__ (one per open perp leg per tick)
                        pair_id=r.pair_id,
                        connector=leg.connector,
                        token=r.token,
                        amount=leg.filled_base,
                        entry_price=entry,
                        mark_price=self._mark(leg.connector, leg.trading_pair),
                        leverage=leverage,
                        wallet_margin_quote=leg.margin_quote if leg.margin_quote > 0 else None,
                        lot_size_base=market.rules.lot_size if market is not None else None,
                    )
                )
        if changed:
            self.store.save()
        return out

    def _mark(self, connector: str, pair: str) -> Optional[Decimal]:
        market = self._markets.get((connector, pair))
        mark = market.funding.mark_price if market is not None and market.funding is not None else None
        if mark is None or not mark.is_finite() or mark <= 0:  # bad data isolates this leg (liquidation N/A)
            mark = self._mid(connector, pair)
        return mark if mark is not None and mark.is_finite() and mark > 0 else None

    # --- acting on decisions -------------------------------------------------------------------------
    def _apply_exits(self, ts: float, decision: Any) -> None:
        for action in decision.exits:
            record = self.store.records.get(action.pair_id)
            if record is None or record.state is not PairState.HEDGED:
                continue
            log.info("exit pair=%s reason=%s detail=%s", record.pair_id, action.reason, action.detail)
            self.metrics.inc("exits", reason=str(action.reason))
            self.metrics.event(
                ts,
                "exit",
                f"{record.pair_id}: {action.detail}",
                pair_id=record.pair_id,
                token=record.token,
                reason=str(action.reason),
            )
            try:
                self.executor.close_pair(record, ts, str(action.reason))
            except Exception as e:  # one pair's failure never stops another pair's exit
                log.exception("exit_failed pair=%s", record.pair_id)
                self._record_error(ts, "exit_exception", f"{record.pair_id}: {e!r}")

    def _apply_entries(self, ts: float, decision: Any) -> None:
        if not decision.enters:  # most ticks: nothing to enter, no busy-token set to build
            return
        busy_tokens = {r.token for r in self.store.open_records()}
        busy_tokens |= {self._token_of(pair) for (_, pair) in self.unmanaged}
        for action in decision.enters:
            if action.token in busy_tokens or self._cooling(action.token, ts):
                continue
            denial = self.risk.allow_entry(ts, [action.long_connector, action.short_connector])
            if denial is not None:
                self.metrics.inc("entries_denied", reason=denial.split(":", 1)[0])
                log.info("entry_denied token=%s reason=%s", action.token, denial)
                continue
            record = PairRecord(
                pair_id=self.store.new_id(action.token, ts),
                token=action.token,
                long=Leg(
                    action.long_connector,
                    action.long_pair,
                    action.long_kind.value,
                    "long",
                    target_base=action.long_amount_base,
                ),
                short=Leg(
                    action.short_connector, action.short_pair, "perp", "short", target_base=action.short_amount_base
                ),
                state=PairState.OPENING,
                opened_ts=ts,
                updated_ts=ts,
                entry_edge_pct=action.edge.net_edge_pct,
            )
            log.info(
                "enter pair=%s token=%s long=%s short=%s amount=%s net_edge_pct=%s",
                record.pair_id,
                action.token,
                action.long_connector,
                action.short_connector,
                action.amount_base,
                action.edge.net_edge_pct,
            )
            params = self._params(action)
            if params is None:
                log.info("entry_skipped token=%s reason=market rules unknown", action.token)
                continue
            self.leverage_ctl.stamp(record)  # the leverage each perp leg opens at, persisted with the record
            self.metrics.inc("entries", token=action.token)
            self.metrics.event(
                ts,
                "entry",
                f"{record.pair_id}: long {action.long_connector} short "
                f"{action.short_connector} {action.amount_base} {action.token}",
                pair_id=record.pair_id,
                token=action.token,
            )
            self.executor.open_pair(record, ts, params, self._less_liquid(action), self.settings.entry_maker_first)
            busy_tokens.add(action.token)

    def _params(self, action: Any) -> lc.LifecycleParams | None:
        """Lot-matching and minimum size for the pair: the coarser lot; the larger of both venues' minimum order
        and minimum notional at the current mid, rounded up to that lot. None when a market is missing."""
        legs = [
            self._markets.get((action.long_connector, action.long_pair)),
            self._markets.get((action.short_connector, action.short_pair)),
        ]
        if any(m is None or m.book is None or not m.book.mid for m in legs):
            return None
        lot = max(m.rules.lot_size for m in legs if m is not None)
        mins = [
            max(m.rules.min_order_size, m.rules.min_notional / m.book.mid)
            for m in legs
            if m is not None and m.book is not None and m.book.mid
        ]
        return lifecycle_params(self.settings, lot, max(mins))

    def _less_liquid(self, action: Any) -> lc.LegSide:
        """The leg with less depth on the side it takes (asks for the long, bids for the short) goes first."""

        def depth(connector: str, pair: str, asks: bool) -> Decimal:
            m = self._markets.get((connector, pair))
            if m is None or m.book is None:
                return Decimal(0)
            return sum((size for _, size in (m.book.asks if asks else m.book.bids)[:5]), Decimal(0))

        long_depth = depth(action.long_connector, action.long_pair, True)
        short_depth = depth(action.short_connector, action.short_pair, False)
        return lc.LegSide.LONG if long_depth <= short_depth else lc.LegSide.SHORT

    def _cooling(self, token: str, ts: float) -> bool:
        until = self.cooldowns.get(token)
        return until is not None and ts < until[0]

    def _entry_failed(self, ts: float, token: str, reason: str) -> None:
        """Exponential per-token cooldown after a failed entry: entry_cooldown_s, doubled per further failure."""
        failures = self.cooldowns.get(token, (0.0, 0))[1] + 1
        wait = min(self.settings.entry_cooldown_max_s, self.settings.entry_cooldown_s * 2 ** (failures - 1))
        self.cooldowns[token] = (ts + wait, failures)
        self.metrics.inc("entries_failed", token=token)
        log.warning("entry_failed token=%s reason=%s failures=%d cooldown_s=%s", token, reason, failures, wait)

    def _venue_amount(self, connector: str, pair: str) -> Decimal | None:
        """Signed perp position as the connector holds it now (0 when none); None when the venue is not ready or
        reports no positions (the pre-submit check of reduce-only orders reads this)."""
        venue = self.strategy.connectors.get(connector)
        if venue is None or not getattr(venue, "ready", False):
            return None
        try:
            positions = list(venue.account_positions.values())
        except Exception as e:  # a connector without positions: unknown, never 0
            log.warning("positions_unreadable connector=%s: %r", connector, e)
            return None
        return sum((Decimal(p.amount) for p in positions if p.trading_pair == pair), Decimal(0))

    def _maker_price(self, connector: str, pair: str, is_buy: bool) -> Decimal | None:
        m = self._markets.get((connector, pair))
        if m is None or m.book is None:
            return None
        return m.book.best_bid if is_buy else m.book.best_ask

    @staticmethod
    def _token_of(trading_pair: str) -> str:
        return trading_pair.split("-", 1)[0]

    # --- events --------------------------------------------------------------------------------------
    def on_fill(self, event: Any) -> None:
        try:
            fee = Decimal(
                event.trade_fee.fee_amount_in_token(
                    event.trading_pair, event.price, event.amount, event.trading_pair.split("-")[1]
                )
            )
        except Exception as e:  # e.g. no rate to convert a fee token: keep the percent part, never book 0 silently
            fee = Decimal(event.trade_fee.percent) * Decimal(event.price) * Decimal(event.amount)
            log.warning(
                "fee of fill %s not convertible to quote (%r): booked its percent part %s; flat fees "
                "of this fill are missing",
                event.order_id,
                e,
                fee,
            )
            self.metrics.inc("fee_conversion_failures")
        record = self.executor.on_fill(
            event.order_id,
            str(getattr(event, "exchange_trade_id", "") or ""),
            event.trade_type,
            Decimal(event.price),
            Decimal(event.amount),
            fee,
            float(event.timestamp),
        )
        self._journal_fill(event, fee)
        if record is not None:
            found = self.store.by_order(event.order_id)
            metrics_publish.book_fill(
                self.metrics, event.trading_pair, record.leg(found[1]).connector if found else "unknown", fee
            )

    def _journal_fill(self, event: Any, fee: Decimal) -> None:
        if not isinstance(self.store, JournaledPairStore):
            return
        found = self.store.by_order(event.order_id)
        side = found[1] if found else "unknown"
        market = found[0].leg(side) if found else None
        self.store.journal.record_fill(
            event.order_id,
            str(getattr(event, "exchange_trade_id", "") or f"{event.timestamp}:{event.amount}"),
            float(event.timestamp),
            market.connector if market else "",
            event.trading_pair,
            side,
            Decimal(event.price),
            Decimal(event.amount),
            fee,
        )

    def on_failure(self, event: Any) -> None:
        self.executor.on_failure(event.order_id, float(event.timestamp), str(event.error_message))

    def on_cancel(self, event: Any) -> None:
        self.executor.on_cancel(event.order_id, float(event.timestamp))

    def on_complete(self, event: Any) -> None:
        self.executor.on_order_done(event.order_id, float(event.timestamp))

    def on_funding(self, event: Any) -> None:
        amount = Decimal(event.amount)
        holders = [
            r
            for r in self.store.open_records()
            if any(leg.connector == event.market and leg.trading_pair == event.trading_pair for leg in r.legs())
        ]
        if not holders:
            metrics_publish.book_funding(self.metrics, event.trading_pair, amount)
            log.info("funding_unattributed connector=%s pair=%s amount=%s", event.market, event.trading_pair, amount)
            return
        if self.durability is None:
            return
        rate = Decimal(str(event.funding_rate)) if getattr(event, "funding_rate", None) is not None else None
        if self.durability.book(
            event.market, event.trading_pair, float(event.timestamp), amount, rate, "event", holders
        ):
            metrics_publish.book_funding(self.metrics, event.trading_pair, amount)
            self.observer.funding_split(float(event.timestamp), amount, holders)
            self.store.save()

    # --- errors, metrics, status ---------------------------------------------------------------------
    def _record_error(self, ts: float, kind: str, detail: str) -> None:
        self.metrics.inc("errors", kind=kind)
        if self.journal is not None:
            self.journal.add_totals({"errors": Decimal(1)})
        self.risk.record_error(ts, kind, detail)
        log.warning("error kind=%s detail=%s", kind, detail)

    def _publish(self, ts: float, tick: TickSnapshot, decision: Any) -> None:
        """Refresh the gauges at most every `metrics_export_interval_s` (what a scrape or an export can see)."""
        if self._gauges_ts is not None and ts - self._gauges_ts < self.settings.metrics_export_interval_s:
            return
        self._gauges_ts = ts
        metrics_publish.publish_gauges(self.metrics, self, tick, decision)
        if self.exporter is not None:
            self.exporter.maybe_export(ts)

    def format_status(self) -> str:
        return status_view.render(self)

    @property
    def state_path(self) -> Path:
        return project_root() / self.settings.state_file
