"""Mask credentials in text that leaves the process (metric labels, alert messages, halt reasons).

Pure (core/). Used by `metrics.py` (label values, alert messages) and `risk.py` (error details); `RedactingFilter`
masks log records (messages and exception tracebacks) on every handler (installed by `shell/app.py`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

MASK = "***"
_SECRET_NAMES = (
    r"api[_-]?key|apikey|secret(?:[_-]?key)?|key|passphrase|passwd|password|private[_-]?key"
    r"|signature|sig|(?:access|auth|api|refresh)[_-]?token|authorization"
)
_KV_RE = re.compile(
    rf"(?i)(?<![a-z0-9])((?:[a-z0-9]+[_-])*(?:{_SECRET_NAMES}))(\"?\s*[=:]\s*\"?)(?:bearer\s+)?([^\s&,;\"'}}]+)"
)
_UUID_RE = re.compile(r"(?i)(?<![0-9a-f])[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![0-9a-f])")
_HEX_RE = re.compile(r"(?<![0-9A-Za-z])(?:0x)?[0-9a-fA-F]{32,}(?![0-9A-Za-z])")
_B64_RE = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{16,}={0,2}(?![A-Za-z0-9+/=])")


def _mask_mixed(m: re.Match[str]) -> str:
    s = m.group(0)
    mixed = any(c.isdigit() for c in s) and any(c.islower() for c in s) and any(c.isupper() for c in s)
    return MASK if mixed else s


def redact(text: str) -> str:
    """Mask what looks like a credential.

    Masked: the value after `key=`, `api_key:`, `secret=`, `passphrase=`, `password=`, `signature=`,
    `*_token=`, `Authorization: Bearer …`; hex runs of 32+ digits (optionally `0x`: private keys, OKX
    secrets), UUIDs (OKX keys), and runs of 16+ base64 characters that mix upper case, lower case and
    digits (Binance, Bybit, Kraken keys). `token=BTC`, connector names, pairs and timestamps pass unchanged.
    False positives (a long mixed-case client order id) are accepted: metrics and alerts are not for ids.
    """
    if len(text) < 16 and "=" not in text and ":" not in text:
        return text  # cannot hold a secret: every pattern needs `=`/`:` or 16+ characters (the common label value)
    text = _KV_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _UUID_RE.sub(MASK, text)
    text = _HEX_RE.sub(MASK, text)
    return _B64_RE.sub(_mask_mixed, text)


class RedactingFilter(logging.Filter):
    """Masks credentials in a log record before any handler formats it: the message (arguments merged in), the
    exception text with its traceback, and the stack text. Install it on handlers (`install_on_handlers`), since a
    logger's own filters do not see records propagated from child loggers.

    The exception is formatted here once, redacted into `record.exc_text`, and `record.exc_info` is dropped, so no
    formatter formats the raw exception again. The record is changed in place; `redact` is idempotent, so a record
    passing several handlers is masked once in effect. Never raises (a failing filter would drop the log line).
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError, KeyError) as e:  # a bad %-format must not hide the line: keep the template
            message = f"{record.msg!r} (unformattable arguments: {e!r})"
        record.__dict__.pop("dict_msg", None)  # Hummingbot's structured event logs: the JSON text is the message
        record.msg, record.args = redact(message), ()
        if record.exc_info:
            record.exc_text = self._formatter.formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install_on_handlers(loggers: Iterable[logging.Logger]) -> int:
    """Add one `RedactingFilter` to every handler of `loggers` that has none yet; returns how many were added."""
    added = 0
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
                added += 1
    return added


def all_loggers() -> list[logging.Logger]:
    """The root logger and every logger created so far (placeholders left out)."""
    found = [lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    return [logging.getLogger(), *found]
