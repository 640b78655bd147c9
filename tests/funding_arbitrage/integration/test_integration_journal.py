"""The journal holds what the tracker and the pair store hold (journal = memory), and survives a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from integration_helpers import BTC_START, HOUR, first_record, perp_settings, run_async, sim_run

from strategies.funding_arbitrage.shell.journal import Journal
from strategies.funding_arbitrage.shell.state import PairState


def test_every_order_fill_and_pair_transition_is_in_the_journal(cross_venue: Any, tmp_path: Path) -> None:
    async def body() -> None:
        with sim_run(
            cross_venue, perp_settings(tmp_path / "s.json"), coins=["BTC"], start_ts=BTC_START, hours=3
        ) as run:
            await run.run_until(
                BTC_START + 2 * HOUR, stop=lambda ts: bool(run.records) and first_record(run).state is PairState.HEDGED
            )
            pair = first_record(run)
            tracker = {o.client_order_id: o for o in run.runtime.store.tracker.all()}

            journal = Journal(tmp_path / "s.journal.sqlite")  # a second reader, as `ctl status` would be
            orders = {d["client_order_id"]: d for d in journal.load_orders()}
            assert set(orders) == set(tracker) and tracker
            assert all(orders[k]["status"] == o.status.value for k, o in tracker.items())
            assert {d["pair_id"]: d["state"] for d in journal.load_pairs()} == {pair.pair_id: "HEDGED"}
            assert [t[2] for t in journal.transitions(pair.pair_id)][-1] == "HEDGED"
            fills = journal.fills()
            assert {f[0] for f in fills} <= set(tracker) and len(fills) >= 2
            assert journal.totals()["fills"] == len(fills)

    run_async(body)
