"""report.html: one self-contained page (inline CSS, inline canvas JS, no network), headline numbers first.

All text is HTML-escaped; the chart data is embedded as JSON with `<`, `>`, `&` and line separators escaped
so it cannot close its script element. Long series are thinned for drawing only (`downsample`); the CSVs keep
every point.
"""
from __future__ import annotations

import html
import json
import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from decimal import Decimal
from importlib import resources
from typing import Any

from .formatting import compact_json, iso_utc, safe_text
from .results import RUN_NAMES, MarginPoint, ReplayReport, RunResult

MAX_CHART_POINTS = 1500
RUN_COLORS = {"funding_arbitrage": "#1f77b4", "baseline": "#ff7f0e", "passive_carry": "#9467bd",
              "oracle": "#2ca02c"}
RUN_TITLES = {"funding_arbitrage": "Funding arbitrage", "baseline": "Baseline (upstream example)",
              "passive_carry": "Passive carry (hold all)", "oracle": "Oracle (perfect foresight)"}
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
           "#ff7f0e")
DECOMPOSITION = ("funding", "basis", "fees", "slippage", "borrow", "net")
_Q2 = Decimal("0.01")


def esc(value: Any) -> str:
    """HTML-escaped text, with anything credential-like masked first."""
    return html.escape(safe_text(value), quote=True)


def money(value: Decimal | None) -> str:
    return "N/A" if value is None or not value.is_finite() else f"{value.quantize(_Q2):,}"


def pct(value: Decimal | None) -> str:
    return "N/A" if value is None or not value.is_finite() else f"{value.quantize(_Q2):,} %"


def count(value: int | Decimal | None) -> str:
    if value is None:
        return "N/A"
    return f"{value.quantize(Decimal('0.1')):,}" if isinstance(value, Decimal) else f"{value:,}"


def sign_class(value: Decimal | None) -> str:
    if value is None or not value.is_finite() or value == 0:
        return ""
    return " class=\"pos\"" if value > 0 else " class=\"neg\""


