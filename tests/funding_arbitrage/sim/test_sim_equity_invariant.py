"""Equity invariant on the simulated venues (core/portfolio.account_equity, as the runtime computes it): across a
fill, a funding settlement or a liquidation, equity changes by no more than that event's fee + slippage + funding
(+ the liquidated margin's maintenance part) + the price move of the positions held."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from hummingbot.core.data_type.common import OrderType, PositionAction
from hummingbot.core.event.events import OrderFilledEvent
from sim_helpers import BINANCE, BTC_SETTLEMENT_2, PAIR, settle, yields

from strategies.funding_arbitrage.core.portfolio import account_equity
from strategies.funding_arbitrage.core.snapshots import PositionSnapshot
from strategies.funding_arbitrage.sim.data import MarketData
from strategies.funding_arbitrage.sim.harness import EventRecorder, SimEnvironment

SPOT = "sim_binance"
START = BTC_SETTLEMENT_2 + 3600
AMOUNT = Decimal("0.05")
TOL = Decimal("1e-9")


def equity(env: SimEnvironment) -> Decimal:
    spot, perp = env.spots[SPOT], env.perps[BINANCE]
    balances = {name: Decimal(c.get_balance("USDT")) for name, c in env.connectors.items()}
    positions = [
        PositionSnapshot(BINANCE, p.trading_pair, p.amount, p.entry_price, p.unrealized_pnl, p.leverage)
        for p in perp.account_positions.values()
    ]
    value = account_equity(
        list(env.connectors),
        balances,
        {(SPOT, PAIR): Decimal(spot.get_balance("BTC"))},
        {(SPOT, PAIR): spot.mid_price(PAIR)},
        positions,
    )
    assert value is not None
    return value


def held(env: SimEnvironment) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """(spot base held, spot mid, perp position amount, perp mark)."""
    spot, perp = env.spots[SPOT], env.perps[BINANCE]
    pos = perp.account_positions.get(PAIR)
    return (
        Decimal(spot.get_balance("BTC")),
        spot.mid_price(PAIR),
        pos.amount if pos else Decimal(0),
        perp.mid_price(PAIR),
    )


def price_move(before: tuple[Decimal, ...], after: tuple[Decimal, ...]) -> Decimal:
    """Bound of the price PnL of the positions held over the step (the larger holding of either side)."""
    base = max(abs(before[0]), abs(after[0]))
    perp = max(abs(before[2]), abs(after[2]))
    return base * abs(after[1] - before[1]) + perp * abs(after[3] - before[3])


def event_costs(rec: EventRecorder, seen: int, mids: dict[str, Decimal]) -> tuple[Decimal, int]:
    """Fees + |fill price - mid at the fill| * amount of the fills after the first `seen`."""
    fills = rec.of_type(OrderFilledEvent)
    total = Decimal(0)
    for f in fills[seen:]:
        price, amount = Decimal(str(f.price)), Decimal(str(f.amount))
        fee = f.trade_fee.fee_amount_in_token(f.trading_pair, price, amount, "USDT")
        total += Decimal(fee) + abs(price - mids[f.order_id]) * amount
    return total, len(fills)


def test_equity_moves_only_by_costs_funding_and_price_across_fills_and_settlements(market_data: MarketData) -> None:
    async def body() -> None:
        env = SimEnvironment(
            market_data=market_data,
            perp_venues=["binance"],
            spot_venues=["binance"],
            coins=["BTC"],
            start_ts=START,
            end_ts=START + 2 * 86400,
            tick_s=300,
        )
        spot, perp = env.spots[SPOT], env.perps[BINANCE]
        rec = EventRecorder(env.connectors.values())
        await env.start()
        perp.set_leverage(PAIR, 2)
        await yields()
        start_equity = equity(env)
        spot_id = spot.buy(PAIR, AMOUNT, OrderType.MARKET)
        perp_id = perp.sell(PAIR, AMOUNT, OrderType.MARKET, position_action=PositionAction.OPEN)
        seen, steps = 0, 0
        while held(env)[0] != AMOUNT or held(env)[2] != -AMOUNT:  # step tick by tick until both legs filled
            before, e0 = held(env), equity(env)
            await settle(env)
            after, e1 = held(env), equity(env)
            costs, seen = event_costs(rec, seen, {spot_id: after[1], perp_id: after[3]})  # fills at this tick's mid
            assert abs(e1 - e0) <= costs + price_move(before, after) + TOL
            steps += 1
            assert steps < 5, "orders did not fill"
        assert seen == 2
        assert abs(equity(env) - start_equity) < AMOUNT * held(env)[1] / 100  # never the notional (the false halt)

        paid = len(perp.funding_payments)
        for _ in range(int(2 * 86400 / 300) - 2):  # step by step through the settlements of two days
            before, e0 = held(env), equity(env)
            await settle(env)
            after, e1 = held(env), equity(env)
            funding = sum((p.amount_quote for p in perp.funding_payments[paid:]), Decimal(0))
            paid = len(perp.funding_payments)
            assert abs(e1 - e0) <= abs(funding) + price_move(before, after) + TOL
        assert paid >= 5  # settlements happened while held
        env.close()

    asyncio.run(body())


def test_equity_changes_across_a_liquidation_by_the_price_move_and_the_forfeited_margin(
    market_data: MarketData,
) -> None:
    async def body() -> None:
        env = SimEnvironment(
            market_data=market_data,
            perp_venues=["binance"],
            spot_venues=["binance"],
            coins=["BTC"],
            start_ts=START,
            end_ts=START + 3 * 86400,
            tick_s=300,
        )
        perp = env.perps[BINANCE]
        await env.start()
        perp.set_leverage(PAIR, 125)
        await yields()
        perp.buy(PAIR, AMOUNT, OrderType.MARKET, position_action=PositionAction.OPEN)
        await settle(env, 2)
        checked = False
        while env.now < env.end_ts and not checked:
            before, e0 = held(env), equity(env)
            paid = len(perp.funding_payments)
            await settle(env)
            after, e1 = held(env), equity(env)
            funding = sum((p.amount_quote for p in perp.funding_payments[paid:]), Decimal(0))
            if perp.liquidations:
                liq = perp.liquidations[0]
                fee = abs(liq.position_amount) * liq.fill_price * Decimal("0.0005")  # taker fee of the close
                bound = price_move(before, after) + liq.margin_quote + fee + abs(funding)
                assert abs(e1 - e0) <= bound + TOL
                assert after[2] == 0
                checked = True
            else:
                assert abs(e1 - e0) <= price_move(before, after) + abs(funding) + TOL
        assert checked, "no liquidation happened in the window"
        env.close()

    asyncio.run(body())
