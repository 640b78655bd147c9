"""`decision_interval_s` on the simulated venues: the engine decides every interval of the clock, while execution
and the kill switch act on the ticks in between."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from integration_helpers import BTC_START, HOUR, perp_settings, run_async, sim_run

from strategies.funding_arbitrage.core.risk import TradingState
from strategies.funding_arbitrage.shell.state import PairState

INTERVAL_S = 600


def test_decisions_follow_the_interval_and_the_kill_switch_acts_between_them(cross_venue: Any, tmp_path: Path) -> None:
    settings = perp_settings(
        tmp_path / "s.json", kill_switch_file=str(tmp_path / "KILL"), decision_interval_s=INTERVAL_S
    )

    async def body() -> None:
        with sim_run(cross_venue, settings, coins=["BTC"], start_ts=BTC_START, hours=4) as run:
            decided: list[float] = []
            states: list[tuple[float, PairState]] = []

            def hook(ts: float) -> None:
                if run.runtime.decided_ts == ts:
                    decided.append(ts)
                states.extend((ts, r.state) for r in run.records)

            run.on_step.append(hook)
            await run.run_until(BTC_START + 2 * HOUR)

            assert len(decided) >= 2 and all(b - a == INTERVAL_S for a, b in itertools.pairwise(decided))
            # the entry's legs were sent at a decision and hedged on later ticks, between decisions
            hedged_at = [ts for ts, state in states if state is PairState.HEDGED]
            assert hedged_at and not set(hedged_at) <= set(decided)

            while run.env.now + run.env.tick_s - decided[-1] >= INTERVAL_S:  # step to a tick that decides nothing
                await run.run_until(run.env.now + run.env.tick_s)
            (tmp_path / "KILL").touch()
            await run.run_until(run.env.now + run.env.tick_s)
            assert run.runtime.decided_ts != run.env.now  # no decision on this tick ...
            assert run.runtime.risk.state is TradingState.HALTED  # ... yet the kill switch acted on it
            assert "kill-switch" in (run.runtime.risk.halt_reason or "")

    run_async(body)
