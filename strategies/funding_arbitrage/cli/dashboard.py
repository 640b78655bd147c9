"""`funding-arb dashboard`: the JSON metrics export (or a replay's report.json) as one static, offline HTML page.

Charts are inline SVG drawn here; the page loads nothing from anywhere (no CDN, no fonts), so it opens from a
file on a machine without network. Every text from the input is HTML-escaped. Times are shown in UTC.

    funding-arb dashboard [INPUT] [-o OUTPUT]
        INPUT: metrics export (default data/funding_arb_metrics.json) or a replay report.json
        OUTPUT: HTML file (default: INPUT with .html)
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .exit_codes import EXIT_FAILED, EXIT_OK

DEFAULT_INPUT = "data/funding_arb_metrics.json"
NA = "N/A"
PREFIX = "funding_arb_"
_PAGE_JS = """
window.addEventListener('error', function (e) {
  var b = document.body; b.setAttribute('data-js-errors', (b.getAttribute('data-js-errors') || '') + e.message + ';');
});
document.addEventListener('DOMContentLoaded', function () {
  var drawn = 0;
  document.querySelectorAll('svg[data-chart]').forEach(function (svg) {
    if (svg.querySelectorAll('rect.bar').length > 0) { svg.setAttribute('data-drawn', '1'); drawn += 1; }
  });
  document.body.setAttribute('data-charts-drawn', String(drawn));
});
"""
_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.85em;margin:.4em 0}td,th{border:1px solid #ddd;padding:.2em .5em;
text-align:left}th{background:#eee}.num{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:flex;flex-wrap:wrap;gap:.8em}.card{background:#fff;border:1px solid #ddd;padding:.5em .9em}
.card b{display:block;font-size:1.2em}.charts{display:flex;flex-wrap:wrap;gap:1em}
figure{background:#fff;border:1px solid #ddd;margin:0;padding:.5em}figcaption{font-size:.85em;font-weight:600}
.critical{color:#b00}.warning{color:#a60}svg text{font-size:11px}
"""


class DashboardError(ValueError):
    """The input is missing, not JSON, or neither a metrics export nor a replay report."""


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def utc(ts: Any) -> str:
    """Unix seconds as 'YYYY-MM-DD HH:MM:SS UTC' (N/A when unknown)."""
    if not isinstance(ts, (int, float)) or isinstance(ts, bool) or not math.isfinite(ts):
        return NA
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def num(value: Any, places: int = 2) -> str:
    if value is None:
        return NA
    if isinstance(value, str):
        return value
    return f"{value:,.{places}f}"


# --- charts ------------------------------------------------------------------------------------------------
def bar_chart(chart_id: str, title: str, bars: Sequence[tuple[str, float]], unit: str = "") -> str:
    """Horizontal bars (negative values to the left of zero) as inline SVG; a note instead when no data."""
    bars = [(label, float(v)) for label, v in bars if v is not None and math.isfinite(float(v))]
    if not bars:
        return (
            f'<figure><figcaption>{esc(title)}</figcaption><svg data-chart="{esc(chart_id)}" width="420" '
            f'height="30"><text x="4" y="18">no data</text></svg></figure>'
        )
    width, label_w, row_h = 420, 170, 20
    span = max(abs(v) for _, v in bars) or 1.0
    has_neg = any(v < 0 for _, v in bars)
    plot_w = width - label_w - 70
    zero = label_w + (plot_w / 2 if has_neg else 0)
    scale = (plot_w / 2 if has_neg else plot_w) / span
    parts = [
        f'<figure><figcaption>{esc(title)}</figcaption><svg data-chart="{esc(chart_id)}" '
        f'width="{width}" height="{len(bars) * row_h + 10}" role="img" aria-label="{esc(title)}">'
    ]
    for i, (label, v) in enumerate(bars):
        y, w = 5 + i * row_h, abs(v) * scale
        x = zero - w if v < 0 else zero
        color = "#c0504d" if v < 0 else "#4f81bd"
        parts.append(
            f'<text x="2" y="{y + 13}">{esc(label[:28])}</text>'
            f'<rect class="bar" x="{x:.1f}" y="{y}" width="{max(w, 1):.1f}" height="{row_h - 6}" '
            f'fill="{color}"><title>{esc(label)}: {v:g}{esc(unit)}</title></rect>'
            f'<text x="{max(x + w, zero) + 4:.1f}" y="{y + 13}">{v:,.4g}{esc(unit)}</text>'
        )
    parts.append(f'<line x1="{zero:.1f}" y1="0" x2="{zero:.1f}" y2="{len(bars) * row_h + 10}" stroke="#888"/>')
    return "".join(parts) + "</svg></figure>"


def table(caption: str, table_id: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A table whose caption states its row count (`data-count`, checked against the rows by a test)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return (
        f'<h2 data-count-for="{esc(table_id)}" data-count="{len(rows)}">{esc(caption)} ({len(rows)})</h2>'
        f'<table id="{esc(table_id)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


def page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline';"
        f" script-src 'unsafe-inline'; img-src data:\"><style>{_CSS}</style><script>{_PAGE_JS}</script>"
        f"</head><body><h1>{esc(title)}</h1>{body}</body></html>"
    )


# --- input kinds ---------------------------------------------------------------------------------------------
def load_input(path: Path) -> dict[str, Any]:
    """Raises: DashboardError naming the file and what is wrong."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise DashboardError(f"{path}: cannot read: {e.strerror or e}") from e
    except ValueError as e:
        raise DashboardError(f"{path}: not JSON: {e}") from e
    if not isinstance(data, dict) or not ({"metrics", "schema_version"} <= set(data) or "runs" in data):
        raise DashboardError(f"{path}: neither a metrics export (schema_version, metrics) nor a replay report (runs)")
    return data


def render(data: dict[str, Any]) -> str:
    from .dashboard_pages import render_export, render_replay

    return render_replay(data) if "runs" in data else render_export(data)


def cmd_dashboard(args: argparse.Namespace) -> int:
    from ..shell.home import project_root

    src = Path(args.input) if args.input else project_root() / DEFAULT_INPUT
    out = Path(args.output) if args.output else src.with_suffix(".html")
    try:
        text = render(load_input(src))
    except DashboardError as e:
        print(f"dashboard: {e}")
        return EXIT_FAILED
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"dashboard written: {out}")
    return EXIT_OK


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "dashboard", help="render the JSON metrics export or a replay report.json as an offline HTML page with charts"
    )
    p.add_argument("input", nargs="?", default=None, help=f"metrics export or report.json (default {DEFAULT_INPUT})")
    p.add_argument("-o", "--output", default=None, help="HTML file to write (default: INPUT with .html)")
    p.set_defaults(func=cmd_dashboard)
