"""The shipped sample configs hold the settings the committed walk-forward sweep chose (docs/sweep_result.json,
written by `funding-arb sweep ... --write-sample`), and that record is a real walk-forward result: three or more
folds, every one evaluated out of sample, the choice taken from the latest fold. See docs/sweep.md."""

import json
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import yaml

from strategies.funding_arbitrage.tune.adopt import RECORD, SAMPLE_CONFIGS
from strategies.funding_arbitrage.tune.space import DEFAULT_SPACE, load_space

ROOT = Path(__file__).resolve().parents[3]
DOC = json.loads((ROOT / RECORD).read_text())


def _value(v: object) -> object:
    """Numbers compared as numbers (YAML reads 0.50 as 0.5), choices (booleans, names) as they are."""
    return v if isinstance(v, bool | str) and not str(v).replace(".", "", 1).isdigit() else Decimal(str(v))


def test_the_sample_configs_hold_the_sweeps_chosen_settings():
    chosen = DOC["chosen"]["settings"]
    assert set(chosen) == set(load_space(DEFAULT_SPACE).names)  # every searched setting, nothing else
    for name in SAMPLE_CONFIGS:
        conf = yaml.safe_load((ROOT / "conf" / "scripts" / name).read_text())
        assert {k: _value(conf[k]) for k in chosen} == {k: _value(v) for k, v in chosen.items()}, name


def test_the_record_is_a_walk_forward_sweep_evaluated_out_of_sample():
    folds = DOC["folds"]
    assert len(folds) >= 3
    assert DOC["chosen"]["fold"] == folds[-1]["fold"]  # tuned on the most recent window
    assert DOC["chosen"]["settings"] == folds[-1]["params"]
    for prev, fold in pairwise(folds):
        assert fold["test_start"] >= prev["test_end"]  # test windows do not overlap
    for fold in folds:
        assert fold["test_start"] >= fold["train_end"]  # never tested on its own training window
        assert fold["oos_capture"] is not None and fold["oos_error"] is None
    assert DOC["pooled"]["oos_capture"] is not None and DOC["pooled"]["oos_folds"] == str(len(folds))
