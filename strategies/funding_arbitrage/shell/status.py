"""Status text for Hummingbot's `status` command and the per-tick metrics (presentation only: no edge math).

Every figure comes from the last `TickDecision`, the risk gate and the pair store; unknown values print
as N/A, never as 0.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Iterable, Optional

from ..core.explain import EntryGates, Explanation, explain, nearest
from ..core.reasons import REVERSE_CARRY_UNSUPPORTED

NA = "N/A"
NEAREST_ROWS = 8  # candidates shown in `status`, nearest to entry first


def _d(x: Optional[Decimal], places: int = 2, suffix: str = "") -> str:
    if x is None:
        return NA
    return f"{x:.{places}f}{suffix}"


def when(ts: Optional[float]) -> str:
    """Unix seconds as 'YYYY-MM-DD HH:MM UTC'."""
    if ts is None:
        return NA
    return dt.datetime.fromtimestamp(float(ts), dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def span(seconds: Optional[float]) -> str:
    """A duration for people: '2d 3h', '3h 12m', '45m', '20s'."""
    if seconds is None:
        return NA
    s = int(max(seconds, 0))
    d, h, m = s // 86400, s % 86400 // 3600, s % 3600 // 60
    if d:
        return f"{d}d {h}h"
    if h:
        return f"{h}h {m}m"
    return f"{m}m" if m else f"{s}s"


def _rate(x: Optional[Decimal]) -> str:
    return NA if x is None else f"{x * 100:.4f}%"


def _table(headers: list[str], rows: Iterable[list[str]]) -> list[str]:
    rows = list(rows)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = ["  " + line, "  " + "-" * len(line)]
    out += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
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
    lines = [
        f"Funding arbitrage  trading state: {rt.risk.state.value}"
        + (f"  ({rt.risk.halt_reason})" if rt.risk.halt_reason else "")
    ]
    if rt.fatal_error:
        lines.append(f"  STOPPED: {rt.fatal_error}")
    recovered = getattr(rt, "recovery_report", None)
    lines.append(
        f"  Restart recovery: {recovered.summary}"
        if recovered is not None
        else "  Restart recovery: pending (no entry until the venues have answered)"
    )
    lines += ["", "Venues:", *_table(["connector", "ready", "status"], connectivity(rt.strategy, s.all_connectors))]
    if not all(getattr(rt.strategy.connectors.get(n), "ready", False) for n in s.all_connectors):
        lines.append("  Trading waits until every venue is connected and ready.")
    if getattr(rt, "controls", None) is not None:
        lines += ["", *rt.controls.status_lines()]  # pause / flatten / kill switch, last acknowledgements
    lines += ["", *_positions(rt), "", *_funding(rt), "", *_candidates(rt), "", *_risk(rt)]
    lines += ["", f"Note: {REVERSE_CARRY_UNSUPPORTED}."]
    return "\n".join(lines)


def _positions(rt: Any) -> list[str]:
    """Open pairs: age, legs, hedge gap, funding received, legs PnL, fees, net and the current forward edge."""
    records = rt.store.open_records()
    lines = _funding_days(rt)
    if not records:
        return ["Positions: none open", *lines]
    holds = {h.pair_id: h for h in getattr(rt.last_decision, "holds", ())}
    now = rt.last_ts
    rows = []
    for r in records:
        pnl, fees = rt._legs_pnl(r), r.long.fees_quote + r.short.fees_quote
        funding = rt.funding_total(r) if hasattr(rt, "funding_total") else r.funding_received_quote  # None: unknown
        net = None if pnl is None or funding is None else funding + pnl - fees
        hold = holds.get(r.pair_id)
        rows.append(
            [
                r.pair_id,
                f"{r.long.connector}/{r.long.kind} -> {r.short.connector}",
                r.state.value,
                when(r.opened_ts),
                span(None if now is None else now - r.opened_ts),
                f"{r.long.filled_base}",
                f"{-r.short.filled_base}",
                f"{r.hedge_gap_base}",
                _d(funding, 4),
                _d(pnl, 4),
                _d(fees, 4),
                _d(net, 4),
                _d(hold.forward_edge_apr_pct, 2, "%") if hold is not None else NA,
            ]
        )
    return [
        "Positions (quote; net = funding + legs PnL - fees):",
        *_table(
            [
                "id",
                "long -> short",
                "state",
                "opened",
                "age",
                "long",
                "short",
                "gap",
                "funding",
                "legs pnl",
                "fees",
                "net",
                "edge APR now",
            ],
            rows,
        ),
        *lines,
    ]


def _funding_days(rt: Any) -> list[str]:
    observer = getattr(rt, "observer", None)
    days = sorted(getattr(observer, "funding_by_day", {}))[-3:]
    return [f"  funding by day: {observer.funding_line(d)}" for d in days] if observer is not None else []


def _funding(rt: Any) -> list[str]:
    views = rt.engine.funding_views()
    if not views:
        return ["Funding: no perp funding received yet"]
    rows = []
    for v in views:
        interval = v.interval
        rows.append(
            [
                v.connector,
                v.trading_pair,
                _rate(v.rate),
                NA if interval.hours is None else f"{interval.hours:g}h ({interval.source.value})",
                _d(v.apr_pct, 2, "%") if v.apr_pct is not None else NA,
                when(v.next_funding_ts) + (f" (in {span(v.next_funding_ts - rt.last_ts)})" if rt.last_ts else ""),
            ]
        )
    return [
        "Funding (rate per venue interval):",
        *_table(["connector", "pair", "rate", "interval", "APR", "next settlement"], rows),
    ]


def _candidates(rt: Any) -> list[str]:
    """The nearest candidates (costed this tick, plus the best screened pair of each token costed now on the same
    books: `core/explain.py`), with the full edge breakdown and every reason each is not entered."""
    d = rt.last_decision
    if d is None:
        return ["Candidates: not evaluated yet"]
    costed = [*d.candidates, *rt.engine.explain_screened(d.screened)]
    rows = [_explained_row(explain(r, _gates(rt, r))) for r in nearest(costed, NEAREST_ROWS)]
    s = rt.settings
    decided = getattr(rt, "decided_ts", None)
    age_s = None if decided is None or rt.last_ts is None else max(0.0, rt.last_ts - decided)
    when = "this tick" if not age_s else f"at the last decision, {span(age_s)} ago"
    lines = [
        f"Nearest candidates ({len(d.candidates)} costed {when}, {d.screened_out} below the cost floor; "
        f"min net {_pct(s.min_net_edge_pct)}, horizon {span(float(s.holding_horizon_hours) * 3600)}; "
        "quote over the expected hold):",
        *_table(
            [
                "pair",
                "kind",
                "notional",
                "hold",
                "spread APR",
                "funding",
                "fees",
                "slippage",
                "basis",
                "borrow",
                "net",
                "net %",
                "need %",
                "break-even",
                "why not entered",
            ],
            rows,
        ),
    ]
    if not rows:
        lines.append("  (no market has usable data yet)")
    if d.skipped:
        lines.append("  skipped markets: " + ", ".join(f"{k}={v}" for k, v in sorted(d.skipped.items())))
    return lines


def _gates(rt: Any, result: Any) -> EntryGates:
    """What the shell would stop this candidate with now: risk gate / pause, a held token, a cooldown."""
    ts = rt.last_ts
    denial = None if ts is None else rt.risk.allow_entry(ts, [result.long_connector, result.short_connector])
    held = {r.token for r in rt.store.open_records()}
    cooling = {token: until for token, (until, _) in getattr(rt, "cooldowns", {}).items()}
    return EntryGates(ts or 0.0, denial, frozenset(held), cooling)


def _explained_row(e: Explanation) -> list[str]:
    return [
        f"{e.token} {e.long_connector}->{e.short_connector}",
        e.kind,
        _d(e.notional_quote, 2),
        NA if e.holding_hours is None else span(float(e.holding_hours) * 3600),
        _d(e.spread_apr_pct, 2, "%"),
        _d(e.funding_quote, 2),
        _d(e.fees_quote, 2),
        _d(e.slippage_quote, 2),
        _d(e.basis_quote, 2),
        _d(e.borrow_quote, 2),
        _d(e.net_quote, 2),
        _d(e.net_pct, 3, "%"),
        _d(e.required_pct, 3, "%"),
        NA if e.break_even_hours is None else span(float(e.break_even_hours) * 3600),
        "; ".join(e.reasons) if e.reasons else "enters (accepted)",
    ]


def _pct(x: Decimal) -> str:
    return f"{x.normalize():f}%"


def _risk(rt: Any) -> list[str]:
    gate = rt.risk
    lines = [
        "Risk:",
        f"  equity {_d(gate.last_equity_quote)}  peak {_d(gate.peak_equity_quote)}  drawdown "
        f"{_d(gate.drawdown_quote)} / max {rt.settings.max_drawdown_quote}",
        f"  errors in last {rt.settings.error_window_s}s: {gate.error_count(rt.last_ts or 0)} "
        f"/ max {rt.settings.max_errors_per_window}",
    ]
    if gate.stale_venues:
        lines.append("  stale venues: " + ", ".join(f"{k} ({v})" for k, v in sorted(gate.stale_venues.items())))
    for leg in gate.leg_reports:
        lines.append(
            f"  {leg.pair_id} {leg.connector}: liquidation {_d(leg.liquidation_price, 2)}  distance "
            f"{_d(leg.distance_pct, 1, '%')}  margin ratio {_d(leg.margin_ratio, 3)}  {leg.status}"
        )
    for a in rt.metrics.alerts(active_only=True):
        lines.append(f"  ALERT [{a.severity.value}] {a.name}: {a.message}")
    return lines
