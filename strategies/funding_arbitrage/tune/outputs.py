"""A sweep's output files: the per-fold table (in-sample next to out-of-sample) as CSV, markdown and JSON, and the
chosen settings as a complete config YAML that `funding-arb check-config` accepts.

Figures are read back from the studies (SQLite), so a resumed or re-run finished sweep writes the same files.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import fields
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..core.config import check_settings
from .folds import iso
from .objective import RunSummary, carry_capture, pooled_capture
from .space import restored
from .study import METRICS_ATTR, SETTINGS_ATTR, FoldStudy
from .trial import dump_config

CHOSEN_CONFIG = "conf_funding_arbitrage_sweep.yml"
TABLE_FILES = ("folds.csv", "folds.md", "folds.json")
BENCHMARKS = ("baseline", "passive_carry")


def summary_json(run: RunSummary) -> dict[str, Any]:
    """JSON-safe figures of a run (Decimals as exact text, unknown as null)."""
    return {f.name: (str(v) if isinstance(v, Decimal) else v) for f in fields(run) for v in [getattr(run, f.name)]}


def summary_from_json(data: dict[str, Any]) -> RunSummary:
    def dec(key: str) -> Decimal | None:
        return None if data.get(key) is None else Decimal(str(data[key]))

    return RunSummary(
        data["name"],
        dec("capital_quote"),
        dec("net_pnl_quote"),
        dec("funding_pnl_quote"),  # type: ignore[arg-type]
        dec("fees_quote"),
        dec("slippage_quote"),
        dec("borrow_quote"),
        dec("basis_pnl_quote"),  # type: ignore[arg-type]
        dec("max_drawdown_quote"),
        int(data["pairs_opened"]),
        data.get("liquidations"),  # type: ignore[arg-type]
        dec("max_hedge_gap_pct"),
        dec("unhedged_seconds"),
        dec("period_s"),
    )


def _num(value: Decimal | None, places: int = 4) -> str | None:
    return None if value is None else f"{value:.{places}f}"


def fold_row(fs: FoldStudy) -> dict[str, Any]:
    """One fold's line: windows, trial counts, the chosen trial's in-sample figures and its out-of-sample ones."""
    fold = fs.fold
    trials = fs.study.get_trials(deepcopy=False)
    row: dict[str, Any] = {
        "fold": fold.index + 1,
        "train_start": iso(fold.train_start_ts),
        "train_end": iso(fold.train_end_ts),
        "test_start": iso(fold.test_start_ts),
        "test_end": iso(fold.test_end_ts),
        "trials_complete": sum(t.state.name == "COMPLETE" for t in trials),
        "trials_failed": sum(t.state.name == "FAIL" for t in trials),
    }
    best = fs.best()
    oos = fs.out_of_sample() or {}
    row["best_trial"] = None if best is None else best.number
    ins = _side(best.user_attrs.get(METRICS_ATTR) if best else None)
    out = _side(oos if oos.get("runs") else None)
    for key in ("score", "capture", "carry_quote", "oracle_carry_quote", "net_pnl_quote"):
        row[f"is_{key}"] = ins.get(key)
        row[f"oos_{key}"] = out.get(key)
    for key in ("max_drawdown_quote", "liquidations", "max_hedge_gap_pct", "unhedged_seconds", "pairs_opened"):
        row[f"oos_{key}"] = out.get(key)
    for bench in BENCHMARKS:
        row[f"oos_{bench}_capture"] = out.get(f"{bench}_capture")
    base = fs.base_trial()
    base_side = _side(base.user_attrs.get(METRICS_ATTR) if base else None)
    row["base_trial"] = None if base is None else base.number
    row["is_base_score"] = base_side.get("score")
    row["is_base_capture"] = base_side.get("capture")
    row["oos_error"] = oos.get("error")
    row["params"] = dict(best.user_attrs.get(SETTINGS_ATTR) or best.params) if best else {}
    return row


def _side(metrics: dict[str, Any] | None) -> dict[str, Any]:
    """Headline figures of one side (in-sample trial metrics or out-of-sample result)."""
    if not metrics:
        return {}
    runs = {n: summary_from_json(r) for n, r in metrics["runs"].items()}
    fa, oracle = runs["funding_arbitrage"], runs["oracle"]
    out = {
        "score": metrics.get("score"),
        "capture": _num(carry_capture(fa, oracle)),
        "carry_quote": _num(fa.carry_quote, 2),
        "oracle_carry_quote": _num(oracle.carry_quote, 2),
        "net_pnl_quote": _num(fa.net_pnl_quote, 2),
        "max_drawdown_quote": _num(fa.max_drawdown_quote, 2),
        "liquidations": fa.liquidations,
        "max_hedge_gap_pct": _num(fa.max_hedge_gap_pct, 2),
        "unhedged_seconds": _num(fa.unhedged_seconds, 0),
        "pairs_opened": fa.pairs_opened,
    }
    for bench in BENCHMARKS:
        if bench in runs:
            out[f"{bench}_capture"] = _num(carry_capture(runs[bench], oracle))
    return out


def pooled(folds: list[FoldStudy]) -> dict[str, str | None]:
    """Captures over all folds together (sum of carry over sum of the oracle's), in-sample and out-of-sample."""
    ins, outs = [], []
    for fs in folds:
        best = fs.best()
        if best is not None and best.user_attrs.get(METRICS_ATTR):
            runs = best.user_attrs[METRICS_ATTR]["runs"]
            ins.append({n: summary_from_json(r) for n, r in runs.items()})
        oos = fs.out_of_sample() or {}
        if oos.get("runs"):
            outs.append({n: summary_from_json(r) for n, r in oos["runs"].items()})
    out: dict[str, str | None] = {
        "is_capture": _num(pooled_capture([(r["funding_arbitrage"], r["oracle"]) for r in ins])) if ins else None,
        "oos_capture": _num(pooled_capture([(r["funding_arbitrage"], r["oracle"]) for r in outs])) if outs else None,
        "oos_folds": str(len(outs)),
        "folds": str(len(folds)),
    }
    for bench in BENCHMARKS:
        have = [(r[bench], r["oracle"]) for r in outs if bench in r]
        out[f"oos_{bench}_capture"] = _num(pooled_capture(have)) if have and len(have) == len(outs) else None
    return out


def chosen(folds: list[FoldStudy]) -> tuple[FoldStudy, dict[str, Any]] | None:
    """The settings to run next: the best trial of the latest fold that has one (tuned on the most recent data)."""
    for fs in reversed(folds):
        best = fs.best()
        if best is not None:
            return fs, dict(best.user_attrs.get(SETTINGS_ATTR) or best.params)
    return None


def write_outputs(
    out_dir: Path, folds: list[FoldStudy], base_config: dict[str, Any], meta: dict[str, Any]
) -> dict[str, Path]:
    """Write folds.csv/.md/.json and the chosen config. Returns the written paths by name.

    Raises:
        ValueError: the chosen settings give an invalid config (never expected: trials are checked before running).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = [fold_row(fs) for fs in folds]
    totals = pooled(folds)
    pick = chosen(folds)
    files = {"folds.json": out_dir / "folds.json", "folds.csv": out_dir / "folds.csv", "folds.md": out_dir / "folds.md"}
    doc = {
        "sweep": meta,
        "folds": rows,
        "pooled": totals,
        "chosen": None if pick is None else {"fold": pick[0].fold.index + 1, "settings": pick[1]},
    }
    files["folds.json"].write_text(json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n")
    files["folds.csv"].write_text(_csv(rows))
    files["folds.md"].write_text(_markdown(rows, totals, pick, meta))
    if pick is not None:
        files[CHOSEN_CONFIG] = _write_config(out_dir / CHOSEN_CONFIG, base_config, pick, meta)
    return files


def _csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    keys = [k for k in rows[0] if k != "params"] if rows else []
    names = sorted({n for r in rows for n in r["params"]})
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(keys + names)
    for r in rows:
        writer.writerow(["" if r[k] is None else r[k] for k in keys] + [r["params"].get(n, "") for n in names])
    return buf.getvalue()


def _markdown(
    rows: list[dict[str, Any]],
    totals: dict[str, str | None],
    pick: tuple[FoldStudy, dict[str, Any]] | None,
    meta: dict[str, Any],
) -> str:
    na = "N/A"
    lines = [
        f"# Walk-forward sweep ({meta.get('period', '')})",
        "",
        (
            "Capture = (funding - fees - slippage - borrow) / the oracle's, same window. In-sample (IS) is the "
            "tuning window of the chosen trial; out-of-sample (OOS) is the next, unseen window. Only OOS is evidence. "
            "'base IS capture' is the base config's own values tried as each fold's first trial (chosen trial "
            "marked (base) when nothing beat it)."
        ),
        "",
        (
            "| fold | train | test | trials ok/failed | chosen trial | IS score | IS capture | base IS capture | "
            "OOS score | OOS capture | OOS carry | oracle carry | OOS net | OOS max DD | liq. | baseline capture | "
            "passive capture |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        cells = [
            r["fold"],
            f"{r['train_start'][:10]} → {r['train_end'][:10]}",
            f"{r['test_start'][:10]} → {r['test_end'][:10]}",
            f"{r['trials_complete']}/{r['trials_failed']}",
            None
            if r["best_trial"] is None
            else f"{r['best_trial']}" + (" (base)" if r["best_trial"] == r["base_trial"] else ""),
            r["is_score"],
            r["is_capture"],
            r["is_base_capture"],
            r["oos_score"],
            r["oos_capture"],
            r["oos_carry_quote"],
            r["oos_oracle_carry_quote"],
            r["oos_net_pnl_quote"],
            r["oos_max_drawdown_quote"],
            r["oos_liquidations"],
            r["oos_baseline_capture"],
            r["oos_passive_carry_capture"],
        ]
        lines.append("| " + " | ".join(na if c is None else str(c) for c in cells) + " |")
    pooled_line = (
        f"Pooled over folds: IS capture {totals['is_capture'] or na}, **OOS capture "
        f"{totals['oos_capture'] or na}**, OOS baseline capture {totals['oos_baseline_capture'] or na}, "
        f"OOS passive_carry capture {totals['oos_passive_carry_capture'] or na} "
        f"({totals['oos_folds']} of {totals['folds']} folds evaluated out of sample)."
    )
    lines += ["", pooled_line, ""]
    if pick is not None:
        title = (
            f"Chosen settings (fold {pick[0].fold.index + 1}, tuned on the latest window), written to "
            f"`{CHOSEN_CONFIG}`:"
        )
        lines += [title, ""] + [f"- `{k}`: {v}" for k, v in sorted(pick[1].items())]
    return "\n".join(lines) + "\n"


def market_config(base: dict[str, Any], venues: list[str], spot: list[str], coins: list[str]) -> dict[str, Any]:
    """The base config re-pointed at the markets the sweep replayed (the live connectors of the sim venues):
    tokens = the sweep's coins, perp connectors `<venue>_perpetual`, spot connectors `<venue>`, USDT quotes (the
    data's quote), leverage and interval hints kept where the connector stays."""
    perps = [f"{v}_perpetual" for v in venues]
    leverage = base.get("leverage") or {}
    default_lev = min(leverage.values()) if leverage else 3
    hints = base.get("funding_interval_hints_hours") or {}
    return {
        **base,
        "tokens": list(coins),
        "perp_connectors": perps,
        "spot_connectors": list(spot),
        "quote_assets": {c: (base.get("quote_assets") or {}).get(c, "USDT") for c in perps + list(spot)},
        "leverage": {c: leverage.get(c, default_lev) for c in perps},
        "funding_interval_hints_hours": {k: h for k, h in hints.items() if k.split(":")[0] in perps},
    }


def _write_config(
    path: Path, base_config: dict[str, Any], pick: tuple[FoldStudy, dict[str, Any]], meta: dict[str, Any]
) -> Path:
    fs, settings = pick
    markets = market_config(base_config, meta["venues"], meta["spot"], meta["coins"])
    data = {**markets, **restored(settings)}
    ok, problems = check_settings(data)
    if ok is None:
        raise ValueError("the chosen settings give an invalid config:\n  " + "\n  ".join(problems))
    header = (
        f"# Chosen by `funding-arb sweep` (fold {fs.fold.index + 1}: trained {iso(fs.fold.train_start_ts)} -> "
        f"{iso(fs.fold.train_end_ts)}, tested {iso(fs.fold.test_start_ts)} -> {iso(fs.fold.test_end_ts)}).\n"
        f"# Base config: {meta.get('base_config')}, re-pointed at the replayed markets (perps "
        f"{', '.join(meta['venues'])}, spot {', '.join(meta['spot']) or 'none'}, tokens "
        f"{', '.join(meta['coins'])}); tuned: {', '.join(sorted(settings))}.\n"
        "# Validate with `funding-arb check-config <this file>`; see docs/sweep.md for the fold table.\n"
    )
    path.write_text(header + dump_config(data))
    return path
