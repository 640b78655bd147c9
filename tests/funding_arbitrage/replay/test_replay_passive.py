"""passive_carry, the shared capital budget, and carry capture against the oracle."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategies.funding_arbitrage.replay.allocation import (
    ExposureCaps,
    allocate_with_foresight,
    passive_notional_quote,
)
from strategies.funding_arbitrage.replay.oracle import OracleCosts, run_oracle, taker_round_trip
from strategies.funding_arbitrage.replay.passive import run_passive_carry
from strategies.funding_arbitrage.replay.results import carry_capture, check_invariant, with_carry_capture

H = 3600
BN, BY, SPOT = "sim_binance_perpetual", "sim_bybit_perpetual", "sim_binance"
FEES = {BN: D("0.0005"), BY: D("0.00055"), SPOT: D("0.001")}
SAMPLE_CAPS = ExposureCaps(D(10000), D(1000), D(3000), D(6000), D(4000), D(3))


def _caps(**over: D) -> ExposureCaps:
    base = {
        "capital_quote": D(10000),
        "order_amount_quote": D(1000),
        "max_token_exposure_quote": D(3000),
        "max_venue_exposure_quote": D(6000),
        "max_total_exposure_quote": D(4000),
        "min_leverage": D(3),
    }
    return ExposureCaps(**(base | over))


def _oracle(series: dict, caps: ExposureCaps, end_ts: int):  # type: ignore[no-untyped-def]
    costs = OracleCosts(perp_perp=taker_round_trip(FEES[BN], FEES[BY]), carry=taker_round_trip(FEES[SPOT], FEES[BN]))
    return run_oracle(
        series,
        perp_connectors=[BN, BY],
        spot_connectors=[SPOT],
        capital_quote=caps.capital_quote,
        costs=costs,
        start_ts=0,
        end_ts=end_ts,
        notional_quote=caps.order_amount_quote,
        caps=caps,
    )


def _passive(series: dict, caps: ExposureCaps, end_ts: int):  # type: ignore[no-untyped-def]
    return run_passive_carry(
        series, perp_connectors=[BN, BY], spot_connectors=[SPOT], taker_fee=FEES, caps=caps, start_ts=0, end_ts=end_ts
    )


def test_sample_config_budget_is_the_total_cap_and_passive_holds_it_equally() -> None:
    assert SAMPLE_CAPS.side_budget_quote(with_spot=True) == D(4000)
    assert passive_notional_quote(SAMPLE_CAPS, 5) == D(800)


def test_budget_is_bound_by_capital_at_the_configured_leverage() -> None:
    caps = _caps(capital_quote=D(2000), max_total_exposure_quote=D(9000), max_venue_exposure_quote=D(9000))

    assert caps.side_budget_quote(with_spot=True) == D(1500)  # 2000 / (1 + 1/3)
    assert caps.side_budget_quote(with_spot=False) == D(3000)  # 2000 / (2/3)


def test_foresight_allocation_fills_the_best_coins_up_to_the_token_cap() -> None:
    sizes = allocate_with_foresight({"BTC": D("0.01"), "ETH": D("0.03"), "SOL": D("-0.001")}, SAMPLE_CAPS, True)

    assert sizes == {"ETH": D(3000), "BTC": D(1000), "SOL": D(0)}


def test_passive_carry_pays_every_settlement_and_every_legs_fees() -> None:
    series = {(BN, "BTC"): [(8 * H, D("0.0001")), (16 * H, D("0.0001"))], (BY, "BTC"): [(8 * H, D("0.0002"))]}
    caps = _caps(max_total_exposure_quote=D(1600))

    result = _passive(series, caps, 24 * H)

    # 1600 per coin, 800 on each (spot, perp) pair
    assert result.funding_pnl_quote == D(800) * D("0.0002") + D(800) * D("0.0002")
    assert result.fees_quote == 2 * D(800) * (FEES[SPOT] + FEES[BN]) + 2 * D(800) * (FEES[SPOT] + FEES[BY])
    assert result.net_pnl_quote == result.carry_quote
    assert result.equity[-1].equity_quote == caps.capital_quote + result.net_pnl_quote
    assert {u.ratio for u in result.utilisation} == {D("0.16")}
    assert result.liquidations is None and not result.trades_modelled
    check_invariant(result)


def test_passive_carry_without_a_spot_venue_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="passive_carry needs a spot venue"):
        run_passive_carry(
            {}, perp_connectors=[BN], spot_connectors=[], taker_fee=FEES, caps=SAMPLE_CAPS, start_ts=0, end_ts=H
        )


def test_carry_capture_is_none_when_the_oracle_earns_nothing() -> None:
    assert carry_capture(D(5), D(0)) is None
    assert carry_capture(D(5), D(-1)) is None
    assert carry_capture(D(5), None) is None
    assert carry_capture(D(5), D(10)) == D("0.5")


rates = st.decimals(min_value=D("-0.0005"), max_value=D("0.001"), places=6)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(rates, rates), min_size=1, max_size=12),
    st.lists(st.tuples(rates, rates), min_size=1, max_size=12),
)
def test_oracle_never_earns_less_carry_than_passive_with_the_same_caps(btc: list, eth: list) -> None:  # type: ignore[type-arg]
    series = {}
    for coin, rows in (("BTC", btc), ("ETH", eth)):
        series[(BN, coin)] = [((i + 1) * 8 * H, a) for i, (a, _) in enumerate(rows)]
        series[(BY, coin)] = [((i + 1) * 8 * H, b) for i, (_, b) in enumerate(rows)]
    end = 8 * H * (max(len(btc), len(eth)) + 1)

    runs = with_carry_capture(
        {"oracle": _oracle(series, SAMPLE_CAPS, end), "passive_carry": _passive(series, SAMPLE_CAPS, end)}
    )

    assert runs["oracle"].carry_quote >= runs["passive_carry"].carry_quote
    assert runs["oracle"].carry_quote >= 0
    deployed = max(u.ratio for u in runs["oracle"].utilisation) * SAMPLE_CAPS.capital_quote
    assert deployed <= SAMPLE_CAPS.side_budget_quote(with_spot=True)
    if runs["oracle"].carry_capture is not None:
        assert runs["oracle"].carry_capture == 1
        assert runs["passive_carry"].carry_capture is not None and runs["passive_carry"].carry_capture <= 1
