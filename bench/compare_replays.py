"""Same economics, exactly: two replay report directories compared file by file (run on demand, not by pytest).

    .venv/bin/python bench/compare_replays.py out/before out/after

Every CSV of the report (trades, equity, margin, utilisation, ...) must be byte-identical and report.json equal
once `wall_seconds` (and `--ignore`d keys) are removed. Prints each file's verdict; exit status 1 on any difference.
A speed change is accepted only when this passes for the before/after pair of the same replay.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any


def _drop(value: Any, keys: set[str]) -> Any:
    if isinstance(value, dict):
        return {k: _drop(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [_drop(v, keys) for v in value]
    return value


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                return _first_difference(a.get(k), b.get(k), f"{path}.{k}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_difference(x, y, f"{path}[{i}]")
    return f"{path or '<root>'}: {a!r} != {b!r}"


def compare(before: Path, after: Path, ignore: set[str]) -> list[str]:
    """Differences between the two directories (empty: identical economics)."""
    problems = []
    names = sorted({p.name for p in before.glob("*.csv")} | {p.name for p in after.glob("*.csv")})
    for name in names:
        a, b = before / name, after / name
        if not a.is_file() or not b.is_file():
            problems.append(f"{name}: only in {'after' if not a.is_file() else 'before'}")
            continue
        same = a.read_bytes() == b.read_bytes()
        digest = hashlib.sha256(a.read_bytes()).hexdigest()[:12]
        print(f"  {name:<20} {'byte-identical' if same else 'DIFFERENT'} (sha256 {digest}, {a.stat().st_size} bytes)")
        if not same:
            problems.append(f"{name}: contents differ")
    ra = _drop(json.loads((before / "report.json").read_text()), ignore)
    rb = _drop(json.loads((after / "report.json").read_text()), ignore)
    same = ra == rb
    print(f"  {'report.json':<20} {'equal' if same else 'DIFFERENT'} except {', '.join(sorted(ignore))}")
    if not same:
        problems.append(f"report.json: {_first_difference(ra, rb)}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--ignore", default="wall_seconds", help="report.json keys to leave out, comma separated")
    args = parser.parse_args()
    problems = compare(args.before, args.after, set(args.ignore.split(",")))
    for p in problems:
        print(f"DIFFERENCE {p}")
    print("same economics: yes" if not problems else "same economics: NO")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
