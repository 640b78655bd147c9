"""The two pages of `funding-arb dashboard`: a metrics export and a replay report (see cli/dashboard.py)."""

from __future__ import annotations

from typing import Any

from .dashboard import NA, PREFIX, bar_chart, esc, num, page, table, utc


def _samples(data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    fam = data.get("metrics", {}).get(PREFIX + name)
    return list(fam.get("samples", [])) if isinstance(fam, dict) else []


def _one(data: dict[str, Any], name: str, **labels: str) -> Any:
    for s in _samples(data, name):
        if all(s.get("labels", {}).get(k) == v for k, v in labels.items()):
            return s.get("value")
    return None


def _sum(data: dict[str, Any], name: str) -> float | None:
    values = [s["value"] for s in _samples(data, name) if isinstance(s.get("value"), (int, float))]
    return sum(values) if values else None


def _labelled(data: dict[str, Any], name: str, *keys: str, scale: float = 1.0) -> list[tuple[str, float]]:
    out = []
    for s in _samples(data, name):
        v = s.get("value")
        if isinstance(v, (int, float)):
            out.append((" ".join(str(s["labels"].get(k, "")) for k in keys), v * scale))
    return sorted(out)


def _cards(pairs: list[tuple[str, str]]) -> str:
    return (
        '<div class="cards">' + "".join(f'<div class="card">{esc(k)}<b>{esc(v)}</b></div>' for k, v in pairs) + "</div>"
    )


def render_export(data: dict[str, Any]) -> str:
    state = next((s["labels"]["state"] for s in _samples(data, "trading_state") if s.get("value") == 1), NA)
    build = next((s["labels"] for s in _samples(data, "build_info")), {})
    alerts = sorted(data.get("alerts", []), key=lambda a: (not a.get("active"), -float(a.get("last_ts") or 0)))
    active = [a for a in alerts if a.get("active")]
    cards = _cards(
        [
            ("snapshot", utc(data.get("ts"))),
            ("trading state", state),
            ("equity (quote)", num(_sum(data, "equity_quote"))),
            ("drawdown (quote)", num(_sum(data, "drawdown_quote"))),
            ("open pairs", num(_one(data, "open_pairs"), 0)),
            ("imbalanced pairs", num(_one(data, "imbalanced_pairs"), 0)),
            ("active alerts", str(len(active))),
            ("build", build.get("version", NA)),
        ]
    )
    pnl = [
        ("funding received", _sum(data, "funding_received_quote_total")),
        ("funding paid", -(_sum(data, "funding_paid_quote_total") or 0)),
        ("fees", -(_sum(data, "fees_paid_quote_total") or 0)),
        ("legs unrealised", _sum(data, "unrealized_pnl_quote")),
    ]
    activity = [
        (f"{n} {lbl}".strip(), v)
        for n in ("entries", "exits", "fills", "errors")
        for lbl, v in _labelled(data, f"{n}_total", "token", "reason", "connector", "kind")
        if v
    ]
    hist = next(iter(_samples(data, "tick_duration_seconds")), None)
    ticks: list[tuple[str, float]] = []
    if hist:
        prev = 0
        for bound, cum in hist["buckets"].items():
            ticks.append((f"<= {bound} s", cum - prev))
            prev = cum
    charts = "".join(
        [
            bar_chart("pnl", "PnL decomposition (quote)", [(k, v) for k, v in pnl if v is not None]),
            bar_chart(
                "funding_rates",
                "Funding rates (APR, %)",
                _labelled(data, "funding_rate_apr_ratio", "connector", "pair", scale=100),
                "%",
            ),
            bar_chart(
                "liquidation",
                "Liquidation distance (%, source)",
                _labelled(data, "liquidation_distance_ratio", "pair_id", "connector", "source", scale=100),
                "%",
            ),
            bar_chart("activity", "Activity since the first start (counts)", activity),
            bar_chart("ticks", "Tick duration (ticks per bucket)", ticks),
        ]
    )
    events = list(reversed(data.get("events", [])))
    body = (
        cards
        + f'<div class="charts">{charts}</div>'
        + "".join(
            [
                table(
                    "Alerts",
                    "alerts",
                    ["severity", "name", "message", "since", "last", "active"],
                    [
                        [
                            f'<span class="{esc(a.get("severity"))}">{esc(a.get("severity"))}</span>',
                            esc(a.get("name")),
                            esc(a.get("message")),
                            esc(utc(a.get("first_ts"))),
                            esc(utc(a.get("last_ts"))),
                            "yes" if a.get("active") else "no",
                        ]
                        for a in alerts
                    ],
                ),
                table(
                    "Events, newest first",
                    "events",
                    ["time", "event", "pair", "reason", "detail"],
                    [
                        [
                            esc(utc(e.get("ts"))),
                            esc(e.get("name")),
                            esc(e.get("pair_id", "")),
                            esc(e.get("reason", "")),
                            esc(e.get("message")),
                        ]
                        for e in events
                    ],
                ),
                table(
                    "Candidates",
                    "candidates",
                    ["token", "long", "short", "net edge %", "break-even h"],
                    _candidate_rows(data),
                ),
            ]
        )
    )
    return page("funding-arb dashboard", body)


def _candidate_rows(data: dict[str, Any]) -> list[list[str]]:
    be = {tuple(sorted(s["labels"].items())): s.get("value") for s in _samples(data, "candidate_break_even_seconds")}
    rows = []
    for s in _samples(data, "candidate_net_edge_ratio"):
        lb, v = s["labels"], s.get("value")
        seconds = be.get(tuple(sorted(lb.items())))
        rows.append(
            [
                esc(lb.get("token")),
                esc(lb.get("long")),
                esc(lb.get("short")),
                f'<span class="num">{num(None if v is None else v * 100, 3)}</span>',
                f'<span class="num">{num(None if seconds is None else seconds / 3600, 1)}</span>',
            ]
        )
    return sorted(rows, key=lambda r: r[0])


def render_replay(data: dict[str, Any]) -> str:
    raw = data.get("runs", {}) if isinstance(data.get("runs"), dict) else {}
    runs: dict[str, Any] = {name: run for name, run in raw.items() if isinstance(run, dict)}  # null: not run
    period = data.get("period") or {}
    parts = "PnL components"
    comps = ("funding_pnl_quote", "basis_pnl_quote", "fees_quote", "slippage_quote", "borrow_quote", "net_pnl_quote")
    signs = {"fees_quote": -1, "slippage_quote": -1, "borrow_quote": -1}
    charts = [
        bar_chart(
            f"run_{name}",
            f"{name}: {parts} (quote)",
            [
                (c.removesuffix("_quote"), signs.get(c, 1) * run[c])
                for c in comps
                if isinstance(run.get(c), (int, float))
            ],
        )
        for name, run in runs.items()
    ]
    charts.append(
        bar_chart(
            "net_by_run",
            "Net PnL by run (quote)",
            [(n, r["net_pnl_quote"]) for n, r in runs.items() if isinstance(r.get("net_pnl_quote"), (int, float))],
        )
    )
    keys = (
        "capital_quote",
        "net_pnl_quote",
        "funding_pnl_quote",
        "fees_quote",
        "pairs_opened",
        "liquidations",
        "halted",
        "max_drawdown_quote",
    )
    summary = table(
        "Runs",
        "runs",
        ["run", *keys],
        [
            [
                esc(n),
                *(
                    f'<span class="num">{esc(num(r.get(k)) if not isinstance(r.get(k), bool) else r[k])}</span>'
                    for k in keys
                ),
            ]
            for n, r in runs.items()
        ],
    )
    details = ""
    for name, run in runs.items():
        pairs, opened = run.get("pairs", []), run.get("pairs_opened")
        if isinstance(opened, int) and opened != len(pairs):  # say it rather than show two truths
            details += (
                f'<p class="warning" data-inconsistent="pairs_{esc(name)}">{esc(name)}: the report counts '
                f"{opened} pairs opened but lists {len(pairs)} pair rows</p>"
            )
        details += table(
            f"{name}: pairs",
            f"pairs_{name}",
            ["pair", "token", "opened", "closed", "net", "reason"],
            [
                [
                    esc(p.get("pair")),
                    esc(p.get("token")),
                    esc(p.get("opened_ts")),
                    esc(p.get("closed_ts") or "open"),
                    esc(num(p.get("net_quote"), 4)),
                    esc(p.get("close_reason") or ""),
                ]
                for p in run.get("pairs", [])
            ],
        )
        details += table(
            f"{name}: events",
            f"events_{name}",
            ["time", "kind", "detail"],
            [[esc(e.get("ts")), esc(e.get("kind")), esc(e.get("detail"))] for e in run.get("events", [])],
        )
    head = _cards([("period", f"{period.get('start', NA)} .. {period.get('end', NA)}"), ("runs", str(len(runs)))])
    return page(
        "funding-arb replay dashboard", head + f'<div class="charts">{"".join(charts)}</div>' + summary + details
    )
