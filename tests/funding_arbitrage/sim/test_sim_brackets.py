"""sim/brackets.py: Binance maintenance brackets and the liquidation price, checked by hand."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from strategies.funding_arbitrage.sim.brackets import default_brackets_path, load_brackets
from strategies.funding_arbitrage.sim.data import DataError


@pytest.fixture(scope="module")
def btc():
    return load_brackets(default_brackets_path(), ["BTCUSDT"])["BTCUSDT"]


def test_btc_tiers_come_from_the_table(btc) -> None:
    # BTC/USDT:USDT,BTCUSDT,2,300000.0,800000.0,0.005,100.0,300.0
    assert btc.bracket_for(Decimal(299999)).tier == 1
    assert btc.bracket_for(Decimal(300000)).tier == 2
    assert btc.maintenance_margin(Decimal(10000)) == Decimal(40)  # 10000 x 0.004 - 0
    assert btc.maintenance_margin(Decimal(400000)) == Decimal(1700)  # 400000 x 0.005 - 300
    assert btc.max_leverage == 150


def test_liquidation_price_of_a_long_by_hand(btc) -> None:
    amount, entry = Decimal("0.1"), Decimal(100000)
    margin = amount * entry / 50  # 200 at 50x

    price = btc.liquidation_price(amount, entry, margin)

    # margin + q (P - E) = q P mmr - cum  ->  P = (q E - margin - cum) / (q - q mmr) = 9800 / 0.0996
    assert price == Decimal(9800) / Decimal("0.0996")
    equity = margin + amount * (price - entry)
    assert abs(equity - btc.maintenance_margin(amount * price)) < Decimal("1e-20")
    assert btc.is_liquidatable(amount, entry, margin, price - Decimal("0.01"))
    assert not btc.is_liquidatable(amount, entry, margin, price + 1)


def test_liquidation_price_of_a_short_and_of_an_unleveraged_long(btc) -> None:
    amount, entry = Decimal(-2), Decimal(100000)  # 200k notional, still tier 1
    margin = Decimal(2) * entry / 20

    price = btc.liquidation_price(amount, entry, margin)

    assert price == (amount * entry - margin) / (amount - 2 * Decimal("0.004"))
    assert price > entry
    assert btc.liquidation_price(Decimal(1), entry, entry) is None  # fully margined long: never


def test_malformed_bracket_file_names_column_and_row(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text(
        "symbol,binance_symbol,tier,min_notional,max_notional,maint_margin_rate,max_leverage,cum\n"
        "X,XUSDT,1,0,1000,oops,10,0\n"
    )

    with pytest.raises(DataError, match="column 'maint_margin_rate' row 2: not a number"):
        load_brackets(path, ["XUSDT"])
    with pytest.raises(DataError, match="no maintenance-margin brackets for ZZZUSDT"):
        load_brackets(default_brackets_path(), ["ZZZUSDT"])
