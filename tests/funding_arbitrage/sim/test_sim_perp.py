"""SimPerpetualDerivative on Hummingbot's BACKTEST clock with the real data: orders, fees, funding, modes, margin."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from hummingbot.core.data_type.common import (
    OrderType,
    PositionAction,
    PositionMode,
    PositionSide,
    PriceType,
    TradeType,
)
from hummingbot.core.data_type.in_flight_order import OrderState
from hummingbot.core.data_type.order_candidate import PerpetualOrderCandidate
from hummingbot.core.data_type.trade_fee import AddedToCostTradeFee, DeductedFromReturnsTradeFee
from hummingbot.core.event.events import (
    AccountEvent,
    BuyOrderCompletedEvent,
    FundingPaymentCompletedEvent,
    MarketEvent,
    MarketOrderFailureEvent,
    OrderCancelledEvent,
    OrderFilledEvent,
    PositionModeChangeEvent,
)
from hummingbot.core.rate_oracle.rate_oracle import RateOracle
from sim_helpers import BINANCE, BTC_SETTLEMENT_2, PAIR, settle, tracked, yields

from strategies.funding_arbitrage.sim.data import MarketData
from strategies.funding_arbitrage.sim.harness import EventRecorder, SimEnvironment

Q = Decimal("0.01")
OPEN, CLOSE = PositionAction.OPEN, PositionAction.CLOSE


def _env(md: MarketData, start: int = BTC_SETTLEMENT_2 - 600, **kw) -> SimEnvironment:
    return SimEnvironment(
        market_data=md,
        perp_venues=["binance"],
        spot_venues=[],
        coins=["BTC"],
        start_ts=start,
        end_ts=start + 2 * 86400,
        tick_s=60,
        **kw,
    )


def test_market_buy_opens_a_long_with_real_events_and_taker_fee(market_data: MarketData) -> None:
    async def body() -> None:
        env = _env(market_data)
        perp, rec = env.perps[BINANCE], EventRecorder(env.connectors.values())
        await env.start()
        assert perp.ready and perp.get_price_by_type(PAIR, PriceType.MidPrice) > 0

        oid = perp.buy(PAIR, Q, OrderType.MARKET, position_action=OPEN)
        await settle(env)  # the order reaches the venue between ticks
        await settle(env)  # and fills at the next tick
        best_ask = perp.market(PAIR).asks[0][0]

        assert rec.tags(oid) == [MarketEvent.BuyOrderCreated, MarketEvent.OrderFilled, MarketEvent.BuyOrderCompleted]
        fill = rec.of_type(OrderFilledEvent)[0]
        assert fill.price == best_ask and fill.amount == Q and fill.position == "OPEN" and fill.leverage == 1
        assert isinstance(fill.trade_fee, AddedToCostTradeFee) and fill.trade_fee.percent == Decimal("0.0005")
        position = perp.account_positions[PAIR]
        assert (position.amount, position.entry_price, position.position_side) == (Q, best_ask, PositionSide.LONG)
        fee = Q * best_ask * Decimal("0.0005")
        assert perp.get_balance("USDT") == Decimal(10000) - fee
        mark = perp.mid_price(PAIR)
        assert perp.get_available_balance("USDT") == Decimal(10000) - fee + Q * (mark - best_ask) - Q * best_ask
        assert tracked(perp, oid).current_state == OrderState.FILLED
        env.close()

    asyncio.run(body())


def test_get_fee_uses_the_perp_signature_and_venue_schedule(market_data: MarketData) -> None:
    async def body() -> None:
        env = _env(market_data)
        perp = env.perps[BINANCE]
        kw = {
            "base_currency": "BTC",
            "quote_currency": "USDT",
            "order_type": OrderType.LIMIT,
            "order_side": TradeType.SELL,
            "amount": Q,
            "price": Decimal(80000),
        }

        maker_open = perp.get_fee(position_action=OPEN, is_maker=True, **kw)
        taker_close = perp.get_fee(position_action=CLOSE, is_maker=False, **kw)

        assert maker_open.percent == Decimal("0.0002") and isinstance(maker_open, AddedToCostTradeFee)
        assert taker_close.percent == Decimal("0.0005") and isinstance(taker_close, DeductedFromReturnsTradeFee)
        env.close()

    asyncio.run(body())


def test_funding_settles_at_the_recorded_time_with_the_recorded_rate(market_data, raw_candles, raw_funding) -> None:
    rate_row = raw_funding[(raw_funding.venue == "binance") & (raw_funding.coin == "BTC")].iloc[1]
    next_row = raw_funding[(raw_funding.venue == "binance") & (raw_funding.coin == "BTC")].iloc[2]
    candle = raw_candles[
        (raw_candles.venue == "binance")
        & (raw_candles.coin == "BTC")
        & (raw_candles.timestamp_ms == str(BTC_SETTLEMENT_2 * 1000))
    ].iloc[0]
    rate, mark = Decimal(rate_row.funding_rate), Decimal(candle.o)  # the mark at 00:00:00 is that hour's open

    async def body() -> None:
        env = _env(market_data)
        perp, rec = env.perps[BINANCE], EventRecorder(env.connectors.values())
        await env.start()
        info = perp.get_funding_info(PAIR)
        assert (info.next_funding_utc_timestamp, info.rate) == (BTC_SETTLEMENT_2, rate)

        perp.buy(PAIR, Q, OrderType.MARKET, position_action=OPEN)
        await env.run(until_ts=BTC_SETTLEMENT_2 + 120)
        await yields()

        payment = rec.of_type(FundingPaymentCompletedEvent)
        expected = -Q * mark * rate  # long, negative rate: received
        assert len(payment) == 1 and expected > 0
        assert payment[0].amount == expected and payment[0].funding_rate == rate
        assert (payment[0].timestamp, payment[0].market, payment[0].trading_pair) == (BTC_SETTLEMENT_2, BINANCE, PAIR)
        fill = rec.of_type(OrderFilledEvent)[0]
        assert perp.get_balance("USDT") == Decimal(10000) - Q * fill.price * Decimal("0.0005") + expected
        info = perp.get_funding_info(PAIR)
        assert (info.next_funding_utc_timestamp, info.rate) == (
            int(next_row.timestamp_ms) // 1000,
            Decimal(next_row.funding_rate),
        )
        env.close()

    asyncio.run(body())


def test_oneway_nets_and_flips_while_hedge_keeps_long_and_short(market_data: MarketData) -> None:
    async def body() -> None:
        env = _env(market_data)
        perp, rec = env.perps[BINANCE], EventRecorder(env.connectors.values())
        await env.start()
        perp.buy(PAIR, Q, OrderType.MARKET, position_action=OPEN)
        perp.sell(PAIR, 3 * Q, OrderType.MARKET, position_action=OPEN)
        await settle(env, 2)
        oneway = dict(perp.account_positions)
        perp.set_position_mode(PositionMode.HEDGE)  # refused: a position exists
        await settle(env)
        perp.buy(PAIR, 2 * Q, OrderType.MARKET, position_action=OPEN)  # flat again
        await settle(env, 2)
        perp.set_position_mode(PositionMode.HEDGE)
        await settle(env)
        perp.buy(PAIR, Q, OrderType.MARKET, position_action=OPEN)
        perp.sell(PAIR, 3 * Q, OrderType.MARKET, position_action=OPEN)
        await settle(env, 2)
        hedge = dict(perp.account_positions)

        assert list(oneway) == [PAIR] and oneway[PAIR].amount == -2 * Q
        assert oneway[PAIR].position_side == PositionSide.SHORT
        modes = [(t, e.position_mode) for t, _, e in rec.events if isinstance(e, PositionModeChangeEvent)]
        assert modes == [
            (AccountEvent.PositionModeChangeFailed, PositionMode.HEDGE),
            (AccountEvent.PositionModeChangeSucceeded, PositionMode.HEDGE),
        ]
        assert perp.position_mode == PositionMode.HEDGE
        assert set(hedge) == {f"{PAIR}LONG", f"{PAIR}SHORT"}
        assert hedge[f"{PAIR}LONG"].amount == Q and hedge[f"{PAIR}SHORT"].amount == -3 * Q
        env.close()

    asyncio.run(body())


def test_close_is_reduce_only_rejected_or_clipped(market_data: MarketData) -> None:
    async def body() -> None:
        env = _env(market_data)
        perp, rec = env.perps[BINANCE], EventRecorder(env.connectors.values())
        await env.start()
        perp.buy(PAIR, Q, OrderType.MARKET, position_action=OPEN)
        await settle(env, 2)
        grow = perp.buy(PAIR, Q, OrderType.MARKET, position_action=CLOSE)  # would increase the long
        clip = perp.sell(PAIR, 3 * Q, OrderType.MARKET, position_action=CLOSE)  # larger than the long
        await settle(env, 2)

        failure = [e for e in rec.of_type(MarketOrderFailureEvent) if e.order_id == grow]
        assert failure and "ReduceOnly Order is rejected" in failure[0].error_message
        fills = [e for e in rec.of_type(OrderFilledEvent) if e.order_id == clip]
        assert [f.amount for f in fills] == [Q] and fills[0].position == "CLOSE"
        assert [e.order_id for e in rec.of_type(OrderCancelledEvent)] == [clip]
        assert PAIR not in perp.account_positions  # closed, not flipped
        env.close()

    asyncio.run(body())


def test_insufficient_margin_rejects_and_leverage_unlocks_the_order(market_data: MarketData) -> None:
    async def body() -> None:
        env = _env(market_data, initial_balance_quote=Decimal(100))
        perp, rec = env.perps[BINANCE], EventRecorder(env.connectors.values())
        await env.start()
        refused = perp.buy(PAIR, Q, OrderType.MARKET, position_action=OPEN)  # ~860 notional at 1x
        await settle(env)
        perp.set_leverage(PAIR, 500)  # above the venue's 125x: ignored
        await yields()
        too_high = perp.get_leverage(PAIR)
        perp.set_leverage(PAIR, 10)
        await yields()
        accepted = perp.buy(PAIR, Q, OrderType.MARKET, position_action=OPEN)
        await settle(env, 2)

        failure = rec.of_type(MarketOrderFailureEvent)
        assert [f.order_id for f in failure] == [refused] and "Margin is insufficient" in failure[0].error_message
        assert failure[0].error_type == "SimOrderRejected"
        assert too_high == 1 and perp.get_leverage(PAIR) == 10
        assert MarketEvent.BuyOrderCompleted in rec.tags(accepted)
        position = perp.account_positions[PAIR]
        assert position.leverage == 10
        info = perp.margin_info(PAIR)
        assert info["position_margin_quote"] == Q * position.entry_price / 10
        assert info["liquidation_price"] < position.entry_price
        env.close()

    asyncio.run(body())


def test_limit_orders_rest_then_fill_as_maker_when_crossed(market_data: MarketData) -> None:
    async def body() -> None:
        env = _env(market_data)
        perp, rec = env.perps[BINANCE], EventRecorder(env.connectors.values())
        await env.start()
        bid = perp.market(PAIR).bids[0][0]
        maker = perp.buy(PAIR, Q, OrderType.LIMIT_MAKER, bid, position_action=OPEN)
        taker_maker = perp.sell(PAIR, Q, OrderType.LIMIT_MAKER, bid, position_action=OPEN)  # would take: rejected
        await settle(env)
        while MarketEvent.OrderFilled not in rec.tags(maker) and env.now < BTC_SETTLEMENT_2 + 86400:
            await settle(env)

        fill = next(e for e in rec.of_type(OrderFilledEvent) if e.order_id == maker)
        assert fill.price == bid and fill.trade_fee.percent == Decimal("0.0002")
        assert "would immediately match" in rec.of_type(MarketOrderFailureEvent)[0].error_message
        assert rec.of_type(MarketOrderFailureEvent)[0].order_id == taker_maker
        assert perp.market(PAIR).asks[0][0] <= bid  # filled at the first tick whose ask reached the bid
        assert rec.of_type(BuyOrderCompletedEvent)[0].order_id == maker
        env.close()

    asyncio.run(body())


def test_budget_checker_and_rate_oracle_accept_the_sim_connector(market_data: MarketData) -> None:
    async def body() -> None:
        env = _env(market_data, initial_balance_quote=Decimal(100))
        perp = env.perps[BINANCE]
        await env.start()
        price = perp.get_price_by_type(PAIR, PriceType.MidPrice)
        candidate = PerpetualOrderCandidate(
            PAIR, False, OrderType.MARKET, TradeType.BUY, Decimal(1), price, leverage=Decimal(10)
        )

        adjusted = perp.budget_checker.adjust_candidate(candidate, all_or_none=False)

        assert 0 < adjusted.amount < 1 and adjusted.amount * price / 10 <= Decimal(100)
        assert RateOracle.get_instance().get_pair_rate(PAIR) == price
        env.close()

    asyncio.run(body())


def test_order_book_data_source_serves_the_replayed_book_offline(market_data: MarketData) -> None:
    async def body() -> None:
        env = _env(market_data)
        perp = env.perps[BINANCE]
        await env.start()

        snapshot = await perp.order_book_tracker.data_source.get_new_order_book(PAIR)
        last = await perp.get_last_traded_prices([PAIR])

        assert snapshot.get_price(True) == perp.get_order_book(PAIR).get_price(True)
        assert last == {PAIR: float(perp.mid_price(PAIR))}  # type: ignore[arg-type]
        assert len(list(snapshot.ask_entries())) == len(perp.market(PAIR).asks)
        env.close()

    asyncio.run(body())
