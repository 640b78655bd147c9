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
            section = text.split("Nearest below the cost floor")[1]
            for token in ("BTC", "ETH"):
                assert re.search(
                    rf"{token} sim_\w+->sim_\w+ .*funding_below_cost_floor: even at zero slippage "
                    r"the net edge is at most -?\d+\.\d{3}% < min 5%",
                    section,
                ), section
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
