"""Mask credentials in text that leaves the process (metric labels, alert messages, halt reasons).

Pure (core/). Used by `metrics.py` (label values, alert messages) and `risk.py` (error details).
"""
from __future__ import annotations

import re

MASK = "***"
_SECRET_NAMES = (r"api[_-]?key|apikey|secret(?:[_-]?key)?|key|passphrase|passwd|password|private[_-]?key"
                 r"|signature|sig|(?:access|auth|api|refresh)[_-]?token|authorization")
_KV_RE = re.compile(
    rf"(?i)(?<![a-z0-9])((?:[a-z0-9]+[_-])*(?:{_SECRET_NAMES}))(\"?\s*[=:]\s*\"?)(?:bearer\s+)?([^\s&,;\"'}}]+)")
_UUID_RE = re.compile(
    r"(?i)(?<![0-9a-f])[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![0-9a-f])")
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
    text = _KV_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _UUID_RE.sub(MASK, text)
    text = _HEX_RE.sub(MASK, text)
    return _B64_RE.sub(_mask_mixed, text)
