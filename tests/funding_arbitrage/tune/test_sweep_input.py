"""Bad sweep input is refused with a message naming it, before any Ray worker starts and before any study exists."""

from pathlib import Path

import pytest

from strategies.funding_arbitrage.cli.launcher import main
from tests.conftest import DATA_DIR

DATA = DATA_DIR / "cross_venue_2025"
BASE = ["sweep", "--data", str(DATA), "--coins", "HYPE", "--no-progress", "--workers", "2", "--trials", "2"]


def _sweep(tmp_path: Path, capsys, *extra: str) -> tuple[int, str]:
    rc = main([*BASE, "--out", str(tmp_path / "out"), *extra])
    return rc, capsys.readouterr().err


def _nothing_started(tmp_path: Path) -> bool:
    import ray

    return not ray.is_initialized() and not (tmp_path / "out" / "study.sqlite3").exists()


@pytest.mark.parametrize(
    "extra, named",
    [
        (("--start", "2025-06-01", "--train-days", "0"), "--train-days (0.0) must be positive"),
        (("--start", "2024-01-01", "--end", "2025-06-10"), "--start 2024-01-01T00:00:00Z is outside the data"),
        (
            ("--start", "2025-06-01T01:00", "--end", "2025-06-03", "--train-days", "0.1", "--test-days", "0.1"),
            "too short for one funding settlement of binance HYPE",
        ),
        (
            ("--start", "2025-06-01", "--end", "2025-07-01", "--folds", "3", "--train-days", "30"),
            "--folds 3 with --train-days 30 and --test-days 30 need 120 days",
        ),
        (("--start", "2025-06-10", "--end", "2025-06-05"), "the period is empty"),
        (("--coins", "XRP"), "market binance XRP is not in the data"),
        (
            (
                "--trials",
                "0",
            ),
            "--trials (0) must be at least 1",
        ),
    ],
)
def test_bad_windows_and_folds_are_refused_before_any_worker(tmp_path, capsys, extra, named):
    rc, err = _sweep(tmp_path, capsys, *extra)
    assert rc == 1
    assert named in err
    assert _nothing_started(tmp_path)


def test_unknown_setting_in_the_space_is_refused_before_any_worker(tmp_path, capsys):
    space = tmp_path / "space.yaml"
    space.write_text("min_net_edge_pct: {low: 0.02, high: 0.2, step: 0.02}\nentry_edge_pct: {low: 1, high: 2}\n")
    rc, err = _sweep(tmp_path, capsys, "--space", str(space))
    assert rc == 1
    assert "unknown setting 'entry_edge_pct'" in err
    assert _nothing_started(tmp_path)


def test_invalid_base_config_is_refused_before_any_worker(tmp_path, capsys):
    conf = tmp_path / "conf.yml"
    conf.write_text("tokens: [BTC]\nmax_drawdown_quote: -5\n")
    rc, err = _sweep(
        tmp_path,
        capsys,
        "--config",
        str(conf),
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
    )
    assert rc == 1
    assert "max_drawdown_quote" in err
    assert _nothing_started(tmp_path)


def test_a_test_window_before_the_forecast_calibration_cut_is_refused(tmp_path, capsys):
    """The shipped forecast constants saw settlements up to 2025-06-01: a test window before is not out of sample."""
    rc, err = (
        main(
            [
                *BASE[:4],
                "BTC",
                *BASE[5:],
                "--out",
                str(tmp_path / "out"),
                "--start",
                "2025-05-01",
                "--end",
                "2025-06-20",
                "--folds",
                "2",
                "--train-days",
                "14",
                "--test-days",
                "14",
            ]
        ),
        capsys.readouterr().err,
    )
    assert rc == 1
    assert "fold 1 test window 2025-05-15T00:00:00Z" in err and "calibration cut 2025-06-01T00:00:00Z" in err
    assert _nothing_started(tmp_path)


@pytest.mark.parametrize(
    "extra, named",
    [
        (("--config", "other.yml"), "the base config must be the sample config"),
        ((), "differ from the sample config's tokens"),  # BASE sweeps HYPE only
    ],
)
def test_write_sample_refuses_another_base_or_other_markets_before_anything_runs(tmp_path, capsys, extra, named):
    rc, err = _sweep(tmp_path, capsys, "--write-sample", *extra)
    assert rc == 1
    assert named in err
    assert _nothing_started(tmp_path)
