"""report.html in a real headless browser: the charts draw, no script error, nothing fetched from outside.

Needs Debian's `chromium` package (`apt-get install -y chromium`); skipped with that reason when it is absent.
"""

from __future__ import annotations

import html as htmllib
import re
from dataclasses import replace
from pathlib import Path

from chromium_dom import body_attrs, dump_dom, needs_chromium
from page_checks import PageCounts, check_page_counts
from replay_samples import sample_report

from strategies.funding_arbitrage.replay.report import write_report

pytestmark = needs_chromium


def test_report_charts_draw_without_script_errors(tmp_path: Path) -> None:
    paths = write_report(sample_report(), tmp_path / "report")

    dom, stderr = dump_dom(paths["report.html"], tmp_path / "profile")

    attrs = body_attrs(dom)
    assert "data-js-errors" not in attrs, attrs.get("data-js-errors")
    assert attrs.get("data-charts-drawn") == "5"  # equity, utilisation, decomposition, margin ratio, distance
    assert "Uncaught" not in stderr
    assert "data-pwned" not in attrs  # the hostile text in notes, events and reasons stayed text
    assert dom.count('data-drawn="1"') == 5
    assert "Net PnL (quote)" in dom


def test_a_script_error_is_caught_by_the_page_hook(tmp_path: Path) -> None:
    page = write_report(sample_report(), tmp_path / "report")["report.html"]
    broken = tmp_path / "broken.html"
    broken.write_text(page.read_text().replace("var drawn = 0;", "var drawn = 0; undefinedFunction();"))

    dom, stderr = dump_dom(broken, tmp_path / "profile")

    assert "undefinedFunction" in body_attrs(dom).get("data-js-errors", "")
    assert "Uncaught" in stderr


def test_report_without_series_draws_only_what_has_data(tmp_path: Path) -> None:
    report = sample_report()
    bare = {
        name: replace(run, equity=(), margin=(), trades=(), pairs=(), events=(), utilisation=())
        for name, run in report.runs.items()
    }
    paths = write_report(replace(report, runs=bare), tmp_path / "report")

    dom, stderr = dump_dom(paths["report.html"], tmp_path / "profile")

    attrs = body_attrs(dom)
    assert "data-js-errors" not in attrs, attrs.get("data-js-errors")
    assert attrs.get("data-charts-drawn") == "1"  # only the PnL decomposition has data
    assert "Uncaught" not in stderr


def test_every_count_on_the_page_matches_its_tables(tmp_path: Path) -> None:
    paths = write_report(sample_report(), tmp_path / "report")

    dom, _ = dump_dom(paths["report.html"], tmp_path / "profile")

    assert "data-js-errors" not in body_attrs(dom)
    assert check_page_counts(dom, tmp_path / "report") == []


def test_the_consistency_check_catches_a_pairs_table_that_disagrees(tmp_path: Path) -> None:
    report = sample_report()
    baseline = replace(report.runs["baseline"], pairs=())  # 2 pairs opened, none listed: the bug it must catch
    paths = write_report(replace(report, runs={**report.runs, "baseline": baseline}), tmp_path / "report")

    dom, _ = dump_dom(paths["report.html"], tmp_path / "profile")

    problems = check_page_counts(dom, tmp_path / "report")
    assert any(p.startswith("baseline: pairs opened 2 but 0 rows") for p in problems), problems


def test_page_shows_halts_na_and_rounded_figures(tmp_path: Path) -> None:
    paths = write_report(sample_report(), tmp_path / "report")

    dom, _ = dump_dom(paths["report.html"], tmp_path / "profile")

    visible = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", dom, flags=re.DOTALL)
    text = htmllib.unescape(re.sub(r"<[^>]+>", " ", visible))
    assert "ended halted since 2025-03-10T08:00:00Z" in text  # the headline sentence names the halt
    page = PageCounts()
    page.feed(dom)
    assert page.metrics[("oracle", "trades")] == "N/A" and page.metrics[("passive_carry", "trades")] == "N/A"
    assert page.metrics[("oracle", "halted")] == "N/A" and page.metrics[("baseline", "halted")] == "no"
    assert not re.search(r"\d\.\d{7,}", text)  # no long decimals for people
    assert "BasisModel(" not in text and "Decimal(" not in text  # sentences, no Python repr


def test_a_console_error_is_reported_by_the_page(tmp_path: Path) -> None:
    paths = write_report(sample_report(), tmp_path / "report")
    page = paths["report.html"]
    page.write_text(page.read_text().replace("</body>", "<script>console.error('boom')</script></body>"))

    dom, _ = dump_dom(page, tmp_path / "profile")

    assert "console.error: boom" in body_attrs(dom).get("data-js-errors", "")
