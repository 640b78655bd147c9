"""Liquidation on the sim perp: a 125x long is closed where Binance's BTCUSDT bracket table says, by hand."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from hummingbot.core.data_type.common import OrderType, PositionAction, TradeType
from hummingbot.core.event.events import MarketEvent, OrderFilledEvent
from sim_helpers import BINANCE, BTC_SETTLEMENT_2, PAIR, settle, yields

from strategies.funding_arbitrage.sim.data import MarketData
from strategies.funding_arbitrage.sim.harness import EventRecorder, SimEnvironment

START = BTC_SETTLEMENT_2 + 3600
AMOUNT = Decimal("0.05")
LEVERAGE = 125
TIER1_MMR = Decimal("0.004")  # BTC/USDT:USDT,BTCUSDT,1,0.0,300000.0,0.004,150.0,0.0


def test_high_leverage_long_is_liquidated_at_the_bracket_price(market_data: MarketData) -> None:
    async def body() -> None:
        env = SimEnvironment(
            market_data=market_data,
            perp_venues=["binance"],
            spot_venues=[],
            coins=["BTC"],
            start_ts=START,
            end_ts=START + 3 * 86400,
            tick_s=300,
        )
        perp, rec = env.perps[BINANCE], EventRecorder(env.connectors.values())
        await env.start()
        perp.set_leverage(PAIR, LEVERAGE)
        await yields()
        perp.buy(PAIR, AMOUNT, OrderType.MARKET, position_action=PositionAction.OPEN)
        await settle(env, 2)
        position = perp.account_positions[PAIR]
        entry, opened_at = position.entry_price, env.now
        info = perp.margin_info(PAIR)
        lows = []
        while not perp.liquidations and env.now < env.end_ts:
            prev = env.now
            await settle(env)
            lows.append(perp.market(PAIR).candles.path_extremes(prev, env.now)[0])  # type: ignore[index]
        await yields()

        # by hand: margin = q E / 125; margin + q (P - E) = q P mmr - cum (tier 1: cum 0, notional < 300k)
        margin = AMOUNT * entry / LEVERAGE
        expected = (AMOUNT * entry - margin) / (AMOUNT - AMOUNT * TIER1_MMR)
        assert AMOUNT * expected < 300000
        assert info["liquidation_price"] == expected and info["position_margin_quote"] == margin
        liq = perp.liquidations[0]
        assert liq.liquidation_price == expected and liq.fill_price == expected
        assert liq.maintenance_margin_quote == AMOUNT * expected * TIER1_MMR
        assert lows[-1] <= expected < min(lows[:-1] or [entry])  # breached on this tick's path, not before
        assert liq.ts > opened_at and PAIR not in perp.account_positions

        fills = [e for e in rec.of_type(OrderFilledEvent) if e.order_id == liq.order_id]
        assert rec.tags(liq.order_id) == [
            MarketEvent.SellOrderCreated,
            MarketEvent.OrderFilled,
            MarketEvent.SellOrderCompleted,
        ]
        assert fills[0].trade_type == TradeType.SELL and fills[0].price == expected and fills[0].position == "CLOSE"
        open_fee = AMOUNT * entry * Decimal("0.0005")
        funding = sum((p.amount_quote for p in perp.funding_payments), Decimal(0))
        assert perp.get_balance("USDT") == Decimal(10000) - open_fee - margin + funding  # the margin is lost
        env.close()

    asyncio.run(body())
