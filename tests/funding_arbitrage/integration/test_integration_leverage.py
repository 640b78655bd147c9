"""Leverage from volatility on the real strategy and the simulated venues (`leverage_mode: volatility`).

BTC perp-perp from BTC_START (enters ~3 min in). The engine's price history (`sizing.VolatilityTracker`, what the
leverage rule reads) is given a calm past before the run: the pair enters at the 5x cap. Once it is hedged the history
is replaced by a volatile one (hourly swings of +/-1.2 % or +/-1.5 %): the next re-check must make the position safer
long before the risk gate's own cut (`min_liquidation_distance_pct` 2 %) is anywhere near.
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
    HOUR,
    PERPS,
    D,
    SimRun,
    TransitionLog,
    events_named,
    first_record,
    perp_settings,
    run_async,
    sim_run,
)

from strategies.funding_arbitrage.core.risk import TradingState
from strategies.funding_arbitrage.shell.state import PairState

PAIR = "BTC-USDT"


def vol_settings(tmp_path: Path) -> dict[str, Any]:
    return perp_settings(
        tmp_path / "s.json",
        leverage={BINANCE: 5, BYBIT: 5},
        leverage_mode="volatility",
        liquidation_distance_vol_multiple=D(4),
        leverage_vol_horizon_hours=D(24),
        leverage_recheck_s=60,
        min_liquidation_distance_pct=D(2),
    )


def seed_history(run: SimRun, end_ts: float, swing: str) -> None:
    """73 hourly prices on both BTC perps ending at `end_ts`, alternating +/- `swing` (fraction) around 80 000:
    hourly returns of about +/- 2 x swing."""
    tracker = run.runtime.engine.volatility
    for c in PERPS:
        tracker.forget((c, PAIR))
        for i in range(73):
            tracker.observe((c, PAIR), end_ts - (72 - i) * HOUR, D(80000) * (1 + D(swing) * (-1) ** i))


def venue_leverage(run: SimRun) -> dict[str, int]:
    return {c: run.env.connectors[c].get_leverage(PAIR) for c in PERPS}


def venue_distance_pct(run: SimRun, connector: str) -> Decimal:
    """The sim venue's own liquidation estimate of its BTC position, as % of mark (its `margin_info`)."""
    liquidation = run.env.connectors[connector].margin_info(PAIR)["liquidation_price"]
    mark = run.runtime._mark(connector, PAIR)
    assert liquidation is not None
    return abs(liquidation - mark) / mark * 100


async def hedged_at_the_cap(run: SimRun, states: list[TradingState]) -> Any:
    seed_history(run, BTC_START - 60, "0.0005")  # calm: hourly returns of +/-0.1 %
    run.on_step.append(lambda ts: states.append(run.runtime.risk.state))
    await run.run_until(
        run.env.end_ts, stop=lambda ts: bool(run.records) and first_record(run).state is PairState.HEDGED
    )
    pair = first_record(run)
    assert pair.state is PairState.HEDGED and venue_leverage(run) == {BINANCE: 5, BYBIT: 5}
    return pair


