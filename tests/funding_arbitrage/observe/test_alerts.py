"""Critical events on the simulated venues reach a person: a local webhook receives them through apprise.

The channel is apprise's `json://user:SECRET@127.0.0.1:PORT/hook` in $FUNDING_ARB_ALERT_URLS; the secret must
appear in no payload, no log line and no metrics export. Scenarios reuse the integration windows (BTC from
2025-03-09T16:00Z enters within minutes).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hummingbot.core.data_type.common import OrderType, PositionAction
from integration_helpers import (
    BINANCE,
    BTC_START,
    BYBIT,
    HOUR,
    SimRun,
    add_strategy,
    first_record,
    make_env,
    perp_settings,
    run_async,
    sim_run,
)
from observe_helpers import free_port

from strategies.funding_arbitrage.core.metrics import MetricsRegistry
from strategies.funding_arbitrage.shell.alerts import ALERT_URLS_ENV, AlertNotifier
from strategies.funding_arbitrage.shell.state import PairState
from strategies.funding_arbitrage.sim.faults import FaultConfig, FaultInjector

SECRET = "s3cretW3bh00kT0ken9"
D = Decimal


class Receiver:
    """A local webhook: every POST body, parsed as JSON."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.raw: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                text = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                outer.raw.append(text)
                outer.bodies.append(json.loads(text))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"json://alerts:{SECRET}@127.0.0.1:{self.server.server_port}/hook"

    def titles(self) -> list[str]:
        return [b["title"] for b in self.bodies]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> Iterator[Receiver]:
    caplog.set_level(logging.DEBUG)
    r = Receiver()
    monkeypatch.setenv(ALERT_URLS_ENV, r.url)
    yield r
    r.close()
    assert all(SECRET not in text for text in r.raw)  # never in a payload
    assert SECRET not in caplog.text  # never in a log line
    assert all(SECRET not in rec.getMessage() for rec in caplog.records)


def _delivered(run: SimRun, receiver: Receiver, export: Path | None = None) -> list[str]:
    run.runtime.alerts.flush()
    snapshot = json.dumps(run.runtime.metrics.snapshot())
    assert SECRET not in snapshot and (export is None or SECRET not in export.read_text())
    return receiver.titles()


def _reject_all(run: SimRun, connector: str) -> None:
    venue = run.env.perps[connector]
    venue._faults = FaultInjector(FaultConfig(reject_probability=1.0), connector)


def test_halt_is_delivered_to_the_webhook_once(cross_venue: Any, tmp_path: Path, receiver: Receiver) -> None:
    export = tmp_path / "metrics.json"
    settings = perp_settings(
        tmp_path / "s.json", max_errors_per_window=2, error_window_s=3600, metrics_export_path=str(export)
    )

    async def body() -> None:
        with sim_run(
            cross_venue,
            settings,
            coins=["BTC"],
            start_ts=BTC_START,
            hours=2,
            faults={BYBIT: FaultConfig(reject_probability=1.0)},
        ) as run:
            await run.run_until(run.env.end_ts)
            _delivered(run, receiver, export)

            assert run.runtime.risk.halt_reason is not None
            halted = [b["message"] for b in receiver.bodies if b["title"] == "funding-arb CRITICAL: risk.halted"]
            assert len(halted) == 2  # raised, then one reminder an hour later (alert_repeat_s) while it lasts
            assert halted[0].startswith("trading halted: error burst")
            assert halted[1].startswith("still active since 2025-03-09 16:") and "error burst" in halted[1]
            assert any(e["name"] == "halt" for e in run.runtime.metrics.snapshot()["events"])

    run_async(body)


def test_liquidation_risk_and_a_failed_leverage_reduction_are_delivered(
    cross_venue: Any, tmp_path: Path, receiver: Receiver
) -> None:
    # 20x starts ~4.6 % from liquidation, the strategy cuts at 3.8 % (a new leg is allowed: 4.6 >= 1.2 x 3.8); every
    # reduction order is rejected, and BTC's next move brings a leg under the cut
    settings = perp_settings(
        tmp_path / "s.json",
        leverage={BINANCE: 20, BYBIT: 20},
        min_liquidation_distance_pct=D("3.8"),
        max_errors_per_window=1000,
    )

    async def body() -> None:
        with sim_run(cross_venue, settings, coins=["BTC"], start_ts=BTC_START, hours=12) as run:
            await run.run_until_hedged(run.env.end_ts)
            _reject_all(run, BYBIT)
            _reject_all(run, BINANCE)
            risk = run.runtime
            await run.run_until(run.env.end_ts, stop=lambda ts: bool(risk.last_risk and risk.last_risk.reduce_actions))
            await run.run_until(run.env.now + 10 * 60)
            titles = _delivered(run, receiver)

            assert any(".risk.liquidation_near." in t or ": risk.liquidation_near." in t for t in titles), titles
            assert any(": leverage_reduction_failed." in t for t in titles), titles
            assert first_record(run).long.filled_base > 0  # nothing was reduced: the alert is the truth

    run_async(body)


