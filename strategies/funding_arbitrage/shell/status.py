"""Status text for Hummingbot's `status` command and the per-tick metrics (presentation only: no edge math).

Every figure comes from the last `TickDecision`, the risk gate and the pair store; unknown values print
as N/A, never as 0.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterable, Optional

from ..core.reasons import REVERSE_CARRY_UNSUPPORTED
from .state import PairState

NA = "N/A"
MAX_CANDIDATE_ROWS = 12


def _d(x: Optional[Decimal], places: int = 2, suffix: str = "") -> str:
    if x is None:
        return NA
    return f"{x:.{places}f}{suffix}"


def _rate(x: Optional[Decimal]) -> str:
    return NA if x is None else f"{x * 100:.4f}%"


def _table(headers: list[str], rows: Iterable[list[str]]) -> list[str]:
    rows = list(rows)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    out = ["  " + line, "  " + "-" * len(line)]
    out += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    return out


def connectivity(strategy: Any, connectors: list[str]) -> list[list[str]]:
    rows = []
    for name in connectors:
        c = strategy.connectors.get(name)
        if c is None:
            rows.append([name, "NO", "NOT CONNECTED (connector missing)"])
            continue
        ready = bool(getattr(c, "ready", False))
        network = getattr(getattr(c, "network_status", None), "name", "UNKNOWN")
        if ready:
            state = "connected"
        else:
            pending = [k for k, v in getattr(c, "status_dict", {}).items() if not v]
            state = "NOT CONNECTED" + (f" (waiting for {', '.join(pending)})" if pending else "")
        rows.append([name, "yes" if ready else "NO", f"{state}; network {network}"])
    return rows


def render(rt: Any) -> str:
    s = rt.settings
    lines = [f"Funding arbitrage  trading state: {rt.risk.state.value}"
             + (f"  ({rt.risk.halt_reason})" if rt.risk.halt_reason else "")]
    if rt.fatal_error:
        lines.append(f"  STOPPED: {rt.fatal_error}")
    recovered = getattr(rt, "recovery_report", None)
    lines.append(f"  Restart recovery: {recovered.summary}" if recovered is not None
                 else "  Restart recovery: pending (no entry until the venues have answered)")
    lines += ["", "Venues:"] + _table(["connector", "ready", "status"], connectivity(rt.strategy, s.all_connectors))
    if not all(getattr(rt.strategy.connectors.get(n), "ready", False) for n in s.all_connectors):
        lines.append("  Trading waits until every venue is connected and ready.")
    if getattr(rt, "controls", None) is not None:
        lines += ["", *rt.controls.status_lines()]  # pause / flatten / kill switch, last acknowledgements
    lines += ["", *_positions(rt), "", *_funding(rt), "", *_candidates(rt), "", *_risk(rt)]
    lines += ["", f"Note: {REVERSE_CARRY_UNSUPPORTED}."]
    return "\n".join(lines)


def _positions(rt: Any) -> list[str]:
    records = rt.store.open_records()
    if not records:
        return ["Positions: none open"]
    rows = []
    for r in records:
        pnl = rt._legs_pnl(r)
        rows.append([
            r.pair_id, f"{r.long.connector}/{r.long.kind} -> {r.short.connector}", r.state.value,
            f"{r.long.filled_base}", f"{-r.short.filled_base}", f"{r.hedge_gap_base}",
            _d(rt.funding_total(r), 4), _d(pnl, 4), _d(r.long.fees_quote + r.short.fees_quote, 4),
        ])
    return ["Positions:"] + _table(
        ["id", "long -> short", "state", "long", "short", "gap", "funding", "legs pnl", "fees"], rows)


def _funding(rt: Any) -> list[str]:
    views = rt.engine.funding_views()
    if not views:
        return ["Funding: no perp funding received yet"]
    rows = []
    for v in views:
        interval = v.interval
        rows.append([
            v.connector, v.trading_pair, _rate(v.rate),
            NA if interval.hours is None else f"{interval.hours:g}h ({interval.source.value})",
            _d(v.apr_pct, 2, "%") if v.apr_pct is not None else NA,
            str(v.next_funding_ts),
        ])
    return ["Funding (rate per venue interval):"] + _table(
        ["connector", "pair", "rate", "interval", "APR", "next settlement ts"], rows)


def _candidates(rt: Any) -> list[str]:
    d = rt.last_decision
    if d is None:
        return ["Candidates: not evaluated yet"]
    ranked = sorted(d.candidates, key=lambda c: (c.net_edge_pct is None, -(c.net_edge_pct or Decimal(0))))
    rows = []
    for c in ranked[:MAX_CANDIDATE_ROWS]:
        comp = c.components
        rows.append([
            f"{c.token} {c.long_connector}->{c.short_connector}", c.kind.value,
            _leg_rate(c.long_funding), _leg_rate(c.short_funding), _d(c.funding_spread_apr_pct, 2, "%"),
            _d(comp.entry_fees_quote + comp.exit_fees_quote, 3) if comp else NA,
            _d(comp.entry_slippage_quote + comp.exit_slippage_quote, 3) if comp else NA,
            _d(comp.basis_quote, 3) if comp else NA,
            (_d(comp.borrow_quote, 3) + f" ({c.borrow_source})") if comp else NA,
            _d(c.net_edge_pct, 3, "%"), _d(c.break_even_hours, 1),
            c.reason.value + (f": {c.detail}" if c.detail and not c.accepted else ""),
        ])
    header = (f"Candidates (horizon {rt.settings.holding_horizon_hours}h, min net {rt.settings.min_net_edge_pct}%; "
              f"{len(d.candidates)} evaluated, {d.screened_out} below cost floor):")
    lines = [header] + _table(
        ["pair", "kind", "long rate/APR", "short rate/APR", "spread", "fees", "slippage", "basis", "borrow",
         "net edge", "BE h", "decision"], rows)
    if d.skipped:
        lines.append("  skipped markets: " + ", ".join(f"{k}={v}" for k, v in sorted(d.skipped.items())))
    return lines


def _leg_rate(leg: Any) -> str:
    if leg is None:
        return "spot (none)"
    return f"{leg.rate * 100:.4f}%/{_d(leg.interval.hours, 0, 'h')} {leg.apr_pct:.1f}%"


def _risk(rt: Any) -> list[str]:
    gate = rt.risk
    lines = ["Risk:",
             f"  equity {_d(gate.last_equity_quote)}  peak {_d(gate.peak_equity_quote)}  drawdown "
             f"{_d(gate.drawdown_quote)} / max {rt.settings.max_drawdown_quote}",
             f"  errors in last {rt.settings.error_window_s}s: {gate.error_count(rt.last_ts or 0)} "
             f"/ max {rt.settings.max_errors_per_window}"]
    if gate.stale_venues:
        lines.append("  stale venues: " + ", ".join(f"{k} ({v})" for k, v in sorted(gate.stale_venues.items())))
    for leg in gate.leg_reports:
        lines.append(f"  {leg.pair_id} {leg.connector}: liquidation {_d(leg.liquidation_price, 2)}  distance "
                     f"{_d(leg.distance_pct, 1, '%')}  margin ratio {_d(leg.margin_ratio, 3)}  {leg.status}")
    for a in rt.metrics.alerts(active_only=True):
        lines.append(f"  ALERT [{a.severity.value}] {a.name}: {a.message}")
    return lines


def update_metrics(m: Any, rt: Any, tick: Any, decision: Any) -> None:
    """Gauges for dashboards; unknown values are None (absent in Prometheus, null in JSON)."""
    gate = rt.risk
    for state in ("ACTIVE", "REDUCING", "HALTED"):
        m.gauge("trading_state", 1 if gate.state.value == state else 0, state=state)
    m.gauge("equity_quote", gate.last_equity_quote)
    m.gauge("drawdown_quote", gate.drawdown_quote)
    m.gauge("open_pairs", len([r for r in rt.store.open_records() if r.state is PairState.HEDGED]))
    m.gauge("imbalanced_pairs", len([r for r in rt.store.open_records()
                                     if r.state is PairState.REDUCING]))
    for name in rt.settings.all_connectors:
        m.gauge("venue_ready", 1 if tick.ready.get(name) else 0, connector=name)
    for v in rt.engine.funding_views():
        m.gauge("funding_apr_pct", v.apr_pct, connector=v.connector, pair=v.trading_pair)
        m.gauge("funding_interval_hours", v.interval.hours, connector=v.connector, pair=v.trading_pair)
    m.clear_gauge("skipped_markets")  # counts of this tick only: reasons that no longer occur must not linger
    for reason, n in decision.skipped.items():
        m.gauge("skipped_markets", n, reason=str(reason))
    for reason, n in rt.snapshots.errors.items():  # connector state the adapter could not read (cumulative)
        m.gauge("adapter_read_errors", n, reason=reason)
    for name in ("candidate_net_edge_pct", "candidate_break_even_hours", "candidate_borrow_quote",
                 "hedge_gap_base", "pair_funding_received_quote", "liquidation_distance_pct", "margin_ratio"):
        m.clear_gauge(name)  # closed pairs and vanished candidates must not linger
    for c in decision.candidates:
        labels = dict(token=c.token, long=c.long_connector, short=c.short_connector)
        m.gauge("candidate_net_edge_pct", c.net_edge_pct, **labels)
        m.gauge("candidate_break_even_hours", c.break_even_hours, **labels)
        if c.components is not None:
            m.gauge("candidate_borrow_quote", c.components.borrow_quote, source=c.borrow_source, **labels)
    for r in rt.store.open_records():
        m.gauge("hedge_gap_base", r.hedge_gap_base, pair_id=r.pair_id)
        m.gauge("pair_funding_received_quote", rt.funding_total(r), pair_id=r.pair_id)  # None (N/A) if unknown
    for leg in gate.leg_reports:
        m.gauge("liquidation_distance_pct", leg.distance_pct, pair_id=leg.pair_id, connector=leg.connector)
        m.gauge("margin_ratio", leg.margin_ratio, pair_id=leg.pair_id, connector=leg.connector)
    m.sync_alerts(tick.ts, gate.alerts(), "risk.")