def test_rising_volatility_lowers_leverage_before_the_risk_gate_and_keeps_the_hedge(
    cross_venue: Any, tmp_path: Path
) -> None:
    async def body() -> None:
        with sim_run(cross_venue, vol_settings(tmp_path), coins=["BTC"], start_ts=BTC_START, hours=1) as run:
            states: list[TradingState] = []
            pair = await hedged_at_the_cap(run, states)
            legs = (pair.long.filled_base, pair.short.filled_base)
            before = {c: venue_distance_pct(run, c) for c in PERPS}

            seed_history(run, run.env.now - 60, "0.0075")  # volatility rises: returns +/-1.5 %, 4 sigma(24h) ~ 29 %
            await run.run_until(run.env.now + 5 * 60)
            after = {c: venue_distance_pct(run, c) for c in PERPS}
            choice = run.runtime.leverage_ctl.choices[(BINANCE, PAIR)]

            assert choice.required_distance_pct is not None and choice.required_distance_pct > 25
            assert venue_leverage(run) == {BINANCE: 3, BYBIT: 3}  # lowered on the venues (they added margin)
            assert all(before[c] < 20 and after[c] >= choice.required_distance_pct for c in PERPS)
            assert len(events_named(run, "leverage_lowered")) == 2  # once per leg, not per tick
            assert all(r.distance_pct >= choice.required_distance_pct for r in run.runtime.risk.leg_reports)
            # no cut was needed: nothing traded, the gate never reduced, the hedge is as it was
            assert (pair.long.filled_base, pair.short.filled_base) == legs
            assert run.positions() == {(pair.long.connector, PAIR): legs[0], (pair.short.connector, PAIR): legs[1]}
            assert run.runtime.metrics.value("leverage_reductions", reason="liquidation_distance") in (None, 0)
            assert TradingState.REDUCING not in states
            assert run.env.liquidations() == {BINANCE: [], BYBIT: []}

    run_async(body)


def test_venue_refusing_lower_leverage_closes_the_whole_pair_once_before_the_risk_gate(
    cross_venue: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused lowering leaves no way to restore the distance (a partial cut keeps the liquidation price: the venue
    releases margin pro rata): the whole pair is closed, both legs, hedged, once; the alert is raised once and stays
    raised while the venue keeps refusing (never toggled by later pairs opening and closing)."""
    transitions = TransitionLog(monkeypatch)

    async def body() -> None:
        with sim_run(cross_venue, vol_settings(tmp_path), coins=["BTC"], start_ts=BTC_START, hours=1) as run:
            states: list[TradingState] = []
            pair = await hedged_at_the_cap(run, states)
            raised: list[str] = []  # every "raised" transition of an alert (a flapping alert is raised again)
            run.runtime.metrics.add_alert_listener(lambda a, t: raised.append(a.name) if t == "raised" else None)

            async def refuse(trading_pair: str, leverage: int) -> tuple[bool, str]:
                return False, "Margin is insufficient to change leverage"

            for c in PERPS:  # the venues keep 5x whatever is asked
                monkeypatch.setattr(run.env.connectors[c], "_set_trading_pair_leverage", refuse)
            seed_history(
                run, run.env.now - 60, "0.006"
            )  # returns +/-1.2 %: 4 sigma(24h) ~ 23.5 % > the 5x legs' ~19.5 %
            await run.run_until(run.env.now + 20 * 60, stop=lambda ts: pair.state is PairState.CLOSED)
            closed_ts = run.env.now
            await run.run_until(run.env.now + 10 * 60)  # and more ticks: no second action on it, no alert toggling
            failed = [a for a in run.runtime.metrics.alerts() if a.name.startswith("leverage_reduction_failed.")]

            assert pair.state is PairState.CLOSED and venue_leverage(run) == {BINANCE: 5, BYBIT: 5}
            assert transitions.path(pair.pair_id) == [
                PairState.OPENING,
                PairState.HEDGED,
                PairState.UNWINDING,
                PairState.CLOSED,
            ]
            assert pair.long.filled_base == 0 and pair.short.filled_base == 0
            closes = [e for e in run.fills_of(pair) if e.position == "CLOSE"]
            assert {run.leg_of(e.order_id).connector for e in closes} == {BYBIT, BINANCE}  # reduce-only, both legs
            mine = [e for e in events_named(run, "leverage_reduction") if e.get("pair_id") == pair.pair_id]
            assert len(mine) == 1 and "close the pair" in mine[0]["message"]
            assert run.runtime.metrics.value("leverage_reductions", reason="liquidation_distance") in (None, 0)
            assert TradingState.REDUCING not in states  # the risk gate never had to cut
            assert failed and all(a.active and a.first_ts < closed_ts for a in failed)  # raised once, still raised
            assert all(raised.count(a.name) == 1 for a in failed)
            assert run.env.liquidations() == {BINANCE: [], BYBIT: []}

    run_async(body)
