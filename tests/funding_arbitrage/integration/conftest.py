"""Fixtures for the end-to-end tests: the real cross-venue dataset, loaded once, and its raw files for hand checks."""

from __future__ import annotations

import pandas as pd
import pytest
from integration_helpers import CROSS_VENUE

from strategies.funding_arbitrage.sim.data import MarketData, load_market_data


@pytest.fixture(scope="session")
def cross_venue() -> MarketData:
    if not CROSS_VENUE.exists():
        pytest.fail(f"market data not found at {CROSS_VENUE}: the project expects ../shared/data next to it")
    return load_market_data(CROSS_VENUE)


@pytest.fixture(scope="session")
def raw_funding_rows() -> pd.DataFrame:
    """funding_rates.csv.gz read as text, independently of the sim's loader."""
    return pd.read_csv(CROSS_VENUE / "funding_rates.csv.gz", dtype=str)


@pytest.fixture(scope="session")
def raw_candle_rows() -> pd.DataFrame:
    return pd.read_csv(CROSS_VENUE / "candles_1h.csv.gz", dtype=str)
