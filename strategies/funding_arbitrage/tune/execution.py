"""Running a sweep's replays on Ray: a local Ray by default, an existing cluster with `--address`.

The scheduler keeps at most `workers` replays in flight, across folds: a fold's trials are asked from its Optuna
study one at a time (so TPE sees every finished result), and a fold's out-of-sample replay starts as soon as its last
trial is told. Ctrl-C cancels what is in flight and tells those trials FAIL/interrupted (study.py), then stops Ray.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .study import FoldStudy

log = logging.getLogger(__name__)


class SweepInterrupted(Exception):
    """Ctrl-C (or SIGTERM) stopped the sweep; the studies are consistent and a resume continues."""


@dataclass
class Job:
    """One replay in flight: a trial of a fold (trial set) or the fold's out-of-sample run (trial None)."""

    fold: FoldStudy
    trial: Any  # optuna.Trial or None
    ref: Any  # ray.ObjectRef


class RayStartError(RuntimeError):
    """Ray could not be started or joined; the message says where and why."""


def start_ray(address: str | None, workers: int, attempts: int = 4, pause_s: float = 10.0) -> None:
    """Join `address`, or start a new local Ray with `workers` CPUs. Worker logs stay in Ray's log dir.

    A local start passes address "local": a cluster named by `RAY_ADDRESS` or left by `ray start` is never
    joined by accident. Ray's raylet waits a fixed 15 s for its dashboard agent to start and aborts when it is
    late (seen on this 2-core machine under load: "Timed out waiting for file .../metrics_agent_port_*" in
    raylet.out); the processes that attempt started before the raylet (GCS, dashboard, monitors) are not stopped
    by Ray and would load the next attempt, so they are stopped here, and a local start is tried `attempts` times,
    `pause_s` apart (each failure logged), before giving up.

    Raises:
        RayStartError: after the last failed attempt, with Ray's reason.
    """
    import ray

    for attempt in range(1, attempts + 1):
        before = _child_pids()
        try:
            if address:
                ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
            else:
                ray.init(
                    address="local",
                    num_cpus=workers,
                    include_dashboard=False,
                    log_to_driver=False,
                    logging_level=logging.WARNING,
                )
            return
        except Exception as e:  # Ray raises a bare Exception on a start timeout
            ray.shutdown()
            where = f"the Ray cluster at {address}" if address else f"a local Ray with {workers} CPUs"
            stopped = 0 if address else _stop_new_children(before)
            if address or attempt == attempts:
                raise RayStartError(f"could not start {where}: {e}") from e
            log.warning(
                "ray_start_failed attempt=%d of=%d stopped_leftovers=%d reason=%s", attempt, attempts, stopped, e
            )
            time.sleep(pause_s)


def _child_pids() -> set[int]:
    import psutil

    return {p.pid for p in psutil.Process().children(recursive=True)}


def _stop_new_children(before: set[int], timeout_s: float = 10.0) -> int:
    """Stop this process's child processes that are not in `before` (those a failed Ray start left); their count."""
    import psutil

    left = [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
    for p in left:
        with contextlib.suppress(psutil.Error):
            p.terminate()
    _, alive = psutil.wait_procs(left, timeout=timeout_s)
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(alive, timeout=timeout_s)
    return len(left)


def stop_ray() -> None:
    import ray

    if ray.is_initialized():
        ray.shutdown()


class StopRequest:
    """SIGINT/SIGTERM recorded as a flag that the job loop reads between its steps.

    A KeyboardInterrupt raised wherever the signal lands could stop the driver inside an Optuna write or a Ray
    call (between an ask and its job being recorded, inside a tell); the flag is read only where the loop can
    stop cleanly, at most about a second (`ray.wait`'s timeout) after the signal."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def __call__(self, signum: int, frame: Any) -> None:
        self.signum = signum

    def requested(self) -> bool:
        return self.signum is not None


def run_jobs(
    folds: list[FoldStudy],
    workers: int,
    submit_trial: Callable[[FoldStudy], Job | None],
    submit_oos: Callable[[FoldStudy], Job | None],
    finish_trial: Callable[[Job, Any], None],
    finish_oos: Callable[[Job, Any], None],
    needs_oos: Callable[[FoldStudy], bool],
    stop_requested: Callable[[], bool] = lambda: False,
) -> None:
    """Drive every fold to its budget and its out-of-sample run, `workers` replays at a time.

    `submit_trial` asks a trial and submits it (None when the ask was settled without a replay, e.g. an invalid
    combination told FAIL at once); `finish_*` receive the job and the worker's result. `stop_requested` is read
    before each step (a StopRequest installed as the signal handler).

    Raises:
        SweepInterrupted: on a stop request or KeyboardInterrupt, after in-flight trials were told
            FAIL/interrupted.
    """
    import ray

    pending: list[Job] = []
    try:
        while True:
            if stop_requested():
                raise KeyboardInterrupt
            _fill(folds, pending, workers, submit_trial, submit_oos, needs_oos)
            if not pending:
                return
            ready, _ = ray.wait([j.ref for j in pending], num_returns=1, timeout=1.0)
            for ref in ready:  # finished replays are booked even when a stop was asked meanwhile
                job = next(j for j in pending if j.ref == ref)
                result = _result(job)
                pending.remove(job)
                (finish_trial if job.trial is not None else finish_oos)(job, result)
    except KeyboardInterrupt:
        _abandon(pending)
        raise SweepInterrupted("interrupted: finished trials are kept; run the same command again to resume") from None
    except ray.exceptions.RayError as e:  # a worker or node died: not the trial's fault, the sweep stops
        _abandon(pending)
        raise SweepInterrupted(
            f"Ray failed ({type(e).__name__}: {e}); finished trials are kept; run the same command again to resume"
        ) from e


def _result(job: Job) -> Any:
    """The worker's result; an exception raised inside the replay becomes a failed outcome of that trial."""
    import ray

    from .trial import TrialOutcome

    try:
        return ray.get(job.ref)
    except ray.exceptions.RayTaskError as e:
        return TrialOutcome(label="", error=f"{type(e.cause).__name__}: {e.cause}")


def _fill(
    folds: list[FoldStudy],
    pending: list[Job],
    workers: int,
    submit_trial: Callable[[FoldStudy], Job | None],
    submit_oos: Callable[[FoldStudy], Job | None],
    needs_oos: Callable[[FoldStudy], bool],
) -> None:
    """Submit work until `workers` replays are in flight or nothing is left to submit. Latest fold first: its best
    trial becomes the chosen config, so the choice is settled (and can be checked) while earlier folds still run."""
    progressed = True
    while len(pending) < workers and progressed:
        progressed = False
        for fs in reversed(folds):
            in_flight = [j for j in pending if j.fold is fs]
            if fs.remaining(len(in_flight)) > 0:
                job = submit_trial(fs)
                if job is not None:
                    pending.append(job)
                progressed = True
                break
            if not in_flight and needs_oos(fs):
                job = submit_oos(fs)
                if job is not None:
                    pending.append(job)
                    progressed = True
                    break


def _abandon(pending: list[Job]) -> None:
    """Cancel in-flight replays; tell their trials FAIL/interrupted so the study holds no RUNNING trial."""
    import ray

    from .study import tell_failed

    for job in pending:
        try:
            ray.cancel(job.ref, force=True)
        except Exception as e:
            log.debug("cancel of %s: %s", job.ref, e)
        if job.trial is not None:
            tell_failed(job.fold, job.trial, "interrupted before it finished", interrupted=True)
