"""metrics.py and redaction.py: Prometheus over HTTP, unknown is absent, atomic JSON, secrets masked."""

from __future__ import annotations

import ast
import json
import os
import socket
import urllib.error
import urllib.request
from decimal import Decimal as D
from pathlib import Path

import pytest

from strategies.funding_arbitrage.core.metrics import (
    MetricsError,
    MetricsRegistry,
    Severity,
)
from strategies.funding_arbitrage.core.redaction import redact
from strategies.funding_arbitrage.core.risk import RiskAlert
from strategies.funding_arbitrage.shell import metrics_export
from strategies.funding_arbitrage.shell.metrics_export import (
    JsonExporter,
    MetricsServerError,
    PrometheusServer,
    write_json,
)

ROOT = Path(__file__).resolve().parents[3]
BINANCE_STYLE_KEY = "FAKEk3y9Qw2Er5Ty8Ui1Op4As7Df0Gh3Jk6Lz9Xc"  # made up, key-shaped
HEX_SECRET = "9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c" * 2


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        return str(resp.read().decode())


def sample_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


@pytest.fixture
def registry() -> MetricsRegistry:
    r = MetricsRegistry()
    r.inc("entries", token="BTC")
    r.inc("entries", token="BTC")
    r.add("fees_quote", D("1.25"))
    r.gauge("equity_quote", D("10250.5"))
    r.gauge("liquidation_distance_pct", D("22.5"), pair="p1", connector="binance_perpetual")
    r.gauge("liquidation_distance_pct", None, pair="p2", connector="hyperliquid_perpetual")  # unknown
    r.define_histogram("tick_latency_s", [0.1, 0.5, 1.0], "tick duration")
    r.observe("tick_latency_s", 0.05)
    r.observe("tick_latency_s", 0.7)
    return r


# --- Prometheus ----------------------------------------------------------------------------------------
def test_prometheus_scrape_over_http_returns_the_registry(registry: MetricsRegistry) -> None:
    port = free_port()
    server = PrometheusServer(registry, port)
    server.start()
    try:
        assert server.port == port
        lines = sample_lines(scrape(port))
        assert 'funding_arb_entries_total{token="BTC"} 2.0' in lines
        assert "funding_arb_fees_quote_total 1.25" in lines
        assert "funding_arb_equity_quote 10250.5" in lines
        assert 'funding_arb_liquidation_distance_pct{connector="binance_perpetual",pair="p1"} 22.5' in lines
        assert 'funding_arb_tick_latency_s_bucket{le="0.5"} 1.0' in lines
        assert 'funding_arb_tick_latency_s_bucket{le="+Inf"} 2.0' in lines
        assert "funding_arb_tick_latency_s_count 2.0" in lines
        registry.gauge("equity_quote", D("9000"))  # rendered at scrape time
        assert "funding_arb_equity_quote 9000.0" in sample_lines(scrape(port))
    finally:
        server.stop()
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        scrape(port)  # stopped: the socket is closed


def test_unknown_gauge_is_absent_from_prometheus_never_zero(registry: MetricsRegistry) -> None:
    server = PrometheusServer(registry, 0)  # 0: the OS picks a free port
    server.start()
    try:
        assert server.port is not None
        body = scrape(server.port)
    finally:
        server.stop()
    assert "hyperliquid_perpetual" not in body  # no sample at all for the unknown series
    assert all(line.startswith("funding_arb_") for line in sample_lines(body))


def test_prometheus_port_in_use_is_a_clear_error(registry: MetricsRegistry) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with pytest.raises(MetricsServerError, match=f"prometheus_port \\({port}\\)"):
            PrometheusServer(registry, port).start()


def test_alerts_are_exported_as_active_flags(registry: MetricsRegistry) -> None:
    registry.alert("risk.halted", "critical", "trading halted", 10)
    registry.alert("metrics.export_failed", Severity.WARNING, "disk full", 10)
    registry.clear_alert("metrics.export_failed", 20)
    lines = [line for line in sample_lines(_render(registry)) if line.startswith("funding_arb_alert_active")]
    assert 'funding_arb_alert_active{alert="risk.halted",severity="critical"} 1.0' in lines
    assert 'funding_arb_alert_active{alert="metrics.export_failed",severity="warning"} 0.0' in lines


