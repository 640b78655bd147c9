"""Safety controls on ticks that decide nothing, where the runtime builds a PARTIAL snapshot (`shell/snapshot_scope.py`:
the markets held or worked, spot inventory, positions, each venue's newest change). Every control here is made to
fire on such a tick, on the simulated venues, with several tokens configured so the partial snapshot really leaves
markets out: a venue going stale, a held leg nearing liquidation, a hedge gap, a drawdown with spot inventory (its
equity equal to the full snapshot's on every partial tick), and a market nothing holds going stale (reported by the
engine at the next decision, within `decision_interval_s`, as with full snapshots).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hummingbot.core.data_type.common import OrderType, PositionAction
from integration_helpers import (
    BINANCE,
    BTC_START,
    BYBIT,
    BYBIT_SPOT,
    HOUR,
    HYPE_CARRY_START,
    D,
    SimRun,
    carry_settings,
    events_named,
    first_record,
    perp_settings,
    run_async,
    sim_run,
)

from strategies.funding_arbitrage.core.reasons import SkipReason
from strategies.funding_arbitrage.core.risk import TradingState
from strategies.funding_arbitrage.shell.adapter import SnapshotBuilder
from strategies.funding_arbitrage.shell.state import PairState
from strategies.funding_arbitrage.sim.faults import FaultConfig

INTERVAL_S = 3600  # one decision an hour: 59 ticks in 60 decide nothing
TOKENS = ("BTC", "ETH", "SOL")


@dataclass
class Ticks:
    """Per tick: did it decide, and which markets did its snapshot hold."""

    decided: dict[float, bool] = field(default_factory=dict)
    markets: dict[float, int] = field(default_factory=dict)

    def partial(self, ts: float) -> bool:
        return not self.decided[ts] and self.markets[ts] < self.full

    full: int = 0


def _watch(run: SimRun) -> Ticks:
    ticks = Ticks(full=len(run.runtime.settings.all_connectors) * len(run.runtime.settings.tokens))

    def hook(ts: float) -> None:
        tick = run.runtime.last_tick
        ticks.decided[ts] = run.runtime.decided_ts == ts
        ticks.markets[ts] = len(tick.markets) if tick is not None and tick.ts == ts else ticks.full

    run.on_step.append(hook)
    return ticks


async def _to_a_tick_that_decides_nothing(run: SimRun) -> None:
    while run.env.now + run.env.tick_s - (run.runtime.decided_ts or 0) >= INTERVAL_S:
        await run.run_until(run.env.now + run.env.tick_s)


def test_a_stale_venue_blocks_its_entries_on_partial_ticks(cross_venue: Any, tmp_path: Path) -> None:
    start = BTC_START - HOUR
    window = (start + 600, BTC_START + 3 * HOUR)
    settings = perp_settings(tmp_path / "s.json", tokens=TOKENS, decision_interval_s=INTERVAL_S)
    stale_after = window[0] + settings.get("stale_data_s", 120) + 60
    faults = {BYBIT: FaultConfig(stale_funding_windows=(window,))}

    async def body() -> None:
        with sim_run(cross_venue, settings, coins=list(TOKENS), start_ts=start, hours=4, faults=faults) as run:
            ticks = _watch(run)
            inside: list[tuple[float, set[str], Any, Any]] = []

            def check(ts: float) -> None:
                if stale_after <= ts < window[1] and ticks.partial(ts):
                    gate = run.runtime.risk
                    inside.append(
                        (ts, set(gate.stale_venues), gate.allow_entry(ts, [BYBIT]), gate.allow_entry(ts, [BINANCE]))
                    )

            run.on_step.append(check)
            await run.run_until(window[1] - 60)

            assert len(inside) >= 100  # partial ticks inside the window
            assert all(stale == {BYBIT} for _, stale, _, _ in inside)
            assert all(bybit is not None and bybit.startswith("stale: sim_bybit_perpetual") for *_, bybit, _ in inside)
            assert all(binance is None for *_, binance in inside)

    run_async(body)


def test_a_market_nothing_holds_going_stale_is_skipped_at_the_next_decision(cross_venue: Any, tmp_path: Path) -> None:
    """Per-market staleness is read by the edge engine, which decides every `decision_interval_s`: with partial
    snapshots in between it is reported at the first decision after the market went stale, as with full ones."""
    start = BTC_START - HOUR
    window = (start + 600, BTC_START + 3 * HOUR)
    settings = perp_settings(tmp_path / "s.json", tokens=TOKENS, decision_interval_s=INTERVAL_S)
    faults = {BYBIT: FaultConfig(stale_funding_windows=(window,))}

    async def body() -> None:
        with sim_run(cross_venue, settings, coins=list(TOKENS), start_ts=start, hours=4, faults=faults) as run:
            ticks = _watch(run)
            await run.run_until(window[1] - 60)
            decisions = [ts for ts, d in ticks.decided.items() if d]
            stale_after = window[0] + settings.get("stale_data_s", 120)

            assert any(ticks.partial(ts) for ts in ticks.decided if stale_after < ts)
            first = min(ts for ts in decisions if ts > stale_after)
            assert first - stale_after <= INTERVAL_S  # the bound: one decision interval
            assert run.runtime.last_decision.skipped.get(SkipReason.STALE_FUNDING, 0) == len(TOKENS)

    run_async(body)


def test_a_leg_nearing_liquidation_is_cut_on_a_partial_tick(cross_venue: Any, tmp_path: Path) -> None:
    """20x starts the BTC legs ~4.6 % from liquidation; the gate cuts at 3.8 % (test_integration_risk.py), here on a
    tick that decides nothing (decisions every 600 s: the entry needs two of them; ETH is configured, never held)."""
    settings = perp_settings(
        tmp_path / "s.json",
        tokens=("BTC", "ETH"),
        leverage={BINANCE: 20, BYBIT: 20},
        min_liquidation_distance_pct=D("3.8"),
        decision_interval_s=600,
    )

    async def body() -> None:
        with sim_run(cross_venue, settings, coins=["BTC", "ETH"], start_ts=BTC_START, hours=12) as run:
            ticks = _watch(run)
            await run.run_until(run.env.end_ts, stop=lambda ts: bool(events_named(run, "leverage_reduction")))
            cut = events_named(run, "leverage_reduction")

            assert cut, "no leg came near liquidation"
            assert ticks.partial(run.env.now)  # the gate acted on a tick that decided nothing, on a partial snapshot
            assert run.runtime.risk.state is TradingState.REDUCING
            r = next(r for r in run.records if r.pair_id == cut[0]["pair_id"])
            assert r.state is PairState.UNWINDING

    run_async(body)


def test_a_hedge_gap_halts_on_a_partial_tick(cross_venue: Any, tmp_path: Path) -> None:
    settings = perp_settings(tmp_path / "s.json", tokens=TOKENS, decision_interval_s=INTERVAL_S)

    async def body() -> None:
        with sim_run(cross_venue, settings, coins=list(TOKENS), start_ts=BTC_START, hours=3) as run:
            ticks = _watch(run)
            pair = await run.run_until_hedged(run.env.end_ts)
            assert pair.state is PairState.HEDGED
            await _to_a_tick_that_decides_nothing(run)
            half = abs(pair.short.filled_base) / 2
            run.env.perps[BINANCE].buy(
                pair.short.trading_pair, half, OrderType.MARKET, position_action=PositionAction.CLOSE
            )
            await run.run_until(run.env.now + run.env.tick_s)  # the fill reaches the venue's positions
            await run.run_until(
                run.env.now + 2 * run.env.tick_s, stop=lambda ts: run.runtime.risk.halt_reason is not None
            )

            assert (run.runtime.risk.halt_reason or "").startswith("hedge gap")
            assert ticks.partial(run.env.now)
            assert "hedge_gap_limit" in {a.name for a in run.runtime.metrics.alerts()}

    run_async(body)


def test_equity_with_spot_inventory_on_partial_ticks_is_the_full_snapshots_and_a_drawdown_halts(
    cross_venue: Any, tmp_path: Path
) -> None:
    # a long HYPE spot / short HYPE perp carry on bybit; BTC and ETH configured too (left out of partial ticks)
    settings = carry_settings(
        tmp_path / "s.json", tokens=("HYPE", "BTC", "ETH"), decision_interval_s=INTERVAL_S, max_drawdown_quote=D("0.5")
    )

    async def body() -> None:
        with sim_run(
            cross_venue,
            settings,
            coins=["HYPE", "BTC", "ETH"],
            start_ts=HYPE_CARRY_START,
            hours=6,
            perp_venues=["bybit"],
            spot_venues=["bybit"],
        ) as run:
            ticks = _watch(run)
            full = SnapshotBuilder(run.runtime.snapshots._settings)
            compared: list[tuple[Any, Any]] = []

            def check(ts: float) -> None:
                rt = run.runtime
                if not ticks.partial(ts):
                    return
                spot_held = any(r.long.kind == "spot" and r.long.filled_base for r in rt.store.open_records())
                partial_tick, partial_markets = rt.last_tick, rt._markets
                rt.last_tick, rt._markets, rt._mids = full.build(ts, run.env.connectors), {}, {}
                rt._markets = {(m.connector, m.trading_pair): m for m in rt.last_tick.markets}
                whole = rt._equity(rt.last_tick), rt._freshness(rt.last_tick)
                rt.last_tick, rt._markets, rt._mids = partial_tick, partial_markets, {}
                if spot_held:
                    compared.append(((rt.risk.last_equity_quote, rt._freshness(partial_tick)), whole))

            run.on_step.append(check)
            await run.run_until(run.env.end_ts, stop=lambda ts: run.runtime.risk.halt_reason is not None)
            r = first_record(run)

            assert r.long.connector == BYBIT_SPOT and r.long.filled_base > 0
            assert compared and all(mine == whole for mine, whole in compared)
            assert (run.runtime.risk.halt_reason or "").startswith("drawdown")
            assert ticks.partial(run.env.now)  # the drawdown halted on a tick that decided nothing

    run_async(body)
