"""`funding-arb cli --sim`: Hummingbot's interactive client (in tmux) running the strategy on simulated venues.

No keys and no exchange: the sim config's venues are installed into the client's engine, the strategy starts by
itself after login, and `status` shows the SIMULATION banner, every sim venue connected and replayed funding.
"""

import os
import re
import shutil
import sys
import time
from pathlib import Path

import pytest
from tmux import Tmux

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SIM_CONF = "conf_funding_arbitrage_sim.yml"
SIM_CONNECTORS = ["sim_binance_perpetual", "sim_bybit_perpetual", "sim_binance"]

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def _sim_home(tmp_path: Path) -> Path:
    """A project home with the sample sim config and the script."""
    home = tmp_path / "home"
    (home / "conf" / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "conf" / "scripts" / SIM_CONF, home / "conf" / "scripts")
    (home / "scripts").symlink_to(ROOT / "scripts")
    return home


def _client(name: str, home: Path, speed: int, **tmux_kwargs) -> Tmux:
    """`funding-arb cli --sim --speed <speed>` in tmux session `name`+pid, on `home`, logged in by itself."""
    return Tmux(
        f"{name}{os.getpid()}",
        f"{BIN / 'funding-arb'} cli --sim --speed {speed}",
        {"FUNDING_ARB_HOME": str(home), "FUNDING_ARB_PASSWORD": "sim-client-password"},
        **tmux_kwargs,
    )


@pytest.fixture
def sim_client(tmp_path):
    home = _sim_home(tmp_path)
    session = _client("fasim", home, 3600)
    yield session, home
    session.kill()


def test_cli_sim_starts_on_sim_venues_and_status_shows_them_connected(sim_client):
    client, home = sim_client
    client.wait_for("started successfully", timeout=120)
    client.wait_for("Leverage for SOL-USDT", timeout=60)  # the first ready tick has run
    client.send("status")
    screen = client.wait_for("Funding (rate per venue interval)", timeout=60)

    assert "SIMULATION (--sim) at 3600x" in screen and "Judge returns with `funding-arb replay`" in screen
    for connector in SIM_CONNECTORS:
        assert re.search(rf"{connector}\s+yes\s+connected; network CONNECTED", screen), connector
    assert "NOT CONNECTED" not in screen and "Traceback" not in screen
    client.send("stop")
    client.wait_for("Strategy stopped successfully")  # trading_core, in the log pane
    assert (home / "data" / "conf_funding_arbitrage_sim.sqlite").exists()


STARTED = "Strategy 'funding_arbitrage' started successfully"


def _hedged_ids(text: str) -> set[str]:
    """Pair ids of the HEDGED rows of the last `status` in `text`."""
    last = text.rsplit("Positions (quote", 1)[-1]
    return set(re.findall(r"^\s*([A-Z]+-\d+-\d+)\s.*HEDGED", last, flags=re.M))


@pytest.fixture
def slow_sim_client(tmp_path):
    """60x: a pair opened a few wall seconds ago is still open when `stop` follows (holding takes data hours)."""
    home = _sim_home(tmp_path)
    session = _client("faresume", home, 60, rows=600)  # the whole `status` (positions, funding, candidates) on screen
    yield session, home
    session.kill()


def _status_until(client: Tmux, kept_at_least: int, timeout_s: float = 120) -> tuple[str, set[str]]:
    """`status` until the last one on screen shows a finished recovery that kept at least `kept_at_least` pairs and
    a HEDGED pair; returns that status and its HEDGED pair ids."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        client.send("status")
        time.sleep(3)
        last = client.screen().rsplit("Funding arbitrage  trading state", 1)[-1]
        kept = re.search(r"(\d+) open pairs kept", last)
        ids = _hedged_ids(last)
        if kept and int(kept.group(1)) >= kept_at_least and ids:
            return last, ids
    raise AssertionError(
        f"no status with {kept_at_least}+ kept and a HEDGED pair after {timeout_s}s:\n{client.screen()}"
    )


def test_cli_sim_start_after_stop_resumes_with_pairs_intact(slow_sim_client):
    """Hummingbot's `stop` clears the strategy and removes the (injected) sim venues; a bare `start` must run the
    same config again on the same venues, and restart recovery must keep the pairs that were open (shell/resume.py).
    A fresh --sim run starts flat (its journal is moved aside), so any pair kept was kept across the stop."""
    client, home = slow_sim_client
    client.wait_for(STARTED, timeout=120)
    _, before = _status_until(client, kept_at_least=0)

    client.send("stop")
    client.wait_for("Clock stopped successfully", timeout=60)  # trading_core, in the log pane: stop has finished
    client.send("start")
    deadline = time.time() + 90
    while client.screen().count(STARTED) < 2:
        assert time.time() < deadline, client.screen()
        assert "Invalid strategy" not in client.screen() and "Start aborted" not in client.screen()
        time.sleep(0.5)
    last, after = _status_until(client, kept_at_least=1)

    assert before & after, f"no pair open before stop is open after start: {before} vs {after}"
    assert not re.search(r"[1-9]\d* orphan legs", last)
    assert "Invalid strategy" not in client.screen() and "Traceback" not in last
    # offline noise silenced in simulation, also in the instant after each `start` rebuilt the log handlers
    log = "".join(p.read_text() for p in (home / "logs").glob("*.log"))
    assert "Traceback" not in log
    assert not re.search(
        r" - (hummingbot\.connector\.(exchange|derivative)\.|hummingbot\.connector\.time_synchronizer)", log
    )
