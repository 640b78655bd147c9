"""Drive Hummingbot's real interactive client (in tmux) and the headless engine, rooted at a project home.

No exchange is reachable here: with (fake) keys in the keystore the strategy must load and start, and its
status must say which venues are NOT CONNECTED, without a traceback. Without keys it must refuse to start,
naming the connector and the `connect` command.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tmux import Tmux

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PASSWORD = "test-password-1"
CONNECTORS = ["binance_perpetual", "bybit_perpetual", "binance"]  # the sample trades spot carry on binance

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def _home(tmp_path: Path, with_keys: bool) -> Path:
    home = tmp_path / "home"
    (home / "conf" / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "conf" / "scripts" / "conf_funding_arbitrage.yml", home / "conf" / "scripts")
    (home / "scripts").symlink_to(ROOT / "scripts")
    env = {**os.environ, "FUNDING_ARB_HOME": str(home)}
    args = [sys.executable, str(ROOT / "tests" / "client" / "keystore_helper.py"), PASSWORD]
    subprocess.run(args + (CONNECTORS if with_keys else []), env=env, check=True, capture_output=True, timeout=120)
    return home


@pytest.fixture
def tmux_session():
    sessions = []

    def start(home: Path) -> Tmux:
        s = Tmux(
            f"fa{os.getpid()}{len(sessions)}",
            str(BIN / "funding-arb") + " cli",
            {"FUNDING_ARB_HOME": str(home), "FUNDING_ARB_PASSWORD": PASSWORD},
        )
        sessions.append(s)
        return s

    yield start
    for s in sessions:
        s.kill()


def test_client_starts_strategy_and_reports_unconnected_venues(tmp_path, tmux_session):
    home = _home(tmp_path, with_keys=True)
    client = tmux_session(home)
    client.wait_for(">>>")
    client.send("start --v2 conf_funding_arbitrage.yml")
    client.wait_for("started successfully")
    client.send("status")
    screen = client.wait_for("NOT CONNECTED")
    for connector in CONNECTORS:
        assert connector in screen
    assert "Traceback" not in screen
    client.send("stop")
    client.wait_for("stopped successfully")
    # rooted at the project home: logs and client config were written there, not into site-packages
    assert (home / "conf" / "conf_client.yml").exists()
    assert any((home / "logs").iterdir())
    assert not (Path(sys.prefix) / "lib" / "python3.12" / "site-packages" / "conf").exists()
    # `start` after `stop`: Hummingbot cleared the strategy; the client starts the last config again (shell/resume.py)
    client.send("start")
    deadline = time.time() + 90
    while client.screen().count("Strategy 'funding_arbitrage' started successfully") < 2:
        assert time.time() < deadline and "Start aborted" not in client.screen(), client.screen()
        time.sleep(0.5)
    assert "Please import or create a strategy" not in client.screen()


def test_client_refuses_to_start_without_keys(tmp_path, tmux_session):
    home = _home(tmp_path, with_keys=False)
    client = tmux_session(home)
    client.wait_for(">>>")
    client.send("start --v2 conf_funding_arbitrage.yml")
    client.wait_for("Start aborted")
    # the client prints the reason on its own line, which may reach the pane a moment after "Start aborted"
    screen = client.wait_for("Failed to start strategy funding_arbitrage: binance_perpetual", timeout=30)
    assert "started successfully" not in screen
    log = "".join(p.read_text() for p in (home / "logs").glob("*.log"))
    assert "binance_perpetual: no API keys in the keystore; run `connect binance_perpetual`" in log


def test_headless_run_without_keys_exits_1_with_message(tmp_path):
    home = _home(tmp_path, with_keys=False)
    env = {**os.environ, "FUNDING_ARB_HOME": str(home), "FUNDING_ARB_PASSWORD": PASSWORD}
    out = subprocess.run(
        [str(BIN / "funding-arb"), "run", "--conf", "conf_funding_arbitrage.yml"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1
    log = "".join(p.read_text() for p in (home / "logs").glob("*.log"))
    assert "no API keys in the keystore" in log


def test_headless_run_without_password_exits_4(tmp_path):
    home = _home(tmp_path, with_keys=False)
    env = {k: v for k, v in os.environ.items() if k not in ("FUNDING_ARB_PASSWORD", "CONFIG_PASSWORD")}
    env["FUNDING_ARB_HOME"] = str(home)
    out = subprocess.run([str(BIN / "funding-arb"), "run"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 4
    assert "FUNDING_ARB_PASSWORD" in out.stdout


def test_headless_run_with_invalid_config_exits_2(tmp_path):
    home = _home(tmp_path, with_keys=False)
    conf = home / "conf" / "scripts" / "conf_funding_arbitrage.yml"
    conf.write_text(re.sub(r"(?m)^tokens: \[[^]]*\]", "tokens: [btc]", conf.read_text()))
    env = {**os.environ, "FUNDING_ARB_HOME": str(home), "FUNDING_ARB_PASSWORD": PASSWORD}
    out = subprocess.run([str(BIN / "funding-arb"), "run"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "tokens" in out.stderr


def test_headless_run_stops_cleanly_on_sigterm(tmp_path):
    home = _home(tmp_path, with_keys=True)
    env = {**os.environ, "FUNDING_ARB_HOME": str(home), "FUNDING_ARB_PASSWORD": PASSWORD}
    proc = subprocess.Popen(
        [str(BIN / "funding-arb"), "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.time() + 120
        line = ""
        while time.time() < deadline and "running headless" not in line:
            line = proc.stdout.readline()
            assert line or proc.poll() is None, "engine exited before running"
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert rc == 0
    assert PASSWORD not in "".join(p.read_text() for p in (home / "logs").glob("*.log"))
