"""Risk controls firing on the real strategy, with their consequences on the simulated venues.

Windows: BTC from 2025-03-09T16:00Z (enters ~3 min in); DOGE+BTC from 2025-03-13T01:06Z, where DOGE enters ~26 min in
and BTC would enter ~11 h later (see integration_helpers for the data behind the BTC edge).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from integration_helpers import (
    BINANCE,
    BTC_START,
    BYBIT,
    D,
    SimRun,
    TransitionLog,
    events_named,
    first_record,
    perp_settings,
    run_async,
    sim_run,
    watch_wanted_entries,
)

from strategies.funding_arbitrage.core.risk import TradingState
from strategies.funding_arbitrage.shell.state import PairState
from strategies.funding_arbitrage.sim.faults import FaultConfig

DOGE_START = 1741828000  # 2025-03-13T01:06:40Z


def _states(run: SimRun) -> list[TradingState]:
    seen: list[TradingState] = []
    run.on_step.append(lambda ts: seen.append(run.runtime.risk.state))
    return seen


def test_drawdown_halt_blocks_new_entries_and_keeps_the_hedged_pair(cross_venue: Any, tmp_path: Path) -> None:
    # the DOGE entry's fees and spread cost more than 0.5 quote of equity: that is the loss that halts
    settings = perp_settings(tmp_path / "s.json", tokens=("BTC", "DOGE", "ETH", "SOL"), max_drawdown_quote=D("0.5"))

    async def body() -> None:
        with sim_run(
            cross_venue, settings, coins=["BTC", "DOGE", "ETH", "SOL"], start_ts=DOGE_START, hours=11.5
        ) as run:
            wanted = {t: watch_wanted_entries(run, t) for t in ("BTC", "DOGE", "ETH", "SOL")}
            await run.run_until(run.env.end_ts)
            gate = run.runtime.risk
            first = first_record(run)  # the entry whose fees and spread cost more than 0.5 quote: the loss that halts
            wanted_later = [
                ts
                for token, times in wanted.items()
                if token != first.token
                for ts in times
                if ts > (gate.halted_ts or 0)
            ]

            assert gate.state is TradingState.HALTED and gate.halt_reason.startswith("drawdown")
            assert [r.token for r in run.records] == [first.token]  # nothing entered after the halt ...
            denial = gate.allow_entry(run.env.now, [first.long.connector, first.short.connector])
            assert denial is not None and denial.startswith("halted")  # ... every entry is denied while halted
            assert (run.runtime.metrics.value("entries_denied", reason="halted") or 0) >= len(wanted_later)
            assert first.state is PairState.HEDGED  # a halt does not close positions
            assert run.positions() == {
                (first.long.connector, f"{first.token}-USDT"): first.long.filled_base,
                (first.short.connector, f"{first.token}-USDT"): first.short.filled_base,
            }

    run_async(body)


def test_error_burst_halts_and_no_pair_is_opened_after(cross_venue: Any, tmp_path: Path) -> None:
    # every bybit order is rejected: each entry attempt costs one error; the second within the hour halts
    settings = perp_settings(tmp_path / "s.json", max_errors_per_window=2, error_window_s=3600)
    faults = {BYBIT: FaultConfig(reject_probability=1.0)}

    async def body() -> None:
        with sim_run(cross_venue, settings, coins=["BTC"], start_ts=BTC_START, hours=2, faults=faults) as run:
            wanted_btc = watch_wanted_entries(run, "BTC")
            await run.run_until(run.env.end_ts)
            gate = run.runtime.risk

            assert gate.state is TradingState.HALTED and gate.halt_reason.startswith("error burst: 2 errors")
            assert len(run.records) == 2
            assert max(r.opened_ts for r in run.records) <= gate.halted_ts
            assert any(ts > gate.halted_ts for ts in wanted_btc)
            assert run.runtime.metrics.value("entries_denied", reason="halted") >= 1
            assert all(r.state is PairState.CLOSED for r in run.records)  # both attempts were unwound
            assert run.positions() == {}
            assert "risk.halted" in {a.name for a in run.runtime.metrics.alerts(active_only=True)}

    run_async(body)


def test_leg_near_liquidation_closes_the_whole_pair_once(
    cross_venue: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """20x starts a leg ~4.6 % from liquidation; the strategy cuts at 3.8 %. Once BTC has moved ~0.8 % against a
    leg, a partial cut cannot help (the venue releases margin pro rata: the rest liquidates at the same price), so
    the gate closes the WHOLE pair, both legs reduce-only and hedged, once: one action, not one per tick."""
    transitions = TransitionLog(monkeypatch)
    settings = perp_settings(
        tmp_path / "s.json", leverage={BINANCE: 20, BYBIT: 20}, min_liquidation_distance_pct=D("3.8")
    )

    async def body() -> None:
        with sim_run(cross_venue, settings, coins=["BTC"], start_ts=BTC_START, hours=12) as run:
            states = _states(run)
            venue_distance: list[Decimal] = []
            raised: list[str] = []  # every "raised" transition of an alert (a flapping alert is raised again)
            run.runtime.metrics.add_alert_listener(lambda a, t: raised.append(a.name) if t == "raised" else None)

            def closing(ts: float) -> bool:
                r = run.records[0] if run.records else None
                if r is not None and r.state is PairState.HEDGED:  # the venue's own estimate, before the close
                    venue_distance[:] = [_venue_distance_pct(run, leg.connector) for leg in r.legs()]
                return r is not None and r.state is PairState.CLOSED

            await run.run_until(run.env.end_ts, stop=closing)
            r = first_record(run)
            await run.run_until(run.env.now + 10 * 60)  # more ticks: nothing more happens to it

            assert r.state is PairState.CLOSED and transitions.path(r.pair_id) == [
                PairState.OPENING,
                PairState.HEDGED,
                PairState.UNWINDING,
                PairState.CLOSED,
            ]
            assert r.long.filled_base == 0 and r.short.filled_base == 0
            assert min(venue_distance) < D("3.8") * D("1.01")  # the venue agreed it was near
            mine = [e for e in events_named(run, "leverage_reduction") if e.get("pair_id") == r.pair_id]
            assert len(mine) == 1 and "closing the whole pair" in mine[0]["message"]
            assert run.runtime.metrics.value("leverage_reductions", reason="liquidation_distance") == len(
                {e.get("pair_id") for e in events_named(run, "leverage_reduction")}
            )  # one action per pair, never one per tick
            for name in set(raised):  # raised at most once (then cleared with the pair), never toggled
                if name.startswith(("leverage_reduction_failed.", "risk.liquidation_near.")) and r.pair_id in name:
                    assert raised.count(name) == 1, name
            assert TradingState.REDUCING in states
            closes = [e for e in run.fills_of(r) if e.position == "CLOSE"]
            assert {run.leg_of(e.order_id).connector for e in closes} == {BYBIT, BINANCE}  # reduce-only, both legs
            assert run.env.liquidations() == {BINANCE: [], BYBIT: []}

    run_async(body)


def test_entries_are_denied_where_a_new_leg_would_start_near_liquidation(cross_venue: Any, tmp_path: Path) -> None:
    """50x starts a leg ~1.6 % from liquidation, the strategy wants 5 %: it would be closed as soon as hedged and
    opened again; no pair is opened, and the denials are counted."""
    settings = perp_settings(tmp_path / "s.json", leverage={BINANCE: 50, BYBIT: 50}, min_liquidation_distance_pct=D(5))

    async def body() -> None:
        with sim_run(cross_venue, settings, coins=["BTC"], start_ts=BTC_START, hours=1) as run:
            await run.run_until(run.env.end_ts)
            assert run.records == [] and run.positions() == {}
            assert (run.runtime.metrics.value("entries_denied", reason="leverage") or 0) >= 1

    run_async(body)


def _venue_distance_pct(run: Any, connector: str) -> Decimal:
    """The sim venue's own liquidation estimate of its BTC position, as % of mark (its `margin_info`)."""
    info = run.env.connectors[connector].margin_info("BTC-USDT")
    liquidation, mark = info["liquidation_price"], run.runtime._mark(connector, "BTC-USDT")
    assert liquidation is not None and mark is not None
    return abs(liquidation - mark) / mark * 100


