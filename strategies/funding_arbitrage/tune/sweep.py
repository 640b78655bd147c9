"""`funding-arb sweep`: walk-forward tuning of the strategy's settings, trials replayed in parallel on Ray.

plan_sweep() checks every input (space, base config, data, windows, folds) and raises SweepInputError naming the
problem; only run_sweep() starts Ray, and only when work is left (a finished sweep re-writes its outputs without it).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import signal
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..core.config import ConfigError, check_settings, load_settings_dict
from ..core.forecast import CALIBRATION_CUT_TS
from ..replay.results import RUN_NAMES
from ..shell.home import project_root
from ..sim.data import DataError, load_market_data
from .execution import Job, RayStartError, StopRequest, SweepInterrupted, run_jobs, start_ray, stop_ray
from .folds import Fold, FoldError, build_folds, check_calibration_cut, check_folds, data_span, iso
from .objective import ObjectiveWeights, carry_capture, score
from .outputs import summary_json, write_outputs
from .progress import Progress
from .space import DEFAULT_SPACE, SearchSpace, SpaceError, load_space, restored, stored
from .study import (
    BASE_ATTR,
    INTERRUPTED_ATTR,
    SETTINGS_ATTR,
    FoldStudy,
    StudyMismatch,
    fail_unfinished,
    open_fold_studies,
    storage_url,
    tell_complete,
    tell_failed,
)
from .trial import TRIAL_RUNS, TrialOutcome, TrialSpec, run_trial

OOS_RUNS = tuple(n for n in ("funding_arbitrage", "baseline", "passive_carry", "oracle") if n in RUN_NAMES)
STUDY_FILE = "study.sqlite3"


class SweepInputError(ValueError):
    """Bad sweep input, found before any worker starts; the message names the argument or setting and value."""


@dataclass(frozen=True)
class SweepOptions:
    data_dir: Path
    out_dir: Path = Path("out/sweep")
    venues: tuple[str, ...] = ("binance", "bybit")
    coins: tuple[str, ...] = ("BTC", "ETH", "SOL", "DOGE", "HYPE")
    spot: tuple[str, ...] = ("binance",)
    start_ts: float | None = None
    end_ts: float | None = None
    folds: int = 3
    train_days: float = 30.0
    test_days: float = 30.0
    trials: int = 10
    workers: int = 2
    tick_s: float = 300.0
    config_path: Path | None = None
    space_path: Path = DEFAULT_SPACE
    storage: str | None = None
    address: str | None = None
    seed: int = 7
    progress: bool = True
    weights: ObjectiveWeights = field(default_factory=ObjectiveWeights)


@dataclass(frozen=True)
class SweepPlan:
    opts: SweepOptions
    space: SearchSpace
    base_config: dict[str, Any]
    folds: list[Fold]
    fingerprint: dict[str, Any]
    base_params: dict[str, Any] | None = None  # the base config's values as a trial; None: off the space's grid

    @property
    def storage(self) -> str:
        return storage_url(self.opts.storage or str(self.opts.out_dir / STUDY_FILE))


def plan_sweep(opts: SweepOptions) -> SweepPlan:
    """Validate everything a sweep needs, without starting any worker.

    Raises:
        SweepInputError: naming the bad argument, setting, window or market.
    """
    for name, value, low in (("--trials", opts.trials, 1), ("--workers", opts.workers, 1)):
        if value < low:
            raise SweepInputError(f"{name} ({value}) must be at least {low}")
    if not opts.tick_s > 0:
        raise SweepInputError(f"--tick ({opts.tick_s}) must be a positive number of seconds")
    config_path = opts.config_path or project_root() / "conf" / "scripts" / "conf_funding_arbitrage.yml"
    try:
        base = load_settings_dict(config_path)
        space = load_space(opts.space_path)
        md = load_market_data(opts.data_dir)
        first, last = data_span(md, opts.venues, opts.spot, opts.coins)
        start = first if opts.start_ts is None else opts.start_ts
        end = last if opts.end_ts is None else opts.end_ts
        if not start < end:
            raise FoldError(f"the period is empty: --start ({iso(start)}) must be before --end ({iso(end)})")
        _inside("--start", start, first, last)
        _inside("--end", end, first, last)
        folds = build_folds(start, end, opts.folds, opts.train_days, opts.test_days)
        check_folds(folds, md, opts.venues, opts.spot, opts.coins)
    except (ConfigError, SpaceError, DataError, FoldError) as e:
        raise SweepInputError(str(e)) from e
    settings, problems = check_settings(base)
    if settings is None:
        raise SweepInputError(f"base config {config_path} is invalid:\n  " + "\n  ".join(problems))
    if settings.funding_forecast != "persistent" or "funding_forecast" in space.names:
        try:
            check_calibration_cut(folds, CALIBRATION_CUT_TS)
        except FoldError as e:
            raise SweepInputError(str(e)) from e
    fingerprint = {
        "data_dir": str(Path(opts.data_dir).resolve()),
        "venues": list(opts.venues),
        "coins": list(opts.coins),
        "spot": list(opts.spot),
        "tick_s": opts.tick_s,
        "folds": [f.windows() for f in folds],
        "space": Path(opts.space_path).read_text(),
        "base_config": _digest(base),
        "weights": str(opts.weights),
        "seed": opts.seed,
    }
    return SweepPlan(opts, space, base, folds, fingerprint, space.base_params(base))


def _inside(name: str, ts: float, first: float, last: float) -> None:
    if not first <= ts <= last:
        raise SweepInputError(
            f"{name} {iso(ts)} is outside the data of the selected markets ({iso(first)} -> {iso(last)})"
        )


def _digest(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass
class SweepResult:
    files: dict[str, Path]
    folds: list[FoldStudy]
    ran: int  # replays run in this session


def run_sweep(plan: SweepPlan) -> SweepResult:
    """Run (or resume) the sweep and write its outputs. One sweep per storage at a time (a lock file).

    Raises:
        SweepInputError: another sweep holds the lock, or the storage holds a different sweep.
        SweepInterrupted: Ctrl-C/SIGTERM; finished trials are kept, the same command resumes.
    """
    opts = plan.opts
    opts.out_dir.mkdir(parents=True, exist_ok=True)
    with open(opts.out_dir / ".sweep.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            raise SweepInputError(f"another sweep is running in {opts.out_dir} (lock {lock.name})") from e
        try:
            folds = open_fold_studies(plan.storage, plan.folds, opts.trials, opts.seed, plan.fingerprint)
        except StudyMismatch as e:
            raise SweepInputError(str(e)) from e
        meta = {
            "period": f"{iso(plan.folds[0].train_start_ts)} -> {iso(plan.folds[-1].test_end_ts)}",
            "storage": plan.storage,
            "trials_per_fold": opts.trials,
            "tick_s": opts.tick_s,
            "coins": list(opts.coins),
            "venues": list(opts.venues),
            "spot": list(opts.spot),
            "base_config": str(opts.config_path or "conf/scripts/conf_funding_arbitrage.yml"),
            "space": list(plan.space.names),
            "weights": str(opts.weights),
        }
        try:
            ran = _execute(plan, folds)
        except SweepInterrupted:
            for fs in folds:  # the jobs are abandoned and Ray stopped: nothing may stay RUNNING or WAITING
                fail_unfinished(fs.study)
            write_outputs(opts.out_dir, folds, plan.base_config, meta)  # what is finished so far, N/A elsewhere
            raise
        files = write_outputs(opts.out_dir, folds, plan.base_config, meta)
    return SweepResult(files, folds, ran)


def _execute(plan: SweepPlan, folds: list[FoldStudy]) -> int:
    """Run what is left on Ray; returns the number of replays run. Ray starts only if something is left."""
    todo = sum(fs.remaining() for fs in folds) + sum(_needs_oos(fs) for fs in folds)
    if todo == 0:
        return 0
    progress = Progress(todo, enabled=plan.opts.progress)
    runner = _Runner(plan, progress)
    stop = StopRequest()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            start_ray(plan.opts.address, plan.opts.workers)
        except RayStartError as e:
            raise SweepInputError(f"{e} (nothing was run; the study is unchanged)") from e
        except KeyboardInterrupt:
            raise SweepInterrupted("interrupted while Ray was starting; nothing was run") from None
        for sig, handler in previous.items():  # after ray.init, which installs its own SIGTERM handler
            if sig != signal.SIGINT or handler is not signal.SIG_IGN:  # a background job's SIGINT stays ignored
                signal.signal(sig, stop)
        run_jobs(
            folds,
            plan.opts.workers,
            runner.submit_trial,
            runner.submit_oos,
            runner.finish_trial,
            runner.finish_oos,
            _needs_oos,
            stop.requested,
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        progress.close()
        stop_ray()
    return progress.done


def _fail_waiting(fs: FoldStudy) -> None:
    """Record the study's WAITING (enqueued, never asked) trials as failed, interrupted (as a resume does)."""
    from optuna.trial import TrialState

    storage = fs.study._storage
    for trial in fs.study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        storage.set_trial_user_attr(trial._trial_id, INTERRUPTED_ATTR, True)
        storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)


