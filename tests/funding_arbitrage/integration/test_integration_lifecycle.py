"""A hedged pair's whole life on the simulated venues: enter both legs, collect the recorded funding, exit.

The real strategy class runs on Hummingbot's BACKTEST clock (60 s ticks) over recorded BTC (perp-perp) and HYPE
(spot-perp carry) data; every figure checked here comes from the venues' own accounts or the data files.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from integration_helpers import (
    BINANCE,
    BTC_SETTLEMENT,
    BTC_START,
    BYBIT,
    BYBIT_SPOT,
    HYPE_CARRY_START,
    HYPE_SETTLEMENT,
    D,
    SimRun,
    TransitionLog,
    carry_settings,
    first_record,
    lot,
    perp_settings,
    run_async,
    sim_run,
)

from strategies.funding_arbitrage.shell.state import PairRecord, PairState

OPEN_TO_CLOSE = [PairState.OPENING, PairState.HEDGED, PairState.UNWINDING, PairState.CLOSED]


@dataclass
class Lifecycle:
    run: SimRun
    record: PairRecord
    path: list[PairState]
    state_ts: dict[PairState, float]  # when the pair entered each state
    hedged_legs: tuple[Decimal, Decimal]  # (long, short) filled base when first seen HEDGED
    venue_at_hedge: dict[tuple[str, str], Decimal]
    spot_base_after: Decimal | None = None


def _live_pair(market_data: Any, settings: dict[str, Any], **env: Any) -> Lifecycle:
    """Run until the first pair is CLOSED (or the window ends), watching it become HEDGED."""
    with pytest.MonkeyPatch.context() as mp:
        transitions = TransitionLog(mp)

        async def body() -> Lifecycle:
            with sim_run(market_data, settings, **env) as run:
                seen: dict[str, Any] = {}

                def watch(ts: float) -> None:
                    if run.records and "legs" not in seen and run.records[0].state is PairState.HEDGED:
                        r = run.records[0]
                        seen["legs"], seen["venue"] = (r.long.filled_base, r.short.filled_base), run.positions()

                run.on_step.append(watch)
                await run.run_until(
                    run.env.end_ts, stop=lambda ts: bool(run.records) and run.records[0].state is PairState.CLOSED
                )
                record = first_record(run)
                spot = run.env.spots.get(BYBIT_SPOT)
                state_ts = {new: ts for pid, _, new, ts in transitions.items if pid == record.pair_id}
                return Lifecycle(
                    run,
                    record,
                    transitions.path(record.pair_id),
                    state_ts,
                    seen.get("legs", (D(0), D(0))),
                    seen.get("venue", {}),
                    spot.get_balance(record.token) if spot else None,
                )

        return run_async(body)


@pytest.fixture(scope="module")
def perp_perp(cross_venue: Any, tmp_path_factory: pytest.TempPathFactory) -> Lifecycle:
    """BTC long bybit / short binance from 2025-03-09T16:00Z; exits once the spread falls below 20 % APR (after the
    2025-03-10T00:00Z settlement)."""
    state = tmp_path_factory.mktemp("perp_perp") / "state.json"
    return _live_pair(
        cross_venue, perp_settings(state, exit_edge_apr_pct=D(20)), coins=["BTC"], start_ts=BTC_START, hours=10
    )


@pytest.fixture(scope="module")
def carry(cross_venue: Any, tmp_path_factory: pytest.TempPathFactory) -> Lifecycle:
    """HYPE long spot / short perp on sim bybit from 2025-05-08T17:00Z; exits when the perp rate falls below
    100 % APR (after the 2025-05-09T00:00Z settlement)."""
    state = tmp_path_factory.mktemp("carry") / "state.json"
    return _live_pair(
        cross_venue,
        carry_settings(state, exit_edge_apr_pct=D(100)),
        coins=["HYPE"],
        start_ts=HYPE_CARRY_START,
        hours=10,
        perp_venues=["bybit"],
        spot_venues=["bybit"],
    )


def _rate(raw: pd.DataFrame, venue: str, coin: str, ts: int) -> Decimal:
    row = raw[(raw.venue == venue) & (raw.coin == coin) & (raw.timestamp_ms.astype(float) // 1000 == ts)]
    assert len(row) == 1, (venue, coin, ts)
    return Decimal(row.funding_rate.iloc[0])


def _open(raw: pd.DataFrame, venue: str, coin: str, ts: int) -> Decimal:
    row = raw[(raw.venue == venue) & (raw.coin == coin) & (raw.timestamp_ms == str(ts * 1000))]
    assert len(row) == 1, (venue, coin, ts)
    return Decimal(row.o.iloc[0])


def _actions(
    run: SimRun, record: PairRecord, connector: str, before_ts: float | None = None, after_ts: float | None = None
) -> set[str]:
    """Position actions of the record's fills on `connector`, optionally only before / after a time."""
    return {
        e.position
        for e in run.fills_of(record)
        if run.leg_of(e.order_id).connector == connector
        and (before_ts is None or e.timestamp < before_ts)
        and (after_ts is None or e.timestamp >= after_ts)
    }


# --- perp-perp -----------------------------------------------------------------------------------------------------
def test_perp_perp_pair_goes_opening_hedged_unwinding_closed(perp_perp: Lifecycle) -> None:
    r = perp_perp.record

    assert perp_perp.path == OPEN_TO_CLOSE
    assert (r.long.connector, r.short.connector) == (BYBIT, BINANCE)  # long the venue paying less
    assert r.close_reason == "edge_decayed" and r.closed_ts is not None and r.closed_ts > BTC_SETTLEMENT


