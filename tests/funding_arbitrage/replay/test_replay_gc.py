"""`replay_gc`: the collector's settings during a simulated run, and that they are given back after it."""

from __future__ import annotations

import gc

import pytest

from strategies.funding_arbitrage.replay.runner import REPLAY_GC_THRESHOLD, replay_gc


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_inside_a_run_old_objects_are_frozen_and_the_thresholds_raised_then_restored() -> None:
    before = gc.get_threshold()
    with replay_gc():
        assert gc.get_threshold() == REPLAY_GC_THRESHOLD
        assert gc.get_freeze_count() > 0  # what existed before the run is not scanned again
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_restored_when_the_run_raises() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), replay_gc():
        raise RuntimeError("run failed")
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_cycles_made_during_a_run_are_still_collected() -> None:
    with replay_gc():
        for _ in range(200_000):  # more allocations than the raised young threshold: collections still happen
            _Cycle()
        assert gc.collect() >= 0
        assert not any(type(o) is _Cycle for o in gc.get_objects())
