"""In-process metrics, alerts and events; JSON snapshot and Prometheus export.

The strategy thread writes; the Prometheus thread reads at scrape time; one lock guards both. Metrics are
created on first use (`inc`, `add`, `gauge`, `observe`); the label names of the first use are fixed for that
metric and a later call with other labels raises `MetricsError` (Prometheus needs one label set per family).

Decisions, stated once:
  * **Unknown is not zero.** `gauge(name, None)` records *unknown*: the sample is absent from Prometheus and
    `null` in JSON. Nothing here substitutes 0.
  * **Numbers in the JSON snapshot are JSON floats** (`float(Decimal)`): it feeds dashboards, and
    Prometheus is float too; exact Decimal accounting lives in the state file, not in metrics. ±Infinity
    (a margin ratio with equity <= 0) is written as the strings "+Inf" / "-Inf" (Prometheus spelling) so
    the file stays strict JSON; NaN is rejected.
  * **Names** get the `funding_arb_` prefix; counters are exported as `<name>_total`.
  * **Secrets never leave**: every label value, alert message and event passes through `redact()`.
"""

from __future__ import annotations

import math
import re
import threading
from collections import deque
from collections.abc import Iterable
from copy import copy as _copy
from decimal import Decimal
from typing import Any, Callable

from prometheus_client.core import Metric

from .metric_types import (
    PREFIX,
    Alert,
    AlertLike,
    MetricsError,
    Number,
    Series,
    Severity,
    _checked,
    _Family,
    _LabelKey,
    _observe_into,
)
from .metrics_render import SCHEMA_VERSION, RegistryReadout
from .redaction import redact

__all__ = ["SCHEMA_VERSION", "Alert", "AlertLike", "MetricsError", "MetricsRegistry", "Series", "Severity", "redact"]

_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_ABSENT = object()  # a series never written (unlike None: written as unknown)


