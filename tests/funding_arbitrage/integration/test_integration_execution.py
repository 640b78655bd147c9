"""Execution faults on the simulated venues, each checked after the recovery time (issue 8).

The BTC pair of 2025-03-09T16:00Z (integration_helpers): long sim bybit, short sim binance; bybit's book is the
thinner, so the LONG (bybit) is the first leg and binance the second. After every fault the run goes on for the
recovery time and `SimRun.settled_problems()` must be empty: no net exposure beyond one lot per token, one open
pair per token at most, the records (the journal) equal to the venue positions, the tracker's open orders equal to
the venues' open orders; and no duplicate entry ever (`max_open_pairs_per_token`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hummingbot.core.data_type.common import OrderType
from integration_helpers import (
    BINANCE,
    BTC_START,
    BYBIT,
    HOUR,
    D,
    SimRun,
    first_record,
    lot,
    max_open_pairs_per_token,
    perp_settings,
    run_async,
    sim_run,
)

from strategies.funding_arbitrage.core.lifecycle import OrderIntent
from strategies.funding_arbitrage.core.orders import OrderStatus, TrackedOrder
from strategies.funding_arbitrage.core.risk import TradingState
from strategies.funding_arbitrage.shell.state import PairState
from strategies.funding_arbitrage.sim.faults import FaultConfig

RECOVERY_S = 20 * 60
CLOSED, HEDGED = PairState.CLOSED, PairState.HEDGED


def _orders(run: SimRun, connector: str, intent: OrderIntent | None = None) -> list[TrackedOrder]:
    return sorted(
        (
            o
            for o in run.runtime.store.tracker.all()
            if o.connector == connector and (intent is None or o.intent is intent)
        ),
        key=lambda o: o.placed_ts,
    )


def _fills(run: SimRun, connector: str, position: str | None = None) -> list[Any]:
    from hummingbot.core.event.events import OrderFilledEvent

    ids = {o.client_order_id for o in _orders(run, connector)}
    return [
        e
        for e in run.events.of_type(OrderFilledEvent)
        if e.order_id in ids and (position is None or e.position == position)
    ]


def _set_faults(run: SimRun, connector: str, **changes: Any) -> None:
    """Change a venue's faults mid-run (tests only): e.g. a disconnect window starting now."""
    injector = run.env.perps[connector]._faults
    injector.config = dataclasses.replace(injector.config, **changes)


async def _settle(run: SimRun, seconds: float = RECOVERY_S) -> None:
    await run.run_until(run.env.now + seconds)
    assert run.settled_problems() == []


def _run(market_data: Any, settings: dict[str, Any], body: Any, hours: float = 2, **env: Any) -> None:
    async def main() -> None:
        with sim_run(
            market_data, settings, coins=env.pop("coins", ["BTC"]), start_ts=BTC_START, hours=hours, **env
        ) as run:
            pairs = max_open_pairs_per_token(run)
            await body(run)
            assert all(n <= 1 for n in pairs.values()), pairs  # never a duplicate entry

    run_async(main)


def test_first_leg_is_the_thinner_book_and_the_second_follows_its_fill(cross_venue: Any, tmp_path: Path) -> None:
    async def body(run: SimRun) -> None:
        await run.run_until(run.env.end_ts, stop=lambda ts: bool(run.records) and run.records[0].state is HEDGED)
        first_bybit, first_binance = _orders(run, BYBIT)[0], _orders(run, BINANCE)[0]

        assert first_bybit.placed_ts < first_binance.placed_ts  # bybit (thinner) alone first
        assert first_binance.amount_base == first_bybit.filled_base  # sized to the actual fill
        await _settle(run)

    _run(cross_venue, perp_settings(tmp_path / "s.json"), body)


