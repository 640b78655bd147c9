"""`decision_interval_s`: the edge engine decides on a fixed cadence of the strategy clock, while the safety
controls (risk gate, kill switch, hedging, execution) keep acting on every tick in between (on the simulated
venues: integration/test_integration_cadence.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from test_config_fields import RecordingShell, settings

from strategies.funding_arbitrage.core.config import FundingArbSettings
from strategies.funding_arbitrage.shell.runtime import FundingArbRuntime

SAMPLE = Path(__file__).resolve().parents[2] / "conf" / "scripts" / "conf_funding_arbitrage.yml"


def _runtime(tmp_path: Path, interval: int | None, **overrides: Any) -> tuple[FundingArbRuntime, list[float]]:
    """A runtime deciding every `interval` s (None: the field left out, as a hand-written config may)."""
    if interval is None:
        s = FundingArbSettings(**settings(tmp_path, **overrides).model_dump(exclude={"decision_interval_s"}))
    else:
        s = settings(tmp_path, decision_interval_s=interval, **overrides)
    runtime = FundingArbRuntime(RecordingShell(), s)
    seen: list[float] = []
    evaluate = runtime.engine.evaluate

    def spy(tick: Any, held: Any = ()) -> Any:
        seen.append(tick.ts)
        return evaluate(tick, held)

    runtime.engine.evaluate = spy  # type: ignore[method-assign]
    return runtime, seen


def test_between_decisions_the_last_decision_is_kept_with_its_time(tmp_path: Path) -> None:
    runtime, decided = _runtime(tmp_path, 300)
    for ts in (1000.0, 1060.0, 1240.0):
        runtime.on_tick(ts)
    first = runtime.last_decision

    assert decided == [1000.0] and runtime.decided_ts == 1000.0 and first.ts == 1000.0
    runtime.on_tick(1300.0)  # 300 s after the last decision: due
    assert decided == [1000.0, 1300.0] and runtime.last_decision.ts == 1300.0


def test_a_config_without_the_field_decides_on_the_sample_cadence(tmp_path: Path) -> None:
    sample = yaml.safe_load(SAMPLE.read_text())
    runtime, decided = _runtime(tmp_path, None)
    for ts in (1000.0, 1060.0, 1240.0, 1300.0):
        runtime.on_tick(ts)

    assert runtime.settings.decision_interval_s == sample["decision_interval_s"] == 300
    assert decided == [1000.0, 1300.0]  # not every tick


def test_a_clock_that_went_back_decides_at_once(tmp_path: Path) -> None:
    runtime, decided = _runtime(tmp_path, 300)
    runtime.on_tick(5000.0)
    runtime.on_tick(1000.0)  # e.g. a replay restarted on an earlier window with the same runtime

    assert decided == [5000.0, 1000.0]


def test_status_says_how_old_the_candidates_are(tmp_path: Path) -> None:
    runtime, _ = _runtime(tmp_path, 300)
    runtime.on_tick(1000.0)
    runtime.on_tick(1120.0)

    assert "at the last decision, 2m ago" in runtime.format_status()