class MetricsRegistry(RegistryReadout):
    """Counters, gauges, histograms, alerts and recent events of one strategy instance."""

    def __init__(self, alert_retention_s: float = 86400.0, max_events: int = 1000) -> None:
        self._lock = threading.RLock()
        self._families: dict[str, _Family] = {}
        self._help: dict[str, str] = {}
        self._alerts: dict[str, Alert] = {}
        self._events: deque[dict[str, Any]] = deque(maxlen=max_events)
        self._listeners: list[Callable[[Alert, str], None]] = []
        self._collect_hooks: list[Callable[[], None]] = []
        self._last_rows: dict[str, tuple[int, list[Any]]] = {}  # gauge -> (its version, rows) of the last set_gauges
        self._checked_slots: dict[tuple[str, str, tuple[str, ...]], _Family] = {}
        self._slots: dict[tuple[Any, ...], tuple[_Family, _LabelKey]] = {}  # call site's labels -> series
        self._gauge_slots: dict[tuple[Any, ...], tuple[_Family, _LabelKey]] = {}  # (name, *labels) -> series
        self._redact_cache: dict[str, str] = {}
        self._rendered: dict[str, tuple[Any, Metric]] = {}  # family -> (content, Prometheus family) of the last scrape
        self._json_cache: dict[str, tuple[Any, dict[str, Any]]] = {}  # family -> (content, JSON entry) of the last one
        self.alert_retention_s = alert_retention_s
        self._prune_after_ts = math.inf  # no inactive alert can expire before this clock time (seconds)

    # --- declaring from the catalog ----------------------------------------------------------------
    def declare_catalog(self, catalog: Iterable[Any], domains: dict[str, list[str]]) -> None:
        """Create every family of `catalog` (`metric_catalog.MetricSpec`s) with its HELP and labels, and every
        counter series of a finite label domain at 0, so each series exists before its first event.

        Raises:
            MetricsError: a spec's domain is not in `domains`, or a family exists with other labels.
        """
        from .metric_catalog import TICK_BUCKETS_S

        for s in catalog:
            self.describe(s.name, s.help)
            if s.name in ("alert_active", "alerts_active"):  # rendered from the alerts themselves
                continue
            if s.kind == "histogram":
                if self.full_name(s.name) not in self._families:
                    self.define_histogram(s.name, TICK_BUCKETS_S, s.help)
                continue
            if s.domain and s.domain not in domains:
                raise MetricsError(f"{s.name}: label domain {s.domain!r} is not given")
            with self._lock:
                full = self.full_name(s.name, s.kind)
                fam = self._families.setdefault(full, _Family(s.kind, tuple(sorted(s.labels)), s.help))
                if fam.labelnames != tuple(sorted(s.labels)) or fam.kind != s.kind:
                    raise MetricsError(
                        f"{full} exists as {fam.kind} {list(fam.labelnames)}, catalog says {s.kind} {sorted(s.labels)}"
                    )
                if s.kind == "counter" and not s.labels:
                    fam.values.setdefault((), 0)
                elif s.kind == "counter" and s.domain and len(s.labels) == 1:
                    for v in domains[s.domain]:
                        fam.values.setdefault((redact(str(v)),), 0)

    def restore_counter(self, name: str, value: Number, **labels: Any) -> None:
        """Raise a counter to `value` restored from a previous run (never lowers it): totals survive restarts.

        Raises:
            MetricsError: negative or non-numeric value; labels differ from the family's.
        """
        value = _checked(value, f"{name} restored value")
        if value < 0:
            raise MetricsError(f"{name} restored value ({value}) must not be negative")
        with self._lock:
            fam, key = self._slot(name, "counter", labels)
            current = fam.values.get(key, 0)
            fam.values[key] = value if Decimal(str(value)) > Decimal(str(current)) else current

    def counters(self) -> dict[str, list[tuple[dict[str, str], Number]]]:
        """Every counter series as (labels, value), by name without prefix and `_total`."""
        with self._lock:
            self._before_read()
            return {
                full.removeprefix(PREFIX): [
                    (dict(zip(fam.labelnames, k, strict=True)), v) for k, v in fam.values.items()
                ]
                for full, fam in self._families.items()
                if fam.kind == "counter"
            }

    def add_alert_listener(self, listener: Callable[[Alert, str], None]) -> None:
        """Call `listener(alert, transition)` on "raised" (newly active), "refreshed" and "cleared", outside
        the lock (a listener may block briefly; it must not raise: exceptions are logged and dropped)."""
        with self._lock:
            self._listeners.append(listener)

    def add_collect_hook(self, hook: Callable[[], None]) -> None:
        """Call `hook()` under the lock before every read (`collect`, `snapshot`, `value`, `counters`): a writer
        that buffers per-tick values cheaply (tick durations) moves them into its series there, so every reader
        sees them all. The hook must not raise."""
        with self._lock:
            self._collect_hooks.append(hook)

    def _notify(self, alert: Alert, transition: str) -> None:
        for listener in list(self._listeners):
            try:
                listener(alert, transition)
            except Exception:  # a broken alert channel must never break the strategy's tick
                import logging

                logging.getLogger(__name__).exception("alert_listener_failed alert=%s", alert.name)

    # --- declaring and writing -------------------------------------------------------------------
    @staticmethod
    def full_name(name: str, kind: str = "gauge") -> str:
        base = name.removeprefix(PREFIX)
        if kind == "counter":
            base = base.removesuffix("_total")
        if not _NAME_RE.match(base):
            raise MetricsError(f"metric name {name!r} is not a valid Prometheus name")
        return PREFIX + base

    def describe(self, name: str, help_text: str) -> None:
        """Help text shown by Prometheus for `name` (any kind)."""
        with self._lock:
            self._help[name.removeprefix(PREFIX).removesuffix("_total")] = help_text

    def define_histogram(self, name: str, buckets: Iterable[float], help_text: str = "") -> None:
        """Declare a histogram's fixed upper bounds (finite, strictly increasing); +Inf is implicit."""
        b = tuple(float(x) for x in buckets)
        if not b or list(b) != sorted(set(b)) or not all(math.isfinite(x) for x in b):
            raise MetricsError(f"{name} buckets ({b}) must be finite, strictly increasing and non-empty")
        with self._lock:
            full = self.full_name(name)
            if full in self._families:
                raise MetricsError(f"{full} is already defined")
            self._families[full] = _Family("histogram", (), help_text, b)

    def _slot(self, name: str, kind: str, labels: dict[str, Any]) -> tuple[_Family, _LabelKey]:
        """The family and label key of one series, remembered per (name, kind, label names, label values as text):
        the same series is written every tick, so its names are validated and its values redacted once. The key
        holds exactly what the label key is made of (`str` of each value), so a hit is the series a miss computes."""
        cache_key = (name, kind, tuple(labels), tuple(map(str, labels.values())))
        hit = self._slots.get(cache_key)
        if hit is not None:
            return hit
        fam, key = self._new_slot(name, kind, labels)
        if fam.values or fam.kind != "histogram":
            if len(self._slots) >= 8192:  # label values follow pairs and candidates: bounded like the redaction cache
                self._slots.clear()
            self._slots[cache_key] = (fam, key)
        return fam, key

    def _new_slot(self, name: str, kind: str, labels: dict[str, Any]) -> tuple[_Family, _LabelKey]:
        names = tuple(sorted(labels))
        fam = self._checked_slots.get((name, kind, names))  # validated before: skip the name checks
        if fam is None:
            fam = self._validate_slot(name, kind, names)
            if fam.values or fam.kind != "histogram":
                self._checked_slots[(name, kind, names)] = fam
        return fam, tuple(self._redacted(str(labels[n])) for n in names)

    def _redacted(self, value: str) -> str:
        """`redact(value)`, remembered: label values repeat every tick (bounded cache)."""
        out = self._redact_cache.get(value)
        if out is None:
            if len(self._redact_cache) >= 4096:
                self._redact_cache.clear()
            out = self._redact_cache[value] = redact(value)
        return out

    def _validate_slot(self, name: str, kind: str, names: tuple[str, ...]) -> _Family:
        full = self.full_name(name, kind)
        if not all(_NAME_RE.match(n) and not n.startswith("__") and n != "le" for n in names):
            raise MetricsError(f"{full}: label names {list(names)} are not valid ('le' is reserved)")
        fam = self._families.get(full)
        if fam is None:
            if kind == "histogram":
                raise MetricsError(f"{full}: call define_histogram() first (buckets are fixed)")
            fam = self._families[full] = _Family(kind, names)
        elif fam.kind == "histogram" and not fam.values and not fam.labelnames:
            fam.labelnames = names  # a defined histogram takes the labels of its first observation
        if fam.kind != kind:
            raise MetricsError(f"{full} is a {fam.kind}, not a {kind}")
        if fam.labelnames != names:
            raise MetricsError(f"{full} has labels {list(fam.labelnames)}, got {list(names)}")
        return fam

    def inc(self, name: str, amount: Number = 1, **labels: Any) -> None:
        """Add a non-negative `amount` to a monotonic counter.

        Raises:
            MetricsError: negative or non-numeric amount; labels differ from the first use.
        """
        amount = _checked(amount, f"{name} increment")
        if amount < 0:
            raise MetricsError(
                f"{name} increment ({amount}) must not be negative: counters are monotonic; "
                "use gauge_add() for signed running totals (funding, PnL)"
            )
        with self._lock:
            fam, key = self._slot(name, "counter", labels)
            fam.values[key] = fam.values.get(key, 0) + amount

    def add(self, name: str, amount: Number, **labels: Any) -> None:
        """`inc` by an amount (quote volumes, fees). Same rules: never negative."""
        self.inc(name, amount, **labels)

    def gauge(self, name: str, value: Number | None, **labels: Any) -> None:
        """Set a gauge; None = unknown (absent in Prometheus, null in JSON). Writing the value it holds changes
        nothing (a gauge written every tick with the same value costs a lookup)."""
        checked = None if value is None else _checked(value, f"{name} value")
        fast_key = (name, tuple(labels.items()), tuple(map(type, labels.values())))  # equal types and values
        hit = self._gauge_slots.get(fast_key)  # unchanged value: no lock (a dict read is atomic)
        if hit is not None:
            old = hit[0].values.get(hit[1], _ABSENT)
            if old.__class__ is checked.__class__ and old == checked:
                return
        with self._lock:
            hit = self._gauge_slots.get(fast_key)
            if hit is None:
                hit = self._slot(name, "gauge", labels)
                if all(t is str for t in fast_key[2]):  # exact str only: equal text is the same label
                    if len(self._gauge_slots) >= 8192:
                        self._gauge_slots.clear()
                    self._gauge_slots[fast_key] = hit
            fam, key = hit
            values = fam.values
            old = values.get(key, _ABSENT)
            if old.__class__ is checked.__class__ and old == checked:
                return
            values[key] = checked
            fam.version += 1

    def set_gauges(self, name: str, rows: Iterable[tuple[dict[str, Any], Number | None]]) -> None:
        """Make `rows` ((labels, value) pairs) exactly the series of gauge `name`, in one step under one lock: series
        whose labels are not in `rows` go (closed pairs, vanished candidates: nothing lingers), the others are set
        (None = unknown). Every row is checked before anything changes.

        Raises:
            MetricsError: a value is NaN or not a number; labels differ from the family's.
        """
        rows = list(rows)
        with self._lock:
            fam = self._families.get(PREFIX + name.removeprefix(PREFIX))
            last = self._last_rows.get(name)
            if fam is not None and last is not None and last[0] == fam.version and last[1] == rows:
                return  # the rows it holds, untouched since: nothing to check or write (most gauges, most publishes)
            checked = [(labels, None if v is None else _checked(v, f"{name} value")) for labels, v in rows]
            new: dict[_LabelKey, Any] = {}
            for labels, value in checked:
                fam, key = self._slot(name, "gauge", labels)
                new[key] = value
            if fam is not None and fam.kind == "gauge":
                if fam.values != new:
                    fam.values.clear()
                    fam.values.update(new)
                    fam.version += 1
                self._last_rows[name] = (fam.version, rows)

    def series(self, name: str, kind: str = "gauge", **labels: Any) -> Series:
        """One series resolved now for repeated writes (`Series.set` for a gauge, `Series.observe` for a histogram).

        Raises:
            MetricsError: as `gauge` / `observe` (labels differ from the family's, histogram not defined).
        """
        with self._lock:
            fam, key = self._slot(name, kind, labels)
        return Series(self._lock, fam, key, name)

    def gauge_add(self, name: str, amount: Number, **labels: Any) -> None:
        """Add a signed `amount` to a gauge (a running total that may fall: net funding, PnL, in quote).
        An unknown (None) gauge stays unknown."""
        amount = _checked(amount, f"{name} amount")
        with self._lock:
            fam, key = self._slot(name, "gauge", labels)
            current = fam.values.get(key, 0)
            fam.values[key] = None if current is None else current + amount
            fam.version += 1

    def remove_gauge(self, name: str, **labels: Any) -> None:
        """Forget one label set (a closed pair) so its series does not linger."""
        with self._lock:
            fam, key = self._slot(name, "gauge", labels)
            fam.values.pop(key, None)
            fam.version += 1

    def clear_gauge(self, name: str) -> None:
        """Forget every series of one gauge, e.g. before re-publishing per-pair gauges for the open pairs."""
        with self._lock:
            fam = self._families.get(self.full_name(name))
            if fam is not None and fam.kind == "gauge":
                fam.values.clear()
                fam.version += 1

    def observe(self, name: str, value: Number, **labels: Any) -> None:
        v = float(_checked(value, f"{name} observation"))
        with self._lock:
            fam, key = self._slot(name, "histogram", labels)
            _observe_into(fam, key, v)

    def value(self, name: str, **labels: Any) -> Number | None:
        """Current counter or gauge value (None: never set, or unknown)."""
        with self._lock:
            self._before_read()
            base = name.removeprefix(PREFIX).removesuffix("_total")
            fam = self._families.get(PREFIX + base)
            if fam is None or fam.kind == "histogram":
                return None
            value: Number | None = fam.values.get(tuple(redact(str(labels[n])) for n in sorted(labels)))
            return value

    # --- alerts and events -----------------------------------------------------------------------
    def alert(self, name: str, severity: Severity | str, message: str, ts: float) -> Alert:
        """Activate (or refresh) an alert; `first_ts` is kept while it stays active."""
        sev = Severity(severity)
        with self._lock:
            a = self._alerts.get(name)
            if a is None or not a.active:
                transition, a = "raised", Alert(name, sev, self._redacted(message), ts, ts)
                self._alerts[name] = a
            else:
                transition = "refreshed"
                a.severity, a.message, a.last_ts = sev, self._redacted(message), ts  # refreshed every tick: cached
            self._prune(ts)
            copy = _copy(a)
        self._notify(copy, transition)
        return copy

    def clear_alert(self, name: str, ts: float) -> None:
        """Clear an active alert (listeners see "cleared"); an alert not active is left as it is."""
        a = self._alerts.get(name)  # the usual call (nothing active, nothing to prune): no lock
        if (a is None or not a.active) and ts <= self._prune_after_ts:
            return
        with self._lock:
            a = self._alerts.get(name)
            cleared = None
            if a is not None and a.active:
                a.active, a.last_ts = False, ts
                self._prune_after_ts = min(self._prune_after_ts, ts + self.alert_retention_s)
                cleared = _copy(a)
            self._prune(ts)
        if cleared is not None:
            self._notify(cleared, "cleared")

    def sync_alerts(self, ts: float, active: Iterable[AlertLike], prefix: str) -> None:
        """Make exactly `active` the active alerts among names starting with `prefix` (level-triggered,
        once per tick), e.g. `sync_alerts(ts, gate.alerts(), "risk.")`."""
        names = set()
        for a in active:
            if not a.name.startswith(prefix):
                raise MetricsError(f"alert {a.name!r} is outside the synced prefix {prefix!r}")
            names.add(a.name)
            self.alert(a.name, a.severity, a.message, ts)
        with self._lock:
            gone = [n for n, a in self._alerts.items() if a.active and n.startswith(prefix) and n not in names]
            for n in gone:
                self.clear_alert(n, ts)

    def has_active_alerts(self, prefix: str) -> bool:
        """Whether an alert whose name starts with `prefix` is active."""
        with self._lock:
            return any(a.active and n.startswith(prefix) for n, a in self._alerts.items())

    def alerts(self, active_only: bool = False) -> list[Alert]:
        with self._lock:
            return [_copy(a) for a in self._alerts.values() if a.active or not active_only]

    def _prune(self, ts: float) -> None:
        """Drop the inactive alerts cleared more than `alert_retention_s` ago (a scan only once one can be due)."""
        if ts <= self._prune_after_ts:
            return
        expired = [n for n, a in self._alerts.items() if not a.active and ts - a.last_ts > self.alert_retention_s]
        for n in expired:
            del self._alerts[n]
        kept = [a.last_ts for a in self._alerts.values() if not a.active]
        self._prune_after_ts = min(kept) + self.alert_retention_s if kept else math.inf

    def event(self, ts: float, name: str, message: str, **fields: str | None) -> None:
        """Remember a notable action (entry, exit, halt, reduction) in a bounded ring shown in the JSON snapshot.
        `fields` (pair_id, token, reason) are optional strings; see docs/schema/metrics_export.schema.json."""
        with self._lock:
            item: dict[str, Any] = {"ts": ts, "name": name, "message": redact(message)}
            item.update({k: redact(str(v)) for k, v in fields.items() if v is not None})
            self._events.append(item)

    def restore_events(self, events: Iterable[dict[str, Any]]) -> None:
        """Put the events of a previous run (its last export) back in front of the ring, oldest first."""
        with self._lock:
            current = list(self._events)
            self._events.clear()
            for e in [*events, *current]:
                if isinstance(e, dict) and {"ts", "name", "message"} <= set(e):
                    self._events.append(
                        {k: e[k] for k in ("ts", "name", "message", "pair_id", "token", "reason") if k in e}
                    )
