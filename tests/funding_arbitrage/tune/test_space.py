"""The search space: every name checked against FundingArbSettings, values exact on the step grid."""

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies.funding_arbitrage.core.config import FundingArbSettings
from strategies.funding_arbitrage.tune.space import DEFAULT_SPACE, Param, SpaceError, load_space


def _space(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(text)
    return path


def test_default_space_names_only_settings_fields():
    space = load_space(DEFAULT_SPACE)
    assert space.names
    assert set(space.names) <= set(FundingArbSettings.model_fields)


def test_unknown_setting_is_refused_with_its_name(tmp_path):
    with pytest.raises(SpaceError, match=r"min_net_edge_pcts.*did you mean min_net_edge_pct"):
        load_space(_space(tmp_path, "min_net_edge_pcts: {low: 0.1, high: 0.2, step: 0.05}\n"))


def test_non_numeric_setting_is_refused(tmp_path):
    with pytest.raises(SpaceError, match="tokens"):
        load_space(_space(tmp_path, "tokens: {low: 1, high: 2}\n"))


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("min_net_edge_pct: {low: 0.3, high: 0.1, step: 0.05}\n", "low"),
        ("min_net_edge_pct: {low: 0.1, high: 0.3}\n", "step"),
        ("exit_confirmations: {low: 1.5, high: 3}\n", "whole"),
        ("holding_horizon_hours: {low: -5, high: 30, step: 5}\n", "holding_horizon_hours bound -5"),
        ("take_profit_pct: {low: x, high: 3, step: 1}\n", "take_profit_pct.low"),
        ("", "empty"),
    ],
)
def test_bad_ranges_are_refused_naming_the_setting(tmp_path, text, fragment):
    with pytest.raises(SpaceError, match=fragment):
        load_space(_space(tmp_path, text))


def test_adding_a_setting_is_one_line(tmp_path):
    text = DEFAULT_SPACE.read_text() + "volatility_reference_pct: {low: 0.5, high: 3.0, step: 0.25}\n"
    space = load_space(_space(tmp_path, text))
    assert space.names[-1] == "volatility_reference_pct"


@given(st.floats(min_value=0.02, max_value=0.40, allow_nan=False))
def test_sampled_decimal_lands_exactly_on_the_grid(sampled):
    p = Param("min_net_edge_pct", "decimal", Decimal("0.02"), Decimal("0.40"), Decimal("0.02"))
    value = p.value(sampled)
    assert isinstance(value, Decimal)
    assert Decimal("0.02") <= value <= Decimal("0.40")
    assert (value - Decimal("0.02")) % Decimal("0.02") == 0


def test_int_setting_gets_an_int_distribution(tmp_path):
    space = load_space(_space(tmp_path, "persistence_observations: {low: 1, high: 24}\n"))
    dist = space.distributions()["persistence_observations"]
    assert type(dist).__name__ == "IntDistribution"
    assert space.settings_of({"persistence_observations": 5}) == {"persistence_observations": 5}


def test_a_choice_setting_is_sampled_from_its_values_and_checked(tmp_path):
    space = load_space(_space(tmp_path, "position_mode: {choices: [ONEWAY, HEDGE]}\n"))
    assert type(space.distributions()["position_mode"]).__name__ == "CategoricalDistribution"
    assert space.settings_of({"position_mode": "HEDGE"}) == {"position_mode": "HEDGE"}
    with pytest.raises(SpaceError, match="position_mode bound SIDEWAYS"):
        load_space(_space(tmp_path, "position_mode: {choices: [ONEWAY, SIDEWAYS]}\n"))


def test_the_sample_config_lies_on_the_default_grid_and_is_tried_as_it_is():
    from strategies.funding_arbitrage.core.config import load_settings_dict

    root = Path(__file__).resolve().parents[3]
    for name in ("conf_funding_arbitrage.yml", "conf_funding_arbitrage_sim.yml"):
        base = load_settings_dict(root / "conf" / "scripts" / name)
        space = load_space(DEFAULT_SPACE)
        params = space.base_params(base)
        assert params is not None, f"{name}: a tuned value is off the space's grid"
        as_set = {k: base[k] if isinstance(base[k], bool | str) else Decimal(str(base[k])) for k in space.names}
        assert as_set == space.settings_of(params)


def test_a_base_value_off_the_grid_or_outside_the_bounds_is_not_tried(tmp_path):
    space = load_space(_space(tmp_path, "order_amount_quote: {low: 420, high: 1470, step: 210}\n"))
    assert space.base_params({"order_amount_quote": 840}) == {"order_amount_quote": 840.0}
    assert space.base_params({"order_amount_quote": 650}) is None
    assert space.base_params({"order_amount_quote": 210}) is None
    ints = load_space(_space(tmp_path, "persistence_observations: {low: 1, high: 24}\n"))
    assert ints.base_params({"persistence_observations": 10}) == {"persistence_observations": 10}
    assert ints.base_params({}) == {
        "persistence_observations": FundingArbSettings.model_fields["persistence_observations"].default
    }
