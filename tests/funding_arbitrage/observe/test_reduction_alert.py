"""`leverage_reduction_failed.<pair>` (shell/metrics_publish.py) fires only for a reduction that really failed.

Scenario (as test_integration_risk): BTC at 20x starts ~4.6 % from liquidation, the risk gate cuts at 3.8 %, so
BTC's next move makes it close the whole pair. A close takes a tick (the venue fills on its own tick): that is a
reduction in progress at any tick length, never a failure. A rejected reduction, or one whose orders are still
working more than `single_leg_timeout_s` after they could first have filled, is a failure and raises the alert.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from integration_helpers import (
    BINANCE,
    BTC_START,
    BYBIT,
    D,
    SimRun,
    first_record,
    perp_settings,
    run_async,
    sim_run,
)

from strategies.funding_arbitrage.core import risk
from strategies.funding_arbitrage.shell import execution
from strategies.funding_arbitrage.shell.state import PairState
from strategies.funding_arbitrage.sim.faults import FaultConfig, FaultInjector

FAILED = "leverage_reduction_failed."


@pytest.fixture
def reduction_records() -> Iterator[list[logging.LogRecord]]:
    """Every record of the risk gate's and the executor's loggers, by a handler of their own: in the whole suite an
    earlier test installs the redacting filter on every handler (core/test_log_redaction.py), which turns the records
    pytest's caplog sees into their redacted message without arguments."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append  # type: ignore[method-assign]
    loggers = [logging.getLogger(m.__name__) for m in (risk, execution)]
    saved = [(lg.disabled, lg.level) for lg in loggers]
    for lg in loggers:
        lg.disabled, lg.level = False, logging.DEBUG
        lg.addHandler(handler)
    yield records
    for lg, (disabled, level) in zip(loggers, saved, strict=True):
        lg.removeHandler(handler)
        lg.disabled, lg.level = disabled, level


def _settings(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    return perp_settings(
        tmp_path / "s.json",
        leverage={BINANCE: 20, BYBIT: 20},
        min_liquidation_distance_pct=D("3.8"),
        max_errors_per_window=1000,
        **overrides,
    )


def _raised(run: SimRun) -> list[str]:
    """Names of every alert raised from now on (a flapping alert shows once per raise)."""
    names: list[str] = []
    run.runtime.metrics.add_alert_listener(lambda a, t: names.append(a.name) if t == "raised" else None)
    return names


def _asked(run: SimRun) -> bool:
    report = run.runtime.last_risk
    return bool(report and report.reduce_actions)


def _set_faults(run: SimRun, config: FaultConfig) -> None:
    for connector in (BINANCE, BYBIT):
        run.env.perps[connector]._faults = FaultInjector(config, connector)


@pytest.mark.parametrize("tick_s", [60.0, 300.0])
def test_a_whole_pair_close_in_progress_raises_no_failure_alert(
    cross_venue: Any, tmp_path: Path, tick_s: float
) -> None:
    async def body() -> None:
        with sim_run(
            cross_venue, _settings(tmp_path), coins=["BTC"], start_ts=BTC_START, hours=12, tick_s=tick_s
        ) as run:
            raised = _raised(run)
            await run.run_until(run.env.end_ts, stop=lambda ts: bool(run.records) and not first_record(run).is_open)
            r = first_record(run)
            await run.run_until(run.env.now + tick_s)  # one more tick sees it closed

            assert r.state is PairState.CLOSED and r.long.filled_base == 0 and r.short.filled_base == 0
            assert run.runtime.metrics.value("leverage_reductions", reason="liquidation_distance") == 1
            assert any(n.startswith("risk.liquidation_near.") for n in raised)  # the gate did ask for the close
            assert [n for n in raised if n.startswith(FAILED)] == []
            assert run.runtime.observer._reduce_since == {}  # nothing left pending either

    run_async(body)


@pytest.mark.parametrize("tick_s", [60.0, 300.0])
def test_one_close_is_one_reduction_and_one_risk_reduce_record(
    cross_venue: Any, tmp_path: Path, tick_s: float, reduction_records: list[logging.LogRecord]
) -> None:
    """The gate asks on every tick until the close has filled (two ticks here); one reduction is sent, and it is logged
    once: the `risk_reduce` records equal the reductions counted and the pair's one UNWINDING transition."""

    async def body() -> None:
        with sim_run(
            cross_venue, _settings(tmp_path), coins=["BTC"], start_ts=BTC_START, hours=12, tick_s=tick_s
        ) as run:
            asks: list[float] = []
            run.on_step.append(lambda ts: asks.append(ts) if _asked(run) else None)
            await run.run_until(run.env.end_ts, stop=lambda ts: bool(run.records) and not first_record(run).is_open)
            await run.run_until(run.env.now + tick_s)
            pair_id = first_record(run).pair_id

            logged = [
                rec
                for rec in reduction_records
                if rec.getMessage().startswith("risk_reduce") and f"pair={pair_id} " in rec.getMessage()
            ]
            assert len(asks) >= 2  # asked on consecutive ticks while the close was in flight ...
            assert (
                run.runtime.metrics.value("leverage_reductions", reason="liquidation_distance") == 1
            )  # ... one action
            assert len(logged) == 1  # ... one record

    run_async(body)


def test_a_rejected_reduction_raises_the_failure_alert(cross_venue: Any, tmp_path: Path) -> None:
    async def body() -> None:
        with sim_run(cross_venue, _settings(tmp_path), coins=["BTC"], start_ts=BTC_START, hours=12) as run:
            await run.run_until_hedged(run.env.end_ts)
            _set_faults(run, FaultConfig(reject_probability=1.0))
            raised = _raised(run)
            await run.run_until(run.env.end_ts, stop=lambda ts: _asked(run))
            assert [n for n in raised if n.startswith(FAILED)] == []  # the tick it was asked: in progress

            await run.run_until(run.env.now + 2 * 60)  # the orders were rejected; the pair is still near

            r = first_record(run)
            assert r.long.filled_base > 0 and r.short.filled_base < 0  # nothing was reduced
            assert f"{FAILED}{r.pair_id}" in raised
            assert any(a.name == f"{FAILED}{r.pair_id}" for a in run.runtime.metrics.alerts())

    run_async(body)


def test_a_reduction_not_filled_within_the_bound_raises_the_failure_alert(cross_venue: Any, tmp_path: Path) -> None:
    """Orders the venue takes but fills only after an hour: in progress on the tick after they were sent, failed once
    they are still working more than single_leg_timeout_s (30 s) after that tick."""

    async def body() -> None:
        with sim_run(cross_venue, _settings(tmp_path), coins=["BTC"], start_ts=BTC_START, hours=12) as run:
            await run.run_until_hedged(run.env.end_ts)
            _set_faults(run, FaultConfig(fill_delay_s=3600.0))
            raised = _raised(run)
            await run.run_until(run.env.end_ts, stop=lambda ts: _asked(run))
            pair_id = first_record(run).pair_id
            await run.run_until(run.env.now + 60)  # the first tick that could have its fills: still in progress
            assert [n for n in raised if n.startswith(FAILED)] == []
            assert run.runtime.executor.has_pending(first_record(run))

            await run.run_until(run.env.now + 60)  # 60 s later, beyond the 30 s bound, still working

            assert first_record(run).is_open  # not reduced (the executor's timeout cancels and re-sends them)
            assert f"{FAILED}{pair_id}" in raised

    run_async(body)
