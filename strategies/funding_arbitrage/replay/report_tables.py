"""The tables and sentences of report.html (headline, pairs, events, data, settings), rounded for people.

Every figure on the page is rounded for reading (money and % to 2 decimals, long decimals inside free text to 6
significant digits); report.json and the CSVs keep full precision. Cells that carry a count say which run and
figure they show (`data-run`, `data-metric`), and every pairs and events row names its run (`data-run`), so a
test can check each count on the page against the rows of its tables.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from .formatting import compact_json, iso_utc, safe_text
from .results import RUN_NAMES, EventKind, ReplayReport, RunResult

RUN_TITLES = {
    "funding_arbitrage": "Funding arbitrage",
    "baseline": "Baseline (upstream example)",
    "passive_carry": "Passive carry (hold all)",
    "oracle": "Oracle (perfect foresight)",
}
SIGNIFICANT_DIGITS = 6
_Q2 = Decimal("0.01")
_LONG_DECIMAL = re.compile(r"(?<![\w.])-?\d+\.\d{5,}(?![\w.])")


def round_significant(value: Decimal, digits: int = SIGNIFICANT_DIGITS) -> Decimal:
    """`value` to `digits` significant digits (half-even), never in exponent form when printed with `:f`.

    Example: 3333.333333 -> 3333.33; 0.000123456789 -> 0.000123457.
    """
    if not value.is_finite() or value.is_zero():
        return value
    exponent = value.adjusted() - digits + 1
    return value.quantize(Decimal(1).scaleb(min(exponent, 0)))


def human_text(value: Any) -> str:
    """Free text (event details, notes, reasons) with credentials masked and long decimals rounded for reading."""
    return _LONG_DECIMAL.sub(lambda m: f"{round_significant(Decimal(m.group(0))):f}", safe_text(value))


def esc(value: Any) -> str:
    """HTML-escaped human text."""
    return html.escape(human_text(value), quote=True)


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
    return ' class="pos"' if value > 0 else ' class="neg"'


def table(
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    text_cols: Collection[int] = (0,),
    row_attrs: Iterable[str] | None = None,
) -> str:
    """Rows are pre-escaped cell HTML (a cell starting with '<td' is used as is); `text_cols` align left;
    `row_attrs`: extra attribute text per row (pre-escaped)."""
    head = "".join(
        f'<th class="text">{esc(h)}</th>' if i in text_cols else f"<th>{esc(h)}</th>" for i, h in enumerate(header)
    )
    attrs = iter(row_attrs) if row_attrs is not None else None
    body = []
    for row in rows:
        cells = "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in row)
        extra = next(attrs) if attrs is not None else ""
        body.append(f"<tr{extra}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def text_cell(value: Any) -> str:
    return f'<td class="text">{esc(value)}</td>'


def time_cell(ts: float | None) -> str:
    return f'<td class="text time">{esc("open" if ts is None else iso_utc(ts))}</td>'


def signed_cell(value: Decimal | None, render: Callable[[Decimal | None], str]) -> str:
    return f"<td{sign_class(value)}>{render(value)}</td>"


def _metric(run: RunResult, metric: str, shown: str) -> str:
    return f'<td data-run="{esc(run.name)}" data-metric="{esc(metric)}">{shown}</td>'


def mean_utilisation_pct(run: RunResult) -> Decimal | None:
    if not run.utilisation:
        return None
    return sum((u.ratio for u in run.utilisation), Decimal(0)) / len(run.utilisation) * 100


def halt_event(run: RunResult) -> Any:
    """The run's last halt event, or None."""
    halts = [e for e in run.sorted_events() if e.kind is EventKind.HALT]
    return halts[-1] if halts else None


def _halted(run: RunResult) -> str:
    if not run.trades_modelled:
        return "N/A"  # computed runs have no risk gate
    event = halt_event(run)
    return f"yes, since {iso_utc(event.ts)}" if run.halted and event is not None else ("yes" if run.halted else "no")


def _switches(run: RunResult) -> str:
    """Switches of the strategy run and their realised gain (replay/switches.py); N/A for the other runs."""
    if run.name != "funding_arbitrage":
        return "N/A"
    gain = run.switch_gain_quote
    return f"{run.switches} ({'N/A' if gain is None else money(gain)})" if run.switches else "0"