def _needs_oos(fs: FoldStudy) -> bool:
    return fs.out_of_sample() is None


class _Runner:
    """Submits trials and out-of-sample replays to Ray and books their results into the studies."""

    def __init__(self, plan: SweepPlan, progress: Progress) -> None:
        import ray

        self.plan, self.progress = plan, progress
        self.remote = ray.remote(num_cpus=1, max_retries=0)(run_trial)

    def _spec(self, fold: Fold, test: bool, config: dict[str, Any], label: str) -> TrialSpec:
        o = self.plan.opts
        start, end = (fold.test_start_ts, fold.test_end_ts) if test else (fold.train_start_ts, fold.train_end_ts)
        return TrialSpec(
            Path(o.data_dir).resolve(),
            o.venues,
            o.coins,
            o.spot,
            start,
            end,
            o.tick_s,
            config,
            runs=OOS_RUNS if test else TRIAL_RUNS,
            label=label,
            report_dir=(o.out_dir / "oos" / f"fold-{fold.index + 1}").resolve() if test else None,
        )

    def submit_trial(self, fs: FoldStudy) -> Job | None:
        try:
            if self.plan.base_params is not None and not fs.base_tried():
                # the base config itself first: the fold's choice is then never worse in sample than the base
                fs.study.enqueue_trial(self.plan.base_params, user_attrs={BASE_ATTR: True})
            trial = fs.study.ask(self.plan.space.distributions())
        except KeyboardInterrupt:  # Ctrl-C between the enqueue and the ask: the enqueued trial may not stay WAITING
            _fail_waiting(fs)
            raise
        try:
            return self._submit(fs, trial)
        except KeyboardInterrupt:  # Ctrl-C between the ask and the submit: no trial may stay RUNNING
            tell_failed(fs, trial, "interrupted before it was submitted", interrupted=True)
            raise

    def _submit(self, fs: FoldStudy, trial: Any) -> Job | None:
        settings = self.plan.space.settings_of(trial.params)
        trial.set_user_attr(SETTINGS_ATTR, stored(settings))
        config = {**self.plan.base_config, **settings}
        ok, problems = check_settings(config)
        if ok is None:
            tell_failed(fs, trial, "invalid combination: " + "; ".join(problems))
            self.progress.advance()
            return None
        label = f"{fs.name} trial {trial.number}"
        return Job(fs, trial, self.remote.remote(self._spec(fs.fold, False, config, label)))

    def finish_trial(self, job: Job, outcome: TrialOutcome) -> None:
        fs = job.fold
        if outcome.error:
            tell_failed(fs, job.trial, f"replay failed: {outcome.error}")
        else:
            value, why = score(outcome.runs["funding_arbitrage"], outcome.runs["oracle"], self.plan.opts.weights)
            if value is None:
                tell_failed(fs, job.trial, why)
            else:
                tell_complete(fs, job.trial, float(value), _metrics(outcome, value))
        best = fs.best()
        self.progress.advance(f"{fs.name} best {best.value:.4f}" if best else f"{fs.name} no score yet")

    def submit_oos(self, fs: FoldStudy) -> Job | None:
        best = fs.best()
        if best is None:
            fs.save_out_of_sample({"error": "no trial completed in the training window: nothing to evaluate"})
            self.progress.advance()
            return None
        config = {**self.plan.base_config, **restored(best.user_attrs[SETTINGS_ATTR])}
        return Job(fs, None, self.remote.remote(self._spec(fs.fold, True, config, f"{fs.name} out-of-sample")))

    def finish_oos(self, job: Job, outcome: TrialOutcome) -> None:
        fs = job.fold
        best = fs.best()
        assert best is not None  # submit_oos only submits when a best trial exists
        if outcome.error:
            result: dict[str, Any] = {"error": f"out-of-sample replay failed: {outcome.error}"}
        else:
            value, why = score(outcome.runs["funding_arbitrage"], outcome.runs["oracle"], self.plan.opts.weights)
            result = {**_metrics(outcome, value), "why_no_score": why}
        fs.save_out_of_sample({**result, "best_trial": best.number, "settings": best.user_attrs[SETTINGS_ATTR]})
        self.progress.advance(f"{fs.name} out-of-sample done")


def _metrics(outcome: TrialOutcome, value: Decimal | None) -> dict[str, Any]:
    """JSON-safe figures of a finished replay (every run, the score, each run's capture)."""
    oracle = outcome.runs["oracle"]
    captures = {n: carry_capture(r, oracle) for n, r in outcome.runs.items() if n != "oracle"}
    return {
        "score": None if value is None else f"{value:.6f}",
        "wall_s": round(outcome.wall_s, 1),
        "runs": {n: summary_json(r) for n, r in outcome.runs.items()},
        "capture": {n: None if c is None else f"{c:.6f}" for n, c in captures.items()},
    }


__all__ = ["SweepInputError", "SweepInterrupted", "SweepOptions", "plan_sweep", "run_sweep"]
