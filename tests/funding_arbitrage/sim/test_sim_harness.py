"""SimEnvironment drives a real Hummingbot StrategyV2Base on the BACKTEST clock with perp and spot sim venues."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from hummingbot.connector.connector_base import ConnectorBase
from hummingbot.core.data_type.common import OrderType, PositionAction, TradeType
from hummingbot.model.funding_payment import FundingPayment
from hummingbot.model.trade_fill import TradeFill
from hummingbot.strategy.strategy_v2_base import StrategyV2Base
from hummingbot.strategy_v2.executors.position_executor.data_types import (
    PositionExecutorConfig,
    TripleBarrierConfig,
)
from hummingbot.strategy_v2.models.executor_actions import CreateExecutorAction, StopExecutorAction
from hummingbot.strategy_v2.models.executors import CloseType
from sim_helpers import BINANCE, BTC_SETTLEMENT_2, PAIR

from strategies.funding_arbitrage.sim.data import MarketData
from strategies.funding_arbitrage.sim.harness import SimEnvironment

SPOT = "sim_binance"
Q = Decimal("0.01")


class _CarryProbe(StrategyV2Base):
    """Buys spot and shorts the perp on its first on_tick; records what Hummingbot hands it."""

    def __init__(self, connectors: dict[str, ConnectorBase]) -> None:
        super().__init__(connectors)
        self.fills: list[Any] = []
        self.funding: list[Any] = []
        self.first_on_tick: float = 0.0

    def on_tick(self) -> None:
        if not self.first_on_tick:
            self.first_on_tick = self.current_timestamp
            self.buy(SPOT, PAIR, Q, OrderType.MARKET)
            self.sell(BINANCE, PAIR, Q, OrderType.MARKET, position_action=PositionAction.OPEN)

    def did_fill_order(self, event: Any) -> None:
        self.fills.append(event)

    def did_complete_funding_payment(self, event: Any) -> None:
        self.funding.append(event)


def test_environment_runs_a_strategy_through_fills_and_a_settlement(market_data: MarketData) -> None:
    steps: list[float] = []

    async def body() -> None:
        env = SimEnvironment(
            market_data=market_data,
            perp_venues=["binance", "bybit"],
            spot_venues=["binance"],
            coins=["BTC", "ETH"],
            start_ts=BTC_SETTLEMENT_2 - 900,
            end_ts=BTC_SETTLEMENT_2 + 600,
            tick_s=60,
        )
        strategy = _CarryProbe(env.connectors)
        env.add_strategy(strategy)
        await env.run(until_ts=BTC_SETTLEMENT_2 + 300, on_step=steps.append)
        for _ in range(10):
            await asyncio.sleep(0)

        assert set(env.connectors) == {BINANCE, "sim_bybit_perpetual", SPOT}
        assert strategy.first_on_tick == env.start_ts + 120  # the first tick only checks readiness
        assert {(f.trading_pair, f.trade_type.name) for f in strategy.fills} == {(PAIR, "BUY"), (PAIR, "SELL")}
        assert [(e.market, e.timestamp) for e in strategy.funding] == [(BINANCE, BTC_SETTLEMENT_2)]
        assert env.perps[BINANCE].account_positions[PAIR].amount == -Q
        assert env.spots[SPOT].get_balance("BTC") == Q
        assert steps[0] == env.start_ts + 60 and steps[-1] == BTC_SETTLEMENT_2 + 300
        with env.recorder.sql_manager.get_new_session() as session:
            assert session.query(TradeFill).count() == 2
            assert session.query(FundingPayment).count() == 1
        env.close()

    asyncio.run(body())


def test_default_time_range_is_where_every_market_has_data(market_data: MarketData) -> None:
    async def body() -> None:
        env = SimEnvironment(market_data=market_data, perp_venues=["binance"], spot_venues=[], coins=["BTC", "HYPE"])

        hype = market_data.candle_series("binance", "HYPE")
        assert env.start_ts == max(hype.first_ts, market_data.funding_series("binance", "HYPE").times[0])
        assert env.end_ts <= market_data.funding_series("binance", "BTC").times[-1]
        env.close()

    asyncio.run(body())


class _ExecutorProbe(StrategyV2Base):
    """Opens one MARKET PositionExecutor (short perp) on its first on_tick."""

    def on_tick(self) -> None:
        self.update_executors_info()
        if not self.get_all_executors():
            config = PositionExecutorConfig(
                timestamp=self.current_timestamp,
                connector_name=BINANCE,
                trading_pair=PAIR,
                side=TradeType.SELL,
                amount=Q,
                triple_barrier_config=TripleBarrierConfig(open_order_type=OrderType.MARKET),
            )
            self.executor_orchestrator.execute_action(
                CreateExecutorAction(executor_config=config, controller_id="main")
            )


def test_position_executor_opens_and_early_stops_on_the_sim_perp(market_data: MarketData) -> None:
    async def body() -> None:
        env = SimEnvironment(
            market_data=market_data,
            perp_venues=["binance"],
            spot_venues=[],
            coins=["BTC"],
            start_ts=BTC_SETTLEMENT_2 - 600,
            end_ts=BTC_SETTLEMENT_2 + 3600,
            tick_s=60,
        )
        strategy = _ExecutorProbe(env.connectors)
        env.add_strategy(strategy)
        await env.run(until_ts=BTC_SETTLEMENT_2 - 300)
        opened = strategy.get_all_executors()[0]
        position = env.perps[BINANCE].account_positions[PAIR].amount
        strategy.executor_orchestrator.execute_action(StopExecutorAction(executor_id=opened.id, controller_id="main"))
        await env.run(until_ts=BTC_SETTLEMENT_2 - 120)
        strategy.update_executors_info()
        stopped = strategy.get_all_executors()[0]

        assert opened.is_trading and opened.filled_amount_quote > 0 and position == -Q
        assert stopped.close_type == CloseType.EARLY_STOP and stopped.cum_fees_quote > 0
        assert PAIR not in env.perps[BINANCE].account_positions
        env.close()

    asyncio.run(body())
