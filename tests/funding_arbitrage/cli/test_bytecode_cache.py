"""The command line's compiled-module cache: where it writes, when it stays off, and that Python uses it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from strategies.funding_arbitrage.cli import bytecode_cache
from strategies.funding_arbitrage.cli.bytecode_cache import CACHE_ENV, SWITCH_ENV, enable_bytecode_cache


@pytest.fixture
def no_bytecode(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process as PYTHONDONTWRITEBYTECODE=1 starts it (restored after the test)."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.setattr(sys, "pycache_prefix", None)
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.delenv("PYTHONPYCACHEPREFIX", raising=False)


def test_bytecode_goes_to_the_user_cache_dir_and_to_child_processes(
    no_bytecode: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))

    prefix = enable_bytecode_cache()

    assert prefix == tmp_path / "cache" / "pycache" and prefix.is_dir()
    assert sys.pycache_prefix == str(prefix) and sys.dont_write_bytecode is False
    assert os.environ["PYTHONPYCACHEPREFIX"] == str(prefix) and "PYTHONDONTWRITEBYTECODE" not in os.environ


def test_switched_off_or_unwritable_changes_nothing(
    no_bytecode: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(SWITCH_ENV, "0")
    assert enable_bytecode_cache() is None

    monkeypatch.delenv(SWITCH_ENV)
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(CACHE_ENV, str(blocker))  # <file>/pycache cannot be created
    assert enable_bytecode_cache() is None

    assert sys.dont_write_bytecode is True and sys.pycache_prefix is None
    assert not (tmp_path / "cache").exists()


def test_python_already_caching_beside_the_sources_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.setattr(sys, "pycache_prefix", None)

    assert enable_bytecode_cache() is None and sys.pycache_prefix is None


def test_a_module_imported_after_enabling_is_compiled_into_the_cache(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "probe_module.py").write_text("VALUE = 42\n")
    env = {**os.environ, CACHE_ENV: str(tmp_path / "cache"), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPYCACHEPREFIX", None)
    code = (
        f"import sys; sys.path.insert(0, {str(Path(bytecode_cache.__file__).parent)!r}); "
        f"sys.path.insert(0, {str(source)!r}); import bytecode_cache as b; b.enable_bytecode_cache(); "
        "import probe_module; print(probe_module.VALUE)"
    )

    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)

    assert out.stdout.strip() == "42"
    assert list((tmp_path / "cache" / "pycache").rglob("probe_module*.pyc"))  # compiled into the cache
    assert not list(source.rglob("*.pyc"))  # nothing beside the sources
