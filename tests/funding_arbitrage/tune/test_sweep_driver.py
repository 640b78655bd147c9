"""The sweep's Ray driver (tune/execution.py) without Ray: a fake `ray` module records what the driver asks of it.

A failed local start stops the processes it left and is tried again; a stop request (what SIGINT/SIGTERM set) is
acted on between steps: finished replays are booked, the ones in flight cancelled and their trials told
FAIL/interrupted.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import types
from typing import Any

import pytest

from strategies.funding_arbitrage.tune import execution, study, sweep
from strategies.funding_arbitrage.tune.execution import Job, StopRequest, SweepInterrupted, run_jobs, start_ray


class _RayError(Exception):
    pass


class _RayTaskError(_RayError):
    pass


def _fake_ray(monkeypatch: pytest.MonkeyPatch, **calls: Any) -> types.SimpleNamespace:
    fake = types.SimpleNamespace(
        exceptions=types.SimpleNamespace(RayError=_RayError, RayTaskError=_RayTaskError),
        shutdown=lambda: None,
        is_initialized=lambda: False,
        **calls,
    )
    monkeypatch.setitem(sys.modules, "ray", fake)
    return fake


def test_a_failed_local_start_stops_what_it_left_and_is_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    inits: list[dict[str, Any]] = []
    left: list[subprocess.Popen[bytes]] = []

    def init(**kwargs: Any) -> None:
        inits.append(kwargs)
        if len(inits) == 1:  # Ray started its GCS and monitors, then the raylet aborted
            left.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"]))
            raise Exception("The current node timed out during startup.")

    _fake_ray(monkeypatch, init=init)
    try:
        start_ray(None, 2, attempts=3, pause_s=0)
        assert len(inits) == 2
        assert all(k["address"] == "local" and k["num_cpus"] == 2 for k in inits)  # never joins a found cluster
        assert left[0].poll() is not None  # the leftover was stopped before the second attempt
    finally:
        for p in left:
            p.kill()
            p.wait()


def test_the_last_failed_start_is_refused_with_ray_s_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    def init(**kwargs: Any) -> None:
        raise Exception("raylet died")

    _fake_ray(monkeypatch, init=init)
    with pytest.raises(execution.RayStartError, match="local Ray with 2 CPUs: raylet died"):
        start_ray(None, 2, attempts=2, pause_s=0)


class _Fold:
    def __init__(self, budget: int) -> None:
        self.budget, self.done = budget, 0

    def remaining(self, in_flight: int = 0) -> int:
        return max(self.budget - self.done - in_flight, 0)


def test_a_stop_request_books_finished_replays_and_abandons_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    stop = StopRequest()
    cancelled: list[str] = []
    failed: list[tuple[str, str, bool]] = []
    booked: list[str] = []

    def wait(refs: list[str], num_returns: int, timeout: float) -> tuple[list[str], list[str]]:
        stop(2, None)  # SIGINT arrives while the driver waits: only a flag is set
        return refs[:1], refs[1:]

    _fake_ray(
        monkeypatch, wait=wait, get=lambda ref: f"result of {ref}", cancel=lambda ref, force: cancelled.append(ref)
    )
    monkeypatch.setattr(
        study, "tell_failed", lambda fs, trial, error, interrupted=False: failed.append((trial, error, interrupted))
    )
    fold = _Fold(budget=3)
    submitted = iter(["trial-0", "trial-1", "trial-2"])

    def submit_trial(fs: Any) -> Job:
        name = next(submitted)
        return Job(fs, name, f"ref-{name}")

    def finish_trial(job: Job, result: Any) -> None:
        booked.append(result)
        fold.done += 1

    with pytest.raises(SweepInterrupted, match="run the same command again to resume"):
        run_jobs(
            [fold],
            2,
            submit_trial,
            lambda fs: None,
            finish_trial,
            lambda job, r: None,
            lambda fs: False,
            stop.requested,
        )
    assert stop.requested()
    assert booked == ["result of ref-trial-0"]  # finished before the stop was read: kept
    assert cancelled == ["ref-trial-1"]  # in flight: cancelled, told FAIL/interrupted, re-run by a resume
    assert failed == [("trial-1", "interrupted before it finished", True)]


class _DoneFold:
    def remaining(self, in_flight: int = 0) -> int:
        return 1

    def out_of_sample(self) -> dict[str, Any]:
        return {}


@pytest.mark.parametrize("sigint_ignored", [False, True])
def test_while_the_jobs_run_a_signal_only_sets_the_stop_flag(
    monkeypatch: pytest.MonkeyPatch, sigint_ignored: bool
) -> None:
    """SIGTERM (and SIGINT, unless the sweep was started with it ignored, as a background job) sets the flag that
    run_jobs reads; the handlers in place before are back afterwards."""
    _fake_ray(monkeypatch, remote=lambda **kwargs: lambda f: f)
    monkeypatch.setattr(sweep, "start_ray", lambda address, workers: None)
    monkeypatch.setattr(sweep, "stop_ray", lambda: None)
    seen: dict[str, Any] = {}

    def run_jobs(*args: Any) -> None:
        stop_requested = args[-1]
        seen["sigint"] = signal.getsignal(signal.SIGINT)
        signal.raise_signal(signal.SIGTERM)
        seen["stopped"] = stop_requested()

    monkeypatch.setattr(sweep, "run_jobs", run_jobs)
    opts = types.SimpleNamespace(progress=False, address=None, workers=2)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN if sigint_ignored else signal.default_int_handler)
    try:
        before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
        sweep._execute(types.SimpleNamespace(opts=opts), [_DoneFold()])  # type: ignore[arg-type]
        assert seen["stopped"]  # SIGTERM did not end the process: it asked the loop to stop
        assert (seen["sigint"] is signal.SIG_IGN) is sigint_ignored
        assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    finally:
        signal.signal(signal.SIGINT, previous)
