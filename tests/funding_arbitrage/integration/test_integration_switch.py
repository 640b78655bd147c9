"""A switch on the simulated venues: a held carry pair is closed with reason `switch` and the better pair entered
once it is flat, the token's hedge neutral at every tick and the order tracker equal to the venues.

Real BTC prices (sim binance and bybit perps, sim bybit spot) with scripted 8h funding: both perps pay about the
same at first (carry on bybit is the best pair), then from the 2025-03-10T00:00Z settlement on binance pays 0.3 %
per 8 h while bybit stays at 0.04 %: the held carry still earns (the hold rule keeps it), but a pair shorting
binance earns far more than the switch costs.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from integration_helpers import (
    BINANCE,
    BTC_SETTLEMENT,
    BTC_START,
    BYBIT,
    BYBIT_SPOT,
    HOUR,
    PERPS,
    D,
    SimRun,
    TransitionLog,
    lot,
    perp_settings,
    run_async,
    sim_run,
)

from strategies.funding_arbitrage.shell.state import PairRecord, PairState
from strategies.funding_arbitrage.sim.data import FundingSeries, MarketData

HOURS = 17  # past the 2025-03-10T08:00Z settlement
TOKEN, PAIR = "BTC", "BTC-USDT"


def scripted(data: MarketData) -> MarketData:
    """BTC funding every 8 h around the window: until 2025-03-10T00:00Z binance 0.03 %, bybit 0.04 %; after it
    binance 0.3 %, bybit 0.04 % (a perp shows its coming settlement's rate: binance's 0.3 % from 00:00 on)."""
    times = [BTC_START - 16 * HOUR + 8 * HOUR * i for i in range(8)]
    binance = [D("0.0003") if t <= BTC_SETTLEMENT else D("0.003") for t in times]
    bybit = [D("0.0004")] * len(times)
    funding = dict(data.funding)
    funding[("binance", TOKEN)] = FundingSeries("binance", TOKEN, times, binance)
    funding[("bybit", TOKEN)] = FundingSeries("bybit", TOKEN, times, bybit)
    return dataclasses.replace(data, funding=funding)


def settings(state_file: Any) -> dict[str, Any]:
    return perp_settings(
        state_file,
        spot_connectors=[BYBIT_SPOT],
        quote_assets={**{c: "USDT" for c in PERPS}, BYBIT_SPOT: "USDT"},
        switch_enabled=True,
        switch_uncertainty_z=D(0),
        switch_min_hold_hours=D(1),
        switch_confirm_hours=D(1),
        exit_confirmations=3,
    )


@dataclasses.dataclass
class SwitchRun:
    run: SimRun
    records: list[PairRecord]
    transitions: list[tuple[str, PairState, PairState, float]]
    problems: list[str]  # per tick: hedge gap beyond one lot, records != venues, tracker != venues


def tick_problems(run: SimRun, ts: float) -> list[str]:
    """Two pairs of the token open at once; the token's net exposure (perp positions + spot inventory) beyond one
    lot while no pair is between its legs (OPENING or UNWINDING with orders working, within the single-leg
    timeout); the open records' perp legs or the tracker's open orders different from the venues'
    (`SimRun.ledger_problems`)."""
    out = []
    open_records = [r for r in run.records if r.state is not PairState.CLOSED]
    if len(open_records) > 1:
        out.append(f"{ts}: {len(open_records)} pairs of {TOKEN} open at once")
    legging = any(r.state is not PairState.HEDGED or run.runtime.executor.has_pending(r) for r in open_records)
    positions = run.positions()
    spot_base = D(run.env.spots[BYBIT_SPOT].get_balance(TOKEN))
    net = sum(positions.values(), D(0)) + spot_base
    one_lot = max(lot(run, c, PAIR) for c in (*PERPS, BYBIT_SPOT))
    if abs(net) > one_lot and not legging:
        out.append(f"{ts}: net {TOKEN} exposure {net} (perps {positions}, spot {spot_base})")
    return out + [f"{ts}: {problem}" for problem in run.ledger_problems()]


@pytest.fixture(scope="module")
def switched(cross_venue: MarketData, tmp_path_factory: pytest.TempPathFactory) -> SwitchRun:
    state = tmp_path_factory.mktemp("switch") / "state.json"
    with pytest.MonkeyPatch.context() as mp:
        log = TransitionLog(mp)

        async def body() -> SwitchRun:
            with sim_run(
                scripted(cross_venue),
                settings(state),
                coins=[TOKEN],
                start_ts=BTC_START,
                hours=HOURS,
                spot_venues=["bybit"],
                tick_s=300.0,
            ) as run:
                problems: list[str] = []
                run.on_step.append(lambda ts: problems.extend(tick_problems(run, ts)))
                await run.run_until(run.env.end_ts)
                return SwitchRun(run, run.records, list(log.items), problems)

        return run_async(body)


def test_the_held_carry_is_switched_out_once_and_the_better_pair_entered_after_it_is_flat(switched: SwitchRun) -> None:
    first, *rest = switched.records
    assert (first.long.connector, first.short.connector) == (BYBIT_SPOT, BYBIT)  # carry on bybit first
    assert first.state is PairState.CLOSED and first.close_reason == "switch"
    assert first.closed_ts is not None and first.closed_ts >= BTC_SETTLEMENT + HOUR  # after the confirmation
    assert len(rest) == 1  # one switch, no churn
    second = rest[0]
    assert second.short.connector == BINANCE  # the new pair shorts the venue that pays now
    assert second.state is PairState.HEDGED
    assert second.opened_ts >= first.closed_ts  # entered once the old pair was flat


def test_the_hedge_stays_neutral_and_the_tracker_equals_the_venues_throughout(switched: SwitchRun) -> None:
    assert switched.problems == []


def test_the_new_pair_earns_the_rate_it_was_switched_for(switched: SwitchRun) -> None:
    second = switched.records[1]
    paid = [
        p
        for p in switched.run.env.perps[BINANCE].funding_payments
        if p.trading_pair == PAIR and p.ts >= second.opened_ts
    ]
    assert paid and all(p.rate == D("0.003") and p.amount_quote > 0 for p in paid)  # a short receives
