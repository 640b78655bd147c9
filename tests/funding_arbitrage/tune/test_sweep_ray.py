"""A 2-trial, 2-fold walk-forward sweep on a local Ray with 2 workers: interrupted with Ctrl-C, resumed, finished.

Windows are 7 days of HYPE at 300 s ticks: the shortest windows in which the oracle's carry pays its round-trip
costs (in 1-5 day windows it earns nothing, so carry capture, the objective, is undefined there).

Each sweep runs in its own session with its output in files under tmp_path (a pipe nobody reads can fill and block
the sweep), every wait is bounded, and whatever the sweep's session left running (Ray's processes) is killed at the
end; a failure shows the sweep's stderr and stdout.
"""

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import optuna
import psutil
from optuna.trial import TrialState

from strategies.funding_arbitrage.core.config import check_settings, load_settings_dict
from tests.conftest import DATA_DIR

EXE = Path(sys.executable).parent / "funding-arb"
ROOT = Path(__file__).resolve().parents[3]
ARGS = [
    "sweep",
    "--data",
    str(DATA_DIR / "cross_venue_2025"),
    "--coins",
    "HYPE",
    "--start",
    "2025-06-01",
    "--end",
    "2025-06-22",
    "--folds",
    "2",
    "--train-days",
    "7",
    "--test-days",
    "7",
    "--trials",
    "2",
    "--workers",
    "2",
    "--tick",
    "300",
    "--no-progress",
]
DEADLINE_S = 1200  # a guard against a hung sweep, not a speed assertion


def _trials(out: Path) -> dict[tuple[str, int], tuple[TrialState, float | None]]:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    url = f"sqlite:///{out / 'study.sqlite3'}"
    found = {}
    for summary in optuna.get_all_study_summaries(url):
        study = optuna.load_study(study_name=summary.study_name, storage=url)
        for t in study.get_trials(deepcopy=False):
            found[(summary.study_name, t.number)] = (t.state, t.value)
    return found


def _any_trial_complete(out: Path) -> bool:
    """Poll the running sweep's study read-only: Optuna's own loader would race the sweep creating its schema."""
    db = out / "study.sqlite3"
    if not db.exists():
        return False
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            row = conn.execute("SELECT COUNT(*) FROM trials WHERE state = 'COMPLETE'").fetchone()
    except sqlite3.Error:  # schema not created yet, or locked by the writer for longer than the timeout
        return False
    return bool(row and row[0])


def _complete(trials: dict) -> dict:
    return {k: v for k, v in trials.items() if v[0] == TrialState.COMPLETE}