def test_failed_close_is_delivered(cross_venue: Any, tmp_path: Path, receiver: Receiver) -> None:
    state = tmp_path / "s.json"
    short_hold = perp_settings(state, holding_horizon_hours=D(2), max_break_even_hours=D(2), max_holding_hours=D(2))

    async def body() -> None:
        env = make_env(cross_venue, coins=["BTC"], start_ts=BTC_START, hours=6)
        try:
            first = add_strategy(env, perp_settings(state))
            await first.run_until(BTC_START + 2.5 * HOUR)
            assert first_record(first).state is PairState.HEDGED
            await first.strategy.on_stop()
            env.clock.remove_iterator(first.strategy)
            first.strategy.remove_markets(list(env.connectors.values()))
            first.events.detach()
            second = add_strategy(env, short_hold)  # held longer than max_holding: it exits ...
            _reject_all(second, BINANCE)  # ... and the close of the binance leg is rejected
            pair_id = first_record(second).pair_id
            await second.run_until(env.now + 90 * 60)  # the close retries with backoff, then escalates
            titles = _delivered(second, receiver)
            second.events.detach()

            # the lifecycle's escalation (`pair.<id>`, critical) or, before it existed, the FAILED state's alert
            assert any(t.endswith(f": pair.{pair_id}") or t.endswith(f": close_failed.{pair_id}") for t in titles), (
                titles
            )
        finally:
            env.close()

    run_async(body)


def test_orphan_position_found_at_start_is_delivered(cross_venue: Any, tmp_path: Path, receiver: Receiver) -> None:
    async def body() -> None:
        env = make_env(cross_venue, coins=["BTC", "ETH"], start_ts=BTC_START, hours=1)
        try:
            await env.start()
            env.perps[BINANCE].buy("ETH-USDT", D("0.1"), OrderType.MARKET, position_action=PositionAction.OPEN)
            for _ in range(2):
                await env.step()
            run = add_strategy(env, perp_settings(tmp_path / "s.json", tokens=("BTC", "ETH")))
            await run.run_until(env.now + 10 * 60)
            titles = _delivered(run, receiver)
            run.events.detach()

            # restart recovery's critical alert (journal) or, before it existed, the orphan alert of the observer
            assert (
                "funding-arb CRITICAL: restart_recovery" in titles
                or "funding-arb CRITICAL: orphan_position.sim_binance_perpetual.ETH-USDT" in titles
            ), titles
        finally:
            env.close()

    run_async(body)


def test_hedge_gap_made_on_the_venue_is_delivered(cross_venue: Any, tmp_path: Path, receiver: Receiver) -> None:
    async def body() -> None:
        env = make_env(cross_venue, coins=["BTC"], start_ts=BTC_START, hours=2)
        try:
            run = add_strategy(env, perp_settings(tmp_path / "s.json"))
            await run.run_until_hedged(env.end_ts)
            pair = first_record(run)
            env.perps[BINANCE].buy(
                "BTC-USDT", abs(pair.short.filled_base) / 2, OrderType.MARKET, position_action=PositionAction.CLOSE
            )  # a hedge gap made by hand
            await run.run_until(env.now + 10 * 60)
            titles = _delivered(run, receiver)
            run.events.detach()

            # the hedge-gap monitor (core/hedge.py, branch exec) raises the critical `hedge_gap_limit` (per
            # token: `hedge_gap.<token>`); the pair lifecycle / reconcile names stay accepted
            assert any(
                t
                in (
                    "funding-arb CRITICAL: hedge_gap_limit",
                    f"funding-arb CRITICAL: hedge_gap.{pair.token}",
                    f"funding-arb CRITICAL: pair.{pair.pair_id}",
                    "funding-arb CRITICAL: reconcile_mismatch",
                    f"funding-arb CRITICAL: hedge_gap.{pair.pair_id}",
                )
                for t in titles
            ), titles
        finally:
            env.close()

    run_async(body)


def test_flapping_alert_is_sent_once_within_the_repeat_time(receiver: Receiver) -> None:
    metrics = MetricsRegistry()
    notifier = AlertNotifier(metrics, [receiver.url], repeat_s=3600)
    for ts in (0.0, 100.0, 200.0):
        metrics.alert("risk.halted", "critical", f"halted {ts}", ts)
        metrics.clear_alert("risk.halted", ts + 10)
    metrics.alert("risk.halted", "critical", "halted again", 4000.0)
    metrics.alert("risk.stale_data.x", "warning", "not critical: not sent", 4000.0)
    notifier.flush()
    notifier.close()

    assert receiver.titles() == ["funding-arb CRITICAL: risk.halted"] * 3  # raised, resolved, raised after 1 h
    assert [b["message"] for b in receiver.bodies] == ["halted 0.0", "resolved: halted 0.0", "halted again"]
    assert metrics.value("alert_notifications", result="suppressed") == 2
    assert metrics.value("alert_notifications", result="sent") == 3
