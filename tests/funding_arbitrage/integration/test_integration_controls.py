"""Operator controls on the simulated venues: each makes the bot act and the consequence is checked.

Commands are written to the journal through a separate connection, as `funding-arb ctl` does from another process,
and acted on by the running strategy at its next tick. Windows and data as in `integration_helpers`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hummingbot.core.event.events import OrderCancelledEvent
from integration_helpers import (
    BINANCE,
    BTC_START,
    BYBIT,
    HOUR,
    SimRun,
    add_strategy,
    first_record,
    make_env,
    perp_settings,
    run_async,
    sim_run,
    watch_wanted_entries,
)

from strategies.funding_arbitrage.core.risk import TradingState
from strategies.funding_arbitrage.shell.journal import Journal
from strategies.funding_arbitrage.shell.state import PairState
from strategies.funding_arbitrage.sim.faults import FaultConfig


def _ctl(tmp_path: Path, command: str, arg: str | None = None) -> int:
    """What `funding-arb ctl COMMAND` does: one row in the config's journal (here beside the state file)."""
    journal = Journal(tmp_path / "s.journal.sqlite")
    try:
        return journal.add_command(0.0, command, arg, "test")
    finally:
        journal.close()


def _status(run: SimRun, command_id: int) -> tuple[str, str | None]:
    [c] = [c for c in run.runtime.journal.commands(limit=100) if c.id == command_id]
    return c.status, c.message