def headline(runs: list[RunResult]) -> str:
    rows: list[tuple[str, list[str]]] = [
        ("Net PnL (quote)", [signed_cell(r.net_pnl_quote, money) for r in runs]),
        ("Carry: funding − fees − slippage − borrow (quote)", [signed_cell(r.carry_quote, money) for r in runs]),
        (
            "Carry capture (share of the oracle's carry)",
            [pct(None if r.carry_capture is None else r.carry_capture * 100) for r in runs],
        ),
        ("APR (simple)", [signed_cell(r.apr_pct, pct) for r in runs]),
        ("Funding (quote)", [money(r.funding_pnl_quote) for r in runs]),
        ("Basis at mid, not skill (quote)", [money(r.basis_pnl_quote) for r in runs]),
        ("Fees (quote)", [money(r.fees_quote) for r in runs]),
        ("Slippage (quote)", [money(r.slippage_quote) for r in runs]),
        ("Borrow (quote)", [money(r.borrow_quote) for r in runs]),
        ("Max drawdown (quote)", [money(r.max_drawdown_quote) for r in runs]),
        ("Capital (quote)", [money(r.capital_quote) for r in runs]),
        ("Pairs opened", [_metric(r, "pairs_opened", count(r.pairs_opened)) for r in runs]),
        ("Pairs that lost to fees", [_metric(r, "pairs_lost_to_fees", count(r.pairs_lost_to_fees)) for r in runs]),
        ("Switches (realised gain, quote)", [_metric(r, "switches", esc(_switches(r))) for r in runs]),
        ("Liquidations", [_metric(r, "liquidations", count(r.liquidations)) for r in runs]),
        ("Ended halted", [_metric(r, "halted", esc(_halted(r))) for r in runs]),
        ("Max hedge gap", [pct(r.max_hedge_gap_pct) for r in runs]),
        ("Unhedged time (s)", [count(r.unhedged_seconds) for r in runs]),
        ("Trades", [_metric(r, "trades", count(len(r.trades) if r.trades_modelled else None)) for r in runs]),
        ("Mean capital utilisation", [pct(mean_utilisation_pct(r)) for r in runs]),
    ]
    header = ["", *[RUN_TITLES[r.name] for r in runs]]
    return table(header, ([text_cell(label), *cells] for label, cells in rows))


def summary(report: ReplayReport) -> str:
    runs = report.runs
    parts = []
    strat, base, oracle = runs.get("funding_arbitrage"), runs.get("baseline"), runs.get("oracle")
    if strat is not None and base is not None:
        diff = strat.net_pnl_quote - base.net_pnl_quote
        parts.append(
            f"The strategy made {money(strat.net_pnl_quote)} quote, "
            f"{money(abs(diff))} {'more' if diff >= 0 else 'less'} than the baseline."
        )
    if strat is not None and strat.carry_capture is not None and oracle is not None:
        parts.append(
            f"It captured {pct(strat.carry_capture * 100)} of the oracle's carry "
            f"({money(oracle.carry_quote)} quote of funding net of costs)."
        )
    passive = runs.get("passive_carry")
    if strat is not None and passive is not None and passive.carry_capture is not None:
        parts.append(f"Holding every coin's carry passively captured {pct(passive.carry_capture * 100)}.")
    for run in (r for r in runs.values() if r.halted):
        event = halt_event(run)
        since = f" since {iso_utc(event.ts)} ({event.detail})" if event is not None else ""
        parts.append(f"The {RUN_TITLES[run.name]} run ended halted{since}.")
    return f'<p class="summary">{esc(" ".join(parts))}</p>' if parts else ""


def not_run(report: ReplayReport) -> str:
    reasons = report.data.get("not_run") or {}
    missing = [
        f"{RUN_TITLES[n]}" + (f" ({reasons[n]})" if n in reasons else "") for n in RUN_NAMES if n not in report.runs
    ]
    return f'<p class="warn">Not run: {esc(", ".join(missing))}.</p>' if missing else ""


