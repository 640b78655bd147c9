"""Adopt a sweep's chosen settings into the sample configs, keeping every comment and every other line as it is.

`funding-arb sweep ... --write-sample` calls `adopt_sample` once the sweep is finished: each tuned setting's line in
`conf/scripts/conf_funding_arbitrage.yml` and `conf_funding_arbitrage_sim.yml` gets the chosen value (its comment
stays in its column), both files are validated before either is written, and the sweep's record (the folds.json
document: per-fold in-sample and out-of-sample figures, pooled captures, the chosen settings) is written to
`docs/sweep_result.json`. `tests/funding_arbitrage/tune/test_sample_is_sweep_choice.py` checks that the shipped
sample configs hold the record's chosen values, so "the sample config is the one the sweep chose" is checked by CI.

Example: `order_amount_quote: 630          # target notional ...` with 840 chosen becomes
`order_amount_quote: 840          # target notional ...`.
"""

from __future__ import annotations

import json
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from ..core.config import check_settings
from .space import restored

SAMPLE_CONFIGS = ("conf_funding_arbitrage.yml", "conf_funding_arbitrage_sim.yml")
RECORD = Path("docs") / "sweep_result.json"
_LINE = re.compile(
    r"^(?P<head>(?P<key>[A-Za-z_]\w*):[ \t]*)(?P<value>[^#\s](?:[^#]*[^#\s])?)?(?P<pad>[ \t]*)(?P<comment>#.*)?$"
)


class AdoptError(ValueError):
    """The chosen settings cannot be written into a config; the message names the file and the setting."""


def value_text(value: Any) -> str:
    """A setting's value as YAML text: Decimals exactly (0.40 stays 0.40), booleans as true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def set_values(text: str, settings: dict[str, Any], where: str = "config") -> tuple[str, dict[str, tuple[str, str]]]:
    """`text` with each setting's top-level `name: value` line holding the new value; comments keep their column.

    Returns the new text and {name: (old text, new text)} of the lines that changed.

    Raises:
        AdoptError: a setting has no single top-level scalar line (missing, set twice, or a block value).
    """
    lines = text.splitlines(keepends=True)
    changed: dict[str, tuple[str, str]] = {}
    for name, value in settings.items():
        hits = [i for i, line in enumerate(lines) if line.startswith(f"{name}:")]
        if len(hits) != 1:
            raise AdoptError(
                f"{where}: {name} must have exactly one top-level line `{name}: value` (found {len(hits)})"
            )
        i = hits[0]
        body = lines[i].rstrip("\r\n")
        match = _LINE.match(body)
        if match is None or match["value"] is None or match["value"][0] in "[{|>":
            raise AdoptError(f"{where}: {name} line {i + 1} ({body!r}) is not a plain `{name}: value` line")
        new = value_text(value)
        if _same(match["value"], new):
            continue  # same number (0.5 and 0.50): the line stays as written
        line = match["head"] + new
        if match["comment"] is not None:
            line += " " * max(1, match.start("comment") - len(line)) + match["comment"]
        lines[i] = line + lines[i][len(body) :]
        changed[name] = (match["value"], new)
    return "".join(lines), changed


def _same(old: str, new: str) -> bool:
    try:
        return Decimal(old) == Decimal(new)
    except ArithmeticError:
        return old == new


def adopt_sample(record: dict[str, Any], root: Path) -> dict[Path, dict[str, tuple[str, str]]]:
    """Write the record's chosen settings into the sample configs under `root`/conf/scripts and the record to
    `root`/docs/sweep_result.json. Nothing is written unless every config stays valid.

    Returns {config path: changed lines} (see `set_values`).

    Raises:
        AdoptError: the record has no chosen settings, a config lacks a setting's line, or a result is invalid.
    """
    chosen = record.get("chosen") or {}
    if not chosen.get("settings"):
        raise AdoptError("the sweep chose nothing (no trial completed): the sample configs are left as they are")
    settings = restored(chosen["settings"])
    texts: dict[Path, str] = {}
    report: dict[Path, dict[str, tuple[str, str]]] = {}
    for name in SAMPLE_CONFIGS:
        path = root / "conf" / "scripts" / name
        new, changed = set_values(path.read_text(), settings, str(path))
        ok, problems = check_settings(yaml.safe_load(new))
        if ok is None:
            raise AdoptError(f"{path} with the chosen settings is invalid:\n  " + "\n  ".join(problems))
        texts[path], report[path] = new, changed
    for path, new in texts.items():
        _write(path, new)
    _write(root / RECORD, json.dumps(record, indent=2, sort_keys=True) + "\n")
    return report


def _write(path: Path, text: str) -> None:
    """Atomic replace: a reader sees the old file or the new one, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