def test_venue_liquidation_of_a_leg_is_noticed_and_the_surviving_leg_unwound(
    cross_venue: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # binance at 100x liquidates the short on a ~0.6 % rise; the strategy's own threshold (0.01 %) never fires first
    transitions = TransitionLog(monkeypatch)
    settings = perp_settings(
        tmp_path / "s.json", leverage={BINANCE: 100, BYBIT: 3}, min_liquidation_distance_pct=D("0.01")
    )

    async def body() -> None:
        with sim_run(cross_venue, settings, coins=["BTC"], start_ts=BTC_START, hours=1) as run:

            def liquidated() -> Any:
                return run.env.liquidations()[BINANCE]

            await run.run_until(run.env.end_ts, stop=lambda ts: bool(liquidated()))
            pair = first_record(run)
            await run.run_until(run.env.now + 10 * 60, stop=lambda ts: pair.state is PairState.CLOSED)
            liq = liquidated()[0]
            noticed = [ts for pid, _, new, ts in transitions.items if new is PairState.UNWINDING]
            alerts = {a.name: a for a in run.runtime.metrics.alerts(active_only=True)}

            assert liq.position_amount < 0  # the venue liquidated the short leg (and nothing is left of it below)
            path = transitions.path(pair.pair_id)
            assert path[:2] == [PairState.OPENING, PairState.HEDGED]
            assert path[-2:] == [PairState.UNWINDING, PairState.CLOSED]  # the short is gone: no hedge to keep
            assert noticed and liq.ts <= noticed[0] <= liq.ts + 60  # noticed within a tick, by reconciliation
            assert alerts.get("reconcile_mismatch") is None or alerts["reconcile_mismatch"].severity.value == "critical"
            assert pair.long.filled_base == 0 and pair.short.filled_base == 0  # the surviving long was closed
            closes = [e for e in run.fills_of(pair) if e.position == "CLOSE"]
            assert {run.leg_of(e.order_id).connector for e in closes} >= {BYBIT}

    run_async(body)


def test_halted_strategy_reports_halted_in_status(cross_venue: Any, tmp_path: Path) -> None:
    settings = perp_settings(tmp_path / "s.json", max_errors_per_window=1, error_window_s=3600)
    faults = {BYBIT: FaultConfig(reject_probability=1.0)}

    async def body() -> None:
        with sim_run(cross_venue, settings, coins=["BTC"], start_ts=BTC_START, hours=0.5, faults=faults) as run:
            await run.run_until(run.env.end_ts)

            assert (
                run.strategy.format_status()
                .splitlines()[0]
                .startswith("Funding arbitrage  trading state: HALTED  (error burst")
            )
            assert run.runtime.metrics.value("trading_state", state="HALTED") == 1

    run_async(body)
