"""`core/` is pure: no module under it imports or names the connector framework, and nothing under it imports
the shell, the command line, the simulated venues or the replay (every arrow points down into `core/`)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "strategies" / "funding_arbitrage"
CORE_FILES = sorted((PACKAGE / "core").glob("**/*.py"))
OUTER = ("shell", "cli", "sim", "replay")


def test_core_folder_is_not_empty() -> None:
    assert len(CORE_FILES) >= 15


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_module_source_never_names_the_framework(path: Path) -> None:
    assert "hummingbot" not in path.read_text()


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_module_imports_nothing_outside_core(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level >= 2:
                assert module.split(".")[0] not in OUTER, f"{path.name} imports ..{module}"
            assert not any(module.startswith(f"strategies.funding_arbitrage.{o}") for o in OUTER)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                assert alias.name.split(".")[0] != "hummingbot"


def test_importing_every_core_module_loads_no_framework_module() -> None:
    modules = [f"strategies.funding_arbitrage.core.{p.stem}" for p in CORE_FILES if p.stem != "__init__"]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "sys.exit(1 if any(m.split('.')[0] == 'hummingbot' for m in sys.modules) else 0)"
    )

    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_launcher_and_app_shell_do_not_import_each_other_at_module_level() -> None:
    app = ast.parse((PACKAGE / "shell" / "app.py").read_text())
    top_level = [n for n in app.body if isinstance(n, ast.ImportFrom)]
    assert not any((n.module or "").endswith("launcher") for n in top_level)
