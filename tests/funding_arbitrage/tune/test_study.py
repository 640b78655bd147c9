"""Studies in SQLite: a killed sweep's RUNNING trials become interrupted (not counted), other sweeps are refused."""

import io

import optuna
import pytest
from optuna.trial import TrialState

from strategies.funding_arbitrage.tune.folds import Fold
from strategies.funding_arbitrage.tune.progress import Progress
from strategies.funding_arbitrage.tune.study import (
    BASE_ATTR,
    INTERRUPTED_ATTR,
    StudyMismatch,
    open_fold_studies,
    tell_complete,
    tell_failed,
)

FOLD = Fold(0, 0.0, 10.0, 10.0, 20.0)
DIST = {"x": optuna.distributions.FloatDistribution(0, 1)}


def test_running_trials_left_by_a_killed_sweep_are_marked_interrupted_and_rerun(tmp_path):
    url = f"sqlite:///{tmp_path / 's.sqlite3'}"
    (fs,) = open_fold_studies(url, [FOLD], budget=3, seed=1, fingerprint={"a": 1})
    tell_complete(fs, fs.study.ask(DIST), 0.5, {})
    tell_failed(fs, fs.study.ask(DIST), "oracle earned nothing")
    fs.study.ask(DIST)  # in flight when the process died

    (again,) = open_fold_studies(url, [FOLD], budget=3, seed=1, fingerprint={"a": 1})

    states = [t.state for t in again.study.get_trials()]
    assert TrialState.RUNNING not in states
    assert again.study.get_trials()[2].user_attrs[INTERRUPTED_ATTR] is True
    assert len(again.counted()) == 2 and again.remaining() == 1
    assert again.best().value == 0.5


def test_a_study_of_another_sweep_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 's.sqlite3'}"
    open_fold_studies(url, [FOLD], budget=2, seed=1, fingerprint={"coins": ["BTC"], "tick_s": 300})
    with pytest.raises(StudyMismatch, match="different coins"):
        open_fold_studies(url, [FOLD], budget=2, seed=1, fingerprint={"coins": ["ETH"], "tick_s": 300})


def test_progress_prints_a_line_with_eta_when_not_a_terminal():
    now = [0.0]
    out = io.StringIO()
    p = Progress(4, stream=out, interval_s=30, clock=lambda: now[0])
    now[0] = 10.0
    p.advance("fold-1 best 0.1")
    assert out.getvalue() == ""  # within the interval: quiet
    now[0] = 40.0
    p.advance()
    assert out.getvalue() == "sweep: 2/4 replays (50%), elapsed 0m40s, ETA 0m40s; fold-1 best 0.1\n"
    now[0] = 41.0
    p.advance()
    p.advance()
    assert out.getvalue().splitlines()[-1].startswith("sweep: 4/4 replays (100%)")


def test_the_base_trial_counts_once_and_an_interrupted_one_is_run_again(tmp_path):
    url = f"sqlite:///{tmp_path / 's.sqlite3'}"
    (fs,) = open_fold_studies(url, [FOLD], budget=3, seed=1, fingerprint={"a": 1})
    assert not fs.base_tried()
    fs.study.enqueue_trial({"x": 0.25}, user_attrs={BASE_ATTR: True})
    first = fs.study.ask(DIST)
    assert first.params == {"x": 0.25} and fs.base_tried()  # running: not enqueued a second time
    tell_failed(fs, first, "stopped", interrupted=True)
    assert not fs.base_tried() and fs.base_trial() is None  # a resume runs it again
    fs.study.enqueue_trial({"x": 0.25}, user_attrs={BASE_ATTR: True})
    again = fs.study.ask(DIST)
    tell_complete(fs, again, 0.3, {})
    assert fs.base_tried() and fs.base_trial().number == again.number
