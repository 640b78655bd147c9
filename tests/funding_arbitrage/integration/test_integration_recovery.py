"""Restart recovery (issue 9 item 2): killed at each lifecycle state, restarted with fills landing while down.

A kill is `kill -9`: the instance leaves the clock and stops hearing the venues WITHOUT `on_stop` (the state file is
what the last change wrote: it is written on every change). The venues keep running for DOWN_S, so accepted orders
fill while nobody listens. A NEW instance on the same state file must, within the recovery time, leave the book
hedged or flat, the records and the tracker equal to the venues, with no duplicate entry.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from hummingbot.core.data_type.common import OrderType, PositionAction
from integration_helpers import (
    BINANCE,
    BTC_START,
    BYBIT,
    D,
    SimRun,
    add_strategy,
    first_record,
    make_env,
    max_open_pairs_per_token,
    perp_settings,
    run_async,
)

from strategies.funding_arbitrage.core.lifecycle import OrderIntent
from strategies.funding_arbitrage.core.orders import OrderStatus
from strategies.funding_arbitrage.core.risk import TradingState
from strategies.funding_arbitrage.shell.state import PairState
from strategies.funding_arbitrage.sim.faults import FaultConfig

DOWN_S = 10 * 60
RECOVERY_S = 20 * 60


def _kill(run: SimRun) -> None:
    run.env.clock.remove_iterator(run.strategy)
    run.strategy.remove_markets(list(run.env.connectors.values()))
    run.events.detach()
    run.on_step.clear()


def _open_orders(run: SimRun, intent: OrderIntent) -> list[Any]:
    return [o for o in run.runtime.store.tracker.open_orders() if o.intent is intent]


def _entry_sent(run: SimRun) -> bool:
    return (
        bool(run.records)
        and bool(_open_orders(run, OrderIntent.OPEN))
        and run.records[0].long.filled_base == 0
        and run.records[0].short.filled_base == 0
    )


def _one_leg_filled(run: SimRun) -> bool:
    r = run.records[0] if run.records else None
    return r is not None and (r.long.filled_base == 0) != (r.short.filled_base == 0)


def _hedged(run: SimRun) -> bool:
    return bool(run.records) and run.records[0].state is PairState.HEDGED


async def _exit_sent(run: SimRun) -> None:
    await run.run_until(run.env.end_ts, stop=lambda ts: _hedged(run))
    run.runtime.executor.close_pair(first_record(run), run.env.now, "max_holding")
    for _ in range(5):
        await asyncio.sleep(0)


async def _one_leg_closed(run: SimRun) -> None:
    await _exit_sent(run)

    def half_closed(ts: float) -> bool:
        r = first_record(run)
        return (r.long.filled_base == 0) != (r.short.filled_base == 0)

    await run.run_until(run.env.end_ts, stop=half_closed)


KILL_POINTS = ["entry_sent", "one_leg_filled", "both_filled", "exit_sent", "one_leg_closed"]


@pytest.mark.parametrize("kill_at", KILL_POINTS)
def test_kill_at_each_lifecycle_state_then_restart_ends_hedged_or_flat(
    cross_venue: Any, tmp_path: Path, kill_at: str
) -> None:
    state_file = tmp_path / "state.json"
    # binance fills 2 minutes late (within a generous single-leg timeout) so every state lasts at least one tick
    settings = perp_settings(state_file, single_leg_timeout_s=600)
    faults = {BINANCE: FaultConfig(fill_delay_s=120)}

    async def body() -> None:
        env = make_env(cross_venue, coins=["BTC"], start_ts=BTC_START, hours=3, faults=faults)
        try:
            first = add_strategy(env, settings)
            if kill_at == "entry_sent":
                await first.run_until(env.end_ts, stop=lambda ts: _entry_sent(first))
            elif kill_at == "one_leg_filled":
                await first.run_until(env.end_ts, stop=lambda ts: _one_leg_filled(first))
            elif kill_at == "both_filled":
                await first.run_until(env.end_ts, stop=lambda ts: _hedged(first))
            elif kill_at == "exit_sent":
                await _exit_sent(first)
            else:
                await _one_leg_closed(first)
            pair_id, state_at_kill = first_record(first).pair_id, first_record(first).state
            _kill(first)
            for _ in range(DOWN_S // 60):  # the venues go on: accepted orders fill while nobody listens
                await env.step()

            second = add_strategy(env, settings)
            pairs = max_open_pairs_per_token(second)
            await second.run_until(env.now + RECOVERY_S)
            r = second.runtime.store.records[pair_id]

            assert second.settled_problems() == []
            assert all(n <= 1 for n in pairs.values())  # no duplicate entry
            assert second.runtime.recovery_report is not None
            assert second.runtime.store.tracker.unknown() == []  # every unknown order resolved from the venue
            if kill_at in ("exit_sent", "one_leg_closed"):
                assert r.state is PairState.CLOSED and r.long.filled_base == r.short.filled_base == 0
            else:
                assert r.state is PairState.HEDGED, (state_at_kill, r.state)
                assert second.positions() == {
                    (BYBIT, "BTC-USDT"): r.long.filled_base,
                    (BINANCE, "BTC-USDT"): r.short.filled_base,
                }
                assert [x.pair_id for x in second.records] == [pair_id]
            second.events.detach()
        finally:
            env.close()

    run_async(body)


def _outside(env: Any, connector: str, amount: Any) -> None:
    """Open a position the strategy knows nothing of (another bot, an operator, a lost state file)."""
    fn = env.perps[connector].buy if amount > 0 else env.perps[connector].sell
    fn("BTC-USDT", abs(amount), OrderType.MARKET, position_action=PositionAction.OPEN)


@pytest.mark.parametrize("policy", ["halt", "flatten", "adopt_if_hedged"])
def test_orphan_legs_on_restart_follow_the_orphan_policy(cross_venue: Any, tmp_path: Path, policy: str) -> None:
    amount = D("0.010")

    async def body() -> None:
        env = make_env(cross_venue, coins=["BTC"], start_ts=BTC_START, hours=2)
        try:
            await env.start()
            _outside(env, BYBIT, amount)
            _outside(env, BINANCE, -amount)
            for _ in range(2):
                await env.step()
            run = add_strategy(env, perp_settings(tmp_path / "s.json", orphan_policy=policy))
            await run.run_until(env.now + 30 * 60)
            report = run.runtime.recovery_report
            alerts = {a.name: a for a in run.runtime.metrics.alerts()}

            assert report is not None and set(report.orphans) == {(BYBIT, "BTC-USDT"), (BINANCE, "BTC-USDT")}
            assert alerts["restart_recovery"].severity.value == "critical"
            if policy == "halt":
                assert run.runtime.risk.state is TradingState.HALTED and run.records == []
                assert run.positions() == {(BYBIT, "BTC-USDT"): amount, (BINANCE, "BTC-USDT"): -amount}
            elif policy == "flatten":
                orphans = [r for r in run.records if r.close_reason == "orphan"]
                assert len(orphans) == 2 and all(r.state is PairState.CLOSED for r in orphans)
                closes = [o for r in orphans for o in run.runtime.store.tracker.of_pair(r.pair_id)]
                assert (
                    [o.status for o in closes] == [OrderStatus.FILLED] * 2
                    and run.runtime.risk.state is not TradingState.HALTED
                )  # flat again; the strategy may then enter BTC as usual
            else:
                r = first_record(run)
                assert len(run.records) == 1 and r.state is PairState.HEDGED  # adopted; no second BTC entry
                assert (r.long.filled_base, r.short.filled_base) == (amount, -amount)
            if policy != "halt":
                assert run.settled_problems() == []
            run.events.detach()
        finally:
            env.close()

    run_async(body)
