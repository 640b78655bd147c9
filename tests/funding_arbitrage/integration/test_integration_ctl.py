"""`funding-arb ctl`: commands reach the running bot through the config's journal, from another terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from integration_helpers import BTC_START, config_home, run_async, sim_run

from strategies.funding_arbitrage.cli.launcher import main
from strategies.funding_arbitrage.shell.journal import Journal


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project home with one sim config whose journal is data/ctl_sim.journal.sqlite."""
    return config_home(
        tmp_path,
        monkeypatch,
        "ctl_sim",
        journal_file="data/ctl_sim.journal.sqlite",
        kill_switch_file="data/ctl.kill",
    )


def test_ctl_queues_commands_in_the_configs_journal(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ctl", "--conf", "ctl_sim.yml", "pause"]) == 0
    assert main(["ctl", "--conf", "ctl_sim.yml", "exit", "BTC-1-1"]) == 0
    assert main(["ctl", "--conf", "ctl_sim.yml", "status"]) == 0

    journal = Journal(home / "data" / "ctl_sim.journal.sqlite")
    assert [(c.command, c.arg, c.status) for c in journal.pending_commands()] == [
        ("pause", None, "pending"),
        ("exit", "BTC-1-1", "pending"),
    ]
    assert "#2 exit BTC-1-1 [pending]" in capsys.readouterr().out


def test_ctl_refuses_bad_usage_and_a_bad_config_with_exit_2(home: Path) -> None:
    assert main(["ctl", "--conf", "ctl_sim.yml", "exit"]) == 2  # exit needs a pair
    assert main(["ctl", "--conf", "ctl_sim.yml", "pause", "BTC-1-1"]) == 2  # only exit takes one
    assert main(["ctl", "--conf", "missing.yml", "pause"]) == 2
    (home / "data").mkdir(exist_ok=True)
    (home / "data" / "ctl_sim.journal.sqlite").write_text("not a journal")
    assert main(["ctl", "--conf", "ctl_sim.yml", "kill"]) == 2
    assert (home / "data" / "ctl_sim.journal.sqlite").read_text() == "not a journal"


def test_a_running_bot_acts_on_ctl_and_acknowledges_in_the_journal(home: Path, cross_venue: Any) -> None:
    settings = yaml.safe_load((home / "conf" / "scripts" / "ctl_sim.yml").read_text())

    async def body() -> None:
        with sim_run(cross_venue, settings, coins=["BTC"], start_ts=BTC_START, hours=1) as run:
            await run.run_until(BTC_START + 5 * 60)
            assert main(["ctl", "--conf", "ctl_sim.yml", "kill"]) == 0  # "from another terminal"
            await run.run_until(BTC_START + 7 * 60)

            [kill] = run.runtime.journal.commands()
            assert (kill.command, kill.status) == ("kill", "done")
            assert run.runtime.risk.halt_reason == "operator kill (funding-arb ctl kill)"
            assert "kill: done" in run.strategy.format_status()

    run_async(body)
