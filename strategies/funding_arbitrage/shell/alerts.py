"""Alerts that reach a person: Hummingbot's notifications, the log and, when configured, any apprise channel.

Every alert goes through `MetricsRegistry.alert(...)` (the single entry point); this module listens to it
(`MetricsRegistry.add_alert_listener`) and delivers the critical ones:
  * to Hummingbot's client (`notify_hb_app` of the strategy while a Hummingbot application runs) and the log;
  * to Telegram / Slack / Discord / any webhook through apprise, when `FUNDING_ARB_ALERT_URLS` holds apprise
    URLs (comma or whitespace separated), e.g. `tgram://BOT_TOKEN/CHAT_ID` or `json://host:port/path`.

The URLs are secrets (they hold bot tokens): read from the environment only, never logged, exported or put in
a payload; apprise's own log lines pass through a filter that masks them.

Rate limit with hysteresis, on the strategy's clock (seconds): an alert is sent when raised; raised again
after clearing within `repeat_s` of its last notification it is suppressed (counted as
`alert_notifications_total{result="suppressed"}`); while it stays active a reminder goes out every `repeat_s`;
a clear is sent as "resolved" only for an alert that was notified. Delivery runs on one daemon thread so a slow
channel never delays a tick.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..core.metrics import Alert, Severity
from ..core.redaction import redact

if TYPE_CHECKING:
    from ..core.metrics import MetricsRegistry

log = logging.getLogger(__name__)
ALERT_URLS_ENV = "FUNDING_ARB_ALERT_URLS"
TITLE_PREFIX = "funding-arb"
# The critical events raised today (prefixes of alert names); any other alert of CRITICAL severity is sent too.
CRITICAL_EVENTS = {
    "risk.halted": "trading halted",
    "risk.liquidation_near": "liquidation risk",
    "risk.single_leg": "one leg unhedged past its timeout",
    "reconcile_mismatch": "venue position differs from the record (hedge gap)",
    "hedge_gap": "hedge gap beyond limit",
    "close_failed": "a close failed",
    "leverage_reduction_failed": "leverage reduction failed",
    "orphan_position": "orphan position found on restart",
}


def alert_urls_from_env(environ: dict[str, str] | None = None) -> list[str]:
    """The apprise URLs in $FUNDING_ARB_ALERT_URLS (empty list when unset)."""
    raw = (environ if environ is not None else os.environ).get(ALERT_URLS_ENV, "")
    return [u for u in re.split(r"[,\s]+", raw) if u]


def is_critical(alert: Alert) -> bool:
    return alert.severity is Severity.CRITICAL or any(alert.name.startswith(p) for p in CRITICAL_EVENTS)


class _SecretFilter(logging.Filter):
    """Masks the channel URLs (and their parts) in any log record passing the handlers of apprise's logger."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        parts = {s for u in secrets for s in [u, *re.split(r"[:/@?&=]+", u.split("://", 1)[-1])] if len(s) >= 6}
        self._pattern = (
            re.compile("|".join(re.escape(p) for p in sorted(parts, key=len, reverse=True))) if parts else None
        )

    def filter(self, record: logging.LogRecord) -> bool:
        if self._pattern is not None:
            text = record.getMessage()
            masked = self._pattern.sub("***", text)
            if masked != text:
                record.msg, record.args = masked, None
        return True


