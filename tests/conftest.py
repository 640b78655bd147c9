"""Shared test paths. Real market data is read from ../shared/data (never copied into the project)."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = (ROOT / ".." / "shared" / "data").resolve()
SAMPLE_CONF = ROOT / "conf" / "scripts" / "conf_funding_arbitrage.yml"


@pytest.fixture
def data_dir() -> Path:
    if not DATA_DIR.exists():
        pytest.fail(f"market data not found at {DATA_DIR}: the project expects ../shared/data next to it")
    return DATA_DIR
