"""report.html: one self-contained page (inline CSS, inline canvas JS, no network), headline numbers first.

All text is HTML-escaped; the chart data is embedded as JSON with `<`, `>`, `&` and line separators escaped
so it cannot close its script element. Long series are thinned for drawing only (`downsample`); the CSVs keep
every point.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from importlib import resources
from typing import Any

from .report_tables import (
    RUN_TITLES,
    approximations,
    config_section,
    data_section,
    esc,
    events_section,
    headline,
    invariant_warnings,
    listing,
    not_run,
    pairs_section,
    summary,
)
from .results import RUN_NAMES, MarginPoint, ReplayReport, RunResult

MAX_CHART_POINTS = 1500
RUN_COLORS = {"funding_arbitrage": "#1f77b4", "baseline": "#ff7f0e", "passive_carry": "#9467bd", "oracle": "#2ca02c"}
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#ff7f0e")
DECOMPOSITION = ("funding", "basis", "fees", "slippage", "borrow", "net")


def downsample(
    points: Sequence[tuple[float, float | None]], max_points: int = MAX_CHART_POINTS
) -> list[tuple[float, float | None]]:
    """At most ~max_points points, keeping the first, the last and each bucket's minimum and maximum (so peaks
    and drawdowns survive), in time order. Deterministic."""
    if len(points) <= max_points:
        return list(points)
    buckets = max(1, (max_points - 2) // 2)
    size = (len(points) - 2) / buckets
    keep = {0, len(points) - 1}
    for b in range(buckets):
        lo, hi = 1 + int(b * size), 1 + int((b + 1) * size)
        idx = [i for i in range(lo, min(hi, len(points) - 1)) if points[i][1] is not None]
        if idx:
            keep.add(min(idx, key=lambda i: (points[i][1], i)))
            keep.add(max(idx, key=lambda i: (points[i][1], -i)))
    return [points[i] for i in sorted(keep)]


def _num(value: Decimal | None) -> float | None:
    return float(value) if value is not None and value.is_finite() else None


def _as_float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _runs(report: ReplayReport) -> list[RunResult]:
    return [report.runs[name] for name in RUN_NAMES if name in report.runs]


def chart_specs(report: ReplayReport, config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The charts to draw: equity, PnL decomposition, and per run with margin data its ratio and distance."""
    runs = _runs(report)
    equity = [
        {
            "label": run.name,
            "color": RUN_COLORS[run.name],
            "points": downsample([(float(p.ts), _num(p.equity_quote)) for p in run.equity]),
        }
        for run in runs
    ]
    bars = [
        {
            "label": run.name,
            "color": RUN_COLORS[run.name],
            "values": [
                float(run.funding_pnl_quote),
                float(run.basis_pnl_quote),
                -float(run.fees_quote),
                -float(run.slippage_quote),
                -float(run.borrow_quote),
                float(run.net_pnl_quote),
            ],
        }
        for run in runs
    ]
    utilisation = [
        {
            "label": run.name,
            "color": RUN_COLORS[run.name],
            "points": downsample([(float(u.ts), float(u.ratio * 100)) for u in run.utilisation]),
        }
        for run in runs
        if run.utilisation
    ]
    specs: list[dict[str, Any]] = [
        {"id": "chart-equity", "type": "line", "y_label": "equity (quote)", "series": equity},
        {
            "id": "chart-utilisation",
            "type": "line",
            "y_label": "deployed notional / capital (%)",
            "series": utilisation,
        },
        {
            "id": "chart-decomposition",
            "type": "bar",
            "y_label": "PnL (quote)",
            "categories": list(DECOMPOSITION),
            "groups": bars,
        },
    ]
    threshold = _as_float(config.get("min_liquidation_distance_pct"))
    for run in runs:
        if not run.margin:
            continue
        legs: dict[tuple[str, str], list[MarginPoint]] = {}
        for m in sorted(run.margin, key=lambda m: (m.ts, m.connector, m.token)):
            legs.setdefault((m.connector, m.token), []).append(m)
        ratio, distance = [], []
        for i, ((connector, token), pts) in enumerate(sorted(legs.items())):
            label, color = f"{connector} {token}", PALETTE[i % len(PALETTE)]
            ratio_pts = [(float(m.ts), _num(m.margin_ratio)) for m in pts]
            distance_pts = [(float(m.ts), _num(m.liquidation_distance_pct)) for m in pts]
            ratio.append({"label": label, "color": color, "points": downsample(ratio_pts)})
            distance.append({"label": label, "color": color, "points": downsample(distance_pts)})
        specs.append(
            {
                "id": f"chart-margin-ratio-{run.name}",
                "type": "line",
                "y_label": "maintenance / equity",
                "series": ratio,
                "ref_lines": [{"y": 1.0, "label": "liquidation (1.0)"}],
            }
        )
        refs = [] if threshold is None else [{"y": threshold, "label": f"reduce below {threshold:g} %"}]
        specs.append(
            {
                "id": f"chart-liq-distance-{run.name}",
                "type": "line",
                "y_label": "distance to liquidation (%)",
                "series": distance,
                "ref_lines": refs,
            }
        )
    return specs