def test_perp_perp_legs_are_equal_within_one_lot_once_hedged_and_match_the_venues(perp_perp: Lifecycle) -> None:
    long, short = perp_perp.hedged_legs
    run, r = perp_perp.run, perp_perp.record
    step = max(lot(run, BYBIT, "BTC-USDT"), lot(run, BINANCE, "BTC-USDT"))

    assert long > 0 > short
    assert abs(long + short) <= step
    assert perp_perp.venue_at_hedge == {(BYBIT, r.long.trading_pair): long, (BINANCE, r.short.trading_pair): short}


def test_perp_perp_entry_opens_and_exit_closes_both_legs(perp_perp: Lifecycle) -> None:
    run, r = perp_perp.run, perp_perp.record
    unwind_ts = perp_perp.state_ts[PairState.UNWINDING]

    for connector in (BYBIT, BINANCE):
        assert _actions(run, r, connector, before_ts=unwind_ts) == {"OPEN"}
        assert _actions(run, r, connector, after_ts=unwind_ts) == {"CLOSE"}


def test_perp_perp_fills_and_fees_are_counted_per_venue(perp_perp: Lifecycle) -> None:
    run, r = perp_perp.run, perp_perp.record
    fills = run.fills_of(r)

    for connector in (BYBIT, BINANCE):
        on_venue = [e for e in fills if run.leg_of(e.order_id).connector == connector]
        assert run.runtime.metrics.value("fills", connector=connector) == len(on_venue) >= 2
    assert D(str(run.runtime.metrics.value("fees_paid_quote", quote="USDT"))) == pytest.approx(
        r.long.fees_quote + r.short.fees_quote
    )


def test_perp_perp_settlement_pays_amount_times_mark_times_rate_by_hand(
    perp_perp: Lifecycle, raw_funding_rows: pd.DataFrame, raw_candle_rows: pd.DataFrame
) -> None:
    run = perp_perp.run
    long, short = perp_perp.hedged_legs
    # bybit BTC 2025-03-10T00:00Z: rate -0.00029357, mark = that hour's open; a long receives -amount*mark*rate.
    rate = _rate(raw_funding_rows, "bybit", "BTC", BTC_SETTLEMENT)
    mark = _open(raw_candle_rows, "bybit", "BTC", BTC_SETTLEMENT)
    expected_long = -long * mark * rate
    expected_short = (
        -short
        * _open(raw_candle_rows, "binance", "BTC", BTC_SETTLEMENT)
        * _rate(raw_funding_rows, "binance", "BTC", BTC_SETTLEMENT)
    )

    paid = {(name, p.ts): p.amount_quote for name, c in run.env.perps.items() for p in c.funding_payments}

    assert rate == D("-0.00029357") and expected_long > 0  # a long is paid when the rate is negative
    assert paid[(BYBIT, BTC_SETTLEMENT)] == expected_long
    assert paid[(BINANCE, BTC_SETTLEMENT)] == expected_short > 0  # and a short when it is positive


def test_perp_perp_funding_received_is_the_sum_of_the_venues_payments_on_its_legs(perp_perp: Lifecycle) -> None:
    run, r = perp_perp.run, perp_perp.record

    assert run.funding_of(r) != 0
    assert r.funding_received_quote == run.funding_of(r)


def test_perp_perp_close_leaves_the_venues_flat(perp_perp: Lifecycle) -> None:
    r = perp_perp.record

    assert r.state is PairState.CLOSED
    assert r.long.filled_base == 0 and r.short.filled_base == 0
    assert perp_perp.run.positions() == {}


# --- carry ---------------------------------------------------------------------------------------------------------
def test_carry_pair_goes_opening_hedged_unwinding_closed_long_spot_short_perp(carry: Lifecycle) -> None:
    r = carry.record

    assert carry.path == OPEN_TO_CLOSE
    assert (r.long.connector, r.long.kind, r.short.connector, r.short.kind) == (BYBIT_SPOT, "spot", BYBIT, "perp")
    long, short = carry.hedged_legs
    assert long > 0 > short and abs(long + short) <= max(
        lot(carry.run, BYBIT_SPOT, "HYPE-USDT"), lot(carry.run, BYBIT, "HYPE-USDT")
    )


def test_carry_perp_leg_opens_and_closes_by_position_action_spot_leg_has_none(carry: Lifecycle) -> None:
    run, r = carry.run, carry.record

    assert _actions(run, r, BYBIT) == {"OPEN", "CLOSE"}
    assert _actions(run, r, BYBIT_SPOT) == {"NIL"}  # spot orders carry no position action


def test_carry_funding_comes_from_the_perp_leg_only(
    carry: Lifecycle, raw_funding_rows: pd.DataFrame, raw_candle_rows: pd.DataFrame
) -> None:
    run, r = carry.run, carry.record
    _, short = carry.hedged_legs
    expected = (
        -short
        * _open(raw_candle_rows, "bybit", "HYPE", HYPE_SETTLEMENT)
        * _rate(raw_funding_rows, "bybit", "HYPE", HYPE_SETTLEMENT)
    )
    perp_paid = [p for p in run.env.perps[BYBIT].funding_payments if p.ts == HYPE_SETTLEMENT]

    assert len(perp_paid) == 1 and perp_paid[0].amount_quote == expected > 0  # the short receives +0.148 %
    assert r.funding_received_quote == run.funding_of(r) == expected


def test_carry_close_sells_the_spot_and_flattens_the_perp(carry: Lifecycle) -> None:
    r = carry.record

    assert r.state is PairState.CLOSED and r.close_reason == "edge_decayed"
    assert carry.spot_base_after == 0
    assert carry.run.positions() == {}
