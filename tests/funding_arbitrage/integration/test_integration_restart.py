"""Restarts and positions the strategy did not open: the state file and the venues are reconciled every tick.

A strategy instance is stopped mid-position and a NEW instance of the script's class is added to the same
simulated venues with the same `state_file`, as an operator's `stop` / `start` would do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hummingbot.core.data_type.common import OrderType, PositionAction
from integration_helpers import (
    BINANCE,
    BTC_START,
    BYBIT,
    HOUR,
    D,
    TransitionLog,
    add_strategy,
    first_record,
    make_env,
    perp_settings,
    run_async,
    watch_wanted_entries,
)

from strategies.funding_arbitrage.shell.state import PairState


def test_new_instance_reloads_the_open_pair_reconciles_and_closes_it_later(
    cross_venue: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    transitions = TransitionLog(monkeypatch)
    state_file = tmp_path / "state.json"
    settings = perp_settings(state_file)
    # the operator restarts with a 2h maximum holding time: the reloaded pair has been held longer than that
    short_hold = perp_settings(
        state_file, holding_horizon_hours=D(2), max_break_even_hours=D(2), max_holding_hours=D(2)
    )

    async def body() -> None:
        env = make_env(cross_venue, coins=["BTC"], start_ts=BTC_START, hours=6)
        try:
            first = add_strategy(env, settings)
            await first.run_until(BTC_START + HOUR)
            pair = first_record(first)
            assert pair.state is PairState.HEDGED
            held = (pair.long.filled_base, pair.short.filled_base)
            await first.stop_instance()
            saved = json.loads(state_file.read_text())
            assert [p["state"] for p in saved["pairs"]] == ["HEDGED"]

            second = add_strategy(env, settings)
            wanted_btc = watch_wanted_entries(second, "BTC")
            await second.run_until(BTC_START + 2 * HOUR)
            reloaded = first_record(second)

            assert [r.pair_id for r in second.records] == [pair.pair_id]  # no duplicate entry on BTC:
            assert not wanted_btc  # the reloaded pair is held, and the edge engine costs no entry of a held token
            assert (
                reloaded.state is PairState.HEDGED and (reloaded.long.filled_base, reloaded.short.filled_base) == held
            )
            assert second.positions() == {(BYBIT, "BTC-USDT"): held[0], (BINANCE, "BTC-USDT"): held[1]}
            assert "reconcile_mismatch" not in {a.name for a in second.runtime.metrics.alerts()}
            await second.stop_instance()

            third = add_strategy(env, short_hold)
            await third.run_until(env.end_ts, stop=lambda ts: first_record(third).state is PairState.CLOSED)
            closed = first_record(third)

            assert closed.pair_id == pair.pair_id and closed.close_reason == "max_holding"
            assert transitions.path(pair.pair_id) == [
                PairState.OPENING,
                PairState.HEDGED,
                PairState.UNWINDING,
                PairState.CLOSED,
            ]
            assert third.positions() == {}
            assert json.loads(state_file.read_text())["pairs"][0]["state"] == "CLOSED"
            third.events.detach()
        finally:
            env.close()

    run_async(body)


def test_position_opened_outside_the_strategy_blocks_its_token_with_an_alert(cross_venue: Any, tmp_path: Path) -> None:
    amount = D("0.005")

    async def body() -> None:
        env = make_env(cross_venue, coins=["BTC"], start_ts=BTC_START, hours=2)
        try:
            await env.start()
            env.perps[BINANCE].buy("BTC-USDT", amount, OrderType.MARKET, position_action=PositionAction.OPEN)
            for _ in range(2):
                await env.step()
            assert {p.trading_pair: p.amount for p in env.perps[BINANCE].account_positions.values()} == {
                "BTC-USDT": amount
            }

            run = add_strategy(env, perp_settings(tmp_path / "s.json"))
            wanted_btc = watch_wanted_entries(run, "BTC")
            await run.run_until(BTC_START + HOUR)
            alerts = {a.name: a for a in run.runtime.metrics.alerts(active_only=True)}

            assert run.records == []  # BTC blocked ...
            assert wanted_btc  # ... although the edge engine asked to enter it
            assert run.runtime.unmanaged == {(BINANCE, "BTC-USDT"): amount}
            assert "unmanaged_position" in alerts and alerts["unmanaged_position"].severity.value == "warning"
            assert run.positions() == {(BINANCE, "BTC-USDT"): amount}  # and left alone
            run.events.detach()
        finally:
            env.close()

    run_async(body)


def test_position_reduced_by_hand_is_rebalanced_and_the_exit_closes_only_what_the_venue_holds(
    cross_venue: Any, tmp_path: Path
) -> None:
    """Something outside the strategy (an operator, another bot) closes half of a hedged leg."""

    async def body() -> None:
        env = make_env(cross_venue, coins=["BTC"], start_ts=BTC_START, hours=2)
        try:
            run = add_strategy(env, perp_settings(tmp_path / "s.json"))
            await run.run_until_hedged(env.end_ts)
            pair = first_record(run)
            half = abs(pair.short.filled_base) / 2
            env.perps[BINANCE].buy("BTC-USDT", half, OrderType.MARKET, position_action=PositionAction.CLOSE)
            await run.run_until(env.now + 5 * 60)

            assert pair.state is PairState.HEDGED  # rebalanced: the long was cut to the short, reduce-only
            assert run.positions() == {(BYBIT, "BTC-USDT"): half, (BINANCE, "BTC-USDT"): -half}
            assert (pair.long.filled_base, pair.short.filled_base) == (half, -half)
            assert "hedge_gap_limit" in {a.name for a in run.runtime.metrics.alerts()}  # 50 % gap: alerted ...
            assert (run.runtime.risk.halt_reason or "").startswith("hedge gap")  # ... and new entries halted

            run.runtime.executor.close_pair(pair, env.now, "max_holding")
            await run.run_until(env.now + 5 * 60, stop=lambda ts: pair.state is PairState.CLOSED)

            assert pair.state is PairState.CLOSED and run.positions() == {}
            closes = [e for e in run.fills_of(pair) if e.position == "CLOSE"]
            assert sum(e.amount for e in closes if run.leg_of(e.order_id).connector == BINANCE) == half
            run.events.detach()
        finally:
            env.close()

    run_async(body)
