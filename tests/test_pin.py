"""The installed Hummingbot must be exactly the release SUBMODULE_VERSION_PIN.md documents."""

import importlib.metadata
import re
import tomllib
from pathlib import Path

import hummingbot

ROOT = Path(__file__).resolve().parents[1]


def _pin_table() -> dict[str, str]:
    text = (ROOT / "SUBMODULE_VERSION_PIN.md").read_text()
    release = re.search(r"release \(pinned\) \| \*\*(\S+)\*\*", text)
    upstream = re.search(r"upstream version string \| `([^`]+)`", text)
    assert release and upstream, "SUBMODULE_VERSION_PIN.md lost its pin table"
    return {"release": release.group(1), "upstream": upstream.group(1)}


def test_installed_hummingbot_matches_pin():
    assert importlib.metadata.version("hummingbot") == _pin_table()["release"]


def test_upstream_version_string_matches_pin():
    version_file = Path(hummingbot.__file__).parent / "VERSION"
    assert version_file.read_text().strip() == _pin_table()["upstream"]


def test_pyproject_and_lock_pin_the_same_release():
    release = _pin_table()["release"]
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"hummingbot=={release}" in deps
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    locked = [p["version"] for p in lock["package"] if p["name"] == "hummingbot"]
    assert locked == [release]
