"""The value types of the metrics registry (`metrics.py`): errors, alerts, one family's storage, one resolved series,
and the checks every written value passes. Pure."""

from __future__ import annotations

import bisect
import math
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Any, Protocol

__all__ = ["PREFIX", "Alert", "AlertLike", "MetricsError", "Number", "Series", "Severity"]

PREFIX = "funding_arb_"
Number = Decimal | int | float
_LabelKey = tuple[str, ...]


class MetricsError(ValueError):
    """A metric misused: labels differ from the first use, kind clash, negative counter step, NaN."""


class Severity(str, Enum):  # noqa: UP042 - same str-Enum idiom as snapshots.MarketKind
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass
class Alert:
    """A condition an operator should see; times in seconds. Inactive alerts are kept `alert_retention_s`."""

    name: str
    severity: Severity
    message: str
    first_ts: float
    last_ts: float
    active: bool = True


class AlertLike(Protocol):
    name: str
    severity: Severity
    message: str


@dataclass
class _Family:
    kind: str  # "counter" | "gauge" | "histogram"
    labelnames: tuple[str, ...]
    help: str = ""
    buckets: tuple[float, ...] = ()
    values: dict[_LabelKey, Any] = field(default_factory=dict)  # histogram: [per-bucket counts..., +Inf], sum
    version: int = 0  # gauges: raised by every write (`set_gauges` skips rows equal to the last ones it wrote)


def _checked(value: Any, what: str) -> Number:
    kind = value.__class__  # exact types first (every tick writes them); subclasses take the general checks
    if kind is int:
        return value  # type: ignore[no-any-return]
    if kind is float or kind is Decimal:
        if value.is_nan() if kind is Decimal else value != value:  # NaN (Decimal's signalling NaN included)
            raise MetricsError(f"{what} is NaN; use None for unknown")
        return value  # type: ignore[no-any-return]
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, float)):
        raise MetricsError(f"{what} ({value!r}) must be a Decimal, int or float")
    if isinstance(value, (Decimal, float)) and math.isnan(value):
        raise MetricsError(f"{what} is NaN; use None for unknown")
    return value


def _json_number(v: Number | None) -> float | str | None:
    if v is None:
        return None
    f = float(v)
    return f if math.isfinite(f) else ("+Inf" if f > 0 else "-Inf")


def _observe_into(fam: _Family, key: _LabelKey, v: float) -> None:
    found = fam.values.get(key)
    counts, total = found if found is not None else ([0] * (len(fam.buckets) + 1), 0.0)
    counts[bisect.bisect_left(fam.buckets, v)] += 1  # first bucket with v <= bound (+Inf last)
    fam.values[key] = (counts, total + v)


class Series:
    """One gauge or histogram series resolved once (`MetricsRegistry.series`), for a value written every tick:
    its writes skip the name, label and redaction work. The value rules are `gauge`'s and `observe`'s."""

    __slots__ = ("_fam", "_key", "_lock", "_what")

    def __init__(self, lock: threading.RLock, fam: _Family, key: _LabelKey, name: str) -> None:
        self._lock, self._fam, self._key, self._what = lock, fam, key, f"{name} value"

    def set(self, value: Number | None) -> None:
        """Set the gauge; None = unknown. Raises: MetricsError (not a gauge, NaN, not a number)."""
        if self._fam.kind != "gauge":
            raise MetricsError(f"{self._what}: a {self._fam.kind} series cannot be set")
        checked = None if value is None else _checked(value, self._what)
        with self._lock:
            self._fam.values[self._key] = checked
            self._fam.version += 1

    def observe(self, value: Number) -> None:
        """Count one observation in the histogram. Raises: MetricsError (not a histogram, NaN, not a number)."""
        if self._fam.kind != "histogram":
            raise MetricsError(f"{self._what}: a {self._fam.kind} series cannot observe")
        v = float(_checked(value, self._what))
        with self._lock:
            _observe_into(self._fam, self._key, v)
