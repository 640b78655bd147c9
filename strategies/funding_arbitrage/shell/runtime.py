"""The strategy shell: one tick = snapshot -> risk -> edge engine -> execution -> metrics.

Runs inside the Hummingbot script (`scripts/funding_arbitrage.py`) live, headless and in replay alike.
Nothing here may raise out of `on_tick`: every failure is counted, logged and, past the error-burst limit,
halts trading (risk gate).
"""
from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path
from typing import Any, Optional

from hummingbot.core.data_type.common import PositionMode

from . import status as status_view
from .adapter import SnapshotBuilder
from ..core.config import ConfigError, FundingArbSettings
from ..core.decisions import EdgeEngine, HeldPair
from .execution import LegExecutor
from .home import project_root
from ..core.metrics import MetricsRegistry
from ..core.portfolio import account_equity
from .metrics_export import JsonExporter, PrometheusServer
from ..core.risk import LegRisk, RiskGate, RiskReport
from ..core.snapshots import MarketKind, TickSnapshot
from .state import Leg, PairRecord, PairState, PairStore, StateError, net_exposure

log = logging.getLogger(__name__)
STUCK_FACTOR = 10
PLACEHOLDER_VALUES = {"", "none", "null", "xxx", "changeme", "your_api_key", "your_api_secret", "api_key",
                      "secret", "placeholder", "test", "dummy"}


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
        bad = sorted(k for k, v in keys.items() if v is None or str(v).strip().lower() in PLACEHOLDER_VALUES
                     or set(str(v).strip()) <= {"x", "X", "*", "0"})
        if bad:
            raise ConfigError(f"{connector}: keystore entries {bad} are empty or placeholders; "
                              f"run `connect {connector}` with the real keys")