def test_second_leg_rejected_is_retried_then_the_first_leg_is_rolled_back(cross_venue: Any, tmp_path: Path) -> None:
    faults = {BINANCE: FaultConfig(reject_probability=1.0, reject_position_actions=("OPEN",))}

    async def body(run: SimRun) -> None:
        await run.run_until(run.env.end_ts, stop=lambda ts: bool(run.records) and run.records[0].state is CLOSED)
        r = first_record(run)
        await _settle(run)

        assert r.state is CLOSED and r.close_reason == "second_leg_failed"
        assert [o.status for o in _orders(run, BINANCE)] == [OrderStatus.REJECTED] * 3  # first try + 2 retries
        assert sum(e.amount for e in _fills(run, BYBIT, "OPEN")) == sum(e.amount for e in _fills(run, BYBIT, "CLOSE"))
        assert len(run.records) == 1 and run.runtime.cooldowns["BTC"][1] == 1  # cooling down: no re-entry yet

    _run(cross_venue, perp_settings(tmp_path / "s.json", entry_cooldown_s=3 * HOUR), body, faults=faults)


def test_first_leg_synchronous_reject_never_sends_the_second(cross_venue: Any, tmp_path: Path) -> None:
    faults = {BYBIT: FaultConfig(reject_probability=1.0, sync_reject=True, reject_position_actions=("OPEN",))}

    async def body(run: SimRun) -> None:
        await run.run_until(run.env.end_ts, stop=lambda ts: bool(run.records))
        r = first_record(run)
        await _settle(run)

        assert r.state is CLOSED and r.close_reason == "entry_rejected"
        assert _orders(run, BINANCE) == [] and _fills(run, BINANCE) == []  # no naked short
        assert run.runtime.metrics.value("errors", kind="order_place_failed") >= 1
        assert run.positions() == {}

    _run(cross_venue, perp_settings(tmp_path / "s.json", entry_cooldown_s=3 * HOUR), body, faults=faults)


@pytest.mark.parametrize("venue", [BYBIT, BINANCE])
@pytest.mark.parametrize("fraction", ["0.1", "0.5", "0.9"])
def test_partial_fills_end_hedged_without_unwinding(
    cross_venue: Any, tmp_path: Path, venue: str, fraction: str
) -> None:
    faults = {venue: FaultConfig(partial_fill_probability=1.0, partial_fill_fraction=D(fraction))}

    async def body(run: SimRun) -> None:
        await run.run_until(
            run.env.end_ts,
            stop=lambda ts: (
                bool(run.records)
                and run.records[0].state is HEDGED
                and not run.runtime.executor.has_pending(run.records[0])
            ),
        )
        r = first_record(run)
        await _settle(run)
        parts = [e.amount for e in _fills(run, venue, "OPEN")]

        target = _orders(run, BYBIT, OrderIntent.OPEN)[0].amount_base
        assert r.state is HEDGED and len(run.records) == 1
        assert len(parts) >= 2 and min(parts) < max(o.amount_base for o in _orders(run, venue))  # really partial
        assert r.long.filled_base >= target * D(fraction)  # the partial fill is kept, never unwound whole
        assert abs(r.long.filled_base + r.short.filled_base) <= lot(run, BYBIT, "BTC-USDT")

    _run(cross_venue, perp_settings(tmp_path / "s.json"), body, faults=faults)


def test_second_leg_fill_delay_past_the_timeout_is_cancelled_retried_then_rolled_back(
    cross_venue: Any, tmp_path: Path
) -> None:
    faults = {BINANCE: FaultConfig(fill_delay_s=1200)}

    async def body(run: SimRun) -> None:
        await run.run_until(run.env.end_ts, stop=lambda ts: bool(run.records) and run.records[0].state is CLOSED)
        r = first_record(run)
        await _settle(run)
        first_fill = _fills(run, BYBIT, "OPEN")[0].timestamp
        rollback = _fills(run, BYBIT, "CLOSE")[-1].timestamp

        assert r.close_reason == "second_leg_failed"
        assert [o.status for o in _orders(run, BINANCE)] == [OrderStatus.CANCELLED] * 3  # really cancelled
        assert _fills(run, BINANCE) == []
        assert rollback - first_fill <= 3 * (30 + 2 * 60) + 60  # naked at most (1 + retries) timeouts + ticks

    _run(cross_venue, perp_settings(tmp_path / "s.json", entry_cooldown_s=3 * HOUR), body, faults=faults)


