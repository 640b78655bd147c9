"""Venue faults reaching the real strategy the way a real connector delivers them (`sim.faults.FaultConfig`).

Faults on sim bybit, the LONG leg of the BTC pair of 2025-03-09T16:00Z (see integration_helpers), and venue-wide
conditions (disconnects, stale funding). Rejects, partial fills and delays of either leg, checked after the recovery
time, are in test_integration_execution.py.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from integration_helpers import (
    BINANCE,
    BTC_START,
    BYBIT,
    HOUR,
    D,
    SimRun,
    TransitionLog,
    first_record,
    perp_settings,
    run_async,
    sim_run,
)

from strategies.funding_arbitrage.core.reasons import SkipReason
from strategies.funding_arbitrage.shell.state import PairState
from strategies.funding_arbitrage.sim.faults import FaultConfig

OPENING, HEDGED, UNWINDING, CLOSED = PairState.OPENING, PairState.HEDGED, PairState.UNWINDING, PairState.CLOSED


def _first_closed(run: SimRun) -> Any:
    return lambda ts: bool(run.records) and run.records[0].state is CLOSED


def _venue_fills(run: SimRun, connector: str, position: str) -> list[Any]:
    r = first_record(run)
    return [e for e in run.fills_of(r) if run.leg_of(e.order_id).connector == connector and e.position == position]


def test_partial_fill_becomes_hedged_only_when_both_legs_are_complete(
    cross_venue: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    transitions = TransitionLog(monkeypatch)
    faults = {BYBIT: FaultConfig(partial_fill_probability=1.0, partial_fill_fraction=D("0.5"))}
    settings = perp_settings(tmp_path / "s.json", single_leg_timeout_s=300)

    async def body() -> None:
        with sim_run(cross_venue, settings, coins=["BTC"], start_ts=BTC_START, hours=1, faults=faults) as run:
            partial_states = []

            def watch(ts: float) -> None:
                if run.records and 0 < run.records[0].long.filled_base < run.records[0].long.target_base:
                    partial_states.append((run.records[0].state, run.positions()))

            run.on_step.append(watch)
            await run.run_until(run.env.end_ts, stop=lambda ts: bool(run.records) and run.records[0].state is HEDGED)
            r = first_record(run)

            assert partial_states, "the long leg was never seen partially filled"
            assert all(state is OPENING for state, _ in partial_states)
            half = partial_states[0][1]
            assert 0 < half[(BYBIT, "BTC-USDT")] < r.long.target_base  # the venue really holds half
            assert transitions.path(r.pair_id) == [OPENING, HEDGED]
            assert r.long.filled_base == r.long.target_base and r.short.filled_base == -r.short.target_base
            assert len(_venue_fills(run, BYBIT, "OPEN")) == 2  # one order, filled in two parts

    run_async(body)


def test_disconnected_venue_blocks_entries_shows_not_connected_and_trading_resumes_after(
    cross_venue: Any, tmp_path: Any
) -> None:
    window = (BTC_START + 120, BTC_START + 3 * HOUR)
    faults = {BYBIT: FaultConfig(disconnect_windows=(window,))}

    async def body() -> None:
        with sim_run(
            cross_venue, perp_settings(tmp_path / "s.json"), coins=["BTC"], start_ts=BTC_START, hours=4, faults=faults
        ) as run:
            inside: list[tuple[float, int, str, int]] = []

            def watch(ts: float) -> None:
                if window[0] <= ts < window[1]:
                    d = run.runtime.last_decision
                    inside.append(
                        (
                            run.runtime.last_ts,
                            len(run.records),
                            run.strategy.format_status(),
                            d.skipped.get(SkipReason.VENUE_NOT_READY, 0),
                        )
                    )

            run.on_step.append(watch)
            await run.run_until(run.env.end_ts, stop=lambda ts: bool(run.records))
            r = first_record(run)
            after = run.strategy.format_status()

            assert len(inside) >= 170  # the strategy ticked through the whole window
            assert all(last_ts is not None and last_ts >= window[0] for last_ts, *_ in inside)
            assert all(n_records == 0 for _, n_records, _, _ in inside)
            assert all(n_skipped >= 1 for *_, n_skipped in inside)
            assert all(re.search(rf"{BYBIT}\s+NO\s+NOT CONNECTED", status) for _, _, status, _ in inside)
            assert window[1] <= r.opened_ts < window[1] + 10 * 60  # resumed right after the window
            assert re.search(rf"{BYBIT}\s+yes\s+connected", after) and "NOT CONNECTED" not in after

    run_async(body)


def test_stale_funding_skips_the_market_and_the_risk_gate_blocks_entries_on_that_venue(
    cross_venue: Any, tmp_path: Any
) -> None:
    start = BTC_START - HOUR  # the edge appears at BTC_START; bybit funding is frozen from start + 10 min
    window = (start + 600, BTC_START + 3 * HOUR)
    faults = {BYBIT: FaultConfig(stale_funding_windows=(window,))}
    settings = perp_settings(tmp_path / "s.json")
    stale_after = window[0] + settings.get("stale_data_s", 120) + 60

    async def body() -> None:
        with sim_run(cross_venue, settings, coins=["BTC"], start_ts=start, hours=5, faults=faults) as run:
            inside: list[tuple[int, int, set[str], str | None, str | None]] = []

            def watch(ts: float) -> None:
                if stale_after <= ts < window[1]:
                    gate = run.runtime.risk
                    inside.append(
                        (
                            len(run.records),
                            run.runtime.last_decision.skipped.get(SkipReason.STALE_FUNDING, 0),
                            set(gate.stale_venues),
                            gate.allow_entry(ts, [BINANCE, BYBIT]),
                            gate.allow_entry(ts, [BINANCE]),
                        )
                    )

            run.on_step.append(watch)
            await run.run_until(run.env.end_ts, stop=lambda ts: bool(run.records))
            r = first_record(run)

            assert inside
            assert all(n == 0 for n, *_ in inside)  # no entry while bybit funding is frozen
            assert all(skipped == 1 for _, skipped, *_ in inside)
            assert all(stale == {BYBIT} for _, _, stale, _, _ in inside)
            assert all(both is not None and both.startswith("stale: sim_bybit_perpetual") for *_, both, _ in inside)
            assert all(binance_only is None for *_, binance_only in inside)
            assert r.opened_ts >= window[1]
            assert r.long.connector == BYBIT

    run_async(body)
