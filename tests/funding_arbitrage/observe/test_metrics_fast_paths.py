"""The registry's cheap paths give what the plain paths gave: cached series, whole-family gauges skipped when unchanged,
buffered tick durations seen by every reader, scrapes re-rendered when a value changes, redaction kept."""

from __future__ import annotations

from decimal import Decimal as D
from enum import Enum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies.funding_arbitrage.core.metric_catalog import CATALOG, label_domains
from strategies.funding_arbitrage.core.metrics import MetricsError, MetricsRegistry
from strategies.funding_arbitrage.core.redaction import redact
from strategies.funding_arbitrage.shell.metrics_publish import TickObserver


class Reason(str, Enum):  # noqa: UP042 - the str-Enum idiom the project's reasons use
    STALE = "stale"


def declared() -> MetricsRegistry:
    r = MetricsRegistry()
    r.declare_catalog(CATALOG, label_domains(["BTC"], ["a_perpetual"], ["USDT"]))
    return r


def samples(r: MetricsRegistry, exported: str, family: str = "") -> dict[tuple[tuple[str, str], ...], float]:
    """The scraped samples named `exported` of `family` (default: `exported` without `_total`)."""
    [found] = [m for m in r.collect() if m.name == (family or exported.removesuffix("_total"))]
    return {tuple(sorted(s.labels.items())): s.value for s in found.samples if s.name == exported}


def test_a_str_enum_label_and_its_value_stay_two_series_as_without_the_cache() -> None:
    r = MetricsRegistry()
    r.gauge("g", 1, reason="stale")
    r.gauge("g", 2, reason=Reason.STALE)  # str() of the member differs from its value: its own series

    assert r.value("g", reason="stale") == 1
    assert r.value("g", reason=str(Reason.STALE)) == 2


def test_set_gauges_replaces_the_family_and_an_unchanged_call_keeps_a_later_write_out() -> None:
    r = MetricsRegistry()
    rows = [({"pair_id": "A"}, D("0.5")), ({"pair_id": "B"}, None)]
    r.set_gauges("gap", rows)
    r.set_gauges("gap", [({"pair_id": "A"}, D("0.5"))])  # B closed: its series goes

    assert r.value("gap", pair_id="A") == D("0.5") and r.value("gap", pair_id="B") is None
    assert samples(r, "funding_arb_gap") == {(("pair_id", "A"),): 0.5}

    r.gauge("gap", 9, pair_id="A")  # written by someone else since
    r.set_gauges("gap", [({"pair_id": "A"}, D("0.5"))])  # same rows as last time: still applied
    assert r.value("gap", pair_id="A") == D("0.5")

    with pytest.raises(MetricsError):
        r.set_gauges("gap", [({"pair_id": "A"}, float("nan"))])
    with pytest.raises(MetricsError):
        r.set_gauges("gap", [({"other": "A"}, 1)])
    assert r.value("gap", pair_id="A") == D("0.5")  # a bad call changes nothing


def test_buffered_tick_durations_reach_every_reader() -> None:
    r = declared()
    observer = TickObserver(r)
    for ts, elapsed in ((60.0, 0.002), (120.0, 0.03), (180.0, 7.0)):
        observer.tick_done(ts, elapsed)

    [hist] = [s for s in r.snapshot()["metrics"]["funding_arb_tick_duration_seconds"]["samples"]]
    assert hist["count"] == 3 and hist["sum"] == pytest.approx(7.032)
    assert hist["buckets"]["0.0025"] == 1 and hist["buckets"]["0.05"] == 2 and hist["buckets"]["+Inf"] == 3
    assert r.value("last_tick_timestamp_seconds") == 180.0

    observer.tick_done(240.0, 0.001)
    scraped = samples(r, "funding_arb_tick_duration_seconds_count", "funding_arb_tick_duration_seconds")
    assert scraped == {(): 4.0}  # a scrape sees the tick buffered since the snapshot
    assert samples(r, "funding_arb_last_tick_timestamp_seconds") == {(): 240.0}


def test_a_scrape_renders_a_changed_value_and_reuses_an_unchanged_family() -> None:
    r = MetricsRegistry()
    r.gauge("equity_quote", D(100), quote="USDT")
    r.inc("fills", connector="a")
    first = {m.name: m for m in r.collect()}
    r.gauge("equity_quote", D(101), quote="USDT")
    second = {m.name: m for m in r.collect()}

    assert second["funding_arb_equity_quote"].samples[0].value == 101.0
    assert second["funding_arb_fills"] is first["funding_arb_fills"]  # unchanged: not rendered again
    r.inc("fills", connector="a")
    assert {m.name: m for m in r.collect()}["funding_arb_fills"].samples[0].value == 2.0


@given(st.text(max_size=40))
def test_the_short_cut_of_redact_masks_what_the_regexes_mask(text: str) -> None:
    """Text under 16 characters without `=` or `:` is returned as is; everything else still goes through the
    patterns (`key=abc`, `Bearer ...`, long keys)."""
    if len(text) < 16 and "=" not in text and ":" not in text:
        assert redact(text) == text
    assert redact("key=abc") == "key=***"
    assert redact("Ab3dEf6hIj9kLm2nOp") == "***"
