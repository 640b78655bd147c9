"""Adopting a sweep's choice into the sample configs: only the tuned lines change, comments keep their column, an
invalid result or a config without the setting's line is refused and nothing is written."""

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from strategies.funding_arbitrage.tune.adopt import RECORD, SAMPLE_CONFIGS, AdoptError, adopt_sample, set_values

ROOT = Path(__file__).resolve().parents[3]
TEXT = (
    "# head comment\n"
    "order_amount_quote: 630          # target notional of one position\n"
    "min_net_edge_pct: 0.10           # required net edge\n"
    "leverage:                        # per connector\n"
    "  binance_perpetual: 1\n"
    "tokens: [BTC, ETH]\n"
    "exit_forward_hours: 72\n"
)


def test_only_the_tuned_lines_change_and_comments_keep_their_column():
    new, changed = set_values(TEXT, {"order_amount_quote": Decimal("840"), "min_net_edge_pct": Decimal("0.40")})
    assert changed == {"order_amount_quote": ("630", "840"), "min_net_edge_pct": ("0.10", "0.40")}
    old_lines, new_lines = TEXT.splitlines(), new.splitlines()
    assert [i for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=True)) if a != b] == [1, 2]
    assert new_lines[1] == "order_amount_quote: 840          # target notional of one position"
    assert new_lines[2].index("#") == old_lines[2].index("#")
    assert yaml.safe_load(new)["min_net_edge_pct"] == 0.40


def test_a_value_longer_than_the_gap_keeps_one_space_before_its_comment_and_equal_numbers_are_left_as_written():
    new, changed = set_values(TEXT, {"order_amount_quote": Decimal("1" * 40), "min_net_edge_pct": Decimal("0.1")})
    assert new.splitlines()[1] == "order_amount_quote: " + "1" * 40 + " # target notional of one position"
    assert "min_net_edge_pct" not in changed and "min_net_edge_pct: 0.10 " in new


def test_a_line_without_comment_and_an_integer_value():
    new, _ = set_values(TEXT, {"exit_forward_hours": Decimal("216")})
    assert new.endswith("exit_forward_hours: 216\n")


@pytest.mark.parametrize(
    "settings, named",
    [
        ({"max_drawdown_pct": Decimal(5)}, "max_drawdown_pct must have exactly one top-level line"),
        ({"leverage": 3}, "leverage line 4"),
        ({"tokens": 3}, "is not a plain"),
    ],
)
def test_a_setting_without_one_plain_line_is_refused(settings, named):
    with pytest.raises(AdoptError, match=named):
        set_values(TEXT, settings)


def test_a_setting_set_twice_is_refused():
    with pytest.raises(AdoptError, match=r"exit_forward_hours .*found 2"):
        set_values(TEXT + "exit_forward_hours: 48\n", {"exit_forward_hours": 24})


def _root(tmp_path: Path) -> Path:
    (tmp_path / "conf" / "scripts").mkdir(parents=True)
    for name in SAMPLE_CONFIGS:
        shutil.copy(ROOT / "conf" / "scripts" / name, tmp_path / "conf" / "scripts" / name)
    return tmp_path


def _record(settings: dict) -> dict:
    return {"folds": [], "pooled": {}, "chosen": {"fold": 3, "settings": settings}}


def test_adopt_writes_both_sample_configs_and_the_record(tmp_path):
    root = _root(tmp_path)
    before = {n: (root / "conf" / "scripts" / n).read_text() for n in SAMPLE_CONFIGS}
    record = _record({"order_amount_quote": "840", "exit_uncertainty_z": "2.25"})
    report = adopt_sample(record, root)
    for name in SAMPLE_CONFIGS:
        path = root / "conf" / "scripts" / name
        data = yaml.safe_load(path.read_text())
        assert Decimal(str(data["order_amount_quote"])) == 840 and Decimal(str(data["exit_uncertainty_z"])) == 2.25
        assert report[path]["order_amount_quote"][1] == "840"
        old, new = before[name].splitlines(), path.read_text().splitlines()
        assert sum(a != b for a, b in zip(old, new, strict=True)) == 2  # nothing else moved
    assert json.loads((root / RECORD).read_text()) == record


def test_an_invalid_result_is_refused_and_nothing_is_written(tmp_path):
    root = _root(tmp_path)
    before = {n: (root / "conf" / "scripts" / n).read_text() for n in SAMPLE_CONFIGS}
    with pytest.raises(AdoptError, match="order_amount_quote"):
        adopt_sample(_record({"order_amount_quote": "2000"}), root)  # above max_token_exposure_quote 1500
    assert {n: (root / "conf" / "scripts" / n).read_text() for n in SAMPLE_CONFIGS} == before
    assert not (root / RECORD).exists()


def test_a_sweep_that_chose_nothing_changes_nothing(tmp_path):
    root = _root(tmp_path)
    with pytest.raises(AdoptError, match="chose nothing"):
        adopt_sample({"folds": [], "chosen": None}, root)
    assert not (root / RECORD).exists()
