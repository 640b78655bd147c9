"""Tests of replay/report.py: file contents, determinism, escaping, secrets, offline HTML."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import replace
from decimal import Decimal as D
from pathlib import Path

from replay_samples import HOSTILE, SECRET_VALUE, sample_report

from strategies.funding_arbitrage.replay.formatting import is_secret_key, sanitize
from strategies.funding_arbitrage.replay.report import OUTPUT_FILES, write_report
from strategies.funding_arbitrage.replay.report_html import downsample
from strategies.funding_arbitrage.replay.results import RUN_NAMES

REQUIRED_RUN_KEYS = {
    "net_pnl_quote",
    "funding_pnl_quote",
    "fees_quote",
    "slippage_quote",
    "borrow_quote",
    "basis_pnl_quote",
    "max_drawdown_quote",
    "capital_quote",
    "apr_pct",
    "pairs_opened",
    "liquidations",
    "max_hedge_gap_pct",
    "unhedged_seconds",
}


def test_report_json_has_the_documented_shape(tmp_path: Path) -> None:
    paths = write_report(sample_report(), tmp_path)

    doc = json.loads(paths["report.json"].read_text(), parse_float=D)

    assert {"data", "period", "runs", "sim_seconds", "wall_seconds"} <= set(doc)
    assert set(doc["runs"]) == set(RUN_NAMES)
    for run in doc["runs"].values():
        assert set(run) >= REQUIRED_RUN_KEYS
        assert run["invariant_ok"] is True
    strategy = doc["runs"]["funding_arbitrage"]
    assert strategy["net_pnl_quote"] == D("2.330000") and strategy["unhedged_seconds"] == D("2.5")
    assert doc["runs"]["oracle"]["liquidations"] is None
    assert doc["runs"]["baseline"]["max_hedge_gap_pct"] is None
    assert doc["wall_seconds"] == D("1.25") and doc["period"]["start"] == "2025-03-08T16:00:00Z"


def test_report_json_numbers_have_fixed_precision_and_no_exponents(tmp_path: Path) -> None:
    text = write_report(sample_report(), tmp_path)["report.json"].read_text()

    assert '"net_pnl_quote": 2.330000,' in text
    assert '"sim_seconds": 259200.000,' in text
    assert not re.search(r"\d[eE][+-]?\d", text)


def test_missing_run_is_null_and_flagged_in_html(tmp_path: Path) -> None:
    report = sample_report()
    report = replace(report, runs={k: v for k, v in report.runs.items() if k != "baseline"})

    paths = write_report(report, tmp_path)

    assert json.loads(paths["report.json"].read_text())["runs"]["baseline"] is None
    assert "Not run: Baseline (upstream example)." in paths["report.html"].read_text()


def test_same_input_gives_byte_identical_files(tmp_path: Path) -> None:
    first = write_report(sample_report(), tmp_path / "a")
    second = write_report(sample_report(), tmp_path / "b")

    for name in OUTPUT_FILES:
        assert first[name].read_bytes() == second[name].read_bytes(), name


def test_only_wall_seconds_depends_on_the_wall_clock(tmp_path: Path) -> None:
    a = write_report(sample_report("1.25"), tmp_path / "a")
    b = write_report(sample_report("9.5"), tmp_path / "b")

    lines_a = a["report.json"].read_text().splitlines()
    lines_b = b["report.json"].read_text().splitlines()
    diff = [line for line, other in zip(lines_a, lines_b, strict=True) if line != other]

    assert diff == ['  "wall_seconds": 1.250,']


def test_secrets_never_reach_any_file(tmp_path: Path) -> None:
    paths = write_report(sample_report(), tmp_path)

    for name, path in paths.items():
        text = path.read_text()
        assert SECRET_VALUE not in text, name
        assert "binance_api_key" not in text and "bybit_api_secret" not in text, name
    config = json.loads(paths["report.json"].read_text())["config"]
    assert config["nested"] == {"leverage": 3} and config["tokens"] == ["BTC"]


def test_secret_key_patterns_spare_trading_words() -> None:
    for key in (
        "api_key",
        "binance_api_secret",
        "password",
        "passphrase",
        "private_key",
        "apiKey",
        "auth_token",
        "key",
        "secret_key",
    ):
        assert is_secret_key(key), key
    for key in ("tokens", "max_token_exposure_quote", "quote_assets", "leverage", "pair_count", "monkey"):
        assert not is_secret_key(key), key
    assert sanitize({"b": D("0.0005"), "a": {"api_key": "x"}}) == {"a": {}, "b": "0.0005"}


def test_html_escapes_every_text_and_loads_nothing_from_outside(tmp_path: Path) -> None:
    html = write_report(sample_report(), tmp_path)["report.html"].read_text()

    assert HOSTILE not in html and "<img" not in html and "<b>" not in html
    assert html.count("<script") == 3  # error hook, JSON data, charts
    assert "&lt;/script&gt;&lt;script&gt;document.body.dataset.pwned=&#x27;1&#x27;&lt;/script&gt;" in html
    tags = re.findall(r"<[a-zA-Z][^>]*>", html)
    assert not [tag for tag in tags if re.search(r"\b(src|href|srcset|data)\s*=", tag)]
    assert "http://" not in html and "https://" not in html and "@import" not in html


def test_html_puts_headline_numbers_before_charts_and_tables(tmp_path: Path) -> None:
    html = write_report(sample_report(), tmp_path)["report.html"].read_text()

    positions = [
        html.index(marker)
        for marker in (
            'id="headline"',
            "Net PnL (quote)",
            "Approximations in this replay",
            'id="chart-equity"',
            'id="chart-decomposition"',
            'id="chart-margin-ratio-funding_arbitrage"',
            'id="chart-liq-distance-funding_arbitrage"',
            'id="pairs"',
            'id="events"',
        )
    ]
    assert positions == sorted(positions)
    assert "spot price follows perp candles" in html
    assert "N/A" in html and "liquidation" in html and "leverage_reduction" in html


def test_csv_files_are_sorted_with_stable_headers(tmp_path: Path) -> None:
    paths = write_report(sample_report(), tmp_path)

    trades = list(csv.DictReader(paths["trades.csv"].open()))
    equity = list(csv.DictReader(paths["equity.csv"].open()))
    margin = list(csv.DictReader(paths["margin.csv"].open()))

    assert [t["slippage_quote"] for t in trades] == ["0.01"] * 4
    assert trades[0]["time_utc"] == "2025-03-08T17:00:00Z"
    assert trades[2]["reason"].startswith("exit </script>")
    assert list(equity[0]) == ["ts", "run", "equity_quote"]
    keys = [(int(r["ts"]), RUN_NAMES.index(r["run"])) for r in equity]
    assert keys == sorted(keys)
    assert margin[-1]["margin_ratio"] == "" and margin[0]["liquidation_distance_pct"] == "29.9"


def test_downsample_keeps_ends_and_extremes() -> None:
    points = [(float(i), float((i * 37) % 101)) for i in range(10_000)]
    points[5_000] = (5_000.0, -50.0)

    thin = downsample(points, 500)

    assert len(thin) <= 500
    assert thin[0] == points[0] and thin[-1] == points[-1]
    assert (5_000.0, -50.0) in thin and max(p[1] or 0.0 for p in thin) == 100.0
    assert [p[0] for p in thin] == sorted(p[0] for p in thin)


def test_a_run_left_out_says_why(tmp_path: Path) -> None:
    report = sample_report()
    runs = {k: v for k, v in report.runs.items() if k != "passive_carry"}
    data = {**report.data, "not_run": {"passive_carry": "it needs a spot venue and none was given (--spot '')"}}

    paths = write_report(replace(report, runs=runs, data=data), tmp_path)

    assert json.loads(paths["report.json"].read_text())["runs"]["passive_carry"] is None
    assert (
        "Not run: Passive carry (hold all) (it needs a spot venue and none was given (--spot &#x27;&#x27;))."
        in paths["report.html"].read_text()
    )
