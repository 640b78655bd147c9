"""Text primitives of the report (no hummingbot import): exact decimal text, fixed-precision JSON numbers,
deterministic JSON, UTC times, and dropping secret-looking settings."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ..core.redaction import redact

PLACES = Decimal("0.000001")
SECONDS_PLACES = Decimal("0.001")
SECRET_KEY_RE = re.compile(
    r"secret|passw|passphrase|private|mnemonic|seed_?phrase|credential|signature|bearer|"
    r"(^|[_\-.])(api_?)?keys?($|[_\-.])|apikey|(access|auth|api|refresh|session)_?token",
    re.IGNORECASE,
)


class RawNumber(str):
    """Text written into JSON as a bare number."""


def safe_text(value: Any) -> str:
    """Free text (event details, reasons, notes) with anything credential-like masked."""
    return redact(str(value))


def is_secret_key(key: str) -> bool:
    return bool(SECRET_KEY_RE.search(key))


def sanitize(value: Any) -> Any:
    """A JSON-ready copy: secret-looking keys dropped, text redacted (recursively), Decimal -> RawNumber."""
    if isinstance(value, Mapping):
        return {
            str(k): sanitize(v)
            for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))
            if not is_secret_key(str(k))
        }
    if isinstance(value, (list, tuple)):
        return [sanitize(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return [sanitize(v) for v in sorted(value, key=str)]
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        return RawNumber(plain(value)) if value.is_finite() else str(value)
    if isinstance(value, float):
        return RawNumber(repr(value)) if math.isfinite(value) else str(value)
    return str(value)


def plain(value: Decimal) -> str:
    """Exact decimal text without exponent; -0 becomes 0."""
    if value.is_zero():
        value = abs(value)
    return format(value, "f")


def fixed(value: Decimal | None, places: Decimal = PLACES) -> RawNumber | None:
    """`value` rounded half-even to `places` as a JSON number; None stays None (null)."""
    if value is None:
        return None
    if not value.is_finite():
        return None
    return RawNumber(plain(value.quantize(places)))


def dump_json(value: Any, indent: int = 0) -> str:
    """Deterministic JSON (keys in the given order, 2-space indent) that writes RawNumber verbatim."""
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(value, RawNumber):
        return str(value)
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(str(k))}: {dump_json(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(f"{inner}{dump_json(v, indent + 1)}" for v in value) + "\n" + pad + "]"
    return json.dumps(value)


def iso_utc(ts: float) -> str:
    """Seconds since the epoch as `2025-03-08T16:00:00Z` (milliseconds shown only when present)."""
    moment = datetime.fromtimestamp(ts, UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"


def fmt_ts(ts: float) -> str:
    """A timestamp in seconds as text: integers bare, fractions to the millisecond."""
    if float(ts).is_integer():
        return str(int(ts))
    return plain(Decimal(repr(float(ts))).quantize(SECONDS_PLACES))


def compact_json(value: Any) -> str:
    """One-line deterministic JSON of a sanitised value (RawNumber written bare)."""
    return " ".join(line.strip() for line in dump_json(value).splitlines())
