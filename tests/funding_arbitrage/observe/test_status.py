"""`status` on the real strategy (sim venues): nearest candidates always shown with why they are not entered,
human times, open pairs with age / funding / net / current edge, funding per pair and day."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from integration_helpers import BTC_SETTLEMENT, BTC_START, perp_settings, run_async, sim_run

EPOCH = re.compile(r"\b1[6-9]\d{8}(\.\d+)?\b")  # a raw Unix time in seconds


def test_status_shows_the_nearest_pairs_and_why_when_nothing_clears_the_floor(cross_venue: Any, tmp_path: Path) -> None:
    settings = perp_settings(tmp_path / "s.json", tokens=("BTC", "ETH"), min_net_edge_pct=Decimal(5))

    async def body() -> None:
        with sim_run(cross_venue, settings, coins=["BTC", "ETH"], start_ts=BTC_START, hours=1) as run:
            await run.run_until(BTC_START + 30 * 60)
            text = run.strategy.format_status()

            assert run.records == []
            section = text.split("Nearest candidates")[1].split("\n\n")[0]
            header, _, *rows = section.splitlines()[1:]
            for column in ("funding", "fees", "slippage", "basis", "borrow", "net", "net %", "need %", "break-even"):
                assert f"  {column}  " in f"{header}  ", column
            assert len(rows) == 2 * 1  # BTC and ETH: the best screened pair of each, costed on the books
            for token in ("BTC", "ETH"):
                row = next(r for r in rows if r.strip().startswith(f"{token} "))
                # every figure known: notional, hold, spread, funding, fees, slippage, basis, borrow, net, net %,
                # need %, break-even (a span or N/A when it never breaks even), then the reason
                assert "below floor: net " in row and "< min 5%" in row, row
                figures = re.findall(r"-?\d+\.\d{2,3}%?", row.split("below floor")[0])
                assert len(figures) >= 10, row
            assert not re.search(r"\d\.\d{5,}", section), section  # rounded for people

            run.strategy.runtime.risk.halt(BTC_START + 30 * 60, "max_drawdown: test")  # a gate outside the engine
            halted = run.strategy.format_status().split("Nearest candidates")[1].split("\n\n")[0]
            for token in ("BTC", "ETH"):
                row = next(r for r in halted.splitlines() if r.strip().startswith(f"{token} "))
                assert "below floor: net " in row and "halted: max_drawdown: test" in row, row
            assert "next settlement" in text and re.search(r"2025-03-10 00:00 UTC \(in \d+h \d+m\)", text)
            assert not EPOCH.search(text), EPOCH.search(text)

    run_async(body)


def test_status_shows_open_pairs_with_age_funding_net_and_funding_per_day(cross_venue: Any, tmp_path: Path) -> None:
    settings = perp_settings(tmp_path / "s.json")

    async def body() -> None:
        with sim_run(cross_venue, settings, coins=["BTC"], start_ts=BTC_START, hours=9) as run:
            await run.run_until(BTC_SETTLEMENT + 5 * 60)
            text = run.strategy.format_status()
            pair = run.records[0]

            row = next(line for line in text.splitlines() if line.strip().startswith(pair.pair_id))
            assert re.search(r"2025-03-09 16:0\d UTC\s+8h \d+m", row), row  # opened, age
            assert f"{pair.funding_received_quote:.4f}" in row and pair.funding_received_quote != 0
            assert re.search(r"-?\d+\.\d{2}%\s*$", row), row  # the current forward edge APR
            line = next(line for line in text.splitlines() if "funding by day" in line)
            assert f"date=2025-03-10 total={pair.funding_received_quote:+.4f} {pair.pair_id}=" in line
            assert not EPOCH.search(text.replace(pair.pair_id, "PAIR"))  # times are for people (ids stay ids)

    run_async(body)
