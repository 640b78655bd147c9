"""The simulated runs of one replay side by side, one forked worker process per run (`ReplayOptions.jobs`).

The runs are independent (each builds its own simulated venues from the same loaded data) and deterministic, so a
run gives the same result in a worker as in the parent. Workers are forked after the market data is loaded, so they
share it instead of loading it again. Their progress and log records travel to the parent over a queue: the parent
shows them (progress bar, logs above it) as a sequential replay would.
"""

from __future__ import annotations

import logging
import logging.handlers
import multiprocessing as mp
import queue
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from .results import RunResult

RunFn = Callable[[str, Callable[[str, float], None]], RunResult]
_POLL_S = 0.2
_WORKER: dict[str, Any] = {}  # set in the parent just before the fork; workers inherit it


def _run_in_worker(name: str) -> RunResult:
    """Worker body: route logs and progress to the parent's queue, run `name`."""
    channel = _WORKER["channel"]
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(logging.handlers.QueueHandler(channel))
    return _WORKER["run"](name, lambda run, fraction: channel.put(("progress", run, fraction)))


def run_parallel(
    names: list[str], run: RunFn, progress: Callable[[str, float], None], jobs: int
) -> dict[str, RunResult]:
    """`run(name, progress)` for every name, at most `jobs` at a time in forked workers; results by name.

    Raises:
        whatever a run raised (the first failure, after the other workers finish).
    """
    context = mp.get_context("fork")
    channel = context.Queue()
    _WORKER.update(run=run, channel=channel)
    results: dict[str, RunResult] = {}
    try:
        with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=context) as pool:
            futures: dict[Future[RunResult], str] = {pool.submit(_run_in_worker, n): n for n in names}
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=_POLL_S, return_when=FIRST_COMPLETED)
                _drain(channel, progress)
                for future in done:
                    results[futures[future]] = future.result()
            _drain(channel, progress)
    finally:
        _WORKER.clear()
        channel.close()
    return results


def _drain(channel: Any, progress: Callable[[str, float], None]) -> None:
    """Show every queued progress update and log record (through the parent's handlers)."""
    while True:
        try:
            item = channel.get_nowait()
        except queue.Empty:
            return
        if isinstance(item, tuple) and item and item[0] == "progress":
            progress(item[1], item[2])
        elif isinstance(item, logging.LogRecord):
            logger = logging.getLogger(item.name)
            if logger.isEnabledFor(item.levelno):
                logger.handle(item)
