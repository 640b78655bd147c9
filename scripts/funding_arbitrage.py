"""Funding-rate arbitrage: delta-neutral perp-perp and spot-perp carry positions earning funding.

Hummingbot script entry (`start --v2 conf_funding_arbitrage.yml`). Thin on purpose: the logic lives in
the `strategies.funding_arbitrage` package; this module holds exactly one config class and one strategy class
(Hummingbot picks the first of each it finds here, so import nothing else of those kinds).
"""

import os

from hummingbot.connector.connector_base import ConnectorBase
from hummingbot.core.event.events import (
    BuyOrderCompletedEvent,
    FundingPaymentCompletedEvent,
    MarketOrderFailureEvent,
    OrderCancelledEvent,
    OrderFilledEvent,
    SellOrderCompletedEvent,
)
from hummingbot.strategy.strategy_v2_base import StrategyV2Base, StrategyV2ConfigBase

from strategies.funding_arbitrage.core import config as fa_config
from strategies.funding_arbitrage.shell import runtime as fa_runtime


class FundingArbitrageConfig(StrategyV2ConfigBase, fa_config.FundingArbSettings):
    """Hummingbot's config for this script: every field of `FundingArbSettings` plus Hummingbot's own."""

    script_file_name: str = os.path.basename(__file__)

    def update_markets(self, markets):
        for connector in self.all_connectors:
            markets.setdefault(connector, set()).update(self.trading_pair(connector, t) for t in self.tokens)
        return markets


class FundingArbitrage(StrategyV2Base):
    """Holds hedged funding positions; every decision is made by `strategies.funding_arbitrage.shell.runtime`."""

    @classmethod
    def init_markets(cls, config: FundingArbitrageConfig):
        fa_runtime.require_credentials(config)  # placeholder or missing keys: fail fast, before connecting
        super().init_markets(config)

    def __init__(self, connectors: dict[str, ConnectorBase], config: FundingArbitrageConfig):
        super().__init__(connectors, config)
        self.runtime = fa_runtime.FundingArbRuntime(self, config)

    @property
    def fatal_error(self):
        return self.runtime.fatal_error

    def on_tick(self):
        self.runtime.on_tick(float(self.current_timestamp))

    async def on_stop(self):
        self.runtime.on_stop()
        await super().on_stop()

    def did_fill_order(self, event: OrderFilledEvent):
        self.runtime.on_fill(event)

    def did_fail_order(self, event: MarketOrderFailureEvent):
        self.runtime.on_failure(event)

    def did_cancel_order(self, event: OrderCancelledEvent):
        self.runtime.on_cancel(event)

    def did_complete_buy_order(self, event: BuyOrderCompletedEvent):
        self.runtime.on_complete(event)

    def did_complete_sell_order(self, event: SellOrderCompletedEvent):
        self.runtime.on_complete(event)

    def did_complete_funding_payment(self, event: FundingPaymentCompletedEvent):
        self.runtime.on_funding(event)

    def format_status(self) -> str:
        return self.runtime.format_status()
