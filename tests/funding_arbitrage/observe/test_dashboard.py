"""`funding-arb dashboard` pages opened in headless Chromium: no script error, charts drawn, hostile text stays
text, every count in the page equals its table, nothing fetched from outside.

Needs Debian's `chromium` (`apt-get install -y chromium`); the browser tests are skipped with that reason without it.
"""

from __future__ import annotations

import html as htmllib
import json
import re
from pathlib import Path

import pytest
from chromium_dom import body_attrs, dump_dom, needs_chromium
from integration_helpers import BTC_SETTLEMENT, BTC_START, perp_settings, run_async, sim_run

from strategies.funding_arbitrage.cli.dashboard import DashboardError, load_input, render
from strategies.funding_arbitrage.cli.launcher import main

REPLAY_TESTS = Path(__file__).resolve().parents[1] / "replay"
HOSTILE = "<img src=x onerror=\"document.body.dataset.pwned='1'\"> & <b>bold</b>"


def table_rows(dom: str, table_id: str) -> int:
    found = re.search(rf'<table id="{re.escape(table_id)}">.*?<tbody>(.*?)</tbody>', dom, re.S)
    assert found is not None, table_id
    return found.group(1).count("<tr>")


def assert_counts_match_tables(dom: str) -> int:
    counts = re.findall(r'data-count-for="([^"]+)" data-count="(\d+)"', dom)
    assert counts
    for table_id, n in counts:
        assert table_rows(dom, htmllib.unescape(table_id)) == int(n), table_id
    return len(counts)


@pytest.fixture(scope="module")
def sim_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real export: BTC entered on the sim venues and held through a funding settlement; one hostile event."""
    from integration_helpers import CROSS_VENUE

    from strategies.funding_arbitrage.sim.data import load_market_data

    tmp = tmp_path_factory.mktemp("dash")
    export = tmp / "metrics.json"
    settings = perp_settings(tmp / "s.json", metrics_export_path=str(export), metrics_export_interval_s=60)

    async def body() -> None:
        with sim_run(load_market_data(CROSS_VENUE), settings, coins=["BTC"], start_ts=BTC_START, hours=9) as run:
            await run.run_until(BTC_SETTLEMENT + 10 * 60)
            run.runtime.metrics.event(run.env.now, "note", HOSTILE)
            run.runtime.metrics.alert("risk.test_hostile", "warning", HOSTILE, run.env.now)
            await run.run_until(run.env.now + 120)
            run.runtime.exporter.flush()

    run_async(body)
    return export


@needs_chromium
def test_export_dashboard_draws_every_chart_without_script_errors(sim_export: Path, tmp_path: Path) -> None:
    page = tmp_path / "dash.html"
    assert main(["dashboard", str(sim_export), "-o", str(page)]) == 0

    dom, stderr = dump_dom(page, tmp_path / "profile")

    attrs = body_attrs(dom)
    assert "data-js-errors" not in attrs, attrs.get("data-js-errors")
    assert "Uncaught" not in stderr
    assert attrs.get("data-charts-drawn") == "5"  # pnl, funding rates, liquidation, activity, tick durations
    assert "data-pwned" not in attrs  # the hostile event and alert stayed text
    assert assert_counts_match_tables(dom) == 3
    data = json.loads(sim_export.read_text())
    assert table_rows(dom, "events") == len(data["events"]) and "entry" in dom
    assert re.search(r"2025-03-\d\d \d\d:\d\d:\d\d UTC", dom)  # human times, not epochs
    assert not re.search(r"(src|href)=\"https?:", dom)  # nothing from outside


@needs_chromium
def test_replay_report_dashboard_draws_and_its_counts_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(REPLAY_TESTS))
    from replay_samples import sample_report

    from strategies.funding_arbitrage.replay.report import write_report

    paths = write_report(sample_report(), tmp_path / "report")
    report_json = paths["report.json"]
    page = tmp_path / "replay.html"
    assert main(["dashboard", str(report_json), "-o", str(page)]) == 0

    dom, stderr = dump_dom(page, tmp_path / "profile")

    attrs = body_attrs(dom)
    runs = {k: v for k, v in json.loads(report_json.read_text())["runs"].items() if isinstance(v, dict)}
    assert "data-js-errors" not in attrs and "Uncaught" not in stderr
    assert attrs.get("data-charts-drawn") == str(len(runs) + 1)
    assert "data-pwned" not in attrs
    assert assert_counts_match_tables(dom) == 1 + 2 * len(runs)
    for name, run in runs.items():  # pairs_opened equals the rows of the run's pairs table, or the page says not
        agrees = table_rows(dom, f"pairs_{name}") == run["pairs_opened"]
        assert agrees != (f'data-inconsistent="pairs_{name}"' in dom), name


def test_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('{"hello": 1}')
    with pytest.raises(DashboardError, match="neither a metrics export"):
        load_input(bad)
    bad.write_text("{not json")
    with pytest.raises(DashboardError, match="not JSON"):
        load_input(bad)
    assert main(["dashboard", str(tmp_path / "missing.json")]) == 1


def test_unknown_values_show_as_na_never_zero() -> None:
    page = render(
        {
            "schema_version": 2,
            "ts": None,
            "metrics": {
                "funding_arb_equity_quote": {
                    "type": "gauge",
                    "help": "h",
                    "samples": [{"labels": {"quote": "USDT"}, "value": None}],
                }
            },
            "alerts": [],
            "events": [],
        }
    )
    assert "equity (quote)<b>N/A</b>" in page and "snapshot<b>N/A</b>" in page
