"""Shared fixtures for the simulated-venue tests: the real cross-venue dataset, loaded once per session."""

from __future__ import annotations

import pandas as pd
import pytest
from sim_helpers import CROSS_VENUE

from strategies.funding_arbitrage.sim.data import MarketData, load_market_data


@pytest.fixture(scope="session")
def market_data() -> MarketData:
    if not CROSS_VENUE.exists():
        pytest.fail(f"market data not found at {CROSS_VENUE}: the project expects ../shared/data next to it")
    return load_market_data(CROSS_VENUE)


@pytest.fixture(scope="session")
def raw_candles() -> pd.DataFrame:
    """The candle file read independently of the loader, for hand checks."""
    return pd.read_csv(CROSS_VENUE / "candles_1h.csv.gz", dtype=str)


@pytest.fixture(scope="session")
def raw_funding() -> pd.DataFrame:
    return pd.read_csv(CROSS_VENUE / "funding_rates.csv.gz", dtype=str)