def _settings(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    return perp_settings(tmp_path / "s.json", kill_switch_file=str(tmp_path / "KILL"), **overrides)


def test_pause_blocks_entries_resume_by_command_lets_them_in_and_exit_closes_one_pair(
    cross_venue: Any, tmp_path: Path
) -> None:
    async def body() -> None:
        with sim_run(cross_venue, _settings(tmp_path), coins=["BTC"], start_ts=BTC_START, hours=4) as run:
            wanted = watch_wanted_entries(run, "BTC")
            pause = _ctl(tmp_path, "pause")
            await run.run_until(BTC_START + HOUR)

            assert wanted and run.records == []  # the engine wanted BTC; the pause kept it out
            assert _status(run, pause)[0] == "done" and run.runtime.risk.paused
            assert run.runtime.risk.allow_entry(run.env.now, []).startswith("paused")
            assert "entries PAUSED" in run.strategy.format_status()

            resume = _ctl(tmp_path, "resume")
            await run.run_until_hedged(BTC_START + 2 * HOUR)
            pair = first_record(run)
            assert _status(run, resume)[0] == "done" and pair.state is PairState.HEDGED

            exit_id = _ctl(tmp_path, "exit", pair.pair_id)
            unknown = _ctl(tmp_path, "exit", "NOPE-1-1")
            await run.run_until(run.env.end_ts, stop=lambda ts: first_record(run).state is PairState.CLOSED)

            assert _status(run, exit_id)[0] == "done" and pair.close_reason == "operator_exit"
            assert _status(run, unknown)[0] == "rejected"
            assert first_record(run).state is PairState.CLOSED and run.positions() == {}

    run_async(body)


def test_flatten_pauses_entries_closes_every_pair_and_reports_flat(cross_venue: Any, tmp_path: Path) -> None:
    async def body() -> None:
        with sim_run(cross_venue, _settings(tmp_path), coins=["BTC"], start_ts=BTC_START, hours=4) as run:
            await run.run_until_hedged(BTC_START + 2 * HOUR)
            assert run.positions()  # hedged on both venues
            flatten = _ctl(tmp_path, "flatten")
            wanted = watch_wanted_entries(run, "BTC")

            await run.run_until(run.env.end_ts, stop=lambda ts: _status(run, flatten)[0] == "done")
            await run.run_until(run.env.now + HOUR)  # paused: no re-entry afterwards although it is wanted

            status, message = _status(run, flatten)
            assert status == "done" and message == "flat: no pair open"
            assert run.positions() == {}
            assert [r.state for r in run.records] == [PairState.CLOSED]
            assert first_record(run).close_reason == "operator_flatten"
            assert wanted and len(run.records) == 1 and run.runtime.risk.paused

    run_async(body)


def test_kill_switch_halts_at_once_cancels_open_entry_orders_and_only_resume_clears_it(
    cross_venue: Any, tmp_path: Path
) -> None:
    # entry orders stay open for half an hour: the pair holds nothing when the kill switch appears
    faults = {BINANCE: FaultConfig(fill_delay_s=1800), BYBIT: FaultConfig(fill_delay_s=1800)}

    async def body() -> None:
        with sim_run(
            cross_venue,
            _settings(tmp_path, single_leg_timeout_s=600),
            coins=["BTC"],
            start_ts=BTC_START,
            hours=3,
            faults=faults,
        ) as run:
            venues = [run.env.connectors[BINANCE], run.env.connectors[BYBIT]]
            await run.run_until(BTC_START + HOUR, stop=lambda ts: any(v.in_flight_orders for v in venues))
            open_ids = {oid for v in venues for oid in v.in_flight_orders}
            assert open_ids and run.runtime.risk.state is not TradingState.HALTED

            (tmp_path / "KILL").touch()
            await run.run_until(run.env.now + run.env.tick_s)  # one tick

            assert run.runtime.risk.state is TradingState.HALTED
            assert "kill-switch" in (run.runtime.risk.halt_reason or "")
            await run.run_until(run.env.now + 2 * run.env.tick_s)
            cancelled = {e.order_id for e in run.events.of_type(OrderCancelledEvent)}
            assert open_ids <= cancelled and not any(v.in_flight_orders for v in venues)
            await run.run_until(BTC_START + HOUR + 1800 + 5 * 60)  # past the fill delay: nothing filled late
            assert run.positions() == {}

            (tmp_path / "KILL").unlink()
            await run.run_until(run.env.now + 10 * run.env.tick_s)
            assert run.runtime.risk.state is TradingState.HALTED  # removing the file does not resume

            resume = _ctl(tmp_path, "resume")
            await run.run_until(run.env.now + run.env.tick_s)
            assert _status(run, resume)[0] == "done" and run.runtime.risk.state is not TradingState.HALTED

    run_async(body)


def test_resume_is_refused_while_the_kill_switch_file_exists(cross_venue: Any, tmp_path: Path) -> None:
    async def body() -> None:
        with sim_run(cross_venue, _settings(tmp_path), coins=["BTC"], start_ts=BTC_START, hours=1) as run:
            (tmp_path / "KILL").touch()
            resume = _ctl(tmp_path, "resume")
            await run.run_until(BTC_START + 5 * 60)

            assert _status(run, resume)[0] == "rejected"
            assert run.runtime.risk.state is TradingState.HALTED and run.records == []

    run_async(body)


def test_kill_command_halt_survives_a_restart_and_blocks_entries_until_resumed(
    cross_venue: Any, tmp_path: Path
) -> None:
    async def body() -> None:
        env = make_env(cross_venue, coins=["BTC"], start_ts=BTC_START, hours=4)
        try:
            first = add_strategy(env, _settings(tmp_path))
            kill = _ctl(tmp_path, "kill")
            await first.run_until(BTC_START + 10 * 60)
            assert _status(first, kill)[0] == "done" and first.runtime.risk.state is TradingState.HALTED
            reason = first.runtime.risk.halt_reason
            await first.stop_instance()

            second = add_strategy(env, _settings(tmp_path))
            wanted = watch_wanted_entries(second, "BTC")
            await second.run_until(BTC_START + HOUR)

            assert second.runtime.risk.state is TradingState.HALTED and second.runtime.risk.halt_reason == reason
            assert wanted and second.records == []  # restarted, still halted: no entry

            _ctl(tmp_path, "resume")
            await second.run_until(BTC_START + 3 * HOUR, stop=lambda ts: bool(second.records))
            assert second.records and second.runtime.risk.state is not TradingState.HALTED
            second.events.detach()
        finally:
            env.close()

    run_async(body)


@pytest.mark.parametrize("command", ["pause"])
def test_pause_given_while_stopped_is_acted_on_at_start(cross_venue: Any, tmp_path: Path, command: str) -> None:
    _ctl(tmp_path, command)  # the bot is not running: the command waits in the journal

    async def body() -> None:
        with sim_run(cross_venue, _settings(tmp_path), coins=["BTC"], start_ts=BTC_START, hours=1) as run:
            await run.run_until(BTC_START + HOUR)
            assert run.runtime.risk.paused and run.records == []

    run_async(body)
