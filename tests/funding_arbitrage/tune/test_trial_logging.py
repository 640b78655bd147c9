"""A trial run in the caller's process quiets the strategy's log for the replay only, then restores it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from strategies.funding_arbitrage.replay import runner
from strategies.funding_arbitrage.tune.trial import TrialSpec, run_trial


def _spec(tmp_path: Path) -> TrialSpec:
    return TrialSpec(
        data_dir=tmp_path,
        venues=("binance_perpetual",),
        coins=("BTC",),
        spot=(),
        start_ts=0.0,
        end_ts=86400.0,
        tick_s=300.0,
        config={},
        label="t",
    )


@pytest.mark.parametrize("outcome", ["error", "raise"])
def test_logger_level_restored_after_a_trial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outcome: str) -> None:
    seen: list[int] = []

    def fake_replay(opts: Any) -> Any:
        seen.append(logging.getLogger("strategies").level)
        if outcome == "error":
            raise ValueError("window outside the data")  # becomes the trial's error text
        raise RuntimeError("boom")  # escapes run_trial

    monkeypatch.setattr(runner, "run_replay", fake_replay)
    log = logging.getLogger("strategies")
    monkeypatch.setattr(log, "level", logging.INFO)
    if outcome == "error":
        assert "window outside the data" in run_trial(_spec(tmp_path)).error
    else:
        with pytest.raises(RuntimeError):
            run_trial(_spec(tmp_path))
    assert seen == [logging.ERROR]  # quiet while the replay ran
    assert log.level == logging.INFO  # and the caller's level back afterwards
