"""Export of a `MetricsRegistry`: atomic JSON snapshot file, a Prometheus endpoint, and the start-up wiring
(catalog, build info, counters restored from the previous run, alert delivery). No hummingbot import.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import platform
import tempfile
import threading
from collections.abc import Iterator
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client.core import Metric

from ..core.redaction import redact
from .metrics_http import CachedExposition, serve

if TYPE_CHECKING:
    from ..core.metrics import MetricsRegistry

logger = logging.getLogger(__name__)


class MetricsServerError(RuntimeError):
    """The Prometheus endpoint could not start (port in use, bad address): fix `prometheus_port`."""


# --- JSON file ----------------------------------------------------------------------------------
def write_json(path: Path, snapshot: dict[str, Any]) -> None:
    """Write `snapshot` atomically: temp file in the same directory, fsync, `os.replace`. A reader sees
    the old or the new file, never part of one.

    Raises:
        OSError: directory not writable or disk full (the old file is left intact, no temp file).
        ValueError: the snapshot is not strict JSON (NaN).
    """
    path = Path(path)
    # compact: json's C encoder (an indented dump runs the pure-Python encoder, 10x the CPU); `jq .` to read
    text = json.dumps(snapshot, allow_nan=False, sort_keys=True, separators=(",", ":"))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError as e:  # some filesystems refuse to open directories; the rename itself is done
        logger.debug("metrics_dir_fsync_skipped dir=%s error=%s", path.parent, e)
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class JsonExporter:
    """Writes a metrics snapshot to `path` at most every `interval_s` seconds of the supplied clock."""

    ALERT = "metrics.export_failed"

    def __init__(self, path: Path, interval_s: float, registry: MetricsRegistry | None = None) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s ({interval_s}) must be positive")
        self.path, self.interval_s, self.registry = Path(path), interval_s, registry
        for stale in self.path.parent.glob(f".{self.path.name}.*.tmp"):  # left by a writer killed mid-export
            stale.unlink(missing_ok=True)
        self.last_export_ts: float | None = None
        self.last_error: str | None = None

    def due(self, ts: float) -> bool:
        return self.last_export_ts is None or ts - self.last_export_ts >= self.interval_s

    def maybe_export(self, ts: float, snapshot: dict[str, Any] | None = None) -> bool:
        """Write `snapshot` (default: the registry's, taken now) if the interval elapsed; True if written.

        A failed write is logged, kept in `last_error`, raised as the `metrics.export_failed` alert on the
        registry (if any) and retried on the next call.
        """
        if not self.due(ts):
            return False
        if snapshot is None:
            if self.registry is None:
                raise ValueError("maybe_export needs a snapshot or a registry")
            snapshot = self.registry.snapshot(ts)
        try:
            write_json(self.path, snapshot)
        except (OSError, ValueError) as e:
            self.last_error = redact(f"cannot write {self.path}: {e}")
            logger.warning("metrics_export_failed path=%s error=%s", self.path, self.last_error)
            if self.registry is not None:
                self.registry.alert(self.ALERT, "warning", self.last_error, ts)
            return False
        self.last_export_ts, self.last_error = ts, None
        if self.registry is not None:
            self.registry.clear_alert(self.ALERT, ts)
        return True


class BackgroundJsonExporter(JsonExporter):
    """A `JsonExporter` whose write (json.dumps, fsync, rename) runs on one daemon thread, so a tick never waits
    on the disk. The snapshot is taken on the caller's thread (consistent with the tick); if the writer is still
    busy, the newest snapshot replaces a queued one. A failed write raises the `metrics.export_failed` alert and
    the next due call retries. `flush()` waits for the queued write; `close()` flushes and stops the thread."""

    def __init__(self, path: Path, interval_s: float, registry: MetricsRegistry | None = None) -> None:
        super().__init__(path, interval_s, registry)
        self._cond = threading.Condition()
        self._pending: tuple[float, dict[str, Any] | None] | None = None
        self._busy = False
        self._thread: threading.Thread | None = None

    def maybe_export(self, ts: float, snapshot: dict[str, Any] | None = None) -> bool:
        """Queue `snapshot` if the interval elapsed; True if queued. Without one, the writer thread takes the
        registry's snapshot (under the registry's lock) when it writes, so the tick does not pay for it."""
        if not self.due(ts):
            return False
        if snapshot is None and self.registry is None:
            raise ValueError("maybe_export needs a snapshot or a registry")
        with self._cond:
            self._pending = (ts, snapshot)
            self.last_export_ts = ts  # not due again until the interval passes (a failure resets it)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="funding-arb-metrics-export", daemon=True)
                self._thread.start()
            self._cond.notify_all()
        return True

    def _work(self) -> None:
        while True:
            with self._cond:
                while self._pending is None:
                    self._cond.wait()
                ts, snapshot = self._pending
                self._pending, self._busy = None, True
            if snapshot is None and self.registry is not None:
                snapshot = self.registry.snapshot(ts)
            if snapshot is None or snapshot.get("__stop__"):
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
                return
            try:
                write_json(self.path, snapshot)
            except (OSError, ValueError) as e:
                self.last_error, self.last_export_ts = redact(f"cannot write {self.path}: {e}"), None
                logger.warning("metrics_export_failed path=%s error=%s", self.path, self.last_error)
                if self.registry is not None:
                    self.registry.alert(self.ALERT, "warning", self.last_error, ts)
            else:
                if self.last_error is not None and self.registry is not None:
                    self.registry.clear_alert(self.ALERT, ts)
                self.last_error = None
            with self._cond:
                self._busy = False
                self._cond.notify_all()

    def flush(self, timeout_s: float = 30.0) -> None:
        """Wait until the queued snapshot (if any) is written."""
        with self._cond:
            self._cond.wait_for(lambda: self._pending is None and not self._busy, timeout=timeout_s)

    def close(self) -> None:
        """Write what is queued, then stop the writer thread."""
        self.flush()
        if self._thread is not None and self._thread.is_alive():
            with self._cond:
                self._pending = (0.0, {"__stop__": True})
                self._cond.notify_all()
            self._thread.join(timeout=30)
        self._thread = None


# --- start-up: catalog, build info, restored totals -----------------------------------------------------
def quote_labels(settings: Any) -> list[str]:
    """The quote assets of the configured venues, sorted: the `quote` label values of money metrics."""
    return sorted(set(settings.quote_assets.values()))


def money_quote(settings: Any) -> str:
    """The `quote` label of account-wide money (equity, drawdown): the one quote asset, or "mixed"."""
    quotes = quote_labels(settings)
    return quotes[0] if len(quotes) == 1 else "mixed"


def build_labels() -> dict[str, str]:
    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "unknown"

    return {
        "version": version("funding-arb"),
        "python": platform.python_version(),
        "engine": "hummingbot " + version("hummingbot"),
    }


def _previous_export(export_path: Path | None) -> dict[str, Any]:
    """The last JSON metrics export ({} when absent or unreadable: a warning says so)."""
    if export_path is None or not export_path.exists():
        return {}
    try:
        data = json.loads(export_path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return data
    except (OSError, ValueError) as e:
        logger.warning("metrics_restore_failed path=%s error=%s: counters restart at 0", export_path, redact(str(e)))
        return {}


Totals = dict[str, list[tuple[dict[str, str], Decimal]]]


def restored_totals(data: dict[str, Any], export_path: Path | None = None) -> Totals:
    """Counter totals of the previous run, by name (no prefix, no `_total`): the one place they are read from.

    Source: the last JSON metrics export `data` (written atomically every `metrics_export_interval_s` and at stop;
    a journal of totals replaces it here once one exists). Nothing readable gives {} (counters then restart at
    0, which Prometheus's `increase()` treats as a reset)."""
    try:
        out: Totals = {}
        for name, fam in data.get("metrics", {}).items():
            if fam.get("type") != "counter":
                continue
            base = name.removeprefix("funding_arb_").removesuffix("_total")
            out[base] = [
                (dict(s["labels"]), Decimal(str(s["value"])))
                for s in fam["samples"]
                if isinstance(s.get("value"), (int, float)) and not isinstance(s["value"], bool)
            ]
        return out
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        logger.warning("metrics_restore_failed path=%s error=%s: counters restart at 0", export_path, redact(str(e)))
        return {}


JOURNAL_TOTALS = ("fees_paid_quote", "funding_received_quote", "funding_paid_quote")  # quote money, per quote


def prepare_metrics(registry: MetricsRegistry, settings: Any, export_path: Path | None, journal: Any = None) -> None:
    """Declare every metric of the catalog, set build info and restore the counters of the previous run: every
    series from the last JSON export, and the money totals from the journal (`Journal.totals()`, which never
    decrease) when it has them and there is one quote asset. A restored counter is never lowered."""
    from ..core.metric_catalog import CATALOG, label_domains

    registry.declare_catalog(
        CATALOG, label_domains(list(settings.tokens), list(settings.all_connectors), quote_labels(settings))
    )
    registry.gauge("build_info", 1, **build_labels())
    previous = _previous_export(export_path)
    registry.restore_events(previous.get("events", []) if isinstance(previous.get("events"), list) else [])
    restored = 0
    totals = restored_totals(previous, export_path)
    quotes = quote_labels(settings)
    journal_totals = _journal_totals(journal)
    for name in JOURNAL_TOTALS:
        if name in journal_totals and len(quotes) == 1:
            totals.setdefault(name, []).append(({"quote": quotes[0]}, journal_totals[name]))
    for name, samples in totals.items():
        for labels, value in samples:
            try:
                registry.restore_counter(name, value, **labels)
                restored += 1
            except Exception as e:  # a renamed metric or changed labels: skip that series, say so
                logger.warning("metrics_restore_skipped name=%s labels=%s error=%s", name, labels, e)
    if restored:
        logger.info("metrics_restored series=%d from=%s journal=%s", restored, export_path, bool(journal_totals))


def _journal_totals(journal: Any) -> dict[str, Decimal]:
    if journal is None or not hasattr(journal, "totals"):
        return {}
    try:
        return {k: Decimal(v) for k, v in journal.totals().items()}
    except Exception as e:  # a journal that cannot be read here is reported by its owner; the export still counts
        logger.warning("metrics_journal_totals_failed error=%s", redact(str(e)))
        return {}


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- Prometheus ---------------------------------------------------------------------------------
class _Collector:
    """The registry as a prometheus-client collector (for `generate_latest` and a `CollectorRegistry`)."""

    def __init__(self, registry: MetricsRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterator[Metric]:
        return self._registry.collect()

    def describe(self) -> list[Metric]:
        return []  # names are dynamic; rendered at scrape time


class PrometheusServer:
    """Serves `registry` on http://addr:port/metrics from a daemon thread; port 0 binds a free port."""

    def __init__(self, registry: MetricsRegistry, port: int, addr: str = "127.0.0.1") -> None:
        self.registry, self.addr, self._requested_port = registry, addr, port
        self.exposition = CachedExposition(registry.collect)  # families encoded again only when they changed
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int | None:
        return int(self._server.server_port) if self._server is not None else None

    def start(self) -> None:
        """Idempotent. Raises: MetricsServerError when the address cannot be bound."""
        if self._server is not None:
            return
        if not is_loopback(self.addr):
            logger.warning(
                "prometheus_exposed addr=%s port=%s: the metrics endpoint is reachable from other "
                "hosts (no authentication); restrict it with a firewall or bind 127.0.0.1",
                self.addr,
                self._requested_port,
            )
        try:
            self._server, self._thread = serve(self.exposition, self.addr, self._requested_port)
        except OSError as e:
            raise MetricsServerError(
                f"prometheus_port ({self._requested_port}) on prometheus_host {self.addr} cannot be bound: {e}"
            ) from e
        logger.info("prometheus_started addr=%s port=%s", self.addr, self.port)

    def stop(self) -> None:
        """Idempotent: shut the server down, close the socket, join the thread."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server, self._thread = None, None
        logger.info("prometheus_stopped addr=%s", self.addr)
