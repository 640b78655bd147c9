"""The JSON metrics export: valid against docs/schema/metrics_export.schema.json on the real strategy, entries and
exits in `events`, counters and events carried across a restart, and a writer killed mid-export leaves the
previous file intact."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
from integration_helpers import BTC_START, HOUR, add_strategy, first_record, make_env, perp_settings, run_async

from strategies.funding_arbitrage.core.metric_catalog import CATALOG
from strategies.funding_arbitrage.core.metrics import MetricsRegistry
from strategies.funding_arbitrage.shell.metrics_export import JsonExporter
from strategies.funding_arbitrage.shell.state import PairState

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = json.loads((ROOT / "docs" / "schema" / "metrics_export.schema.json").read_text())
D = Decimal


def validate(snapshot: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.validate(snapshot, SCHEMA, cls=jsonschema.Draft202012Validator)


def test_export_of_an_entry_and_an_exit_validates_and_lists_both_events(cross_venue: Any, tmp_path: Path) -> None:
    state, export = tmp_path / "s.json", tmp_path / "metrics.json"
    settings = perp_settings(state, metrics_export_path=str(export), metrics_export_interval_s=60)
    short_hold = perp_settings(
        state,
        metrics_export_path=str(export),
        metrics_export_interval_s=60,
        holding_horizon_hours=D(2),
        max_break_even_hours=D(2),
        max_holding_hours=D(2),
    )

    async def body() -> None:
        env = make_env(cross_venue, coins=["BTC"], start_ts=BTC_START, hours=6)
        try:
            first = add_strategy(env, settings)
            await first.run_until(BTC_START + 2.5 * HOUR)
            pair = first_record(first)
            await first.stop_instance()
            before = json.loads(export.read_text())
            fees_before = before["metrics"]["funding_arb_fees_paid_quote_total"]["samples"][0]["value"]
            second = add_strategy(env, short_hold)  # held longer than max_holding: exits
            await second.run_until(
                env.now + 30 * 60,
                stop=lambda ts: (
                    pair.pair_id in second.runtime.store.records
                    and second.runtime.store.records[pair.pair_id].state is PairState.CLOSED
                ),
            )
            await second.run_until(env.now + 120)  # one more export after the close
            second.events.detach()
            second.runtime.exporter.flush()
            after = json.loads(export.read_text())

            validate(before)
            validate(after)
            catalogued = {spec.exported for spec in CATALOG}
            for snapshot in (before, after):  # every family the strategy wrote has its HELP, unit and docs row
                assert set(snapshot["metrics"]) <= catalogued, set(snapshot["metrics"]) - catalogued
            assert "funding_arb_token_hedge_gap_ratio" in before["metrics"]  # the hedge monitor's, while held
            names = [(e["name"], e.get("pair_id"), e.get("reason")) for e in after["events"]]
            assert ("entry", pair.pair_id, None) in names  # from the first run, carried across the restart
            assert ("exit", pair.pair_id, "max_holding") in names
            fees_after = after["metrics"]["funding_arb_fees_paid_quote_total"]["samples"][0]["value"]
            assert fees_after > fees_before > 0  # the exit's fees added to the restored total
            for family in after["metrics"].values():
                if family["type"] == "counter":
                    assert family["samples"], "counters exist from the start"
        finally:
            env.close()

    run_async(body)


WRITER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from strategies.funding_arbitrage.shell import metrics_export
    path, marker = Path(sys.argv[1]), Path(sys.argv[2])
    def snapshot(version):
        return {"schema_version": 2, "ts": float(version), "metrics": {"funding_arb_x": {
            "type": "gauge", "help": "filler", "samples": [{"labels": {"i": str(i)}, "value": float(version)}
                                                          for i in range(20000)]}}, "alerts": [], "events": []}
    metrics_export.write_json(path, snapshot(1))
    real_fsync = os.fsync
    def slow_fsync(fd):  # the new file is written but not yet renamed into place: be killed here
        marker.write_text("writing")
        time.sleep(60)
        real_fsync(fd)
    os.fsync = slow_fsync
    metrics_export.write_json(path, snapshot(2))
""")


def test_writer_killed_mid_export_leaves_the_previous_file_intact(tmp_path: Path) -> None:
    path, marker = tmp_path / "metrics.json", tmp_path / "marker"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(marker)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    try:
        for _ in range(600):
            if marker.exists():
                break
            time.sleep(0.05)
        assert marker.exists(), "the writer never reached the second export"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()

    data = json.loads(path.read_text())
    assert data["ts"] == 1.0 and len(data["metrics"]["funding_arb_x"]["samples"]) == 20000
    validate(data)
    leftovers = list(tmp_path.glob(".metrics.json.*.tmp"))
    assert leftovers, "the killed write left its temp file (and never touched the target)"
    registry = MetricsRegistry()
    JsonExporter(path, 10, registry=registry).maybe_export(5.0)  # the next writer cleans up and writes
    assert not list(tmp_path.glob(".metrics.json.*.tmp"))
    validate(json.loads(path.read_text()))
