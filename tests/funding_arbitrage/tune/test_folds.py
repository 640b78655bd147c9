"""Walk-forward folds: geometry, and windows checked against the data before anything runs."""

import itertools
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies.funding_arbitrage.sim.data import load_market_data
from strategies.funding_arbitrage.tune.folds import DAY_S, FoldError, build_folds, check_folds


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@given(st.integers(1, 6), st.floats(0.5, 40), st.floats(0.5, 40))
def test_test_window_follows_its_training_window_and_folds_roll_by_one_test_window(folds, train_days, test_days):
    start = _ts("2025-06-01")
    out = build_folds(start, start + (train_days + folds * test_days) * DAY_S + 1, folds, train_days, test_days)
    assert len(out) == folds
    for f in out:
        assert f.train_start_ts < f.train_end_ts == f.test_start_ts < f.test_end_ts
    for a, b in itertools.pairwise(out):
        assert b.train_start_ts - a.train_start_ts == pytest.approx(test_days * DAY_S)
        assert b.test_start_ts == pytest.approx(a.test_end_ts)


def test_folds_that_do_not_fit_the_period_are_refused():
    with pytest.raises(FoldError, match="need 120 days"):
        build_folds(_ts("2025-06-01"), _ts("2025-08-01"), 3, 30, 30)


@pytest.mark.parametrize("train, test", [(0, 1), (1, 0), (-1, 1)])
def test_empty_windows_are_refused(train, test):
    with pytest.raises(FoldError, match="empty window"):
        build_folds(_ts("2025-06-01"), _ts("2025-07-01"), 1, train, test)


@pytest.fixture(scope="module")
def md(tmp_path_factory):
    from tests.conftest import DATA_DIR

    return load_market_data(DATA_DIR / "cross_venue_2025")


def test_window_shorter_than_a_settlement_is_refused(md):
    folds = build_folds(_ts("2025-06-01T01:00:00"), _ts("2025-06-02"), 2, 0.1, 0.1)
    with pytest.raises(FoldError, match="too short for one funding settlement of binance BTC"):
        check_folds(folds, md, ("binance", "bybit"), ("binance",), ("BTC",))


def test_window_outside_the_data_is_refused(md):
    folds = build_folds(_ts("2025-10-01"), _ts("2025-10-10"), 1, 3, 3)
    with pytest.raises(FoldError, match="outside the data"):
        check_folds(folds, md, ("binance", "bybit"), ("binance",), ("BTC",))


def test_market_not_in_the_data_is_refused(md):
    folds = build_folds(_ts("2025-06-01"), _ts("2025-06-10"), 1, 3, 3)
    with pytest.raises(FoldError, match="market binance XRP is not in the data"):
        check_folds(folds, md, ("binance",), (), ("XRP",))