def _render(registry: MetricsRegistry) -> str:
    from prometheus_client import CollectorRegistry, generate_latest

    prom = CollectorRegistry()
    prom.register(metrics_export._Collector(registry))
    return generate_latest(prom).decode()


# --- snapshot ------------------------------------------------------------------------------------------
def test_snapshot_is_strict_json_with_null_for_unknown(registry: MetricsRegistry) -> None:
    registry.gauge("margin_ratio", D("Infinity"), pair="p9")
    snap = registry.snapshot(100.0)
    json.dumps(snap, allow_nan=False)  # strict JSON
    samples = snap["metrics"]["funding_arb_liquidation_distance_pct"]["samples"]
    dist = {s["labels"]["pair"]: s["value"] for s in samples}
    assert dist == {"p1": 22.5, "p2": None}
    assert snap["metrics"]["funding_arb_margin_ratio"]["samples"][0]["value"] == "+Inf"
    entries = snap["metrics"]["funding_arb_entries_total"]["samples"]
    assert entries == [{"labels": {"token": "BTC"}, "value": 2}]
    hist = snap["metrics"]["funding_arb_tick_latency_s"]["samples"][0]
    assert hist["buckets"] == {"0.1": 1, "0.5": 1, "1.0": 2, "+Inf": 2} and hist["count"] == 2
    assert snap["ts"] == 100.0 and snap["schema_version"] == 2


def test_counters_are_monotonic_and_labels_consistent() -> None:
    r = MetricsRegistry()
    r.inc("errors", kind="venue_error")
    with pytest.raises(MetricsError, match="must not be negative"):
        r.add("funding_quote", D("-0.5"))
    with pytest.raises(MetricsError, match="labels"):
        r.inc("errors")
    with pytest.raises(MetricsError, match="is a counter"):
        r.gauge("errors", 1, kind="x")
    with pytest.raises(MetricsError, match="NaN"):
        r.gauge("equity_quote", D("NaN"))
    with pytest.raises(MetricsError, match="define_histogram"):
        r.observe("undeclared", 1.0)


def test_signed_running_totals_use_a_gauge() -> None:
    r = MetricsRegistry()
    r.gauge_add("funding_net_quote", D("1.5"), connector="binance_perpetual")
    r.gauge_add("funding_net_quote", D("-2.25"), connector="binance_perpetual")
    assert r.value("funding_net_quote", connector="binance_perpetual") == D("-0.75")
    r.gauge("equity_quote", None)
    r.gauge_add("equity_quote", D("5"))
    assert r.value("equity_quote") is None  # unknown + 5 is still unknown


def test_sync_alerts_keeps_first_ts_and_clears_only_its_prefix() -> None:
    r = MetricsRegistry()
    r.alert("metrics.export_failed", "warning", "disk full", 5)
    r.sync_alerts(10, [RiskAlert("risk.halted", Severity.CRITICAL, "drawdown")], "risk.")
    r.sync_alerts(20, [RiskAlert("risk.halted", Severity.CRITICAL, "drawdown")], "risk.")
    halted = next(a for a in r.alerts() if a.name == "risk.halted")
    assert (halted.first_ts, halted.last_ts, halted.active) == (10, 20, True)
    r.sync_alerts(30, [], "risk.")
    state = {a.name: a.active for a in r.alerts()}
    assert state == {"risk.halted": False, "metrics.export_failed": True}


def test_gauge_series_can_be_removed_when_a_pair_closes(registry: MetricsRegistry) -> None:
    registry.remove_gauge("liquidation_distance_pct", pair="p1", connector="binance_perpetual")
    samples = registry.snapshot()["metrics"]["funding_arb_liquidation_distance_pct"]["samples"]
    assert [s["labels"]["pair"] for s in samples] == ["p2"]
    registry.clear_gauge("liquidation_distance_pct")
    assert registry.snapshot()["metrics"]["funding_arb_liquidation_distance_pct"]["samples"] == []


# --- atomic JSON ---------------------------------------------------------------------------------------
def test_write_json_crash_mid_write_leaves_the_old_file_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, registry: MetricsRegistry
) -> None:
    path = tmp_path / "metrics.json"
    write_json(path, {"generation": 1})

    def crash(src: str, dst: str) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(metrics_export.os, "replace", crash)
    with pytest.raises(OSError, match="power cut"):
        write_json(path, registry.snapshot(1.0))
    assert json.loads(path.read_text()) == {"generation": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]  # no temp file left behind


