"""Funding paid while the bot was down: booked from the venue's funding-payment history (the sim exposes one, as
venues' REST income endpoints do), or recorded as unknown (N/A in status, metrics, take-profit) where there is none.

The pair is opened at BTC_START + 1h, the bot is stopped, the venues settle BTC funding at BTC_SETTLEMENT
(2025-03-10T00:00Z) with nobody listening, and a new instance starts an hour later.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from integration_helpers import (
    BINANCE,
    BTC_SETTLEMENT,
    BTC_START,
    BYBIT,
    HOUR,
    SimRun,
    add_strategy,
    first_record,
    make_env,
    perp_settings,
    run_async,
)

from strategies.funding_arbitrage.shell.state import PairState


async def _open_then_sleep_through_settlement(run: SimRun) -> str:
    await run.run_until_hedged(BTC_START + 2 * HOUR)
    pair_id = first_record(run).pair_id
    await run.stop_instance()
    await run.run_until(BTC_SETTLEMENT + HOUR)  # the venues settle funding; no strategy is listening
    return pair_id


def test_funding_paid_while_down_is_booked_from_the_venue_history(cross_venue: Any, tmp_path: Path) -> None:
    settings = perp_settings(tmp_path / "s.json")

    async def body() -> None:
        env = make_env(cross_venue, coins=["BTC"], start_ts=BTC_START, hours=10)
        try:
            pair_id = await _open_then_sleep_through_settlement(add_strategy(env, settings))
            paid_while_down = [
                p for name in (BINANCE, BYBIT) for p in env.perps[name].funding_payments if p.ts == BTC_SETTLEMENT
            ]
            assert len(paid_while_down) == 2  # both venues settled at the same time

            second = add_strategy(env, settings)
            await second.run_until(BTC_SETTLEMENT + HOUR + 5 * 60)
            record = second.runtime.store.records[pair_id]

            assert record.state is PairState.HEDGED
            assert record.funding_received_quote == second.funding_of(record) != 0
            assert second.runtime.funding_total(record) == record.funding_received_quote
            booked = second.runtime.journal.funding_payments()
            assert {(p.connector, p.settlement_ts, p.source) for p in booked} == {
                (BINANCE, BTC_SETTLEMENT, "history"),
                (BYBIT, BTC_SETTLEMENT, "history"),
            }
            assert sum(p.amount_quote for p in booked) == sum(p.amount_quote for p in paid_while_down)
            totals = second.runtime.journal.totals()
            assert totals["funding_payments"] == 2

            await second.stop_instance()  # a third start books nothing twice
            third = add_strategy(env, settings)
            await third.run_until(BTC_SETTLEMENT + HOUR + 10 * 60)
            assert third.runtime.store.records[pair_id].funding_received_quote == record.funding_received_quote
            assert third.runtime.journal.totals()["funding_payments"] == 2
            third.events.detach()
        finally:
            env.close()

    run_async(body)


def test_without_a_venue_history_the_missed_funding_is_unknown_not_zero(cross_venue: Any, tmp_path: Path) -> None:
    settings = perp_settings(tmp_path / "s.json")

    async def body() -> None:
        env = make_env(cross_venue, coins=["BTC"], start_ts=BTC_START, hours=10)
        try:
            pair_id = await _open_then_sleep_through_settlement(add_strategy(env, settings))
            for name in (BINANCE, BYBIT):  # connectors that expose no funding history (like Hummingbot's own)
                env.perps[name].funding_payment_history = None

            second = add_strategy(env, settings)
            await second.run_until(BTC_SETTLEMENT + HOUR + 5 * 60)
            rt = second.runtime
            record = rt.store.records[pair_id]
            [held] = [h for h in rt._held() if h.pair_id == pair_id]
            snapshot = rt.metrics.snapshot()

            assert rt.funding_total(record) is None and held.funding_received_quote is None
            assert rt.journal.funding_gap_pairs() == {pair_id}
            assert rt.journal.funding_payments() == []  # nothing invented
            row = next(line for line in second.strategy.format_status().splitlines() if pair_id in line)
            assert "N/A" in row
            assert _gauge_values(snapshot, "pair_funding_received_quote") == [None]
        finally:
            env.close()

    run_async(body)


def _gauge_values(snapshot: dict[str, Any], name: str) -> list[Decimal | None]:
    family = snapshot["metrics"].get(f"funding_arb_{name}", {"samples": []})
    return [sample["value"] for sample in family["samples"]]
