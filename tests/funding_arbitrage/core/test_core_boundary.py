"""The edge engine is pure core: its modules neither import nor mention the connector framework."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "strategies" / "funding_arbitrage"
CORE = [
    "actions",
    "candidates",
    "costs",
    "decisions",
    "edge",
    "funding",
    "market_data",
    "orderbook",
    "reasons",
    "sizing",
]


@pytest.mark.parametrize("module", CORE)
def test_core_module_source_never_names_the_framework(module: str) -> None:
    assert "hummingbot" not in (PACKAGE / f"{module}.py").read_text()


def test_importing_the_engine_loads_no_framework_module() -> None:
    code = (
        "import sys, strategies.funding_arbitrage.decisions as d; "
        "sys.exit(1 if any(m.split('.')[0] == 'hummingbot' for m in sys.modules) else 0)"
    )

    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
