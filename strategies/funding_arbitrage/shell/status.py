"""Status text for Hummingbot's `status` command and the per-tick metrics (presentation only: no edge math).

Every figure comes from the last `TickDecision`, the risk gate and the pair store; unknown values print
as N/A, never as 0.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Iterable, Optional

from ..core.reasons import REVERSE_CARRY_UNSUPPORTED

NA = "N/A"
MAX_CANDIDATE_ROWS = 12


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
    d = rt.last_decision
    if d is None:
        return ["Candidates: not evaluated yet"]
    ranked = sorted(d.candidates, key=lambda c: (c.net_edge_pct is None, -(c.net_edge_pct or Decimal(0))))
    rows = []
    for c in ranked[:MAX_CANDIDATE_ROWS]:
        comp = c.components
        rows.append(
            [
                f"{c.token} {c.long_connector}->{c.short_connector}",
                c.kind.value,
                _leg_rate(c.long_funding),
                _leg_rate(c.short_funding),
                _d(c.funding_spread_apr_pct, 2, "%"),
                _d(comp.entry_fees_quote + comp.exit_fees_quote, 3) if comp else NA,
                _d(comp.entry_slippage_quote + comp.exit_slippage_quote, 3) if comp else NA,
                _d(comp.basis_quote, 3) if comp else NA,
                (_d(comp.borrow_quote, 3) + f" ({c.borrow_source})") if comp else NA,
                _d(c.net_edge_pct, 3, "%"),
                _d(c.break_even_hours, 1),
                c.reason.value + (f": {c.detail}" if c.detail and not c.accepted else ""),
            ]
        )
    header = (
        f"Candidates (horizon {rt.settings.holding_horizon_hours}h, min net {rt.settings.min_net_edge_pct}%; "
        f"{len(d.candidates)} evaluated, {d.screened_out} below cost floor):"
    )
    lines = [
        header,
        *_table(
            [
                "pair",
                "kind",
                "long rate/APR",
                "short rate/APR",
                "spread",
                "fees",
                "slippage",
                "basis",
                "borrow",
                "net edge",
                "BE h",
                "decision",
            ],
            rows,
        ),
    ]
    if not rows:
        lines.append("  (no pair cleared the cost floor this tick: the nearest ones are below)")
    lines += ["", *_screened(rt, d)]
    if d.skipped:
        lines.append("  skipped markets: " + ", ".join(f"{k}={v}" for k, v in sorted(d.skipped.items())))
    return lines


def _screened(rt: Any, d: Any) -> list[str]:
    """The best pair of each token that the cost floor screened out, nearest first, and why it is not entered."""
    screened = sorted(d.screened, key=lambda p: -p.upper_bound)[:MAX_CANDIDATE_ROWS]
    if not screened:
        return ["Nearest below the cost floor: none"]
    minimum = Decimal(rt.settings.min_net_edge_pct)
    rows = [
        [
            f"{p.token} {p.long_connector}->{p.short_connector}",
            p.kind.value,
            _rate(p.long_rate_per_hour),
            _rate(p.short_rate_per_hour),
            _d(p.funding_spread_apr_pct, 2, "%"),
            _d(p.upper_bound * 100, 3, "%"),
            _d(minimum - p.upper_bound * 100, 3, "%"),
            f"{p.reason.value}: even at zero slippage the net edge is at most {p.upper_bound * 100:.3f}% "
            f"< min {minimum}%",
        ]
        for p in screened
    ]
    return [
        "Nearest below the cost floor (best pair per token; funding per hour, edge over the horizon):",
        *_table(
            ["pair", "kind", "long rate/h", "short rate/h", "spread APR", "best net edge", "short of min", "why not"],
            rows,
        ),
    ]


def _leg_rate(leg: Any) -> str:
    if leg is None:
        return "spot (none)"
    return f"{leg.rate * 100:.4f}%/{_d(leg.interval.hours, 0, 'h')} {leg.apr_pct:.1f}%"


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