class AlertNotifier:
    """Listener for `MetricsRegistry`; sends critical alerts out. `app_notify(text)` reaches Hummingbot."""

    def __init__(
        self,
        metrics: MetricsRegistry,
        urls: list[str],
        repeat_s: float,
        app_notify: Callable[[str], None] | None = None,
        instance: str = "",
    ) -> None:
        self.metrics, self.repeat_s, self.app_notify, self.instance = metrics, repeat_s, app_notify, instance
        self._apprise = self._build_apprise(urls) if urls else None
        self._last_sent: dict[str, float] = {}  # alert name -> clock ts of its last notification
        self._open: set[str] = set()  # notified and not yet resolved
        self._queue: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        log.info("alert_channels configured=%d (urls from $%s, not shown)", len(urls), ALERT_URLS_ENV)
        metrics.add_alert_listener(self)

    @staticmethod
    def _build_apprise(urls: list[str]) -> Any:
        import apprise

        secret_filter = _SecretFilter(urls)
        logging.getLogger("apprise").addFilter(secret_filter)
        for handler in logging.getLogger().handlers:
            handler.addFilter(secret_filter)
        client = apprise.Apprise()
        bad = [i for i, u in enumerate(urls, 1) if not client.add(u)]
        if bad:  # position only: the URL itself is a secret
            log.error("alert_channel_invalid positions=%s of $%s: not valid apprise URLs", bad, ALERT_URLS_ENV)
        return client

    # --- listener --------------------------------------------------------------------------------------
    def __call__(self, alert: Alert, transition: str) -> None:
        if not is_critical(alert):
            return
        ts = alert.last_ts
        if transition == "cleared":
            if alert.name in self._open:
                self._open.discard(alert.name)
                self._send(alert, f"resolved: {alert.message}")
            return
        last = self._last_sent.get(alert.name)
        if transition == "refreshed" and last is not None:
            if ts - last >= self.repeat_s and alert.name in self._open:  # a reminder while it lasts
                self._last_sent[alert.name] = ts
                self._send(alert, f"still active since {_utc(alert.first_ts)}: {alert.message}")
            return  # the same incident, already sent: not a suppression, nothing new
        if last is not None and ts - last < self.repeat_s:
            self.metrics.inc("alert_notifications", result="suppressed")
            log.info("alert_suppressed name=%s (sent %.0fs ago, repeat_s=%s)", alert.name, ts - last, self.repeat_s)
            return
        self._last_sent[alert.name] = ts
        self._open.add(alert.name)
        self._send(alert, alert.message)

    def _send(self, alert: Alert, text: str) -> None:
        title = (
            f"{TITLE_PREFIX}{' ' + self.instance if self.instance else ''} {alert.severity.value.upper()}: {alert.name}"
        )
        body = redact(text)
        log.warning("ALERT %s %s", title, body)
        if self.app_notify is not None:
            try:
                self.app_notify(f"{title} - {body}")
            except Exception:  # the client's notify failing must not stop the other channels
                log.exception("alert_app_notify_failed name=%s", alert.name)
        if self._apprise is None:
            self.metrics.inc("alert_notifications", result="sent")
            return
        self._ensure_worker()
        self._queue.put((title, body))

    # --- delivery thread ---------------------------------------------------------------------------------
    def _ensure_worker(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._work, name="funding-arb-alerts", daemon=True)
            self._thread.start()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                title, body = item
                ok = bool(self._apprise.notify(title=title, body=body))
                self.metrics.inc("alert_notifications", result="sent" if ok else "failed")
                if not ok:
                    log.error("alert_delivery_failed title=%s (see apprise's log; channel URLs not shown)", title)
            except Exception:
                self.metrics.inc("alert_notifications", result="failed")
                log.exception("alert_delivery_failed")
            finally:
                self._queue.task_done()

    def flush(self) -> None:
        """Block until every queued notification was attempted (tests, shutdown)."""
        if self._thread is not None:
            self._queue.join()

    def close(self) -> None:
        """Deliver what is queued, then stop the delivery thread."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=30)
        self._thread = None


def _utc(ts: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def hummingbot_notify(text: str) -> None:
    """Hummingbot's `notify` (client pane, headless log, MQTT `/notify`) when an application runs; nothing in
    replays and tests (`HummingbotApplication.main_application()` would create one, so it is not called)."""
    from hummingbot.client.hummingbot_application import HummingbotApplication

    app = HummingbotApplication._main_app
    if app is not None and callable(getattr(app, "notify", None)):
        app.notify(text)
