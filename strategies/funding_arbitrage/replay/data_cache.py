"""Parsed market data kept on disk between processes (`funding-arb replay`, sweep workers, benches).

Why: parsing the two CSV files of `cross_venue_2025` into Decimal series (`sim.data.load_market_data`) costs about
1.5 CPU s in every process; reading the parsed objects back with `pickle` costs about 0.35 s (measured,
docs/performance.md "Third pass").

Where: one file per data directory under `cache_root()/data` (`$FUNDING_ARB_CACHE_DIR`, else XDG, else
`~/.cache/funding-arb`: the directory of the compiled-module cache), named by a hash of the directory's resolved
path. The file starts with a header naming what it was made from: the format version, the directory, each data
file's name, size and SHA-256 of its bytes, and a hash of the parser's source (`sim/data.py`). Any difference,
and the files are parsed again and the cache rewritten. A cache file that cannot be read (truncated, corrupt, from
another version of the classes) is reported in one warning and replaced: never an error. A directory that cannot
be written leaves things as they were (parse every time). At most `KEEP_FILES` directories are cached (about 10 MB
each for `cross_venue_2025`). Off with `FUNDING_ARB_DATA_CACHE=0`.

The cache holds Python objects read with `pickle`, which runs code named in the file: it lives in the user's own
cache directory (created 0700) and is never read from anywhere else.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

from ..cli.bytecode_cache import cache_root
from ..sim import data as sim_data
from ..sim.data import CANDLES_FILE, FUNDING_FILE, MarketData, load_market_data

log = logging.getLogger(__name__)
SWITCH_ENV = "FUNDING_ARB_DATA_CACHE"
FORMAT = 1
KEEP_FILES = 4  # data directories cached at once (the least recently written go first)


def cache_dir() -> Path:
    return cache_root() / "data"


def enabled() -> bool:
    return os.environ.get(SWITCH_ENV, "1").strip().lower() not in {"0", "off", "no", "false"}


def source_key(data_dir: Path) -> tuple[Any, ...]:
    """What a parse of `data_dir` depends on: the directory, each data file's (name, size, SHA-256 of its bytes),
    the parser.

    The content hash, not the modification time: a rewrite of the same size whose mtime was set back (`cp -p`,
    `touch -r`, `os.utime`) is caught. It costs about 2 ms for `cross_venue_2025` (1.8 MB of gzip; measured),
    against about 350 ms to read the cache and 1.5 s to parse."""
    files = [data_dir / name for name in (FUNDING_FILE, CANDLES_FILE)]
    stats = tuple((f.name, f.stat().st_size, _sha256(f)) for f in files if f.is_file())
    parser = hashlib.sha256(Path(sim_data.__file__).read_bytes()).hexdigest()
    return (FORMAT, str(data_dir.resolve()), stats, parser)


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def cache_file(data_dir: Path) -> Path:
    return cache_dir() / f"{hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:24]}.pickle"


def load_cached_market_data(data_dir: Path | str) -> MarketData:
    """`load_market_data(data_dir)`, read from the on-disk cache when it was made from the same files.

    Raises:
        DataError: as `load_market_data` (missing or malformed data files); the cache never raises.
    """
    directory = Path(data_dir)
    if not enabled():
        return load_market_data(directory)
    key = source_key(directory)
    path = cache_file(directory)
    found = _read(path, key)
    if found is not None:
        found.source_dir = directory  # as the caller spelled it (messages name it)
        return found
    parsed = load_market_data(directory)
    _write(path, key, parsed)
    return parsed


def _read(path: Path, key: tuple[Any, ...]) -> MarketData | None:
    """The cached data if `path` holds data made from `key`; None (after a warning if the file is unreadable)."""
    try:
        with path.open("rb") as fh:
            if pickle.load(fh) != key:
                log.info("data cache %s was made from other files or another parser: parsing again", path)
                return None
            found = pickle.load(fh)
        if not isinstance(found, MarketData):
            raise TypeError(f"holds a {type(found).__name__}, not MarketData")
        return found
    except FileNotFoundError:
        return None
    except Exception as e:  # truncated, corrupt, written by other classes: parse again, replace it
        log.warning("data cache %s is unreadable (%s: %s): parsing the CSV files again", path, type(e).__name__, e)
        return None


def _write(path: Path, key: tuple[Any, ...], data: MarketData) -> None:
    """Write atomically (a temporary file renamed over the old one); an unwritable directory is not an error."""
    tmp = None
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(key, fh, protocol=pickle.HIGHEST_PROTOCOL)
            pickle.dump(data, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        tmp = None
        _prune(path.parent)
    except (OSError, pickle.PicklingError) as e:
        log.info("data cache %s not written (%s): the data will be parsed again next time", path, e)
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def _prune(directory: Path) -> None:
    """Keep the KEEP_FILES most recently written cache files (each data directory has one)."""
    files = sorted(directory.glob("*.pickle"), key=lambda f: f.stat().st_mtime_ns, reverse=True)
    for old in files[KEEP_FILES:]:
        old.unlink(missing_ok=True)