def invariant_warnings(runs: list[RunResult], tolerance_quote: Decimal) -> str:
    bad = [(r.name, r.invariant_gap_quote()) for r in runs if abs(r.invariant_gap_quote()) > tolerance_quote]
    if not bad:
        return ""
    items = "".join(
        f"<li>{esc(name)}: net differs from funding + basis − fees − slippage − borrow by {esc(money(gap))} quote</li>"
        for name, gap in bad
    )
    return f'<div class="warn"><strong>Accounting check failed</strong><ul>{items}</ul></div>'


def listing(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "none"
    return "none" if value is None else str(value)


def data_section(report: ReplayReport) -> str:
    data = report.data
    fields = (("Data directory", "dir"), ("Perp venues", "venues"), ("Spot venues", "spot_venues"), ("Coins", "coins"))
    rows = [(label, listing(data.get(key))) for label, key in fields]
    sim = Decimal(str(report.sim_seconds))
    rows += [
        ("Period", f"{report.period['start']} → {report.period['end']}"),
        ("Simulated time", f"{sim.quantize(Decimal(1)):,} s ({(sim / 86400).quantize(Decimal('0.1'))} days)"),
        ("Wall time", f"{Decimal(str(report.wall_seconds)).quantize(Decimal('0.1')):,} s"),
    ]
    return table(["What", "Value"], ([text_cell(k), text_cell(v)] for k, v in rows), text_cols=(0, 1))


def approximations(report: ReplayReport, runs: list[RunResult]) -> str:
    items = [str(a) for a in (report.data.get("approximations") or [])]
    items += [f"{RUN_TITLES[r.name]}: {n}" for r in runs for n in r.notes]
    if not items:
        return ""
    body = "".join(f"<li>{esc(i)}</li>" for i in items)
    return f'<div class="note"><strong>Approximations in this replay</strong><ul>{body}</ul></div>'


def pairs_section(runs: list[RunResult]) -> str:
    out = []
    header = [
        "Pair (long/short)",
        "Opened (UTC)",
        "Closed (UTC)",
        "Funding",
        "Fees",
        "Slippage",
        "Borrow",
        "Basis",
        "Net",
        "Close reason",
    ]
    for run in runs:
        pairs = run.sorted_pairs()
        rows = (
            [
                text_cell(r.pair_key),
                time_cell(r.opened_ts),
                time_cell(r.closed_ts),
                money(r.funding_quote),
                money(r.fees_quote),
                money(r.slippage_quote),
                money(r.borrow_quote),
                money(r.basis_quote),
                signed_cell(r.net_quote, money),
                text_cell(r.close_reason or ""),
            ]
            for r in pairs
        )
        attrs = [f' data-run="{esc(run.name)}" class="pair-row"'] * len(pairs)
        body = table(header, rows, text_cols=(0, 1, 2, 9), row_attrs=attrs) if pairs else "<p>No pairs.</p>"
        out.append(f'<h3>{esc(RUN_TITLES[run.name])}</h3><div class="scroll" data-pairs="{esc(run.name)}">{body}</div>')
    return "".join(out)


def events_section(runs: list[RunResult]) -> str:
    rows = sorted(
        ((e.ts, run.name, e) for run in runs for e in run.sorted_events()),
        key=lambda x: (x[0], RUN_NAMES.index(x[1]), x[2].kind.value, x[2].detail),
    )
    if not rows:
        return "<p>No leverage reductions, halts, liquidations or faults.</p>"
    attrs = [f' data-run="{esc(name)}" data-kind="{esc(e.kind.value)}" class="event-row"' for _, name, e in rows]
    return (
        '<div class="scroll">'
        + table(
            ["Time (UTC)", "Run", "Kind", "Detail"],
            (
                [
                    time_cell(ts),
                    text_cell(RUN_TITLES[name]),
                    text_cell(e.kind.value.replace("_", " ")),
                    text_cell(e.detail),
                ]
                for ts, name, e in rows
            ),
            text_cols=(0, 1, 2, 3),
            row_attrs=attrs,
        )
        + "</div>"
    )


def config_section(config: Mapping[str, Any]) -> str:
    if not config:
        return "<p>No settings recorded.</p>"
    return table(
        ["Setting", "Value"],
        (
            [f'<td class="text">{esc(k)}</td>', f'<td class="text"><code>{esc(compact_json(v))}</code></td>']
            for k, v in config.items()
        ),
        text_cols=(0, 1),
    )
