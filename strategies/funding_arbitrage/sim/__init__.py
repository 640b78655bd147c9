"""Simulated venues that are real Hummingbot connectors, replaying recorded market data (docs/simulation.md).

Modules: `data` (loader, no hummingbot), `calibration` / `book` (order-book shape), `brackets` (maintenance
margin), `faults`, `perp` (SimPerpetualDerivative), `spot` (SimSpotExchange), `harness` (SimEnvironment),
`registry` (AllConnectorSettings / RateOracle registration).

Names are exported lazily so that importing the pure `data` module never pulls Hummingbot in.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DataError": "data",
    "MarketData": "data",
    "load_market_data": "data",
    "default_data_dir": "data",
    "FaultConfig": "faults",
    "SimPerpetualDerivative": "perp",
    "SimSpotExchange": "spot",
    "BasisModel": "spot",
    "SimEnvironment": "harness",
    "EventRecorder": "harness",
    "register_sim_connector": "registry",
}

__all__ = [
    "BasisModel",
    "DataError",
    "EventRecorder",
    "FaultConfig",
    "MarketData",
    "SimEnvironment",
    "SimPerpetualDerivative",
    "SimSpotExchange",
    "default_data_dir",
    "load_market_data",
    "register_sim_connector",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
