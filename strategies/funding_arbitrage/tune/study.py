"""Optuna studies of a sweep, one per fold, in one SQLite file: what is done survives a stop, and a resume picks up.

Consistency rules (each write is one SQLite transaction, so the file is never half-written):
  * a trial is asked only when it is submitted, and told exactly once: COMPLETE with its score, or FAIL with the
    reason in user attr `error`;
  * trials in flight when the sweep is interrupted are told FAIL with user attr `interrupted` and do not count:
    a resume runs them again; trials a killed sweep left RUNNING are treated the same way when it resumes;
  * each study carries the sweep's fingerprint (data, markets, windows, tick, space, base config, weights); a
    resume with other settings is refused instead of mixing two sweeps in one study.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from .folds import Fold

FINGERPRINT_ATTR = "sweep_fingerprint"
OOS_ATTR = "out_of_sample"
INTERRUPTED_ATTR = "interrupted"
ERROR_ATTR = "error"
METRICS_ATTR = "metrics"
SETTINGS_ATTR = "settings"  # the exact values the replay used: ints, Decimals as text
BASE_ATTR = "base_config"  # the trial of the base config's own values (each fold's first trial)


class StudyMismatch(ValueError):
    """The storage holds a sweep with different settings; the message says which file and what differs."""


@dataclass
class FoldStudy:
    """A fold and its Optuna study; `budget` is the number of trials the fold must finish."""

    fold: Fold
    study: optuna.Study
    budget: int

    @property
    def name(self) -> str:
        return self.study.study_name

    def counted(self) -> list[FrozenTrial]:
        """Finished trials that count toward the budget (complete, or failed for a reason other than a stop)."""
        return [
            t
            for t in self.study.get_trials(deepcopy=False)
            if t.state == TrialState.COMPLETE or (t.state == TrialState.FAIL and not t.user_attrs.get(INTERRUPTED_ATTR))
        ]

    def base_tried(self) -> bool:
        """The base config's trial is finished (and counts) or running; an interrupted one is run again."""
        return any(
            t.user_attrs.get(BASE_ATTR)
            and (
                t.state in (TrialState.COMPLETE, TrialState.RUNNING)
                or (t.state == TrialState.FAIL and not t.user_attrs.get(INTERRUPTED_ATTR))
            )
            for t in self.study.get_trials(deepcopy=False)
        )

    def base_trial(self) -> FrozenTrial | None:
        """The complete trial of the base config's values, if any."""
        done = self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        return next((t for t in done if t.user_attrs.get(BASE_ATTR)), None)

    def remaining(self, in_flight: int = 0) -> int:
        return max(self.budget - len(self.counted()) - in_flight, 0)

    def best(self) -> FrozenTrial | None:
        """The complete trial with the highest score (lowest number on ties); None when none completed."""
        done = [t for t in self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
        if not done:
            return None
        return max(done, key=lambda t: (t.value, -t.number))

    def out_of_sample(self) -> dict[str, Any] | None:
        raw = self.study.user_attrs.get(OOS_ATTR)
        return json.loads(raw) if raw else None

    def save_out_of_sample(self, result: dict[str, Any]) -> None:
        self.study.set_user_attr(OOS_ATTR, json.dumps(result, sort_keys=True))


def storage_url(path: str) -> str:
    """An SQLAlchemy URL for a file path (an URL is passed through)."""
    return path if "://" in path else f"sqlite:///{path}"


def open_fold_studies(
    url: str, folds: list[Fold], budget: int, seed: int, fingerprint: dict[str, Any]
) -> list[FoldStudy]:
    """Create or load one study per fold; mark trials a killed sweep left RUNNING as interrupted.

    Raises:
        StudyMismatch: a study of that name exists with another fingerprint.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})
    text = json.dumps(fingerprint, sort_keys=True, default=str)
    out = []
    for fold in folds:
        sampler = optuna.samplers.TPESampler(
            seed=seed + fold.index, n_startup_trials=max(2, min(10, budget // 3)), constant_liar=True
        )
        study = optuna.create_study(
            storage=storage,
            study_name=f"fold-{fold.index + 1}",
            direction="maximize",
            sampler=sampler,
            load_if_exists=True,
        )
        stored = study.user_attrs.get(FINGERPRINT_ATTR)
        if stored is None:
            study.set_user_attr(FINGERPRINT_ATTR, text)
        elif stored != text:
            raise StudyMismatch(_mismatch(url, study.study_name, json.loads(stored), fingerprint))
        fail_unfinished(study)
        out.append(FoldStudy(fold, study, budget))
    return out


def fail_unfinished(study: optuna.Study) -> None:
    """Record every RUNNING or WAITING trial as failed, interrupted (it does not count; a resume runs it again).

    Only for a study no replay is running for: at open (a killed sweep's leftovers) and after an interrupted sweep
    has abandoned its jobs (a trial asked but not yet in the job list when Ctrl-C came is caught here)."""
    storage = study._storage
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING)):
        storage.set_trial_user_attr(trial._trial_id, INTERRUPTED_ATTR, True)
        storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)


def _mismatch(url: str, name: str, stored: dict[str, Any], wanted: dict[str, Any]) -> str:
    wanted = json.loads(json.dumps(wanted, sort_keys=True, default=str))
    diff = sorted(k for k in set(stored) | set(wanted) if stored.get(k) != wanted.get(k))
    return (
        f"storage {url} already holds study {name} of a sweep with different {', '.join(diff)}: resume with "
        "the same arguments, or choose another --out/--storage"
    )


def tell_complete(fs: FoldStudy, trial: optuna.Trial, value: float, metrics: dict[str, Any]) -> None:
    trial.set_user_attr(METRICS_ATTR, metrics)
    fs.study.tell(trial, value, state=TrialState.COMPLETE)


def tell_failed(fs: FoldStudy, trial: optuna.Trial, error: str, interrupted: bool = False) -> None:
    trial.set_user_attr(ERROR_ATTR, error)
    if interrupted:
        trial.set_user_attr(INTERRUPTED_ATTR, True)
    fs.study.tell(trial, state=TrialState.FAIL)
