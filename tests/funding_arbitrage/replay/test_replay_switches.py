"""Report figures of switches and of pairs that lost to fees (replay/switches.py, RunResult properties)."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from strategies.funding_arbitrage.replay.results import PairRow, RunResult
from strategies.funding_arbitrage.replay.switches import counterfactual_funding, switch_gains
from strategies.funding_arbitrage.sim.data import Candle, CandleSeries, FundingSeries, MarketData

H = 3600
T0 = 1_750_000_000 - 1_750_000_000 % (8 * H)  # on an 8 h settlement


def market() -> MarketData:
    """BTC on binance: settlements every 8 h at 0.001 (the first at T0), price flat at 100."""
    times = [T0 + 8 * H * i for i in range(6)]
    candles = [Candle(T0 - H + H * i, D(100), D(100), D(100), D(100), D(1)) for i in range(60)]
    return MarketData(
        Path("."),
        {("binance", "BTC"): FundingSeries("binance", "BTC", times, [D("0.001")] * len(times))},
        {("binance", "BTC"): CandleSeries("binance", "BTC", candles, 2)},
        {("binance", "BTC"): "USDT"},
        False,
    )


def row(key: str, opened: float, closed: float | None, funding: str, fees: str, reason: str | None) -> PairRow:
    return PairRow(key, "BTC", opened, closed, D(funding), D(fees), D(0), D(0), D(funding) - D(fees), reason)


def record(opened: float, closed: float | None, short: str, long_kind: str = "spot", amount: str = "2") -> Any:
    leg = SimpleNamespace
    return SimpleNamespace(
        token="BTC",
        opened_ts=opened,
        closed_ts=closed,
        long=leg(
            connector="sim_binance" if long_kind == "spot" else "sim_bybit_perpetual",
            kind=long_kind,
            target_base=D(amount),
        ),
        short=leg(connector=short, kind="perp", target_base=D(amount)),
    )


def run(rows: list[PairRow], gains: tuple = ()) -> RunResult:
    zero = D(0)
    return RunResult(
        "funding_arbitrage",
        D(1000),
        zero,
        zero,
        zero,
        zero,
        zero,
        zero,
        zero,
        None,
        len(rows),
        0,
        None,
        None,
        pairs=rows,
        switch_gains=gains,
    )


def test_a_pair_lost_to_fees_when_its_funding_did_not_pay_its_costs_switched_out_pairs_by_their_own() -> None:
    rows = [
        row("BTC a", T0, T0 + H, "0.10", "0.50", "switch"),  # switched out after losing to its fees
        row("BTC b", T0 + H, None, "3.00", "0.50", None),
        row("BTC c", T0, T0 + 2 * H, "0.40", "0.40", "edge_decayed"),  # broke even: not lost
        row("BTC d", T0 + 3 * H, None, "0.10", "0.50", None),  # still open, still earning: not counted
    ]
    result = run(rows)

    assert result.pairs_lost_to_fees == 1
    assert result.switches == 1
    assert result.switch_gain_quote == 0  # no gain computed for it here


def test_counterfactual_funding_pays_a_short_perp_the_recorded_settlements_at_the_price() -> None:
    legs = [("sim_binance", "spot", D(2)), ("sim_binance_perpetual", "perp", D(-2))]

    paid = counterfactual_funding(market(), legs, "BTC", T0, T0 + 16 * H)  # settlements at T0+8h, T0+16h

    assert paid == 2 * 2 * D(100) * D("0.001")


def test_the_realised_gain_is_the_new_pairs_carry_minus_what_the_old_pair_would_have_been_paid() -> None:
    old = record(T0 - H, T0 + H, "sim_binance_perpetual")
    new = record(T0 + 2 * H, None, "sim_bybit_perpetual")
    rows = [
        row("BTC binance-spot/binance", T0 - H, T0 + H, "0.20", "0.40", "switch"),
        row("BTC binance-spot/bybit", T0 + 2 * H, None, "3.00", "0.60", None),
    ]

    gains = switch_gains([old, new], rows, market(), end_ts=T0 + 24 * H)

    assert len(gains) == 1
    g = gains[0]
    assert (g.closed_pair, g.opened_pair, g.ts) == ("BTC binance-spot/binance", "BTC binance-spot/bybit", T0 + H)
    # held, the old pair's short binance leg would have been paid 2 * 100 * 0.001 at T0+8h, +16h, +24h (0.6)
    assert g.realised_gain_quote == D("2.40") - D("0.6")
    assert run(rows, tuple(gains)).switch_gain_quote == D("1.8")


def test_a_switch_with_nothing_entered_after_it_has_no_realised_gain() -> None:
    old = record(T0 - H, T0 + H, "sim_binance_perpetual")
    rows = [row("BTC binance-spot/binance", T0 - H, T0 + H, "0.20", "0.40", "switch")]

    gains = switch_gains([old], rows, market(), end_ts=T0 + 24 * H)

    assert gains[0].opened_pair is None and gains[0].realised_gain_quote is None
    assert run(rows, tuple(gains)).switch_gain_quote is None
