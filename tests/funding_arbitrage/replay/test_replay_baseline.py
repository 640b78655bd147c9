"""Tests of replay/baseline.py: each decision rule of the upstream example fires, and only when it should."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from strategies.funding_arbitrage.replay.baseline import (
    BaselineConfig,
    BaselineHeld,
    BaselineRules,
    ExitReason,
    FundingObs,
    baseline_connectors,
    funding_diff_24h,
    upstream_interval_s,
)

BN, BY, HL = "binance_perpetual", "bybit_perpetual", "hyperliquid_perpetual"
FEES = {BN: D("0.0005"), BY: D("0.00055"), HL: D("0.00045")}


def fee(connector: str, token: str) -> D:
    return FEES[connector]


def rules(**overrides: object) -> BaselineRules:
    fields: dict[str, object] = {"connectors": (BN, BY, HL), "tokens": ("BTC", "ETH")}
    fields.update(overrides)
    return BaselineRules(BaselineConfig(**fields))  # type: ignore[arg-type]


def obs(rate: str, mid: str = "100", bid: str | None = None, ask: str | None = None) -> FundingObs:
    return FundingObs(D(rate), D(mid), None if bid is None else D(bid), None if ask is None else D(ask))


def held(**overrides: object) -> BaselineHeld:
    fields: dict[str, object] = {"long_connector": BN, "short_connector": BY, "opened_ts": 0, "size_quote": D(100)}
    fields.update(overrides)
    return BaselineHeld(**fields)  # type: ignore[arg-type]


def test_fixed_interval_map_is_hyperliquid_1h_and_8h_for_everyone_else() -> None:
    assert upstream_interval_s(HL) == 3600 == upstream_interval_s("sim_hyperliquid_perpetual")
    assert upstream_interval_s(BN) == 8 * 3600 == upstream_interval_s("okx_perpetual")


def test_enters_the_best_pair_when_its_24h_spread_reaches_the_threshold() -> None:
    # bybit 0.0005/8h = 0.0015/day, binance 0.0001/8h = 0.0003/day: long binance, short bybit, 0.0012/day
    rates = {(BN, "BTC"): obs("0.0001"), (BY, "BTC"): obs("0.0005"), (HL, "BTC"): obs("0.00002")}

    enters, exits = rules().decide(100, rates, {}, fee)

    assert exits == []
    assert [(e.token, e.long_connector, e.short_connector) for e in enters] == [("BTC", BN, BY)]
    assert enters[0].funding_diff_24h == D("0.0012")
    assert (enters[0].leverage, enters[0].size_quote) == (20, D(100))


def test_does_not_enter_below_the_threshold() -> None:
    rates = {(BN, "BTC"): obs("0.0001"), (BY, "BTC"): obs("0.0004")}  # 0.0009/day

    assert rules().decide(100, rates, {}, fee) == ([], [])
    assert rules(min_funding_rate_profitability=D("0.0008")).decide(100, rates, {}, fee)[0] != []


def test_a_4h_venue_read_as_8h_creates_a_phantom_spread() -> None:
    # binance settles every 4 h: 0.0004 per 4 h = 0.0024/day; hyperliquid 0.0001 per h = 0.0024/day.
    # There is no true spread.
    rates = {(BN, "BTC"): obs("0.0004"), (HL, "BTC"): obs("0.0001")}
    true_diff = (D("0.0001") / 3600 - D("0.0004") / (4 * 3600)) * 86400

    enters, _ = rules(connectors=(BN, HL)).decide(0, rates, {}, fee)

    assert true_diff == 0
    assert funding_diff_24h(BN, D("0.0004"), HL, D("0.0001")) == D("0.0012")  # binance halved: 0.0012/day
    assert [(e.long_connector, e.short_connector) for e in enters] == [(BN, HL)]


def test_entry_cost_check_blocks_an_entry_across_wide_books() -> None:
    wide = {(BN, "BTC"): obs("0.0001", bid="99.9", ask="100.05"), (BY, "BTC"): obs("0.0005", bid="99.95", ask="100.1")}
    # price gap (99.95 − 100.05) / 100.05 ≈ −0.1 %, fees 0.105 %, exit buffer 0.05 % -> ≈ −0.255 % < −0.2 %

    assert rules().decide(0, wide, {}, fee) == ([], [])
    assert rules(max_trade_profitability_loss=D("0.003")).decide(0, wide, {}, fee)[0] != []
    at_mid = {(BN, "BTC"): obs("0.0001"), (BY, "BTC"): obs("0.0005")}
    assert rules(estimated_exit_cost_buffer=D("0.001")).decide(0, at_mid, {}, fee) == ([], [])


def test_optional_trade_profitability_condition_uses_min_net_profitability() -> None:
    rates = {(BN, "BTC"): obs("0.0001"), (BY, "BTC"): obs("0.0005")}  # 0.0012/day − fees 0.00105 = 0.00015

    assert rules(trade_profitability_condition_to_enter=True).decide(0, rates, {}, fee) == ([], [])
    relaxed = rules(trade_profitability_condition_to_enter=True, min_net_profitability=D("0.0001"))
    assert relaxed.decide(0, rates, {}, fee)[0] != []


def test_take_profit_when_pnl_plus_funding_reaches_one_percent_of_size() -> None:
    rates = {(BN, "BTC"): obs("0.0001"), (BY, "BTC"): obs("0.0002")}

    _, exits = rules().decide(50, rates, {"BTC": held(pnl_quote=D("0.4"), funding_quote=D("0.6"))}, fee)
    _, none = rules().decide(50, rates, {"BTC": held(pnl_quote=D("0.4"), funding_quote=D("0.59"))}, fee)

    assert [(e.token, e.reason) for e in exits] == [("BTC", ExitReason.TAKE_PROFIT)]
    assert none == []


def test_exit_when_the_spread_turns_below_the_stop() -> None:
    turned = {(BN, "BTC"): obs("0.0005"), (BY, "BTC"): obs("0.0001")}  # long binance pays more: −0.0012/day
    mild = {(BN, "BTC"): obs("0.0004"), (BY, "BTC"): obs("0.0001")}  # −0.0009/day

    _, exits = rules().decide(50, turned, {"BTC": held()}, fee)

    assert [e.reason for e in exits] == [ExitReason.SPREAD_TURNED]
    assert rules().decide(50, mild, {"BTC": held()}, fee) == ([], [])
    assert rules().decide(50, {(BN, "BTC"): obs("0.0005")}, {"BTC": held()}, fee) == ([], [])  # rate missing


def test_single_leg_timeout_unwinds_a_one_legged_position() -> None:
    lone = {"BTC": held(opened_ts=100, short_filled=False)}

    assert rules().decide(104, {}, lone, fee) == ([], [])
    _, exits = rules().decide(105, {}, lone, fee)

    assert [e.reason for e in exits] == [ExitReason.SINGLE_LEG_TIMEOUT]


def test_held_tokens_are_not_entered_again_and_decisions_come_sorted() -> None:
    rates = {(c, t): obs(r) for t in ("BTC", "ETH") for c, r in ((BN, "0.0001"), (BY, "0.0005"))}

    enters, _ = rules(tokens=("ETH", "BTC", "SOL")).decide(0, rates, {"BTC": held()}, fee)
    both, _ = rules(tokens=("ETH", "BTC")).decide(0, rates, {}, fee)

    assert [e.token for e in enters] == ["ETH"]
    assert [e.token for e in both] == ["BTC", "ETH"]


def test_config_needs_two_connectors_and_baseline_trades_perps_only() -> None:
    with pytest.raises(ValueError, match="two"):
        BaselineConfig(connectors=(BN,), tokens=("BTC",))
    assert baseline_connectors([BY, "binance", BN]) == (BN, BY)
