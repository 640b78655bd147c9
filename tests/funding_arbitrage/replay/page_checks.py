"""Reads report.html (as the browser left it) and checks every count on the page against the page's own tables and
the report's CSV files. Used by the browser tests on a hand-built and on a real replay's report."""

from __future__ import annotations

import csv
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path


class PageCounts(HTMLParser):
    """Headline cells marked `data-metric`, pairs rows (`tr.pair-row`), event rows (`tr.event-row`), and per run
    whether its pairs block says "No pairs."."""

    def __init__(self) -> None:
        super().__init__()
        self.metrics: dict[tuple[str, str], str] = {}
        self.pair_rows: Counter[str] = Counter()
        self.events: Counter[tuple[str, str]] = Counter()
        self.no_pairs: set[str] = set()
        self._cell: tuple[str, str] | None = None
        self._text: list[str] = []
        self._pairs_block: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "td" and "data-metric" in a:
            self._cell, self._text = (a["data-run"], a["data-metric"]), []
        elif tag == "tr" and "pair-row" in a.get("class", "").split():
            self.pair_rows[a["data-run"]] += 1
        elif tag == "tr" and "event-row" in a.get("class", "").split():
            self.events[(a["data-run"], a["data-kind"])] += 1
        elif tag == "div" and "data-pairs" in a:
            self._pairs_block = a["data-pairs"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.metrics[self._cell] = "".join(self._text).strip()
            self._cell = None
        elif tag == "div":
            self._pairs_block = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._text.append(data)
        if self._pairs_block is not None and data.strip() == "No pairs.":
            self.no_pairs.add(self._pairs_block)


def _number(text: str) -> int | None:
    return None if text == "N/A" else int(text.replace(",", ""))


def check_page_counts(dom: str, report_dir: Path) -> list[str]:
    """Every disagreement between a count on the page and the rows it counts (empty: the page agrees)."""
    page = PageCounts()
    page.feed(dom)
    with (report_dir / "trades.csv").open() as f:
        trades = Counter(row["run"] for row in csv.DictReader(f))
    problems: list[str] = []
    runs = sorted({run for run, _ in page.metrics})
    if not runs:
        return ["no headline counts found on the page"]
    for run in runs:
        pairs = _number(page.metrics[(run, "pairs_opened")])
        if pairs != page.pair_rows[run]:
            problems.append(f"{run}: pairs opened {pairs} but {page.pair_rows[run]} rows in its pairs table")
        if (pairs == 0) != (run in page.no_pairs):
            problems.append(f"{run}: pairs opened {pairs} but 'No pairs.' shown: {run in page.no_pairs}")
        liquidations = _number(page.metrics[(run, "liquidations")])
        if (liquidations or 0) != page.events[(run, "liquidation")]:
            problems.append(f"{run}: {liquidations} liquidations but {page.events[(run, 'liquidation')]} events")
        halted = page.metrics[(run, "halted")]
        if halted.startswith("yes") != (page.events[(run, "halt")] > 0):
            problems.append(f"{run}: ended halted '{halted}' but {page.events[(run, 'halt')]} halt events")
        shown = _number(page.metrics[(run, "trades")])
        if (shown or 0) != trades[run]:
            problems.append(f"{run}: {shown} trades on the page but {trades[run]} rows in trades.csv")
    return problems
