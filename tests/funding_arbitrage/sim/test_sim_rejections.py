"""A sim venue's refusal of an order reaches the strategy as a real venue's answer: the order fails with the
venue's reason, and no "Check API key and network connection" application warning is raised (Hummingbot's text for a
request that could not be sent: kept for the sim's network errors).

Hummingbot raises application warnings only outside test runs (`HummingbotLogger.is_testing_mode`); these tests turn
that off, as a replay or `funding-arb run --sim` is, and collect the warnings the application would show.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from hummingbot.client.hummingbot_application import HummingbotApplication
from hummingbot.core.data_type.common import OrderType, PositionAction
from hummingbot.core.data_type.in_flight_order import OrderState
from hummingbot.core.event.events import MarketOrderFailureEvent
from hummingbot.logger.logger import HummingbotLogger
from sim_helpers import BINANCE, BTC_SETTLEMENT_2, PAIR, settle, tracked

from strategies.funding_arbitrage.sim.data import MarketData
from strategies.funding_arbitrage.sim.faults import FaultConfig
from strategies.funding_arbitrage.sim.harness import EventRecorder, SimEnvironment

START = BTC_SETTLEMENT_2 - 600
Q = Decimal("0.01")


@pytest.fixture
def app_warnings(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Application warnings as the client would receive them (test mode off)."""
    seen: list[Any] = []
    monkeypatch.setattr(HummingbotLogger, "is_testing_mode", staticmethod(lambda: False))
    monkeypatch.setattr(HummingbotApplication, "_main_app", SimpleNamespace(add_application_warning=seen.append))
    return seen


def _env(md: MarketData, faults: FaultConfig | None = None) -> SimEnvironment:
    return SimEnvironment(
        market_data=md,
        perp_venues=["binance"],
        spot_venues=[],
        coins=["BTC"],
        start_ts=START,
        end_ts=START + 3600,
        tick_s=60,
        faults={BINANCE: faults} if faults else {},
    )


def test_a_venue_rejection_fails_the_order_with_its_reason_and_no_api_key_warning(
    market_data: MarketData, app_warnings: list[Any]
) -> None:
    async def body() -> None:
        env = _env(market_data)
        perp, rec = env.perps[BINANCE], EventRecorder(env.connectors.values())
        await env.start()
        oid = perp.sell(PAIR, Q, OrderType.MARKET, position_action=PositionAction.CLOSE)  # nothing to reduce
        await settle(env, 2)

        [failure] = rec.of_type(MarketOrderFailureEvent)
        assert failure.order_id == oid and failure.error_type == "SimOrderRejected"
        assert "ReduceOnly Order is rejected" in failure.error_message  # the venue's reason travels with it
        assert tracked(perp, oid).current_state == OrderState.FAILED and not perp.account_positions
        assert app_warnings == []  # an answer from the venue, not a connection problem
        env.close()

    asyncio.run(body())


def test_a_network_failure_still_raises_hummingbots_warning(market_data: MarketData, app_warnings: list[Any]) -> None:
    async def body() -> None:
        env = _env(market_data, FaultConfig(disconnect_windows=((START, START + 1800),)))
        perp, rec = env.perps[BINANCE], EventRecorder(env.connectors.values())
        await env.start()
        oid = perp.buy(PAIR, Q, OrderType.MARKET, position_action=PositionAction.OPEN)
        await settle(env, 2)

        [failure] = rec.of_type(MarketOrderFailureEvent)
        assert failure.order_id == oid and failure.error_type == "SimNetworkError"
        assert len(app_warnings) == 1 and "Check API key and network connection" in app_warnings[0].warning_msg
        env.close()

    asyncio.run(body())
