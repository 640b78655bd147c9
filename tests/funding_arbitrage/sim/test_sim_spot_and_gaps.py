"""SimSpotExchange balances, fees and basis; perp behaviour inside a data gap."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from hummingbot.core.data_type.common import OrderType, PositionAction, PriceType
from hummingbot.core.event.events import MarketOrderFailureEvent, OrderFilledEvent, SellOrderCompletedEvent
from sim_helpers import BTC_SETTLEMENT_2, PAIR, settle

from strategies.funding_arbitrage.sim.data import MarketData
from strategies.funding_arbitrage.sim.harness import EventRecorder, SimEnvironment
from strategies.funding_arbitrage.sim.spot import BasisModel

SPOT = "sim_binance"
Q = Decimal("0.01")
HL_GAP_STALE_FROM = 1742601600 + 7200  # hyperliquid BTC: last close 2025-03-22T00:00Z, held for 2h


def test_spot_buy_and_sell_move_base_and_quote_with_fees(market_data: MarketData) -> None:
    async def body() -> None:
        env = SimEnvironment(
            market_data=market_data,
            perp_venues=[],
            spot_venues=["binance"],
            coins=["BTC"],
            start_ts=BTC_SETTLEMENT_2,
            end_ts=BTC_SETTLEMENT_2 + 86400,
            tick_s=60,
            initial_balance_quote=Decimal(1000),
            basis=BasisModel(mean_bps=Decimal(-5)),
        )
        spot, rec = env.spots[SPOT], EventRecorder(env.connectors.values())
        await env.start()
        perp_mid = market_data.candle_series("binance", "BTC").price_at(BTC_SETTLEMENT_2)
        mid = spot.mid_price(PAIR)
        spot.buy(PAIR, Q, OrderType.MARKET)
        too_big = spot.buy(PAIR, Decimal(1), OrderType.MARKET)  # ~86k quote with 1000 held
        await settle(env, 2)
        buy = rec.of_type(OrderFilledEvent)[0]
        after_buy = (spot.get_balance("BTC"), spot.get_balance("USDT"))
        spot.sell(PAIR, Q, OrderType.MARKET)
        await settle(env, 2)
        sell = rec.of_type(OrderFilledEvent)[1]

        assert mid == perp_mid * (1 + Decimal(-5) / 10000)  # type: ignore[operator]
        assert buy.trade_fee.percent == Decimal("0.001")  # binance spot taker
        assert after_buy == (Q, Decimal(1000) - Q * buy.price * Decimal("1.001"))
        assert spot.get_balance("BTC") == 0
        assert spot.get_balance("USDT") == after_buy[1] + Q * sell.price * Decimal("0.999")
        assert rec.of_type(SellOrderCompletedEvent)[0].base_asset_amount == Q
        failure = [e for e in rec.of_type(MarketOrderFailureEvent) if e.order_id == too_big]
        assert failure and "insufficient USDT balance" in failure[0].error_message
        env.close()

    asyncio.run(body())


def test_basis_noise_is_seeded_and_independent_of_tick_size() -> None:
    model = BasisModel(mean_bps=Decimal(2), noise_bps=Decimal(3), seed=11)

    hourly = model.basis("BTC", 3600 * 100)

    assert hourly == BasisModel(mean_bps=Decimal(2), noise_bps=Decimal(3), seed=11).basis("BTC", 3600 * 100)
    assert hourly != BasisModel(mean_bps=Decimal(2), noise_bps=Decimal(3), seed=12).basis("BTC", 3600 * 100)
    halfway = model.basis("BTC", 3600 * 100 + 1800)
    assert halfway == (hourly + model.basis("BTC", 3600 * 101)) / 2


def test_data_gap_empties_the_book_and_fails_market_orders(market_data: MarketData) -> None:
    async def body() -> None:
        env = SimEnvironment(
            market_data=market_data,
            perp_venues=["hyperliquid"],
            spot_venues=[],
            coins=["BTC"],
            start_ts=HL_GAP_STALE_FROM - 120,
            end_ts=HL_GAP_STALE_FROM + 7200,
            tick_s=60,
        )
        perp, rec = env.perps["sim_hyperliquid_perpetual"], EventRecorder(env.connectors.values())
        await env.start()
        held = perp.mid_price(PAIR)
        await settle(env, 3)
        oid = perp.buy(PAIR, Q, OrderType.MARKET, position_action=PositionAction.OPEN)
        await settle(env)

        last_close = market_data.candle_series("hyperliquid", "BTC").candle_at(1742598000).close  # type: ignore
        assert held == last_close  # inside the bounded staleness: the last close is held
        assert perp.mid_price(PAIR) is None and not list(perp.get_order_book(PAIR).ask_entries())
        assert perp.get_price_by_type(PAIR, PriceType.MidPrice).is_nan()
        failure = rec.of_type(MarketOrderFailureEvent)
        assert [f.order_id for f in failure] == [oid] and "no market data" in failure[0].error_message
        assert perp.ready  # the venue is up; only its data is missing
        env.close()

    asyncio.run(body())