def test_disconnect_mid_entry_with_a_hidden_fill_ends_hedged_not_unwound(cross_venue: Any, tmp_path: Path) -> None:
    async def body(run: SimRun) -> None:
        def second_leg_sent(ts: float) -> bool:
            return any(o.status is OrderStatus.WORKING for o in _orders(run, BINANCE, OrderIntent.OPEN))

        await run.run_until(run.env.end_ts, stop=second_leg_sent)
        window = (run.env.now + 30, run.env.now + 900)
        _set_faults(run, BINANCE, disconnect_windows=(window,))
        states = []
        run.on_step.append(lambda ts: states.append((ts, first_record(run).state)))
        await run.run_until(window[1] + 120)
        r = first_record(run)
        await _settle(run)

        assert all(s is PairState.OPENING for ts, s in states if ts < window[1])  # never assumed unfilled
        assert r.state is HEDGED and _fills(run, BYBIT, "CLOSE") == []
        assert run.positions()[(BINANCE, "BTC-USDT")] == -run.positions()[(BYBIT, "BTC-USDT")]

    _run(cross_venue, perp_settings(tmp_path / "s.json"), body)


@pytest.mark.parametrize("close_inside_window", [False, True])
def test_disconnect_mid_exit_retries_until_flat(cross_venue: Any, tmp_path: Path, close_inside_window: bool) -> None:
    async def body(run: SimRun) -> None:
        await run.run_until(run.env.end_ts, stop=lambda ts: bool(run.records) and run.records[0].state is HEDGED)
        r = first_record(run)
        window = (run.env.now + (1 if close_inside_window else 30), run.env.now + 900)
        _set_faults(run, BINANCE, disconnect_windows=(window,))
        if close_inside_window:
            await run.run_until(window[0] + 60)
        run.runtime.executor.close_pair(r, run.env.now, "max_holding")
        for _ in range(5):  # let the connectors accept the orders before the clock moves on
            await asyncio.sleep(0)
        await run.run_until(window[1] + 300, stop=lambda ts: r.state is CLOSED)
        await _settle(run)
        closes = _orders(run, BINANCE, OrderIntent.CLOSE)

        assert r.state is CLOSED and r.long.filled_base == r.short.filled_base == 0  # (a later pair may be open)
        if close_inside_window:  # refused while down: retried with backoff, escalated, never FAILED
            assert len(closes) >= 4 and closes[-1].status is OrderStatus.FILLED
            assert run.runtime.risk.state is TradingState.HALTED  # escalation halts new entries
            assert any(
                a.name == f"pair.{r.pair_id}" and a.severity.value == "critical" for a in run.runtime.metrics.alerts()
            )
        else:  # the close filled while the venue was unreachable: learnt from the venue, not re-sent
            assert len(closes) == 1 and closes[0].status is OrderStatus.FILLED

    _run(cross_venue, perp_settings(tmp_path / "s.json"), body)


def test_reject_burst_on_the_second_leg_backs_off_and_bounds_fees(cross_venue: Any, tmp_path: Path) -> None:
    faults = {BINANCE: FaultConfig(reject_probability=1.0, reject_position_actions=("OPEN",))}

    async def body(run: SimRun) -> None:
        await run.run_until(run.env.end_ts)
        opened = [r.opened_ts for r in run.records]
        fees = sum(
            (e.trade_fee.fee_amount_in_token("BTC-USDT", e.price, e.amount, "USDT") for e in _fills(run, BYBIT)),
            Decimal(0),
        )
        notional = sum((e.price * e.amount for e in _fills(run, BYBIT)), Decimal(0))

        assert 2 <= len(opened) <= 6  # 300 s, then doubling: not one attempt per minute
        gaps = [b - a for a, b in itertools.pairwise(opened)]
        assert all(g2 > g1 for g1, g2 in itertools.pairwise(gaps))  # exponential backoff
        assert fees <= notional * D("0.001")  # only the first leg's open + close per attempt
        assert all(r.state is CLOSED for r in run.records) and run.positions() == {}

    _run(cross_venue, perp_settings(tmp_path / "s.json"), body, hours=3, faults=faults)


