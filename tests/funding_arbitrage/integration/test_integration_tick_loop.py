"""The tick loop survives a connector that raises: the market is skipped and counted, everything else trades."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from integration_helpers import (
    BINANCE,
    BTC_START,
    BYBIT,
    HOUR,
    first_record,
    perp_settings,
    run_async,
    sim_run,
)

from strategies.funding_arbitrage.core.reasons import SkipReason
from strategies.funding_arbitrage.shell.state import PairState


def test_get_order_book_raising_for_one_pair_is_counted_and_the_strategy_keeps_trading(
    cross_venue: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = perp_settings(tmp_path / "s.json", tokens=("BTC", "DOGE"))

    async def body() -> None:
        with sim_run(cross_venue, settings, coins=["BTC", "DOGE"], start_ts=BTC_START, hours=1) as run:
            binance = run.env.connectors[BINANCE]
            real = binance.get_order_book

            def broken(trading_pair: str) -> Any:
                if trading_pair == "DOGE-USDT":
                    raise RuntimeError("order book stream died")
                return real(trading_pair)

            monkeypatch.setattr(binance, "get_order_book", broken)
            ticks: list[float] = []
            skipped: list[int] = []

            def watch(ts: float) -> None:
                if run.runtime.last_ts == ts:
                    ticks.append(ts)
                    skipped.append(run.runtime.last_decision.skipped.get(SkipReason.MISSING_SNAPSHOT, 0))

            run.on_step.append(watch)
            await run.run_until(run.env.end_ts)
            pair = first_record(run)

            assert len(ticks) >= 55  # every tick of the hour after the first ready one
            assert run.runtime.snapshots.errors["adapter_error"] >= len(ticks)  # counted at every tick
            assert set(skipped) == {1}  # the broken market is left out ...
            assert run.runtime.metrics.value("errors", kind="tick_exception") is None  # ... the tick never fails
            assert run.runtime.fatal_error is None
            assert pair.token == "BTC" and pair.state is PairState.HEDGED  # and BTC still trades
            assert {r.token for r in run.records} == {"BTC"}
            assert run.positions() == {
                (BYBIT, "BTC-USDT"): pair.long.filled_base,
                (BINANCE, "BTC-USDT"): pair.short.filled_base,
            }
            assert run.env.now >= BTC_START + HOUR - 60

    run_async(body)
