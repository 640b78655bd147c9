"""The metric catalog: Prometheus naming conventions, docs/metrics.md equal to it, series initialised at start,
counters restored (never lowered), alert listeners, the dashboard JSON well formed."""

from __future__ import annotations

import json
import re
from decimal import Decimal as D
from pathlib import Path

import pytest

from strategies.funding_arbitrage.core.metric_catalog import CATALOG, label_domains
from strategies.funding_arbitrage.core.metrics import MetricsError, MetricsRegistry

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs" / "metrics.md"
DASHBOARD = ROOT / "deploy" / "grafana" / "funding_arb_dashboard.json"


def declared() -> MetricsRegistry:
    r = MetricsRegistry()
    r.declare_catalog(CATALOG, label_domains(["BTC", "ETH"], ["a_perpetual", "b_perpetual"], ["USDT"]))
    return r


@pytest.mark.parametrize("spec", CATALOG, ids=lambda s: s.name)
def test_names_follow_prometheus_conventions(spec) -> None:
    assert re.fullmatch(r"[a-z][a-z0-9_]*", spec.name)
    assert not re.search(r"_(pct|percent|hours|hour|ms|minutes)(_|$)", spec.name)  # base units only
    assert not spec.name.endswith("_total")  # added on export for counters only
    assert ("quote" in spec.labels) == spec.name.endswith("_quote") or spec.name.endswith("_quote_per_second")
    assert (len(spec.help) > len(spec.name.replace("_", " ")) and spec.help.endswith(")")) or spec.help.endswith(".")


def test_docs_table_equals_the_catalog() -> None:
    rows = re.findall(r"^\| `(funding_arb_[a-z_]+)` \| (\w+) \| ([^|]*) \|", DOCS.read_text(), re.M)
    documented = {name: (kind, tuple(re.findall(r"`(\w+)`", labels))) for name, kind, labels in rows}
    assert documented == {s.exported: (s.kind, s.labels) for s in CATALOG}


def test_every_counter_of_a_finite_domain_exists_at_zero_before_its_first_event() -> None:
    r = declared()

    assert r.value("entries", token="ETH") == 0
    assert r.value("errors", kind="order_failed") == 0
    assert r.value("fees_paid_quote", quote="USDT") == 0
    assert r.value("exits", reason="edge_decayed") == 0
    helps = {f.name: f.documentation for f in r.collect()}
    assert helps["funding_arb_fees_paid_quote"].startswith("Trading fees paid")  # real HELP, not the name


def test_restored_counters_never_go_down() -> None:
    r = declared()
    r.inc("fills", 3, connector="a_perpetual")
    r.restore_counter("fills", 2, connector="a_perpetual")
    assert r.value("fills", connector="a_perpetual") == 3
    r.restore_counter("fills", 7, connector="a_perpetual")
    assert r.value("fills", connector="a_perpetual") == 7
    r.add("fees_paid_quote", D("0.5"), quote="USDT")  # Decimal after a restored Decimal: no type clash
    r.restore_counter("fees_paid_quote", D("1.25"), quote="USDT")
    r.add("fees_paid_quote", D("0.25"), quote="USDT")
    assert r.value("fees_paid_quote", quote="USDT") == D("1.5")
    with pytest.raises(MetricsError):
        r.restore_counter("fills", -1, connector="a_perpetual")


def test_alert_listener_sees_raise_refresh_and_clear_once_each() -> None:
    r, seen = MetricsRegistry(), []
    r.add_alert_listener(lambda a, t: seen.append((a.name, t)))
    r.alert("x", "critical", "m", 1.0)
    r.alert("x", "critical", "m", 2.0)
    r.clear_alert("x", 3.0)
    r.clear_alert("x", 4.0)

    assert seen == [("x", "raised"), ("x", "refreshed"), ("x", "cleared")]


def test_a_failing_listener_never_breaks_the_caller() -> None:
    r = MetricsRegistry()
    r.add_alert_listener(lambda a, t: 1 / 0)
    r.alert("x", "critical", "m", 1.0)
    assert r.alerts(active_only=True)[0].name == "x"


def test_dashboard_json_is_a_grafana_dashboard_on_catalog_metrics_only() -> None:
    d = json.loads(DASHBOARD.read_text())
    panels = [p for p in d["panels"] if p["type"] != "row"]
    exported = {s.exported for s in CATALOG}
    hist = {s.exported + suffix for s in CATALOG if s.kind == "histogram" for suffix in ("_bucket", "_sum", "_count")}

    assert d["uid"] and d["title"] and d["schemaVersion"] >= 36
    assert len({p["id"] for p in d["panels"]}) == len(d["panels"])
    for p in panels:
        assert p["datasource"]["uid"] == "${DS_PROMETHEUS}" and p["targets"], p["title"]
        assert set(p["gridPos"]) == {"h", "w", "x", "y"} and p["gridPos"]["x"] + p["gridPos"]["w"] <= 24
        for t in p["targets"]:
            names = set(re.findall(r"\bfunding_arb_[a-z_]+", t["expr"]))
            assert names and names <= exported | hist, (p["title"], names - exported - hist)
    titles = " ".join(p["title"].lower() for p in panels)
    for topic in (
        "pnl",
        "expected vs received",
        "hedge gap",
        "positions",
        "margin",
        "liquidation",
        "trading state",
        "alerts",
        "errors",
        "tick duration",
    ):
        assert topic in titles, topic