def test_nan_mark_on_one_held_leg_does_not_stop_another_pairs_exit(cross_venue: Any, tmp_path: Path) -> None:
    settings = perp_settings(
        tmp_path / "s.json",
        tokens=("BTC", "ETH"),
        min_net_edge_pct=D("0.001"),
        max_break_even_hours=D(500),
        holding_horizon_hours=D(500),
        exit_edge_apr_pct=D(1000),
        exit_confirmations=10,
    )
    faults = {
        BINANCE: FaultConfig(bad_mark_windows=((BTC_START + 300, BTC_START + 6 * HOUR),), bad_mark_pairs=("BTC-USDT",))
    }

    async def body(run: SimRun) -> None:
        nan_seen: list[float] = []

        def watch(ts: float) -> None:
            tick = run.runtime.last_tick
            if tick is None:
                return
            nan_seen.extend(
                ts
                for m in tick.markets
                if m.connector == BINANCE
                and m.token == "BTC"
                and m.funding is not None
                and m.funding.mark_price.is_nan()
            )

        run.on_step.append(watch)
        await run.run_until(
            run.env.end_ts, stop=lambda ts: any(r.token == "ETH" and r.state is CLOSED for r in run.records)
        )
        eth = next(r for r in run.records if r.token == "ETH")
        assert nan_seen and eth.closed_ts is not None and nan_seen[0] < eth.closed_ts  # the bad mark reached us
        await _settle(run)

        assert eth.state is CLOSED and eth.close_reason == "edge_decayed"
        assert eth.closed_ts is not None and eth.closed_ts > BTC_START + 300  # exited while the BTC mark was NaN
        assert run.runtime.metrics.value("errors", kind="tick_exception") in (None, 0)

    _run(cross_venue, settings, body, hours=3, coins=["BTC", "ETH"], faults=faults)


def test_reduction_below_the_minimum_is_sent_once_at_the_smallest_closable_size(
    cross_venue: Any, tmp_path: Path
) -> None:
    async def body(run: SimRun) -> None:
        await run.run_until(run.env.end_ts, stop=lambda ts: bool(run.records) and run.records[0].state is HEDGED)
        r = first_record(run)
        before = r.long.filled_base
        run.runtime.executor.reduce_pair(r, run.env.now, D("0.001"), "liquidation distance")  # 0.000012 BTC
        await _settle(run, 10 * 60)
        reduces = _orders(run, BYBIT, OrderIntent.REDUCE) + _orders(run, BINANCE, OrderIntent.REDUCE)
        step = max(lot(run, BYBIT, "BTC-USDT"), lot(run, BINANCE, "BTC-USDT"))

        assert [o.amount_base for o in reduces] == [step, step]  # raised to one lot, sent once per leg
        assert all(o.status is OrderStatus.FILLED for o in reduces)
        assert r.state is HEDGED and r.long.filled_base == before - step
        assert run.runtime.metrics.value("errors", kind="order_failed") in (None, 0)

    _run(cross_venue, perp_settings(tmp_path / "s.json"), body)


def test_maker_first_entry_falls_back_to_taker_after_its_timeout(cross_venue: Any, tmp_path: Path) -> None:
    settings = perp_settings(tmp_path / "s.json", entry_maker_first=True, entry_maker_timeout_s=60)

    async def body(run: SimRun) -> None:
        await run.run_until(run.env.end_ts, stop=lambda ts: bool(run.records) and run.records[0].state is HEDGED)
        r = first_record(run)
        await _settle(run)
        first = _orders(run, BYBIT, OrderIntent.OPEN)
        venue_state = run.env.perps[BYBIT]._closed_orders.get(first[0].client_order_id)
        taker_fills = [e for e in _fills(run, BYBIT, "OPEN") if e.order_id == first[1].client_order_id]

        assert r.state is HEDGED
        assert first[0].status is OrderStatus.CANCELLED and first[0].filled_base == 0  # the maker really cancelled
        assert venue_state is not None and venue_state.name == "CANCELED"  # ... on the venue too
        assert first[1].placed_ts >= first[0].placed_ts + 60 and first[1].status is OrderStatus.FILLED
        assert taker_fills and all(e.order_type is OrderType.MARKET for e in taker_fills)

    _run(cross_venue, settings, body)
