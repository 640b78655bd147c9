"""Each injected fault reaches the strategy the way a real Hummingbot connector delivers it."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from hummingbot.core.data_type.common import OrderType, PositionAction
from hummingbot.core.data_type.in_flight_order import OrderState
from hummingbot.core.event.events import (
    BuyOrderCompletedEvent,
    BuyOrderCreatedEvent,
    FundingPaymentCompletedEvent,
    MarketEvent,
    MarketOrderFailureEvent,
    OrderCancelledEvent,
    OrderFilledEvent,
)
from hummingbot.core.network_iterator import NetworkStatus
from sim_helpers import BINANCE, BTC_SETTLEMENT_2, PAIR, settle, tracked, yields

from strategies.funding_arbitrage.sim.data import MarketData
from strategies.funding_arbitrage.sim.faults import FaultConfig, FaultInjector
from strategies.funding_arbitrage.sim.harness import EventRecorder, SimEnvironment

Q = Decimal("0.01")
OPEN = PositionAction.OPEN
START = BTC_SETTLEMENT_2 - 600


def _env(md: MarketData, faults: FaultConfig) -> SimEnvironment:
    return SimEnvironment(
        market_data=md,
        perp_venues=["binance"],
        spot_venues=[],
        coins=["BTC"],
        start_ts=START,
        end_ts=START + 86400,
        tick_s=60,
        faults={BINANCE: faults},
    )


async def _until(env: SimEnvironment, ts: float) -> None:
    while env.now < ts:
        await settle(env)


def test_reject_arrives_as_market_order_failure(market_data: MarketData) -> None:
    async def body() -> None:
        env = _env(market_data, FaultConfig(reject_probability=1.0))
        perp, rec = env.perps[BINANCE], EventRecorder(env.connectors.values())
        await env.start()
        oid = perp.buy(PAIR, Q, OrderType.MARKET, position_action=OPEN)
        await settle(env, 2)

        failure = rec.of_type(MarketOrderFailureEvent)
        assert rec.tags(oid) == [MarketEvent.OrderFailure]
        assert failure[0].error_type == "SimOrderRejected" and "injected fault" in failure[0].error_message
        assert tracked(perp, oid).current_state == OrderState.FAILED and not perp.account_positions
        env.close()

    asyncio.run(body())


def test_partial_fill_of_a_market_order_then_the_rest(market_data: MarketData) -> None:
    async def body() -> None:
        env = _env(market_data, FaultConfig(partial_fill_probability=1.0, partial_fill_fraction=Decimal("0.5")))
        perp, rec = env.perps[BINANCE], EventRecorder(env.connectors.values())
        await env.start()
        oid = perp.buy(PAIR, Q, OrderType.MARKET, position_action=OPEN)
        await settle(env, 2)
        first_state, first_position = tracked(perp, oid).current_state, perp.account_positions[PAIR].amount
        await settle(env)

        fills = [e for e in rec.of_type(OrderFilledEvent) if e.order_id == oid]
        assert first_state == OrderState.PARTIALLY_FILLED and first_position == Q / 2
        assert [f.amount for f in fills] == [Q / 2, Q / 2] and fills[1].timestamp == fills[0].timestamp + 60
        assert rec.tags(oid) == [
            MarketEvent.BuyOrderCreated,
            MarketEvent.OrderFilled,
            MarketEvent.OrderFilled,
            MarketEvent.BuyOrderCompleted,
        ]
        assert rec.of_type(BuyOrderCompletedEvent)[0].base_asset_amount == Q
        assert tracked(perp, oid).current_state == OrderState.FILLED
        env.close()

    asyncio.run(body())


def test_partial_fill_of_a_limit_order_leaves_the_rest_open(market_data: MarketData) -> None:
    async def body() -> None:
        env = _env(market_data, FaultConfig(partial_fill_probability=1.0, partial_fill_fraction=Decimal("0.3")))
        perp, rec = env.perps[BINANCE], EventRecorder(env.connectors.values())
        await env.start()
        limit = perp.quantize_order_price(PAIR, perp.market(PAIR).asks[0][0] * Decimal("1.001"))  # marketable
        oid = perp.buy(PAIR, Q, OrderType.LIMIT, limit, position_action=OPEN)
        await settle(env, 2)
        state, rest = tracked(perp, oid).current_state, [o.remaining for o in perp.sim_open_orders()]
        perp.cancel(PAIR, oid)
        await yields()

        assert state == OrderState.PARTIALLY_FILLED and rest == [Decimal("0.007")]
        assert [f.amount for f in rec.of_type(OrderFilledEvent)] == [Decimal("0.003")]
        assert [e.order_id for e in rec.of_type(OrderCancelledEvent)] == [oid]
        assert tracked(perp, oid).executed_amount_base == Decimal("0.003")
        assert perp.account_positions[PAIR].amount == Decimal("0.003")
        env.close()

    asyncio.run(body())


def test_fill_delay_holds_an_accepted_order(market_data: MarketData) -> None:
    async def body() -> None:
        env = _env(market_data, FaultConfig(fill_delay_s=300))
        perp, rec = env.perps[BINANCE], EventRecorder(env.connectors.values())
        await env.start()
        oid = perp.buy(PAIR, Q, OrderType.MARKET, position_action=OPEN)
        await settle(env, 8)

        created, fill = rec.of_type(BuyOrderCreatedEvent)[0], rec.of_type(OrderFilledEvent)[0]
        assert created.order_id == fill.order_id == oid
        assert fill.timestamp - created.timestamp == 300
        env.close()

    asyncio.run(body())


def test_disconnect_window_fails_orders_and_holds_back_fills(market_data: MarketData) -> None:
    window = (START + 600, START + 1200)

    async def body() -> None:
        env = _env(market_data, FaultConfig(fill_delay_s=300, disconnect_windows=(window,)))
        perp, rec = env.perps[BINANCE], EventRecorder(env.connectors.values())
        await env.start()
        await _until(env, START + 420)
        accepted = perp.buy(PAIR, Q, OrderType.MARKET, position_action=OPEN)  # eligible at +720, in the window
        resting = perp.buy(PAIR, Q, OrderType.LIMIT, perp.market(PAIR).bids[-1][0], position_action=OPEN)
        await yields()
        await _until(env, START + 780)
        during = (perp.ready, perp.network_status, dict(perp.account_positions))
        refused = perp.buy(PAIR, Q, OrderType.MARKET, position_action=OPEN)
        perp.cancel(PAIR, resting)  # the cancel request cannot reach the venue
        await yields()
        events_before_reconnect = list(rec.tags(accepted))
        resting_during = tracked(perp, resting).current_state
        await _until(env, window[1])
        perp.cancel(PAIR, resting)
        await yields()

        assert during[0] is False and during[1] == NetworkStatus.NOT_CONNECTED
        assert during[2][PAIR].amount == Q  # the venue executed the order inside the window
        failure = [e for e in rec.of_type(MarketOrderFailureEvent) if e.order_id == refused]
        assert failure and failure[0].error_type == "SimNetworkError"
        assert events_before_reconnect == [MarketEvent.BuyOrderCreated]
        fill = next(e for e in rec.of_type(OrderFilledEvent) if e.order_id == accepted)
        assert fill.timestamp == window[1]  # delivered at the first connected tick
        assert [t.fill_timestamp for t in tracked(perp, accepted).order_fills.values()] == [START + 720]
        assert resting_during == OrderState.OPEN
        assert [e.order_id for e in rec.of_type(OrderCancelledEvent)] == [resting]  # cancelled once reconnected
        assert perp.ready and perp.network_status == NetworkStatus.CONNECTED
        env.close()

    asyncio.run(body())


def test_stale_funding_window_freezes_funding_info_but_not_settlement(market_data: MarketData) -> None:
    window = (START, BTC_SETTLEMENT_2 + 1800)

    async def body() -> None:
        env = _env(market_data, FaultConfig(stale_funding_windows=(window,)))
        perp, rec = env.perps[BINANCE], EventRecorder(env.connectors.values())
        await env.start()
        before = perp.get_funding_info(PAIR)
        frozen = (before.next_funding_utc_timestamp, before.rate, before.mark_price)
        perp.buy(PAIR, Q, OrderType.MARKET, position_action=OPEN)
        await _until(env, BTC_SETTLEMENT_2 + 600)
        during = perp.get_funding_info(PAIR)
        stale = (during.next_funding_utc_timestamp, during.rate, during.mark_price)
        await _until(env, window[1])
        after = perp.get_funding_info(PAIR)

        assert stale == frozen and frozen[0] == BTC_SETTLEMENT_2  # still announcing a settlement that has passed
        assert [e.timestamp for e in rec.of_type(FundingPaymentCompletedEvent)] == [BTC_SETTLEMENT_2]
        series = market_data.funding_series("binance", "BTC")
        assert after.next_funding_utc_timestamp == series.next_settlement(BTC_SETTLEMENT_2).ts  # type: ignore
        env.close()

    asyncio.run(body())


def test_fault_draws_are_seeded_per_venue() -> None:
    config = FaultConfig(reject_probability=0.5, seed=7)

    a = [FaultInjector(config, BINANCE).reject() for _ in range(1)]

    def draws(name: str) -> list[bool]:
        return [inj.reject() for inj in [FaultInjector(config, name)] for _ in range(20)]

    assert draws(BINANCE) == draws(BINANCE) and draws(BINANCE) != draws("sim_bybit_perpetual")
    assert a == draws(BINANCE)[:1]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"reject_probability": 1.5},
        {"partial_fill_fraction": Decimal(1)},
        {"fill_delay_s": -1},
        {"disconnect_windows": ((10, 5),)},
    ],
)
def test_invalid_fault_config_is_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        FaultConfig(**kwargs)
