"""docs/deploy.md: the systemd unit verifies, and every path, command and exit code the unit and the Dockerfile name
exists in this project (Docker itself is not available here: the image is not built)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from strategies.funding_arbitrage.cli import exit_codes
from strategies.funding_arbitrage.cli.launcher import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "deploy.md").read_text()
UNIT = re.search(r"```ini\n(.*?)```", DOC, re.S).group(1)  # type: ignore[union-attr]
DOCKERFILE = re.search(r"```dockerfile\n(.*?)```", DOC, re.S).group(1)  # type: ignore[union-attr]


def _unit_value(key: str) -> str:
    return re.search(rf"^{key}=(.*)$", UNIT, re.M).group(1)  # type: ignore[union-attr]


def test_systemd_unit_runs_the_launcher_with_a_shipped_config_and_spares_the_exit_codes_that_need_a_person() -> None:
    exec_start = _unit_value("ExecStart").split()
    assert exec_start[0] == "/opt/funding-arb/.venv/bin/funding-arb"
    assert "funding-arb" in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    args = build_parser().parse_args(exec_start[1:])
    assert args.command == "run" and (ROOT / "conf" / "scripts" / args.conf).exists()
    assert set(_unit_value("RestartPreventExitStatus").split()) == {
        str(exit_codes.EXIT_CONFIG),
        str(exit_codes.EXIT_PASSWORD),
    }
    assert _unit_value("KillSignal") in ("SIGINT", "SIGTERM")  # both stop the headless engine gracefully (app.py)
    for path in _unit_value("ReadWritePaths").split():
        assert path.removeprefix("/opt/funding-arb/") in ("data", "logs", "conf")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    unit = UNIT.replace("/opt/funding-arb", str(ROOT)).replace("EnvironmentFile=/", "EnvironmentFile=-/")
    path = tmp_path / "funding-arb.service"
    path.write_text(unit)
    if not (ROOT / ".venv" / "bin" / "funding-arb").exists():
        pytest.skip("no .venv/bin/funding-arb in this checkout")
    out = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(path)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert "funding-arb.service" not in out.stderr, out.stderr  # no warning about the unit itself


def test_dockerfile_names_what_the_project_has() -> None:
    assert "COPY . ." in DOCKERFILE and "RUN ./setup.sh" in DOCKERFILE
    assert (ROOT / "setup.sh").exists() and "uv sync --frozen" in (ROOT / "setup.sh").read_text()
    entry = re.search(r'ENTRYPOINT \["([^"]+)"\]', DOCKERFILE).group(1)  # type: ignore[union-attr]
    assert entry == ".venv/bin/funding-arb"
    cmd = re.findall(r'"([^"]+)"', re.search(r"^CMD (.*)$", DOCKERFILE, re.M).group(1))  # type: ignore[union-attr]
    args = build_parser().parse_args(cmd)
    assert args.command == "run" and (ROOT / "conf" / "scripts" / args.conf).exists()
    assert "STOPSIGNAL SIGINT" in DOCKERFILE
    for linked in re.findall(r"\]\(\.\./(deploy/[^)]+)\)", DOC):
        assert (ROOT / linked).exists(), linked
