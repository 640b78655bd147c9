"""One replay of the strategy with given settings over one window: what a Ray worker runs for a trial.

The replay is `replay.runner.run_replay`, the same code `funding-arb replay` runs (the very strategy class on
Hummingbot's clock and the simulated venues); only the runs the sweep needs are requested.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from .objective import RunSummary

TRIAL_RUNS = ("funding_arbitrage", "oracle")


class _ConfigDumper(yaml.SafeDumper):
    """YAML dumper writing Decimal as a plain number with its exact text (0.10 stays 0.10)."""


def _decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    text = format(value, "f")
    tag = (
        "tag:yaml.org,2002:int" if value == value.to_integral_value() and "." not in text else "tag:yaml.org,2002:float"
    )
    return dumper.represent_scalar(tag, text)


_ConfigDumper.add_representer(Decimal, _decimal)


def dump_config(data: dict[str, Any]) -> str:
    """A config mapping as YAML, keys in the given order, Decimals as exact numbers."""
    return yaml.dump(data, Dumper=_ConfigDumper, sort_keys=False, default_flow_style=False, allow_unicode=True)


@dataclass(frozen=True)
class TrialSpec:
    """Everything a worker needs for one replay (picklable). Times in UTC seconds, window [start_ts, end_ts)."""

    data_dir: Path
    venues: tuple[str, ...]
    coins: tuple[str, ...]
    spot: tuple[str, ...]
    start_ts: float
    end_ts: float
    tick_s: float
    config: dict[str, Any]
    runs: tuple[str, ...] = TRIAL_RUNS
    report_dir: Path | None = None  # where the replay's report files go; None: a temporary dir, removed
    label: str = ""


@dataclass(frozen=True)
class TrialOutcome:
    """The kept figures per run, or the error that stopped the replay (then `runs` is empty)."""

    label: str
    runs: dict[str, RunSummary] = field(default_factory=dict)
    error: str = ""
    wall_s: float = 0.0


def run_trial(spec: TrialSpec) -> TrialOutcome:
    """Replay `spec` and summarise its runs. A replay that raises becomes an outcome with the error text (the
    sweep marks that trial failed and goes on); nothing is retried silently."""
    from ..replay.runner import ReplayOptions, run_replay

    quiet = logging.getLogger("strategies")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # a worker's log is not read; trial figures are (restored after the trial)
    wall0 = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="sweep_trial_"))
    try:
        config_path = work / "conf.yml"
        config_path.write_text(dump_config(spec.config))
        opts = ReplayOptions(
            data_dir=spec.data_dir,
            venues=spec.venues,
            coins=spec.coins,
            spot=spec.spot,
            start_ts=spec.start_ts,
            end_ts=spec.end_ts,
            config_path=config_path,
            tick_s=spec.tick_s,
            out_dir=spec.report_dir or work / "report",
            progress=False,
            runs=spec.runs,
        )
        try:
            report, _ = run_replay(opts)
        except (ValueError, KeyError) as e:
            return TrialOutcome(spec.label, error=f"{type(e).__name__}: {e}", wall_s=time.monotonic() - wall0)
        runs = {name: RunSummary.of(run, spec.end_ts - spec.start_ts) for name, run in report.runs.items()}
        return TrialOutcome(spec.label, runs=runs, wall_s=time.monotonic() - wall0)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        quiet.setLevel(level)  # a trial run in the caller's process (a test) must not mute its log
