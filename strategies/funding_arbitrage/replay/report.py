"""Write the report files of a replay: report.json, report.html, runs.csv, trades.csv, equity.csv, margin.csv,
utilisation.csv.

Deterministic: the same `ReplayReport` gives byte-identical files (everything sorted, no generation time; the
only clock-derived figure is the explicit `wall_seconds`). Number format in report.json: JSON numbers written
with fixed precision, exact decimal text (never exponent notation): amounts and percentages with 6 decimals,
seconds with 3; unknown values are `null`. Config values keep their exact text. CSVs use exact decimal text.
Settings whose key looks like a secret (key, secret, password, token of an API, ...) are dropped everywhere.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from .formatting import (
    PLACES,
    SECONDS_PLACES,
    RawNumber,
    dump_json,
    fixed,
    fmt_ts,
    iso_utc,
    plain,
    safe_text,
    sanitize,
)
from .report_html import render_html
from .results import DEFAULT_TOLERANCE_QUOTE, RUN_NAMES, ReplayReport, RunResult, trade_sort_key

SCHEMA = "funding-arb-replay/1"
METRIC_FIELDS = (
    "capital_quote",
    "net_pnl_quote",
    "carry_quote",
    "carry_capture",
    "funding_pnl_quote",
    "basis_pnl_quote",
    "fees_quote",
    "slippage_quote",
    "borrow_quote",
    "max_drawdown_quote",
    "apr_pct",
    "pairs_opened",
    "liquidations",
    "max_hedge_gap_pct",
    "unhedged_seconds",
)
OUTPUT_FILES = ("report.json", "report.html", "runs.csv", "trades.csv", "equity.csv", "margin.csv", "utilisation.csv")


def run_metrics(run: RunResult) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in METRIC_FIELDS:
        value = getattr(run, name)
        out[name] = (
            fixed(value, SECONDS_PLACES if name == "unhedged_seconds" else PLACES)
            if isinstance(value, Decimal) or value is None
            else value
        )
    return out


def run_json(run: RunResult, tolerance_quote: Decimal) -> dict[str, Any]:
    """One run's block of report.json: metrics, invariant check, notes, pair rows and events."""
    gap = run.invariant_gap_quote()
    out = run_metrics(run)
    out["invariant_gap_quote"] = fixed(gap)
    out["invariant_ok"] = abs(gap) <= tolerance_quote
    out["trade_count"] = len(run.trades) if run.trades_modelled else None
    out["halted"] = run.halted
    out["mean_utilisation"] = fixed(mean_utilisation(run))
    out["utilisation"] = [{"ts": RawNumber(fmt_ts(u.ts)), "ratio": fixed(u.ratio)} for u in run.utilisation]
    out["notes"] = [safe_text(n) for n in run.notes]
    out["pairs_lost_to_fees"] = run.pairs_lost_to_fees
    out["switches"] = run.switches
    out["switch_gain_quote"] = fixed(run.switch_gain_quote)
    out["switch_gains"] = [
        {
            "ts": RawNumber(fmt_ts(g.ts)),
            "token": g.token,
            "closed_pair": g.closed_pair,
            "opened_pair": g.opened_pair,
            "realised_gain_quote": fixed(g.realised_gain_quote),
        }
        for g in run.switch_gains
    ]
    out["pairs"] = [
        {
            "pair": r.pair_key,
            "token": r.token,
            "opened_ts": RawNumber(fmt_ts(r.opened_ts)),
            "closed_ts": None if r.closed_ts is None else RawNumber(fmt_ts(r.closed_ts)),
            "funding_quote": fixed(r.funding_quote),
            "fees_quote": fixed(r.fees_quote),
            "slippage_quote": fixed(r.slippage_quote),
            "borrow_quote": fixed(r.borrow_quote),
            "basis_quote": fixed(r.basis_quote),
            "net_quote": fixed(r.net_quote),
            "close_reason": None if r.close_reason is None else safe_text(r.close_reason),
        }
        for r in run.sorted_pairs()
    ]
    out["events"] = [
        {"ts": RawNumber(fmt_ts(e.ts)), "kind": e.kind.value, "detail": safe_text(e.detail)}
        for e in run.sorted_events()
    ]
    return out


def mean_utilisation(run: RunResult) -> Decimal | None:
    """Mean of the utilisation samples (fraction); None when the run has none."""
    if not run.utilisation:
        return None
    return sum((u.ratio for u in run.utilisation), Decimal(0)) / len(run.utilisation)


