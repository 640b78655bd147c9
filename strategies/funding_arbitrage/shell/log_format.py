"""Optional JSON log lines for servers (`log_format: json`): one JSON object per line on every log handler.

    {"ts": "2026-12-02T01:45:46.123Z", "level": "INFO", "logger": "strategies.funding_arbitrage.core.decisions",
     "message": "decision=enter token=HYPE ...", "fields": {"decision": "enter", "token": "HYPE", ...}}

`fields` holds the `key=value` pairs of the message (this package logs one `key=value` line per decision), `event`
the object of a Hummingbot EVENT_LOG line, `exc` the traceback. Records pass the credential filter
(`core.redaction.RedactingFilter`, on every handler) before any formatter runs; this formatter masks message and
traceback again, so a handler rebuilt by Hummingbot's `init_logging` before the filter is back cannot leak either.

`apply_log_format(fmt)` swaps the formatter of every handler (and back to the handler's own for "text"); the host
calls it again after Hummingbot rebuilds its handlers (`shell/app.py`), the runtime when it starts. In the
interactive client the output pane (Hummingbot's `CLIHandler`) stays text: it is read by a person.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import re
from typing import Any

from ..core.redaction import all_loggers, redact

TEXT, JSON = "text", "json"
_KV = re.compile(r"(?<![\w.])([a-z_][a-z0-9_]*)=(\"[^\"]*\"|\S+)")
_ORIGINAL = "_funding_arb_text_formatter"


class JsonLineFormatter(logging.Formatter):
    """One JSON object per record: ts (ISO 8601 UTC), level, logger, message, pid, plus fields / event / exc."""

    def format(self, record: logging.LogRecord) -> str:
        message = redact(record.getMessage())
        line: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds")[:-6] + "Z",
            "level": record.levelname,
            "logger": record.name,
            "message": message,
            "pid": record.process,
        }
        fields = {k: v.strip('"') for k, v in _KV.findall(message)}
        if fields:
            line["fields"] = fields
        if message.startswith("{"):
            with contextlib.suppress(ValueError):  # a message that only starts like JSON stays a message
                line["event"] = json.loads(message)
        exc = record.exc_text or (self.formatException(record.exc_info) if record.exc_info else None)
        if exc:
            line["exc"] = redact(exc)
        if record.stack_info:
            line["stack"] = redact(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


_JSON_FORMATTER = JsonLineFormatter()
_current = TEXT
_keep_console = False


def current_format() -> str:
    return _current


def apply_log_format(fmt: str | None = None, keep_console_text: bool | None = None) -> int:
    """Put `fmt` ("text" | "json"; None: the last one applied) on every handler; returns how many were changed.

    `keep_console_text` (None: as last set): leave Hummingbot's interactive output pane (`CLIHandler`) in text.
    Raises:
        ValueError: an unknown format.
    """
    global _current, _keep_console
    fmt = _current if fmt is None else fmt
    if fmt not in (TEXT, JSON):
        raise ValueError(f"log_format ({fmt!r}) must be 'text' or 'json'")
    _current = fmt
    _keep_console = _keep_console if keep_console_text is None else keep_console_text
    keep_console_text = _keep_console
    changed = 0
    for handler in {id(h): h for lg in all_loggers() for h in lg.handlers}.values():
        is_json = isinstance(handler.formatter, JsonLineFormatter)
        if fmt == JSON and not is_json and not (keep_console_text and type(handler).__name__ == "CLIHandler"):
            setattr(handler, _ORIGINAL, handler.formatter)
            handler.setFormatter(_JSON_FORMATTER)
            if type(handler).format is not logging.Handler.format:  # CLIHandler formats itself, ignoring formatters
                handler.format = _JSON_FORMATTER.format  # type: ignore[method-assign]  # this instance only
            changed += 1
        elif fmt == TEXT and is_json:
            handler.setFormatter(getattr(handler, _ORIGINAL, None))
            handler.__dict__.pop("format", None)
            changed += 1
    return changed
