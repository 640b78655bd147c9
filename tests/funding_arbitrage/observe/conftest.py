"""Fixtures for the observability tests: the integration helpers (real strategy on the sim venues) and the data."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

for helpers in ("integration", "replay"):  # integration_helpers (the sim runs), chromium_dom (the page tests)
    folder = str(Path(__file__).resolve().parents[1] / helpers)
    if folder not in sys.path:
        sys.path.insert(0, folder)

from integration_helpers import CROSS_VENUE  # noqa: E402

from strategies.funding_arbitrage.sim.data import MarketData, load_market_data  # noqa: E402


@pytest.fixture(scope="session")
def cross_venue() -> MarketData:
    if not CROSS_VENUE.exists():
        pytest.fail(f"market data not found at {CROSS_VENUE}: the project expects ../shared/data next to it")
    return load_market_data(CROSS_VENUE)
