"""Compiled-module cache for the command line, outside the source trees (no hummingbot import: called first).

Why: this environment sets `PYTHONDONTWRITEBYTECODE=1`, so every `funding-arb` process compiled all ~3 300
modules it imports (Hummingbot, pandas, pydantic, ...) from source: about 12 CPU seconds before a replay
starts, against about 4 with compiled modules (measured, docs/performance.md "Replay for sweeps"). The variable is
usually set to keep `__pycache__` directories out of source trees and the venv; writing them under the user's
cache directory instead (`sys.pycache_prefix`) keeps that promise and pays the compilation once.

Off with `FUNDING_ARB_BYTECODE_CACHE=0`. Where: `$FUNDING_ARB_CACHE_DIR/pycache`, else
`$XDG_CACHE_HOME/funding-arb/pycache`, else `~/.cache/funding-arb/pycache`. An explicit `PYTHONPYCACHEPREFIX`
is kept. Child processes (replay workers, Ray workers of a sweep) inherit the setting through the environment.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

SWITCH_ENV = "FUNDING_ARB_BYTECODE_CACHE"
CACHE_ENV = "FUNDING_ARB_CACHE_DIR"


def cache_root() -> Path:
    """The user's cache directory for this project (`$FUNDING_ARB_CACHE_DIR`, else XDG, else ~/.cache)."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "funding-arb"


def enable_bytecode_cache() -> Path | None:
    """Read and write compiled modules under `cache_root()/pycache` for this process and its children.

    Returns the directory in use, or None when nothing was changed: switched off, Python already writes
    bytecode beside the sources, or the directory cannot be created or written (then modules are compiled in
    memory as before; never an error).
    """
    if os.environ.get(SWITCH_ENV, "1").strip().lower() in {"0", "off", "no", "false"}:
        return None
    if sys.pycache_prefix is None and not sys.dont_write_bytecode:
        return None  # bytecode is already cached beside the sources
    prefix = Path(sys.pycache_prefix) if sys.pycache_prefix else cache_root() / "pycache"
    try:
        prefix.mkdir(parents=True, exist_ok=True)
        if not os.access(prefix, os.W_OK | os.X_OK):
            return None
    except OSError:
        return None
    sys.pycache_prefix = str(prefix)
    sys.dont_write_bytecode = False
    os.environ["PYTHONPYCACHEPREFIX"] = str(prefix)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    return prefix
