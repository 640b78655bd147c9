"""`funding-arb cli --sim`: Hummingbot's interactive client (in tmux) running the strategy on simulated venues.

No keys and no exchange: the sim config's venues are installed into the client's engine, the strategy starts by
itself after login, and `status` shows the SIMULATION banner, every sim venue connected and replayed funding.
"""

import os
import re
import shutil
import sys
from pathlib import Path

import pytest
from tmux import Tmux

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SIM_CONF = "conf_funding_arbitrage_sim.yml"
SIM_CONNECTORS = ["sim_binance_perpetual", "sim_bybit_perpetual", "sim_binance"]

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


@pytest.fixture
def sim_client(tmp_path):
    home = tmp_path / "home"
    (home / "conf" / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "conf" / "scripts" / SIM_CONF, home / "conf" / "scripts")
    (home / "scripts").symlink_to(ROOT / "scripts")
    session = Tmux(
        f"fasim{os.getpid()}",
        f"{BIN / 'funding-arb'} cli --sim --speed 3600",
        {"FUNDING_ARB_HOME": str(home), "FUNDING_ARB_PASSWORD": "sim-client-password"},
    )
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
