"""`funding-arb summary`: one line per UTC day with funding PnL per pair, read from the config's journal."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from integration_helpers import config_home

from strategies.funding_arbitrage.cli.launcher import main
from strategies.funding_arbitrage.shell.journal import Journal

DAY1 = dt.datetime(2025, 3, 10, 0, tzinfo=dt.UTC).timestamp()
DAY2 = DAY1 + 86400


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return config_home(tmp_path, monkeypatch, "sum", journal_file="data/sum.journal.sqlite")


def test_summary_prints_one_line_per_day_with_funding_per_pair(home: Path, capsys: pytest.CaptureFixture) -> None:
    journal = Journal(home / "data" / "sum.journal.sqlite")
    journal.record_funding("bybit_perpetual", "BTC-USDT", DAY1, Decimal("0.30"), None, "event", ["BTC-1-1"])
    journal.record_funding("binance_perpetual", "BTC-USDT", DAY1, Decimal("-0.10"), None, "event", ["BTC-1-1"])
    journal.record_funding("bybit_perpetual", "ETH-USDT", DAY1 + 8 * 3600, Decimal("0.05"), None, "event", ["ETH-1-2"])
    journal.record_funding("bybit_perpetual", "BTC-USDT", DAY2, Decimal("0.25"), None, "history", ["BTC-1-1"])
    journal.record_funding_gap("bybit_perpetual", "ETH-USDT", DAY2 + 3600, DAY2 + 7200, "down", ["ETH-1-2"])
    journal.close()

    assert main(["summary", "--conf", "sum.yml"]) == 0
    lines = capsys.readouterr().out.splitlines()

    assert lines == [
        "2025-03-10  total +0.2500  BTC-1-1 +0.2000  ETH-1-2 +0.0500",
        "2025-03-11  total N/A (funding unknown while the bot was down)  BTC-1-1 +0.2500",
    ]
    assert main(["summary", "--conf", "sum.yml", "--days", "1"]) == 0
    assert capsys.readouterr().out.splitlines() == lines[1:]


def test_summary_without_a_journal_exits_2_and_creates_none(home: Path) -> None:
    assert main(["summary", "--conf", "sum.yml"]) == 2
    assert not (home / "data" / "sum.journal.sqlite").exists()
