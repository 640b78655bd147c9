"""Reading a metrics registry out: the JSON snapshot (dashboards, the export file) and the Prometheus families
(scrapes). A mixin of `MetricsRegistry` (`metrics.py`); number format as stated there. Pure."""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

from .metric_types import PREFIX, Alert, Severity, _Family, _json_number, _LabelKey
from .redaction import redact

SCHEMA_VERSION = 2  # docs/schema/metrics_export.schema.json


class RegistryReadout:
    """`snapshot()` and `collect()` over the registry's families, alerts and events (under its lock)."""

    _lock: threading.RLock
    _families: dict[str, _Family]
    _help: dict[str, str]
    _alerts: dict[str, Alert]
    _events: deque[dict[str, Any]]
    _rendered: dict[str, tuple[Any, Metric]]
    _json_cache: dict[str, tuple[Any, dict[str, Any]]]
    _collect_hooks: list[Callable[[], None]]

    def _before_read(self) -> None:
        for hook in self._collect_hooks:
            try:
                hook()
            except Exception:  # a broken hook loses its buffered values, never the read
                import logging

                logging.getLogger(__name__).exception("metrics_collect_hook_failed hook=%r", hook)

    def snapshot(self, ts: float | None = None) -> dict[str, Any]:
        """JSON-safe view for dashboards (number format: see the module docstring)."""
        with self._lock:
            self._before_read()
            metrics = {}
            for full, fam in self._families.items():
                key = full + ("_total" if fam.kind == "counter" else "")
                metrics[key] = self._family_json(full, fam)
            alerts = [{**asdict(a), "severity": a.severity.value} for a in self._alerts.values()]
            return {
                "schema_version": SCHEMA_VERSION,
                "ts": ts,
                "metrics": metrics,
                "alerts": alerts,
                "events": list(self._events),
            }

    def _family_json(self, full: str, fam: _Family) -> dict[str, Any]:
        """One family's JSON entry; the one of the previous snapshot when none of its series changed since (most
        families between two exports; histograms change every tick and are always built). Read-only for callers."""
        if fam.kind == "histogram":
            samples = [self._sample_json(fam, k, v) for k, v in fam.values.items()]
            return {"type": fam.kind, "help": self._help_of(full, fam), "samples": samples}
        content = (self._help_of(full, fam), tuple(fam.values.items()))
        cached = self._json_cache.get(full)
        if cached is not None and cached[0] == content:
            return cached[1]
        names = fam.labelnames
        samples = [
            {"labels": dict(zip(names, k, strict=True)), "value": _json_number(v)} for k, v in fam.values.items()
        ]
        entry = {"type": fam.kind, "help": content[0], "samples": samples}
        self._json_cache[full] = (content, entry)
        return entry

    def _help_of(self, full: str, fam: _Family) -> str:
        base = full.removeprefix(PREFIX)
        return self._help.get(base, fam.help) or base.replace("_", " ")

    @staticmethod
    def _cumulative(fam: _Family, key: _LabelKey) -> tuple[list[tuple[str, int]], float, int]:
        counts, total = fam.values[key]
        running, out = 0, []
        for bound, c in zip([*fam.buckets, math.inf], counts, strict=True):
            running += c
            out.append((floatToGoString(bound), running))  # type: ignore[no-untyped-call]
        return out, total, running

    def _sample_json(self, fam: _Family, key: _LabelKey, v: Any) -> dict[str, Any]:
        labels = dict(zip(fam.labelnames, key, strict=True))
        if fam.kind != "histogram":
            return {"labels": labels, "value": _json_number(v)}
        buckets, total, count = self._cumulative(fam, key)
        return {"labels": labels, "buckets": dict(buckets), "sum": total, "count": count}

    def collect(self) -> Iterator[Metric]:
        """Prometheus metric families rendered now (called from the scrape thread)."""
        with self._lock:
            self._before_read()
            out = [self._family_cached(full, fam) for full, fam in self._families.items()]
            alert_family = GaugeMetricFamily(
                PREFIX + "alert_active",
                self._help.get("alert_active", "1 while the alert is active, else 0"),
                labels=["alert", "severity"],
            )
            for a in self._alerts.values():
                alert_family.add_metric([redact(a.name), a.severity.value], 1.0 if a.active else 0.0)
            out.append(alert_family)
            counts = GaugeMetricFamily(
                PREFIX + "alerts_active",
                self._help.get("alerts_active", "Number of active alerts per severity"),
                labels=["severity"],
            )
            for sev in Severity:
                counts.add_metric(
                    [sev.value], float(sum(1 for a in self._alerts.values() if a.active and a.severity is sev))
                )
            out.append(counts)
        return iter(out)

    def _family_cached(self, full: str, fam: _Family) -> Metric:
        """The family rendered at an earlier scrape when none of its series changed since (most gauges hold still
        between scrapes), else rendered now. Histograms change every tick: always rendered."""
        if fam.kind == "histogram":
            return self._family(full, fam)
        content = (self._help_of(full, fam), tuple(fam.values.items()))
        cached = self._rendered.get(full)
        if cached is not None and cached[0] == content:
            return cached[1]
        metric = self._family(full, fam)
        self._rendered[full] = (content, metric)
        return metric

    def _family(self, full: str, fam: _Family) -> Metric:
        labels, doc = list(fam.labelnames), self._help_of(full, fam)
        if fam.kind == "counter":
            counter = CounterMetricFamily(full, doc, labels=labels)
            for k, v in fam.values.items():
                counter.add_metric(list(k), float(v))
            return counter
        if fam.kind == "gauge":
            gauge = GaugeMetricFamily(full, doc, labels=labels)
            for k, v in fam.values.items():
                if v is not None:  # unknown: no sample at all, never 0
                    gauge.add_metric(list(k), float(v))
            return gauge
        hist = HistogramMetricFamily(full, doc, labels=labels)
        for k in fam.values:
            buckets, total, _ = self._cumulative(fam, k)
            hist.add_metric(list(k), [(b, float(c)) for b, c in buckets], total)
        return hist