class FundingArbRuntime:
    """Owns the strategy's state for one run; called by the script's hooks."""

    def __init__(self, strategy: Any, settings: FundingArbSettings) -> None:
        self.strategy = strategy
        self.settings = settings
        root = project_root()
        self.store = PairStore(root / settings.state_file)
        self.metrics = MetricsRegistry()
        self.risk = RiskGate(settings)
        self.engine = EdgeEngine(settings)
        self.snapshots = SnapshotBuilder(settings)
        self.executor = LegExecutor(strategy, self.store, self._record_error)
        self.exporter = (JsonExporter(root / settings.metrics_export_path, settings.metrics_export_interval_s,
                                      registry=self.metrics) if settings.metrics_export_path else None)
        self.prometheus: Optional[PrometheusServer] = None
        self.fatal_error: Optional[str] = None
        self.last_decision: Any = None
        self.last_tick: Optional[TickSnapshot] = None
        self.last_risk: Optional[RiskReport] = None
        self.last_ts: Optional[float] = None
        self._markets: dict[tuple[str, str], Any] = {}
        self._gauges_ts: Optional[float] = None
        self.unmanaged: dict[tuple[str, str], Decimal] = {}
        self._mismatch_since: dict[tuple[str, str], float] = {}  # venue position != record, since
        self._reconciled = False  # the first check (at start, after a restart) flags at once
        self._initialised = False
        self._state_loaded = False
        self._load_state()

    # --- lifecycle -----------------------------------------------------------------------------------
    def _load_state(self) -> None:
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
                self.strategy.set_leverage(name, self.settings.trading_pair(name, token), self.settings.leverage[name])
        if self.settings.prometheus_port:
            self.prometheus = PrometheusServer(self.metrics, self.settings.prometheus_port)
            self.prometheus.start()
        self._initialised = True

    def _reconcile(self, ts: float, tick: TickSnapshot) -> None:
        """Compare recorded perp legs with venue positions, every tick (after a restart, and to notice what the venue
        did on its own, e.g. a liquidation): a position not opened by us blocks its token (`unmanaged_position`);
        a differing one marks its hedged pair IMBALANCED (`reconcile_mismatch`). Markets with working orders are
        skipped (their fills may not have reached us yet); after the first check a difference must last
        `single_leg_timeout_s` before it is flagged, as a venue's position feed may lag its fill events."""
        expected = net_exposure(self.store.records.values())
        actual: dict[tuple[str, str], Decimal] = {}
        for p in tick.positions:  # HEDGE mode: a long and a short position may share a pair; net them
            actual[(p.connector, p.trading_pair)] = actual.get((p.connector, p.trading_pair), Decimal(0)) + p.amount
        working = self.executor.working_markets()
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
                self.metrics.alert("unmanaged_position", "warning",
                                   f"{key[0]} {key[1]} holds {act} not opened by this strategy; token blocked", ts)
                continue
            for r in self.store.open_records():
                if r.state is PairState.HEDGED and any((lg.connector, lg.trading_pair) == key for lg in r.legs()):
                    r.transition(PairState.IMBALANCED, ts, "venue position differs from the record")
                    changed = True
            self.metrics.alert("reconcile_mismatch", "critical", f"{key[0]} {key[1]}: recorded {exp}, venue {act}", ts)
        self._resolve_imbalanced(ts, actual)
        self.unmanaged, self._mismatch_since, self._reconciled = unmanaged, since, True
        if not unmanaged:
            self.metrics.clear_alert("unmanaged_position", ts)
        if changed:
            self.store.save()

    def _resolve_imbalanced(self, ts: float, actual: dict[tuple[str, str], Decimal]) -> None:
        """Unwind IMBALANCED pairs at what the venues hold; a market shared by two open pairs cannot be attributed
        and stays IMBALANCED (critical alert) for the operator."""
        owners: dict[tuple[str, str], int] = {}
        for r in self.store.open_records():
            for leg in r.legs():
                owners[(leg.connector, leg.trading_pair)] = owners.get((leg.connector, leg.trading_pair), 0) + 1
        for r in self.store.open_records():
            if r.state is not PairState.IMBALANCED or self.executor.has_pending(r):
                continue
            if any(owners[(leg.connector, leg.trading_pair)] > 1 for leg in r.legs()):
                continue
            amounts = {(lg.connector, lg.trading_pair): actual.get((lg.connector, lg.trading_pair), Decimal(0))
                       for lg in r.legs() if lg.kind == "perp"}
            self.metrics.event(ts, "imbalance_unwind", f"{r.pair_id}: closing venue amounts {amounts}")
            self.executor.unwind_imbalanced(r, amounts, ts)

    def on_stop(self) -> None:
        """Stop serving metrics and persist state; hedged positions stay open and are reloaded at restart."""
        self.store.save()
        if self.prometheus is not None:
            self.prometheus.stop()

    # --- tick ----------------------------------------------------------------------------------------
    def on_tick(self, ts: float) -> None:
        try:
            self._tick(ts)
        except Exception as e:  # the tick loop must survive anything; the risk gate halts on bursts
            log.exception("tick_failed ts=%s", ts)
            self._record_error(ts, "tick_exception", repr(e))

    def _tick(self, ts: float) -> None:
        if self.fatal_error or not self._state_loaded:
            return
        if not self._initialised:
            self._first_ready_tick(ts)
        tick = self.snapshots.build(ts, self.strategy.connectors)
        self.last_tick, self.last_ts = tick, ts
        self._markets = {(m.connector, m.trading_pair): m for m in tick.markets}  # one index per tick for lookups
        self._reconcile(ts, tick)
        self._update_risk(ts, tick)
        decision = self.engine.evaluate(tick, self._held())
        self.last_decision = decision
        self._apply_exits(ts, decision)
        self._apply_entries(ts, decision)
        self._publish(ts, tick, decision)

    def _held(self) -> list[HeldPair]:
        """Every open pair (OPENING and UNWINDING too, at their target size) so exposure caps and the
        same-market conflict check count them; exits are acted on for HEDGED pairs only."""
        out = []
        for r in self.store.open_records():
            amount = abs(r.long.filled_base) if r.state is PairState.HEDGED else \
                max(abs(r.long.filled_base), r.long.target_base)
            out.append(HeldPair(
                pair_id=r.pair_id, token=r.token, long_connector=r.long.connector, long_pair=r.long.trading_pair,
                long_kind=MarketKind(r.long.kind), short_connector=r.short.connector, short_pair=r.short.trading_pair,
                amount_base=amount, entry_ts=r.opened_ts,
                entry_notional_quote=r.long.cost_quote, funding_received_quote=r.funding_received_quote,
                unrealized_pnl_quote=self._legs_pnl(r),
            ))
        return out

    def _legs_pnl(self, r: PairRecord) -> Optional[Decimal]:
        """Mark-to-mid PnL of both legs; None when a price is unknown."""
        total = Decimal(0)
        for leg in r.legs():
            mid = self._mid(leg.connector, leg.trading_pair)
            entry = leg.avg_entry_price
            if mid is None or entry is None:
                return None
            total += (mid - entry) * leg.filled_base
        return total

    def _mid(self, connector: str, pair: str) -> Optional[Decimal]:
        market = self._markets.get((connector, pair))
        return market.book.mid if market is not None and market.book is not None else None

    def _update_risk(self, ts: float, tick: TickSnapshot) -> None:
        """Run the risk gate; reduce pairs near liquidation and unwind pairs that never got hedged."""
        opening = self._unpaired(ts)
        report = self.risk.evaluate(ts, equity_quote=self._equity(tick), last_update_ts_by_venue=self._freshness(tick),
                                    legs=self._leg_risks(tick), unpaired_legs=opening)
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
                self.metrics.event(ts, "leverage_reduction", f"{record.pair_id}: {action.reason}")
                lots = {(m.connector, m.trading_pair): m.rules.lot_size for m in tick.markets}
                self.executor.close_pair(record, ts, action.reason, fraction=action.fraction, lots=lots)
        for unwind in report.unwind_actions:
            record = self.store.records.get(unwind.pair_id)
            if record is not None:
                self.metrics.event(ts, "single_leg_timeout", f"{unwind.pair_id}: {unwind.reason}")
                self.executor.abort_opening(record, ts, unwind.reason)

    def _unpaired(self, ts: float) -> list[tuple[str, float]]:
        """OPENING pairs for the single-leg timer, timed from their first fill. A pair whose orders neither
        filled nor failed is timed from its opening once STUCK_FACTOR timeouts have passed."""
        out = []
        limit = STUCK_FACTOR * self.settings.single_leg_timeout_s
        for r in self.store.open_records():
            if r.state is not PairState.OPENING:
                continue
            if r.first_fill_ts is not None:
                out.append((r.pair_id, r.first_fill_ts))
            elif ts - r.opened_ts > limit:
                out.append((r.pair_id, r.opened_ts))
        return out

    def _freshness(self, tick: TickSnapshot) -> dict[str, Optional[float]]:
        """Per venue, the older of its latest book change and its latest funding change: a venue whose funding feed
        froze is stale even while its books move (spot venues have books only). None: not ready or nothing received."""
        latest: dict[tuple[str, str], float] = {}  # (connector, "book" | "funding") -> newest observed_ts
        for m in tick.markets:
            if not tick.ready.get(m.connector, False):
                continue
            for feed, part in (("book", m.book), ("funding", m.funding)):
                if part is not None:
                    key = (m.connector, feed)
                    latest[key] = max(latest.get(key, part.observed_ts), part.observed_ts)
        out: dict[str, Optional[float]] = {name: None for name in self.settings.all_connectors}
        for (connector, _), observed in latest.items():
            prev = out.get(connector)
            out[connector] = observed if prev is None else min(prev, observed)
        return out

    def _equity(self, tick: TickSnapshot) -> Optional[Decimal]:
        """Every leg counted (`core.portfolio.account_equity`): quote balances, spot inventory at mid, perp
        unrealised PnL; None while a venue's balance or a held spot asset's mid is unknown."""
        base: dict[tuple[str, str], Decimal] = {}
        for name in self.settings.spot_connectors:
            connector = self.strategy.connectors.get(name)
            for token in self.settings.tokens:
                pair = self.settings.trading_pair(name, token)
                try:
                    base[(name, pair)] = Decimal(connector.get_balance(token)) if connector is not None else None
                except Exception as e:  # an unreadable balance makes equity unknown, never 0
                    log.warning("connector=%s balance of %s unreadable: %r", name, token, e)
                    return None
                if base[(name, pair)] is None:
                    return None
        mids = {key: self._mid(*key) for key in base}
        return account_equity(self.settings.all_connectors, tick.balances_quote, base, mids, tick.positions)

    def _leg_risks(self, tick: TickSnapshot) -> list[LegRisk]:
        """Perp legs for the liquidation check. No connector reports margin or liquidation price, so each leg
        is estimated as margin = notional / configured leverage at the leg's largest size, against the maintenance
        brackets. A reduction keeps that margin with the rest (the risk gate's `ReduceAction` fraction assumes so:
        `margin.max_amount_for_distance`); recomputing it from the reduced size would reduce again every tick."""
        lots = {(m.connector, m.trading_pair): m.rules.lot_size for m in tick.markets}
        out = []
        for r in self.store.open_records():
            for leg in r.legs():
                if leg.kind != "perp" or leg.filled_base == 0:
                    continue
                leverage = Decimal(self.settings.leverage[leg.connector])
                entry = leg.avg_entry_price or Decimal(0)
                leg.margin_quote = max(leg.margin_quote, abs(leg.filled_base) * entry / leverage)
                out.append(LegRisk(
                    pair_id=r.pair_id, connector=leg.connector, token=r.token, amount=leg.filled_base,
                    entry_price=entry, mark_price=self._mark(leg.connector, leg.trading_pair),
                    leverage=leverage, wallet_margin_quote=leg.margin_quote if leg.margin_quote > 0 else None,
                    lot_size_base=lots.get((leg.connector, leg.trading_pair)),
                ))
        return out

    def _mark(self, connector: str, pair: str) -> Optional[Decimal]:
        market = self._markets.get((connector, pair))
        if market is not None and market.funding is not None:
            return market.funding.mark_price
        return self._mid(connector, pair)

    # --- acting on decisions -------------------------------------------------------------------------
    def _apply_exits(self, ts: float, decision: Any) -> None:
        for action in decision.exits:
            record = self.store.records.get(action.pair_id)
            if record is None or record.state is not PairState.HEDGED:
                continue
            log.info("exit pair=%s reason=%s detail=%s", record.pair_id, action.reason, action.detail)
            self.metrics.inc("exits", reason=str(action.reason))
            self.executor.close_pair(record, ts, str(action.reason))

    def _apply_entries(self, ts: float, decision: Any) -> None:
        busy_tokens = {r.token for r in self.store.open_records()}
        busy_tokens |= {self._token_of(pair) for (_, pair) in self.unmanaged}
        for action in decision.enters:
            if action.token in busy_tokens:
                continue
            denial = self.risk.allow_entry(ts, [action.long_connector, action.short_connector])
            if denial is not None:
                self.metrics.inc("entries_denied", reason=denial.split(":", 1)[0])
                log.info("entry_denied token=%s reason=%s", action.token, denial)
                continue
            record = PairRecord(
                pair_id=self.store.new_id(action.token, ts), token=action.token,
                long=Leg(action.long_connector, action.long_pair, action.long_kind.value, "long",
                         target_base=action.long_amount_base),
                short=Leg(action.short_connector, action.short_pair, "perp", "short",
                          target_base=action.short_amount_base),
                state=PairState.OPENING, opened_ts=ts, updated_ts=ts,
                entry_edge_pct=action.edge.net_edge_pct,
            )
            log.info("enter pair=%s token=%s long=%s short=%s amount=%s net_edge_pct=%s", record.pair_id,
                     action.token, action.long_connector, action.short_connector, action.amount_base,
                     action.edge.net_edge_pct)
            self.metrics.inc("entries", token=action.token)
            self.executor.open_pair(record, ts)
            busy_tokens.add(action.token)

    @staticmethod
    def _token_of(trading_pair: str) -> str:
        return trading_pair.split("-", 1)[0]

    # --- events --------------------------------------------------------------------------------------
    def on_fill(self, event: Any) -> None:
        try:
            fee = Decimal(event.trade_fee.fee_amount_in_token(
                event.trading_pair, event.price, event.amount, event.trading_pair.split("-")[1]))
        except Exception as e:  # e.g. no rate to convert a fee token: keep the percent part, never book 0 silently
            fee = Decimal(event.trade_fee.percent) * Decimal(event.price) * Decimal(event.amount)
            log.warning("fee of fill %s not convertible to quote (%r): booked its percent part %s; flat fees "
                        "of this fill are missing", event.order_id, e, fee)
            self.metrics.inc("fee_conversion_failures")
        record = self.executor.on_fill(event.order_id, event.trade_type, Decimal(event.price),
                                       Decimal(event.amount), fee, float(event.timestamp))
        if record is not None:
            self.metrics.inc("fills", connector=record.leg(record.orders[event.order_id]).connector)
            self.metrics.gauge_add("fees_paid_quote", fee)

    def on_failure(self, event: Any) -> None:
        self.executor.on_failure(event.order_id, float(event.timestamp), str(event.error_message))

    def on_cancel(self, event: Any) -> None:
        self.executor.on_failure(event.order_id, float(event.timestamp), "cancelled")

    def on_complete(self, event: Any) -> None:
        self.executor.on_order_done(event.order_id, float(event.timestamp))

    def on_funding(self, event: Any) -> None:
        amount = Decimal(event.amount)
        holders = [r for r in self.store.open_records()
                   if any(leg.connector == event.market and leg.trading_pair == event.trading_pair
                          for leg in r.legs())]
        self.metrics.gauge_add("funding_net_quote", amount)
        if not holders:
            log.info("funding_unattributed connector=%s pair=%s amount=%s", event.market, event.trading_pair, amount)
            return
        total = sum((abs(r.long.filled_base) for r in holders), Decimal(0)) or Decimal(len(holders))
        for r in holders:
            share = (abs(r.long.filled_base) / total) if total else Decimal(1) / len(holders)
            r.funding_received_quote += amount * share
        self.store.save()

    # --- errors, metrics, status ---------------------------------------------------------------------
    def _record_error(self, ts: float, kind: str, detail: str) -> None:
        self.metrics.inc("errors", kind=kind)
        self.risk.record_error(ts, kind, detail)
        log.warning("error kind=%s detail=%s", kind, detail)

    def _publish(self, ts: float, tick: TickSnapshot, decision: Any) -> None:
        """Refresh the gauges at most every `metrics_export_interval_s` (what a scrape or an export can see)."""
        if self._gauges_ts is not None and ts - self._gauges_ts < self.settings.metrics_export_interval_s:
            return
        self._gauges_ts = ts
        status_view.update_metrics(self.metrics, self, tick, decision)
        if self.exporter is not None:
            self.exporter.maybe_export(ts)

    def format_status(self) -> str:
        return status_view.render(self)

    @property
    def state_path(self) -> Path:
        return project_root() / self.settings.state_file
