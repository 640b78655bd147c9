"""What keeps metrics off the tick gives what computing them on the tick gave: gauges from the publish frame seen by
every reader, the endpoint's cached encoding byte-equal to prometheus-client's, unchanged gauge writes and idle
clears that change nothing, inactive alerts still pruned after their retention, the tick buffer bounded."""

from __future__ import annotations

import gzip
import urllib.request
from decimal import Decimal as D
from types import SimpleNamespace

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_latest

from strategies.funding_arbitrage.core.metric_catalog import CATALOG, label_domains
from strategies.funding_arbitrage.core.metrics import MetricsRegistry
from strategies.funding_arbitrage.shell import metrics_publish
from strategies.funding_arbitrage.shell.metrics_export import PrometheusServer, _Collector
from strategies.funding_arbitrage.shell.metrics_http import CachedExposition
from strategies.funding_arbitrage.shell.metrics_publish import MAX_BUFFERED_TICKS, PublishFrame, TickObserver

OPENMETRICS = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"


def declared() -> MetricsRegistry:
    r = MetricsRegistry()
    r.declare_catalog(CATALOG, label_domains(["BTC"], ["a_perpetual", "b_perpetual"], ["USDT"]))
    return r


def test_the_cached_encoding_is_prometheus_clients_encoding_after_every_change() -> None:
    r = declared()
    observer = TickObserver(r)
    prom = CollectorRegistry()
    prom.register(_Collector(r))
    exposition = CachedExposition(r.collect)
    for step in range(4):
        observer.tick_done(60.0 * step, 0.001 * step)
        r.gauge("equity_quote", D(100 + step % 2), quote="USDT")  # changes, then changes back
        if step == 2:
            r.alert("risk.halted", "critical", "halted", 120.0)
        assert exposition.render(None) == (generate_latest(prom), "text/plain; version=0.0.4; charset=utf-8")
        body, content_type = exposition.render(OPENMETRICS)
        assert body == openmetrics_latest(prom) and content_type.startswith("application/openmetrics-text")


def test_the_endpoint_serves_the_cached_encoding_plain_and_gzipped() -> None:
    r = declared()
    r.gauge("equity_quote", D("100.5"), quote="USDT")
    server = PrometheusServer(r, 0)
    server.start()
    try:
        url = f"http://127.0.0.1:{server.port}/metrics"
        plain = urllib.request.urlopen(url, timeout=5).read()
        req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip", "Accept": OPENMETRICS})
        with urllib.request.urlopen(req, timeout=5) as resp:
            zipped = resp.read()
            assert resp.headers["Content-Encoding"] == "gzip"
        assert b'funding_arb_equity_quote{quote="USDT"} 100.5' in plain
        assert gzip.decompress(zipped).endswith(b"# EOF\n")
    finally:
        server.stop()


def frame(views: object, equity: D | None) -> PublishFrame:
    settings = SimpleNamespace(
        quote_assets={"a_perpetual": "USDT"},
        max_drawdown_quote=D(500),
        all_connectors=["a_perpetual"],
        trading_pair=lambda connector, token: f"{token}-USDT",
    )
    tick = SimpleNamespace(ready={"a_perpetual": True}, positions=())
    decision = SimpleNamespace(skipped={}, candidates=())
    return PublishFrame(0.0, settings, "ACTIVE", equity, D(0), tick, decision, views, (), ())


class Engine:
    """`funding_views()` raising "dictionary changed size" `fails` times first (a market seen for the first time)."""

    def __init__(self, fails: int) -> None:
        self.fails = fails
        self.view = SimpleNamespace(
            connector="a_perpetual", trading_pair="BTC-USDT", apr_pct=D(10), interval=SimpleNamespace(interval_s=28800)
        )

    def funding_views(self) -> tuple[object, ...]:
        if self.fails:
            self.fails -= 1
            raise RuntimeError("dictionary changed size during iteration")
        return (self.view,)


def test_a_published_frame_reaches_the_next_reader_once_and_a_busy_engine_is_read_again() -> None:
    r = declared()
    observer = TickObserver(r)
    observer.publish(frame(Engine(fails=1), D(1000)))
    assert r.value("equity_quote", quote="USDT") == D(1000)  # the read computed the gauges of the frame
    assert r.value("funding_rate_apr_ratio", connector="a_perpetual", pair="BTC-USDT") == D("0.1")
    assert r.value("funding_interval_seconds", connector="a_perpetual", pair="BTC-USDT") == 28800

    observer.publish(frame(Engine(fails=99), None))  # equity unknown; the engine cannot be read this time
    assert r.value("equity_quote", quote="USDT") is None  # unknown, not 0 and not the old value
    assert r.value("funding_rate_apr_ratio", connector="a_perpetual", pair="BTC-USDT") == D("0.1")  # kept


def test_a_gauge_written_with_its_value_changes_nothing_and_an_other_type_is_written() -> None:
    r = MetricsRegistry()
    r.gauge("g", D(1), token="BTC")
    r.set_gauges("h", [({"token": "BTC"}, 1)])
    r.gauge("g", D(1), token="BTC")  # same value: nothing written
    r.gauge("g", 1, token="BTC")  # equal but another type: written as given
    assert type(r.value("g", token="BTC")) is int
    r.gauge("g", None, token="BTC")
    assert r.value("g", token="BTC") is None
    r.gauge("g", 2, token=1)  # a label value that is not a str: the same series as its text
    assert r.value("g", token="1") == 2


def test_an_inactive_alert_is_pruned_after_its_retention_by_an_idle_clear() -> None:
    r = MetricsRegistry(alert_retention_s=10.0)
    r.alert("x", "warning", "m", 0.0)
    r.clear_alert("x", 1.0)
    r.clear_alert("unmanaged_position", 5.0)  # nothing active, nothing due: kept
    assert [a.name for a in r.alerts()] == ["x"]
    r.clear_alert("unmanaged_position", 11.5)  # past x's retention
    assert r.alerts() == []


def test_tick_durations_stay_bounded_without_any_reader() -> None:
    r = declared()
    observer = TickObserver(r)
    for i in range(3 * MAX_BUFFERED_TICKS + 5):
        observer.tick_done(float(i), 0.001)
        assert len(observer._durations) < MAX_BUFFERED_TICKS
    [hist] = r.snapshot()["metrics"]["funding_arb_tick_duration_seconds"]["samples"]
    assert hist["count"] == 3 * MAX_BUFFERED_TICKS + 5


def test_publish_gauges_leaves_the_gauges_to_the_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    """A publish keeps the frame; the gauges are computed by the first read after it, once."""
    computed: list[PublishFrame] = []
    original = metrics_publish.materialise
    monkeypatch.setattr(metrics_publish, "materialise", lambda m, f: computed.append(f) or original(m, f))
    r = declared()
    observer = TickObserver(r)
    observer.publish(frame(Engine(0), D(5)))
    assert computed == []
    r.snapshot()
    r.snapshot()
    assert len(computed) == 1 and r.value("equity_quote", quote="USDT") == D(5)