def embed_json(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _canvas(spec: Mapping[str, Any], title: str) -> str:
    return (
        f'<h3>{esc(title)}</h3><canvas id="{esc(spec["id"])}" width="960" height="320" '
        f'role="img" aria-label="{esc(title)}">{esc(title)}: enable JavaScript to see the chart; the '
        f"CSV files hold the data.</canvas>"
    )


def _charts_html(specs: list[dict[str, Any]]) -> str:
    titles = {
        "chart-equity": "Equity of each run (quote)",
        "chart-utilisation": "Capital utilisation: deployed notional ÷ capital (%)",
        "chart-decomposition": "PnL decomposition: funding + basis − fees − slippage − borrow = net",
    }
    for run in RUN_NAMES:
        titles[f"chart-margin-ratio-{run}"] = f"{RUN_TITLES[run]}: margin ratio per leg (1.0 = liquidation)"
        titles[f"chart-liq-distance-{run}"] = f"{RUN_TITLES[run]}: distance to liquidation per leg (%)"
    return "".join(_canvas(s, titles[s["id"]]) for s in specs)


CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'"
_ERROR_HOOK = (
    "window.__jsErrors=[];function __rec(m){window.__jsErrors.push(String(m));"
    "document.body.dataset.jsErrors=window.__jsErrors.join(' | ');}"
    "window.onerror=function(m,s,l,c){__rec(m+' @'+l+':'+c);};"
    "window.addEventListener('unhandledrejection',function(e){__rec('unhandled rejection: '+e.reason);});"
    "var __consoleError=console.error;console.error=function(){"
    "__rec('console.error: '+Array.prototype.join.call(arguments,' '));"
    "__consoleError.apply(console,arguments);};"
)


def render_html(report: ReplayReport, config: Mapping[str, Any], tolerance_quote: Decimal) -> str:
    """The page; `config` must already be sanitised (secrets dropped)."""
    runs = _runs(report)
    specs = chart_specs(report, config)
    css = resources.files(__package__).joinpath("assets/report.css").read_text(encoding="utf-8")
    js = resources.files(__package__).joinpath("assets/report.js").read_text(encoding="utf-8")
    title = f"Funding-arb replay {report.period['start']} → {report.period['end']}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<style>
{css}</style>
</head>
<body data-charts-drawn="0">
<script>{_ERROR_HOOK}</script>
<h1>Funding-rate arbitrage replay</h1>
<p class="sub">{esc(report.period["start"])} → {esc(report.period["end"])}
 · coins {esc(listing(report.data.get("coins")))} · venues {esc(listing(report.data.get("venues")))}</p>
<h2 id="headline">Headline</h2>
{summary(report)}
{not_run(report)}{invariant_warnings(runs, tolerance_quote)}
{headline(runs)}
{approximations(report, runs)}
<h2 id="charts">Charts</h2>
{_charts_html(specs)}
<h2 id="pairs">Pairs</h2>
{pairs_section(runs)}
<h2 id="events">Events: leverage reductions, halts, liquidations, faults</h2>
{events_section(runs)}
<h2 id="data">Data and run</h2>
{data_section(report)}
<h2 id="config">Settings used</h2>
{config_section(config)}
<script type="application/json" id="report-data">{embed_json({"charts": specs})}</script>
<script>
{js}</script>
</body>
</html>
"""