def _sigint_default() -> None:
    """In the sweep's process, before it starts: SIGINT acts as Ctrl-C even when the tests were started in the
    background by a non-interactive shell, which starts them with SIGINT ignored; ignored is inherited, and a sweep
    keeps an ignored SIGINT ignored (docs/sweep.md), so the Ctrl-C below would do nothing and the sweep would finish."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class _Sweep:
    """One `funding-arb sweep` process in its own session, stdout and stderr in files named after `name`."""

    def __init__(self, out: Path, name: str) -> None:
        self.logs = out.parent / f"{name}.stdout", out.parent / f"{name}.stderr"
        out.parent.mkdir(parents=True, exist_ok=True)
        with self.logs[0].open("wb") as stdout, self.logs[1].open("wb") as stderr:
            self.proc = subprocess.Popen(
                [str(EXE), *ARGS, "--out", str(out)],
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
                preexec_fn=_sigint_default,
            )

    def output(self) -> str:
        """The tail of stderr and stdout, for assertion messages."""
        out, err = (f.read_text(errors="replace")[-3000:] if f.exists() else "" for f in self.logs)
        return f"exit {self.proc.poll()}\n--- stderr:\n{err}\n--- stdout:\n{out}"

    def wait(self, timeout_s: float) -> int:
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"sweep still running after {timeout_s} s\n{self.output()}") from None

    def kill_session(self) -> None:
        """Kill the sweep and every process of its session still alive (Ray's, if its shutdown did not finish)."""
        sid = self.proc.pid
        left = []
        for p in psutil.process_iter():
            try:
                if os.getsid(p.pid) == sid:
                    left.append(p)
            except (OSError, psutil.Error):
                continue
        for p in left:
            with contextlib.suppress(psutil.Error):
                p.kill()
        psutil.wait_procs(left, timeout=30)
        if self.proc.poll() is None:
            self.proc.wait(timeout=30)


def _run(out: Path, name: str) -> tuple[int, str]:
    sweep = _Sweep(out, name)
    try:
        return sweep.wait(DEADLINE_S), sweep.output()
    finally:
        sweep.kill_session()


def _interrupt_after_first_trial(out: Path) -> tuple[int, str]:
    sweep = _Sweep(out, "interrupted")
    start = time.monotonic()
    try:
        while not _any_trial_complete(out):
            assert sweep.proc.poll() is None, sweep.output()
            assert time.monotonic() - start < DEADLINE_S, f"no trial completed\n{sweep.output()}"
            time.sleep(0.1)  # interrupt promptly: the remaining trials and replays can take only seconds
        sweep.proc.send_signal(signal.SIGINT)
        return sweep.wait(300), sweep.output()
    finally:
        sweep.kill_session()


def test_sweep_runs_on_local_ray_and_resumes_after_ctrl_c(tmp_path):
    out = tmp_path / "sweep"
    code, err = _interrupt_after_first_trial(out)
    assert code == 130, err
    stopped = _trials(out)
    assert all(state in (TrialState.COMPLETE, TrialState.FAIL) for state, _ in stopped.values()), (stopped, err)
    kept = _complete(stopped)
    assert kept

    code, err = _run(out, "resumed")
    assert code == 0, err
    final = _trials(out)
    assert {k: v for k, v in final.items() if k in kept} == kept  # finished trials survive, unchanged
    for fold in ("fold-1", "fold-2"):
        assert sum(1 for (name, _), (state, _) in final.items() if name == fold and state == TrialState.COMPLETE) == 2

    doc = json.loads((out / "folds.json").read_text())
    assert [r["fold"] for r in doc["folds"]] == [1, 2]
    sample = load_settings_dict(ROOT / "conf" / "scripts" / "conf_funding_arbitrage.yml")
    for row in doc["folds"]:  # each fold tried the base config's own values (once, even across the resume)
        assert row["base_trial"] is not None and row["is_base_capture"] is not None
        study = optuna.load_study(study_name=f"fold-{row['fold']}", storage=f"sqlite:///{out / 'study.sqlite3'}")
        base = [t for t in study.get_trials() if t.user_attrs.get("base_config") and t.state == TrialState.COMPLETE]
        assert len(base) == 1
        tried = base[0].user_attrs["settings"]  # numbers as exact text, choices (switch_enabled) as they are
        assert {k: v if isinstance(v, bool) else Decimal(v) for k, v in tried.items()} == {
            k: sample[k] if isinstance(sample[k], bool) else Decimal(str(sample[k])) for k in tried
        }
    for row in doc["folds"]:
        assert row["is_capture"] is not None and row["oos_capture"] is not None
        assert row["test_start"] == row["train_end"]
        assert (out / "oos" / f"fold-{row['fold']}" / "report.json").exists()
    assert doc["pooled"]["oos_capture"] is not None
    assert (out / "folds.csv").read_text().count("\n") == 3
    chosen = load_settings_dict(out / "conf_funding_arbitrage_sweep.yml")
    settings, problems = check_settings(chosen)
    assert settings is not None, problems
    assert settings.tokens == ["HYPE"]

    def _value(v: object) -> object:  # booleans (switch_enabled) as booleans, numbers as exact decimals
        return v if isinstance(v, bool) else Decimal(str(v))

    assert {k: _value(v) for k, v in doc["chosen"]["settings"].items()} == {
        k: _value(chosen[k]) for k in doc["chosen"]["settings"]
    }

    code, err = _run(out, "again")
    assert code == 0, err
    assert _trials(out) == final  # a finished sweep runs nothing more