def test_write_json_replaces_with_fsynced_complete_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, registry: MetricsRegistry
) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(metrics_export.os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    path = tmp_path / "sub" / "metrics.json"
    write_json(path, registry.snapshot(2.0))
    assert json.loads(path.read_text())["ts"] == 2.0
    assert synced  # data flushed to disk before the rename


def test_json_exporter_writes_only_when_the_interval_elapsed(tmp_path: Path, registry: MetricsRegistry) -> None:
    exporter = JsonExporter(tmp_path / "m.json", 10, registry)
    assert exporter.maybe_export(0) is True
    assert exporter.maybe_export(9.9) is False
    assert json.loads((tmp_path / "m.json").read_text())["ts"] == 0
    assert exporter.maybe_export(10) is True
    assert json.loads((tmp_path / "m.json").read_text())["ts"] == 10


def test_json_exporter_accepts_a_ready_snapshot(tmp_path: Path, registry: MetricsRegistry) -> None:
    exporter = JsonExporter(tmp_path / "m.json", 5)
    assert exporter.maybe_export(1, registry.snapshot()) is True
    with pytest.raises(ValueError, match="needs a snapshot or a registry"):
        exporter.maybe_export(10)


def test_json_export_failure_raises_an_alert_and_retries(tmp_path: Path, registry: MetricsRegistry) -> None:
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("x")
    exporter = JsonExporter(blocker / "m.json", 10, registry)
    assert exporter.maybe_export(0) is False
    assert exporter.last_error is not None
    assert [a.name for a in registry.alerts(active_only=True)] == [JsonExporter.ALERT]
    exporter.path = tmp_path / "m.json"
    assert exporter.maybe_export(1) is True  # not throttled after a failure
    assert registry.alerts(active_only=True) == []


# --- redaction -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, secret",
    [
        (f"apiKey={BINANCE_STYLE_KEY}", BINANCE_STYLE_KEY),
        ("api_key: abc123", "abc123"),
        ("secret=hunter2", "hunter2"),
        ('payload {"secret": "s3cr3t"}', "s3cr3t"),
        ("passphrase=mypass", "mypass"),
        ("Authorization: Bearer eyJhbGciOi.J9.abc", "eyJhbGciOi"),
        (f"signed with {HEX_SECRET}", HEX_SECRET),
        (f"private key 0x{HEX_SECRET}", HEX_SECRET),
        ("okx key 1b7e4f0a-3c2d-4e5f-8a9b-0c1d2e3f4a5b rejected", "1b7e4f0a-3c2d"),
        (f"error for {BINANCE_STYLE_KEY}", BINANCE_STYLE_KEY),
        ("bybit key XbQ8n2LpR4tV6yZ1aC", "XbQ8n2LpR4tV6yZ1aC"),
    ],
)
def test_redact_masks_credentials(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out and "***" in out


@pytest.mark.parametrize(
    "text",
    [
        "token=BTC",
        "binance_perpetual",
        "BTC-USDT",
        "ETH/USDT:USDT",
        "1700000000.5",
        "pair=BTC:1700000000",
        "drawdown 500 quote from peak 10400 to 9900",
        "risk.stale_data.bybit_perpetual",
        "1000PEPE-USDT",
    ],
)
def test_redact_leaves_ordinary_text_alone(text: str) -> None:
    assert redact(text) == text


def test_label_values_and_alert_messages_are_redacted_on_export() -> None:
    r = MetricsRegistry()
    r.inc("errors", kind=f"rejected key={BINANCE_STYLE_KEY}")
    r.alert("venue.auth", "critical", f"auth failed secret={BINANCE_STYLE_KEY}", 1)
    r.event(1, "reject", f"order rejected for {BINANCE_STYLE_KEY}")
    assert BINANCE_STYLE_KEY not in json.dumps(r.snapshot(1))
    assert BINANCE_STYLE_KEY not in _render(r)


# --- boundary ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "module", ["core/margin.py", "core/risk.py", "core/metrics.py", "shell/metrics_export.py", "core/redaction.py"]
)
def test_core_modules_do_not_import_hummingbot_or_read_the_clock(module: str) -> None:
    source = (ROOT / "strategies" / "funding_arbitrage" / module).read_text()
    tree = ast.parse(source)
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not any(name.split(".")[0] == "hummingbot" for name in imported)
    assert "time.time(" not in source and "datetime.now(" not in source
