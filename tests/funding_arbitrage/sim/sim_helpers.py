"""Helpers shared by the simulated-venue tests (imported by name: the test directories are not packages)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

from hummingbot.core.data_type.in_flight_order import InFlightOrder

from strategies.funding_arbitrage.sim.harness import SimEnvironment

ROOT = Path(__file__).resolve().parents[3]
SHARED_DATA = (ROOT / ".." / "shared" / "data").resolve()
CROSS_VENUE = SHARED_DATA / "cross_venue_2025"
PAIR = "BTC-USDT"
BINANCE = "sim_binance_perpetual"
BTC_SETTLEMENT_2 = 1741478400  # binance BTC settlement 2025-03-09T00:00Z (rate -2.779e-05)


async def settle(env: SimEnvironment, ticks: int = 1) -> None:
    """Advance `ticks` ticks (each followed by the env's yields) and let queued deliveries finish."""
    for _ in range(ticks):
        await env.step()
    for _ in range(10):
        await asyncio.sleep(0)


async def yields(n: int = 10) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


def tracked(connector: Any, order_id: str) -> InFlightOrder | None:
    return connector._order_tracker.fetch_order(client_order_id=order_id)


def d(x: str) -> Decimal:
    return Decimal(x)
