"""Debian's Prometheus scrapes the real strategy on the simulated venues with the shipped scrape config and rules.

Checks through Prometheus's HTTP API: values equal the strategy's own state; every panel query of the Grafana
dashboard and every alerting rule's series exist; no counter goes backwards across a restart of the strategy.
Needs Debian's `prometheus` and `promtool` (`apt-get install -y prometheus`); skipped with that reason if absent.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from integration_helpers import BTC_SETTLEMENT, BTC_START, SimRun, add_strategy, make_env, perp_settings
from observe_helpers import free_port

from strategies.funding_arbitrage.shell.state import PairState

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
RULES = DEPLOY / "prometheus" / "funding_arb_alerts.yml"
SCRAPE = DEPLOY / "prometheus" / "prometheus.yml"
DASHBOARD = DEPLOY / "grafana" / "funding_arb_dashboard.json"
PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
needs_prometheus = pytest.mark.skipif(
    PROMETHEUS is None or PROMTOOL is None, reason="Debian prometheus not installed (apt-get install -y prometheus)"
)
METRIC_NAME = re.compile(r"\b(funding_arb_[a-z_]+|up)\b")


@needs_prometheus
def test_promtool_accepts_the_rules_and_the_scrape_config() -> None:
    rules = subprocess.run([PROMTOOL or "promtool", "check", "rules", str(RULES)], capture_output=True, text=True)
    config = subprocess.run([PROMTOOL or "promtool", "check", "config", str(SCRAPE)], capture_output=True, text=True)

    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert config.returncode == 0, config.stdout + config.stderr


class Prometheus:
    """Debian's prometheus on 127.0.0.1 (free port, temp dir) scraping `target` every second."""

    def __init__(self, tmp: Path, target: str) -> None:
        config = yaml.safe_load(SCRAPE.read_text())
        config["global"].update(scrape_interval="1s", evaluation_interval="1s")
        config["rule_files"] = [str(RULES)]
        config["scrape_configs"][0]["static_configs"][0]["targets"] = [target]
        (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.port = free_port()
        self.log = (tmp / "prometheus.log").open("w")
        self.proc = subprocess.Popen(
            [
                PROMETHEUS or "prometheus",
                f"--config.file={tmp / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def get(self, path: str, **params: str) -> Any:
        url = f"http://127.0.0.1:{self.port}{path}" + ("?" + urllib.parse.urlencode(params) if params else "")
        with urllib.request.urlopen(url, timeout=10) as resp:
            body = json.loads(resp.read().decode())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        return list(self.get("/api/v1/query", query=expr)["result"])

    def wait_ready(self) -> None:
        """Ready and the target scraped once: Prometheus hands static targets to the scrape manager only after
        its ~5 s discovery throttle, and the steps that follow must be seen (`changes(...)` counts them)."""
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("prometheus did not become ready")
        for _ in range(300):
            if any(float(s["value"][1]) == 1 for s in self.query("up")):
                return
            time.sleep(0.1)
        raise AssertionError("prometheus never scraped the strategy")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


def value_of(result: list[dict[str, Any]]) -> float:
    assert len(result) == 1, result
    return float(result[0]["value"][1])


async def _step_while_scraped(run: SimRun, prom: Prometheus, ticks: int) -> None:
    """Advance the strategy tick by tick in wall time, so Prometheus sees it move (1 s scrapes)."""
    for _ in range(ticks):
        await run.run_until(run.env.now + 60)
        await asyncio.sleep(0.25)


async def _settle(prom: Prometheus, run: SimRun) -> None:
    """Wait until Prometheus has scraped the strategy's current state (last tick time visible)."""
    for _ in range(100):
        got = prom.query("funding_arb_last_tick_timestamp_seconds")
        if got and float(got[0]["value"][1]) == run.runtime.last_ts:
            await asyncio.sleep(1.5)  # one more scrape, so rate() windows hold the last state too
            return
        await asyncio.sleep(0.2)
    raise AssertionError("prometheus never scraped the last tick")


def _check_values(prom: Prometheus, run: SimRun) -> None:
    rt = run.runtime
    hedged = [r for r in rt.store.records.values() if r.state is PairState.HEDGED]
    paid = [p.amount_quote for v in run.env.perps.values() for p in v.funding_payments]
    assert hedged and paid, "the scenario must hold a pair through a funding settlement"
    assert value_of(prom.query("funding_arb_open_pairs")) == len(hedged)
    assert value_of(prom.query('funding_arb_equity_quote{quote="USDT"}')) == pytest.approx(
        float(rt.risk.last_equity_quote), rel=1e-9
    )
    fees = sum(r.long.fees_quote + r.short.fees_quote for r in rt.store.records.values())
    assert value_of(prom.query("funding_arb_fees_paid_quote_total")) == pytest.approx(float(fees), rel=1e-9)
    net = value_of(prom.query("funding_arb_funding_received_quote_total - funding_arb_funding_paid_quote_total"))
    assert net == pytest.approx(float(sum(paid)), rel=1e-9)
    for r in hedged:
        gap = prom.query(f'funding_arb_hedge_gap_base{{pair_id="{r.pair_id}"}}')
        assert value_of(gap) == float(r.hedge_gap_base)
    assert value_of(prom.query('funding_arb_trading_state{state="ACTIVE"}')) == 1
    assert value_of(prom.query("funding_arb_last_tick_timestamp_seconds")) == rt.last_ts
    legs = rt.risk.leg_reports
    assert legs and len(prom.query("funding_arb_liquidation_distance_ratio")) == len(legs)
    assert {s["metric"]["source"] for s in prom.query("funding_arb_margin_ratio")} <= {
        "venue",
        "estimated",
        "proxy:binance",
    }


def _panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every panel, those inside collapsed rows too (Grafana nests them under the row's `panels`)."""
    return [q for p in panels for q in [p, *_panels(p.get("panels", []))]]


def _check_dashboard_and_rules(prom: Prometheus) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in _panels(dashboard["panels"]) for t in p.get("targets", [])]
    assert exprs and len(exprs) == DASHBOARD.read_text().count('"expr"')  # no query left out of the walk
    empty = [e for e in exprs if not prom.query(e)]
    assert not empty, f"dashboard queries without a series: {empty}"
    groups = prom.get("/api/v1/rules")["groups"]
    rules = [r for g in groups for r in g["rules"]]
    assert len(rules) == len(yaml.safe_load(RULES.read_text())["groups"][0]["rules"])
    assert all(r["health"] == "ok" for r in rules), [(r["name"], r.get("lastError")) for r in rules]
    for r in rules:  # a rule's condition may be false; the series it watches must exist
        for name in set(METRIC_NAME.findall(r["query"])):
            assert prom.query(f'count({{__name__="{name}"}})'), f"{r['name']}: no series {name}"


def test_prometheus_scrapes_the_strategy_dashboard_and_rules_have_series_counters_survive_restart(
    cross_venue: Any, tmp_path: Path
) -> None:
    if PROMETHEUS is None:
        pytest.skip("Debian prometheus not installed (apt-get install -y prometheus)")
    port = free_port()
    settings = perp_settings(
        tmp_path / "state.json",
        prometheus_port=port,
        metrics_export_path=str(tmp_path / "metrics.json"),
        metrics_export_interval_s=60,
    )

    async def body() -> None:
        env = make_env(cross_venue, coins=["BTC"], start_ts=BTC_START, hours=12)
        run = add_strategy(env, settings)
        prom = Prometheus(tmp_path, f"127.0.0.1:{port}")
        try:
            await run.run_until(BTC_SETTLEMENT + 10 * 60)  # entered, then paid at the 00:00 settlement
            prom.wait_ready()
            await _step_while_scraped(run, prom, 12)
            await _settle(prom, run)
            _check_values(prom, run)
            _check_dashboard_and_rules(prom)
            before = {
                s["metric"]["__name__"] + json.dumps(s["metric"], sort_keys=True): float(s["value"][1])
                for s in prom.query('{__name__=~"funding_arb_.+_total"}')
            }

            await run.stop_instance()  # restart: a new instance of the script on the same venues
            await asyncio.sleep(2)
            run = add_strategy(env, settings)
            await _step_while_scraped(run, prom, 8)
            await _settle(prom, run)

            after = {
                s["metric"]["__name__"] + json.dumps(s["metric"], sort_keys=True): float(s["value"][1])
                for s in prom.query('{__name__=~"funding_arb_.+_total"}')
            }
            assert before and set(before) <= set(after)
            assert all(after[k] >= v for k, v in before.items()), {k: (v, after[k]) for k, v in before.items()}
            for name in {s["metric"]["__name__"] for s in prom.query('{__name__=~"funding_arb_.+_total"}')}:
                assert not prom.query(f"resets({name}[10m]) > 0"), name
            assert prom.query("changes(funding_arb_last_tick_timestamp_seconds[10m]) > 2")  # both runs scraped
            _check_values(prom, run)
        finally:
            prom.stop()
            run.close()

    asyncio.run(body())