def report_json(report: ReplayReport, tolerance_quote: Decimal = DEFAULT_TOLERANCE_QUOTE) -> str:
    runs = {name: (run_json(report.runs[name], tolerance_quote) if name in report.runs else None) for name in RUN_NAMES}
    doc = {
        "schema": SCHEMA,
        "data": sanitize(report.data),
        "period": sanitize(report.period),
        "runs": runs,
        "sim_seconds": fixed(Decimal(str(report.sim_seconds)), SECONDS_PLACES),
        "wall_seconds": fixed(Decimal(str(report.wall_seconds)), SECONDS_PLACES),
        "config": sanitize(report.config),
    }
    return dump_json(doc) + "\n"


def _csv(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(_cell(v) for v in row)
    return buf.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return plain(value) if value.is_finite() else str(value)
    return str(value)


def _runs(report: ReplayReport) -> list[RunResult]:
    return [report.runs[name] for name in RUN_NAMES if name in report.runs]


def trades_csv(report: ReplayReport) -> str:
    header = (
        "run",
        "ts",
        "time_utc",
        "token",
        "connector",
        "trading_pair",
        "side",
        "position_action",
        "amount_base",
        "price",
        "mid_price",
        "fee_quote",
        "slippage_quote",
        "reason",
    )
    rows = [
        (
            run.name,
            fmt_ts(t.ts),
            iso_utc(t.ts),
            t.token,
            t.connector,
            t.trading_pair,
            t.side.value,
            t.position_action.value,
            t.amount_base,
            t.price,
            t.mid_price,
            t.fee_quote,
            t.slippage_quote,
            safe_text(t.reason),
        )
        for run in _runs(report)
        for t in sorted(run.trades, key=trade_sort_key)
    ]
    return _csv(header, rows)


def equity_csv(report: ReplayReport) -> str:
    order = {name: i for i, name in enumerate(RUN_NAMES)}
    rows = sorted(
        ((p.ts, order[run.name], run.name, p.equity_quote) for run in _runs(report) for p in run.equity),
        key=lambda r: (r[0], r[1]),
    )
    return _csv(("ts", "run", "equity_quote"), ((fmt_ts(ts), name, eq) for ts, _, name, eq in rows))


def runs_csv(report: ReplayReport) -> str:
    """One row per run: every headline figure in exact decimal text (empty = N/A)."""
    header = ("run", *METRIC_FIELDS, "trade_count", "halted", "mean_utilisation")
    rows = [
        (
            run.name,
            *(getattr(run, f) for f in METRIC_FIELDS),
            len(run.trades) if run.trades_modelled else None,
            run.halted,
            mean_utilisation(run),
        )
        for run in _runs(report)
    ]
    return _csv(header, rows)


def utilisation_csv(report: ReplayReport) -> str:
    order = {name: i for i, name in enumerate(RUN_NAMES)}
    rows = sorted(
        ((u.ts, order[run.name], run.name, u.ratio) for run in _runs(report) for u in run.utilisation),
        key=lambda r: (r[0], r[1]),
    )
    return _csv(("ts", "run", "utilisation"), ((fmt_ts(ts), name, ratio) for ts, _, name, ratio in rows))


def margin_csv(report: ReplayReport) -> str:
    rows = [
        (run.name, m) for run in _runs(report) for m in sorted(run.margin, key=lambda m: (m.ts, m.connector, m.token))
    ]
    return _csv(
        ("ts", "run", "connector", "token", "margin_ratio", "liquidation_distance_pct"),
        ((fmt_ts(m.ts), name, m.connector, m.token, m.margin_ratio, m.liquidation_distance_pct) for name, m in rows),
    )


def write_report(
    report: ReplayReport, out_dir: Path | str, tolerance_quote: Decimal = DEFAULT_TOLERANCE_QUOTE
) -> dict[str, Path]:
    """Write every report file into `out_dir` (created if needed); returns file name -> path.

    Raises:
        OSError: the directory or a file cannot be written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    contents = {
        "report.json": report_json(report, tolerance_quote),
        "report.html": render_html(report, sanitize(report.config), tolerance_quote),
        "runs.csv": runs_csv(report),
        "trades.csv": trades_csv(report),
        "equity.csv": equity_csv(report),
        "margin.csv": margin_csv(report),
        "utilisation.csv": utilisation_csv(report),
    }
    paths: dict[str, Path] = {}
    for name in OUTPUT_FILES:
        path = out / name
        path.write_bytes(contents[name].encode("utf-8"))
        paths[name] = path
    return paths