def downsample(points: Sequence[tuple[float, float | None]], max_points: int = MAX_CHART_POINTS
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
    equity = [{"label": run.name, "color": RUN_COLORS[run.name],
               "points": downsample([(float(p.ts), _num(p.equity_quote)) for p in run.equity])}
              for run in runs]
    bars = [{"label": run.name, "color": RUN_COLORS[run.name], "values": [
        float(run.funding_pnl_quote), float(run.basis_pnl_quote), -float(run.fees_quote),
        -float(run.slippage_quote), -float(run.borrow_quote), float(run.net_pnl_quote)]} for run in runs]
    utilisation = [{"label": run.name, "color": RUN_COLORS[run.name],
                    "points": downsample([(float(u.ts), float(u.ratio * 100)) for u in run.utilisation])}
                   for run in runs if run.utilisation]
    specs: list[dict[str, Any]] = [
        {"id": "chart-equity", "type": "line", "y_label": "equity (quote)", "series": equity},
        {"id": "chart-utilisation", "type": "line", "y_label": "deployed notional / capital (%)",
         "series": utilisation},
        {"id": "chart-decomposition", "type": "bar", "y_label": "PnL (quote)",
         "categories": list(DECOMPOSITION), "groups": bars},
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
        specs.append({"id": f"chart-margin-ratio-{run.name}", "type": "line",
                      "y_label": "maintenance / equity", "series": ratio,
                      "ref_lines": [{"y": 1.0, "label": "liquidation (1.0)"}]})
        refs = [] if threshold is None else [{"y": threshold, "label": f"reduce below {threshold:g} %"}]
        specs.append({"id": f"chart-liq-distance-{run.name}", "type": "line",
                      "y_label": "distance to liquidation (%)", "series": distance, "ref_lines": refs})
    return specs


def embed_json(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], text_cols: Collection[int] = (0,)) -> str:
    """Rows are pre-escaped cell HTML (a cell starting with '<td' is used as is); `text_cols` align left."""
    head = "".join(f"<th class=\"text\">{esc(h)}</th>" if i in text_cols else f"<th>{esc(h)}</th>"
                   for i, h in enumerate(header))
    body = []
    for row in rows:
        cells = "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in row)
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _text(value: Any) -> str:
    return f"<td class=\"text\">{esc(value)}</td>"


def _time(ts: float | None) -> str:
    return f"<td class=\"text time\">{esc(_ts(ts))}</td>"


def _signed(value: Decimal | None, render: Callable[[Decimal | None], str]) -> str:
    return f"<td{sign_class(value)}>{render(value)}</td>"


def _headline(runs: list[RunResult]) -> str:
    rows: list[tuple[str, list[str]]] = [
        ("Net PnL (quote)", [_signed(r.net_pnl_quote, money) for r in runs]),
        ("Carry: funding − fees − slippage − borrow (quote)", [_signed(r.carry_quote, money) for r in runs]),
        ("Carry capture (share of the oracle's carry)",
         [pct(None if r.carry_capture is None else r.carry_capture * 100) for r in runs]),
        ("APR (simple)", [_signed(r.apr_pct, pct) for r in runs]),
        ("Funding (quote)", [money(r.funding_pnl_quote) for r in runs]),
        ("Basis at mid, not skill (quote)", [money(r.basis_pnl_quote) for r in runs]),
        ("Fees (quote)", [money(r.fees_quote) for r in runs]),
        ("Slippage (quote)", [money(r.slippage_quote) for r in runs]),
        ("Borrow (quote)", [money(r.borrow_quote) for r in runs]),
        ("Max drawdown (quote)", [money(r.max_drawdown_quote) for r in runs]),
        ("Capital (quote)", [money(r.capital_quote) for r in runs]),
        ("Pairs opened", [count(r.pairs_opened) for r in runs]),
        ("Liquidations", [count(r.liquidations) for r in runs]),
        ("Max hedge gap", [pct(r.max_hedge_gap_pct) for r in runs]),
        ("Unhedged time (s)", [count(r.unhedged_seconds) for r in runs]),
        ("Trades", [count(len(r.trades) if r.trades_modelled else None) for r in runs]),
        ("Mean capital utilisation", [pct(_mean_utilisation_pct(r)) for r in runs]),
    ]
    header = ["", *[RUN_TITLES[r.name] for r in runs]]
    return _table(header, ([_text(label), *cells] for label, cells in rows))


def _mean_utilisation_pct(run: RunResult) -> Decimal | None:
    if not run.utilisation:
        return None
    return sum((u.ratio for u in run.utilisation), Decimal(0)) / len(run.utilisation) * 100


def _summary(report: ReplayReport) -> str:
    runs = report.runs
    parts = []
    strat, base, oracle = runs.get("funding_arbitrage"), runs.get("baseline"), runs.get("oracle")
    if strat is not None and base is not None:
        diff = strat.net_pnl_quote - base.net_pnl_quote
        parts.append(f"The strategy made {money(strat.net_pnl_quote)} quote, "
                     f"{money(abs(diff))} {'more' if diff >= 0 else 'less'} than the baseline.")
    if strat is not None and strat.carry_capture is not None and oracle is not None:
        parts.append(f"It captured {pct(strat.carry_capture * 100)} of the oracle's carry "
                     f"({money(oracle.carry_quote)} quote of funding net of costs).")
    passive = runs.get("passive_carry")
    if strat is not None and passive is not None and passive.carry_capture is not None:
        parts.append(f"Holding every coin's carry passively captured {pct(passive.carry_capture * 100)}.")
    return f"<p class=\"summary\">{esc(' '.join(parts))}</p>" if parts else ""


def _invariant_warnings(runs: list[RunResult], tolerance_quote: Decimal) -> str:
    bad = [(r.name, r.invariant_gap_quote()) for r in runs if abs(r.invariant_gap_quote()) > tolerance_quote]
    if not bad:
        return ""
    items = "".join(f"<li>{esc(name)}: net differs from funding + basis − fees − slippage − borrow by "
                    f"{esc(money(gap))} quote</li>" for name, gap in bad)
    return f"<div class=\"warn\"><strong>Accounting check failed</strong><ul>{items}</ul></div>"


def _listing(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "none"
    return "none" if value is None else str(value)


def _data_section(report: ReplayReport) -> str:
    data = report.data
    fields = (("Data directory", "dir"), ("Perp venues", "venues"), ("Spot venues", "spot_venues"),
              ("Coins", "coins"))
    rows = [(label, _listing(data.get(key))) for label, key in fields]
    rows += [("Period", f"{report.period['start']} → {report.period['end']}"),
             ("Simulated time (s)", str(report.sim_seconds)), ("Wall time (s)", str(report.wall_seconds))]
    return _table(["What", "Value"], ([_text(k), _text(v)] for k, v in rows), text_cols=(0, 1))


def _approximations(report: ReplayReport, runs: list[RunResult]) -> str:
    items = [str(a) for a in (report.data.get("approximations") or [])]
    items += [f"{r.name}: {n}" for r in runs for n in r.notes]
    if not items:
        return ""
    body = "".join(f"<li>{esc(i)}</li>" for i in items)
    return f"<div class=\"note\"><strong>Approximations in this replay</strong><ul>{body}</ul></div>"


def _ts(ts: float | None) -> str:
    return "open" if ts is None else iso_utc(ts)


def _pairs_section(runs: list[RunResult]) -> str:
    out = []
    for run in runs:
        rows = ([_text(r.pair_key), _time(r.opened_ts), _time(r.closed_ts), money(r.funding_quote),
                 money(r.fees_quote), money(r.slippage_quote), money(r.borrow_quote), money(r.basis_quote),
                 _signed(r.net_quote, money), _text(r.close_reason or "")] for r in run.sorted_pairs())
        header = ["Pair (long/short)", "Opened (UTC)", "Closed (UTC)", "Funding", "Fees", "Slippage",
                  "Borrow", "Basis", "Net", "Close reason"]
        table = _table(header, rows, text_cols=(0, 1, 2, 9)) if run.pairs else "<p>No pairs.</p>"
        out.append(f"<h3>{esc(RUN_TITLES[run.name])}</h3><div class=\"scroll\">{table}</div>")
    return "".join(out)


def _events_section(runs: list[RunResult]) -> str:
    rows = sorted(((e.ts, run.name, e) for run in runs for e in run.sorted_events()),
                  key=lambda x: (x[0], RUN_NAMES.index(x[1]), x[2].kind.value, x[2].detail))
    if not rows:
        return "<p>No leverage reductions, halts, liquidations or faults.</p>"
    return "<div class=\"scroll\">" + _table(["Time (UTC)", "Run", "Kind", "Detail"], (
        [_time(ts), _text(name), _text(e.kind.value), _text(e.detail)] for ts, name, e in rows),
        text_cols=(0, 1, 2, 3)) + "</div>"


def _config_section(config: Mapping[str, Any]) -> str:
    if not config:
        return "<p>No settings recorded.</p>"
    return _table(["Setting", "Value"], ([f"<td class=\"text\">{esc(k)}</td>",
                                          f"<td class=\"text\"><code>{esc(compact_json(v))}</code></td>"]
                                         for k, v in config.items()), text_cols=(0, 1))


def _canvas(spec: Mapping[str, Any], title: str) -> str:
    return (f"<h3>{esc(title)}</h3><canvas id=\"{esc(spec['id'])}\" width=\"960\" height=\"320\" "
            f"role=\"img\" aria-label=\"{esc(title)}\">{esc(title)}: enable JavaScript to see the chart; the "
            f"CSV files hold the data.</canvas>")


def _charts_html(specs: list[dict[str, Any]]) -> str:
    titles = {"chart-equity": "Equity of each run (quote)",
              "chart-utilisation": "Capital utilisation: deployed notional ÷ capital (%)",
              "chart-decomposition": "PnL decomposition: funding + basis − fees − slippage − borrow = net"}
    for run in RUN_NAMES:
        titles[f"chart-margin-ratio-{run}"] = f"{RUN_TITLES[run]}: margin ratio per leg (1.0 = liquidation)"
        titles[f"chart-liq-distance-{run}"] = f"{RUN_TITLES[run]}: distance to liquidation per leg (%)"
    return "".join(_canvas(s, titles[s["id"]]) for s in specs)


CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'"
_ERROR_HOOK = ("window.__jsErrors=[];window.onerror=function(m,s,l,c){window.__jsErrors.push(m+' @'+l+':'+c);"
               "document.body.dataset.jsErrors=window.__jsErrors.join(' | ');};")


def render_html(report: ReplayReport, config: Mapping[str, Any], tolerance_quote: Decimal) -> str:
    """The page; `config` must already be sanitised (secrets dropped)."""
    runs = _runs(report)
    specs = chart_specs(report, config)
    css = resources.files(__package__).joinpath("assets/report.css").read_text(encoding="utf-8")
    js = resources.files(__package__).joinpath("assets/report.js").read_text(encoding="utf-8")
    title = f"Funding-arb replay {report.period['start']} → {report.period['end']}"
    missing = [RUN_TITLES[n] for n in RUN_NAMES if n not in report.runs]
    missing_html = f"<p class=\"warn\">Not run: {esc(', '.join(missing))}.</p>" if missing else ""
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
<p class="sub">{esc(report.period['start'])} → {esc(report.period['end'])}
 · coins {esc(_listing(report.data.get('coins')))} · venues {esc(_listing(report.data.get('venues')))}</p>
<h2 id="headline">Headline</h2>
{_summary(report)}
{missing_html}{_invariant_warnings(runs, tolerance_quote)}
{_headline(runs)}
{_approximations(report, runs)}
<h2 id="charts">Charts</h2>
{_charts_html(specs)}
<h2 id="pairs">Pairs</h2>
{_pairs_section(runs)}
<h2 id="events">Events: leverage reductions, halts, liquidations, faults</h2>
{_events_section(runs)}
<h2 id="data">Data and run</h2>
{_data_section(report)}
<h2 id="config">Settings used</h2>
{_config_section(config)}
<script type="application/json" id="report-data">{embed_json({"charts": specs})}</script>
<script>
{js}</script>
</body>
</html>
"""
