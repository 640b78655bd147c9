"""margin.py: bracket loading, maintenance margin, liquidation estimates (hand-checked against the table)."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategies.funding_arbitrage.core.margin import (
    SOURCE_BINANCE,
    SOURCE_PROXY,
    BracketTable,
    MarginBrackets,
    MarginDataError,
    default_brackets_path,
    estimate_liquidation_price,
    isolated_margin_quote,
    liquidation_distance_pct,
    locate_brackets,
    margin_after_reduction,
    margin_ratio,
    max_amount_for_distance,
    reduce_fraction_for_distance,
)

ROOT = Path(__file__).resolve().parents[3]
BRACKETS_CSV = default_brackets_path(ROOT)
HEADER = "symbol,binance_symbol,tier,min_notional,max_notional,maint_margin_rate,max_leverage,cum\n"


@pytest.fixture(scope="module")
def brackets() -> MarginBrackets:
    if not BRACKETS_CSV.exists():
        pytest.fail(f"bracket table not found at {BRACKETS_CSV}: expected ../shared/data beside the project")
    return MarginBrackets.load(BRACKETS_CSV)


@pytest.fixture(scope="module")
def btc(brackets: MarginBrackets) -> BracketTable:
    table = brackets.table("BTCUSDT")
    assert table is not None
    return table


def _equity_minus_mm(amount: D, entry: D, margin: D, price: D, table: BracketTable) -> D:
    return margin + amount * (price - entry) - table.maintenance_margin(abs(amount) * price)


# --- loading -------------------------------------------------------------------------------------------
def test_load_reads_every_market_from_the_shared_table(brackets: MarginBrackets) -> None:
    # read in place beside the project, never from a copy inside it
    assert (ROOT / ".." / "shared" / "data" / "venues" / BRACKETS_CSV.name).resolve() == BRACKETS_CSV
    assert ROOT not in BRACKETS_CSV.parents
    assert len(brackets) == 907


def test_btcusdt_tier1_matches_the_csv_row(btc: BracketTable) -> None:
    tier1 = btc.tiers[0]
    assert (tier1.tier, tier1.min_notional_quote, tier1.max_notional_quote) == (1, D("0"), D("300000"))
    assert (tier1.maint_margin_rate, tier1.cum_quote, tier1.max_leverage) == (D("0.004"), D("0"), D("150"))


def test_maintenance_margin_uses_bracket_rate_minus_cum(brackets: MarginBrackets) -> None:
    # tier 2 of BTCUSDT: MMR 0.005, cum 300  ->  500 000 × 0.005 − 300 = 2 200
    assert brackets.maintenance_margin("BTCUSDT", D("500000")) == D("2200")
    # tier 1: 6 000 × 0.004 = 24
    assert brackets.maintenance_margin("BTCUSDT", D("6000")) == D("24")


def test_maintenance_margin_is_continuous_at_a_bracket_boundary(btc: BracketTable) -> None:
    below = btc.maintenance_margin(D("299999.99"))
    at = btc.maintenance_margin(D("300000"))
    above = btc.maintenance_margin(D("300000.01"))
    assert at == D("1200")
    assert below < at < above
    assert above - below < D("0.0001")


def test_maintenance_margin_of_an_unknown_symbol_is_none(brackets: MarginBrackets) -> None:
    assert brackets.maintenance_margin("NOSUCHUSDT", D("1000")) is None


# --- which table: own, proxy, unknown ------------------------------------------------------------------
def test_resolve_binance_uses_its_own_symbol_for_the_quote(brackets: MarginBrackets) -> None:
    table = brackets.resolve("binance_perpetual", "BTC", "USDC")
    assert table is not None and table.symbol == "BTCUSDC" and table.source == SOURCE_BINANCE


def test_resolve_other_venue_uses_binance_usdt_as_flagged_proxy(brackets: MarginBrackets) -> None:
    table = brackets.resolve("hyperliquid_perpetual", "ETH", "USD")
    assert table is not None and table.symbol == "ETHUSDT" and table.source == SOURCE_PROXY


def test_resolve_simulated_binance_is_binance(brackets: MarginBrackets) -> None:
    table = brackets.resolve("sim_binance_perpetual", "BTC", "USDT")
    assert table is not None and table.source == SOURCE_BINANCE


def test_resolve_token_absent_everywhere_is_unknown(brackets: MarginBrackets) -> None:
    assert brackets.resolve("hyperliquid_perpetual", "kPEPE", "USD") is None
    assert estimate_liquidation_price(D("1"), D("1"), D("1"), None) is None


# --- malformed data ------------------------------------------------------------------------------------
def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "brackets.csv"
    path.write_text(HEADER + body)
    return path


def test_load_malformed_rate_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "X/USDT:USDT,XUSDT,1,0,1000,0.01,50,0\nX/USDT:USDT,XUSDT,2,1000,5000,abc,25,10\n")
    with pytest.raises(MarginDataError, match=rf"{path}:3: maint_margin_rate \('abc'\) is not a number"):
        MarginBrackets.load(path)


@pytest.mark.parametrize(
    "body, message",
    [
        ("X/USDT:USDT,XUSDT,1,0,1000,1.5,50,0\n", "maint_margin_rate"),
        ("X/USDT:USDT,XUSDT,1,500,100,0.01,50,0\n", "min_notional"),
        ("X/USDT:USDT,XUSDT,0,0,100,0.01,50,0\n", "tier"),
        ("X/USDT:USDT,,1,0,100,0.01,50,0\n", "binance_symbol is empty"),
        ("X/USDT:USDT,XUSDT,1,0,1000,0.01,50,0\nX/USDT:USDT,XUSDT,2,2000,5000,0.02,25,10\n", "must equal tier 1"),
        ("X/USDT:USDT,XUSDT,1,0,1000,0.01,50,0\nX/USDT:USDT,XUSDT,2,1000,5000,0.02,25,99\n", "continuous"),
        ("X/USDT:USDT,XUSDT,1,0,1000,0.01,50,0\nX/USDT:USDT,XUSDT,3,1000,5000,0.02,25,10\n", "out of sequence"),
    ],
)
def test_load_rejects_inconsistent_tables(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(MarginDataError, match=message):
        MarginBrackets.load(_write(tmp_path, body))


def test_locate_falls_back_from_a_relocated_home_to_this_checkout(tmp_path: Path) -> None:
    assert locate_brackets(tmp_path / "home") == BRACKETS_CSV


def test_load_missing_column_or_file(tmp_path: Path) -> None:
    bad = tmp_path / "b.csv"
    bad.write_text("symbol,tier\nX,1\n")
    with pytest.raises(MarginDataError, match="missing column"):
        MarginBrackets.load(bad)
    with pytest.raises(MarginDataError, match="cannot read"):
        MarginBrackets.load(tmp_path / "absent.csv")


# --- liquidation price, hand-checked -------------------------------------------------------------------
def test_liquidation_price_btcusdt_tier1_long_by_hand(btc: BracketTable) -> None:
    # long 0.1 BTC at 60 000, 10x -> margin 600; tier 1 MMR 0.004, cum 0:
    # P = (0.1·60 000 − 600) / (0.1 − 0.1·0.004) = 5 400 / 0.0996 = 54 216.867469879518...
    liq = estimate_liquidation_price(D("0.1"), D("60000"), D("600"), btc)
    assert liq is not None
    assert abs(liq - D("54216.86746987951807")) < D("1e-12")
    assert abs(_equity_minus_mm(D("0.1"), D("60000"), D("600"), liq, btc)) < D("1e-20")
    assert liquidation_distance_pct(D("60000"), liq, is_long=True).quantize(D("0.01")) == D("9.64")


def test_liquidation_price_btcusdt_tier1_short_by_hand(btc: BracketTable) -> None:
    # short: P = (−6 000 − 600) / (−0.1 − 0.0004) = 6 600 / 0.1004 = 65 737.051792828685...
    liq = estimate_liquidation_price(D("-0.1"), D("60000"), D("600"), btc)
    assert liq is not None
    assert abs(liq - D("65737.05179282868526")) < D("1e-12")
    assert liquidation_distance_pct(D("60000"), liq, is_long=False).quantize(D("0.01")) == D("9.56")


def test_liquidation_price_uses_the_bracket_of_the_notional_at_liquidation(btc: BracketTable) -> None:
    # short 5 BTC at 60 000, 20x (margin 15 000). Tier 1 would give 62 749.0 -> notional 313 745 > 300 000,
    # inconsistent; tier 2 (MMR 0.005, cum 300): (15 000 + 300 + 300 000) / (5 · 1.005) = 62 746.2686567...
    liq = estimate_liquidation_price(D("-5"), D("60000"), D("15000"), btc)
    assert liq is not None
    assert abs(liq - D("315300") / D("5.025")) < D("1e-18")
    assert btc.bracket_for(5 * liq).tier == 2
    assert abs(_equity_minus_mm(D("-5"), D("60000"), D("15000"), liq, btc)) < D("1e-18")


def test_fully_collateralised_long_cannot_be_liquidated(btc: BracketTable) -> None:
    liq = estimate_liquidation_price(D("1"), D("60000"), D("60000"), btc)  # 1x
    assert liq == 0
    assert liquidation_distance_pct(D("60000"), liq, is_long=True) == 100


def test_distance_is_negative_beyond_liquidation() -> None:
    assert liquidation_distance_pct(D("50000"), D("54000"), is_long=True) < 0
    assert liquidation_distance_pct(D("70000"), D("65000"), is_long=False) < 0


def test_margin_ratio_unknown_and_past_liquidation() -> None:
    assert margin_ratio(None, D("100")) is None
    assert margin_ratio(D("24"), D("0")) == D("Infinity")
    assert margin_ratio(D("24"), D("600")) == D("0.04")


def test_a_cut_within_the_first_bracket_cannot_restore_the_distance(btc: BracketTable) -> None:
    # short 1 BTC at 60 000, 1x (margin 60 000), mark 110 000: liquidation ~119 522, 8.66 % away. P_t = 126 500;
    # per unit kept: margin 60 000 + (60 000 - 126 500) = -6 500 < MM 506: nothing can be kept.
    assert max_amount_for_distance(D("-1"), D("60000"), D("60000"), D("110000"), D("15"), btc) == 0
    assert reduce_fraction_for_distance(D("-1"), D("60000"), D("60000"), D("110000"), D("15"), btc, D("0.001")) == 1
    # the same leg 9 % from mark is safe whole: nothing needs to go
    assert max_amount_for_distance(D("-1"), D("60000"), D("60000"), D("100000"), D("15"), btc) == 1


def test_a_cut_helps_only_down_into_a_lower_bracket(btc: BracketTable) -> None:
    # long 100 BTC at 60 000 with 10x (margin 600 000), mark 60 000: notional 6M is in the 3M-12M bracket
    # (MMR 1 %): 9.29 % from liquidation; kept in the first bracket (MMR 0.4 %) the rest would be 9.64 % away
    amount, entry, margin, mark = D("100"), D("60000"), D("600000"), D("60000")
    liq = estimate_liquidation_price(amount, entry, margin, btc)
    assert liq is not None
    whole = liquidation_distance_pct(mark, liq, is_long=True)
    d = whole + D("0.2")  # ask a little more than the whole position has: a lower bracket gives it
    assert max_amount_for_distance(amount, entry, margin, mark, D("9.7"), btc) == 0  # beyond the first bracket
    keep = max_amount_for_distance(amount, entry, margin, mark, d, btc)
    assert 0 < keep < amount
    rest_margin = margin_after_reduction(margin, amount, keep)
    rest_liq = estimate_liquidation_price(keep, entry, rest_margin, btc)
    assert rest_liq is not None
    assert liquidation_distance_pct(mark, rest_liq, is_long=True) >= d - D("1e-18")
    more = keep * D("1.001")  # a little more kept falls short
    more_liq = estimate_liquidation_price(more, entry, margin_after_reduction(margin, amount, more), btc)
    assert more_liq is not None and liquidation_distance_pct(mark, more_liq, is_long=True) < d


def test_isolated_margin_and_its_pro_rata_release() -> None:
    assert isolated_margin_quote(D("-0.1"), D("60000"), D("10")) == D("600")
    assert margin_after_reduction(D("600"), D("0.1"), D("0.065")) == D("390")
    with pytest.raises(ValueError, match="leverage"):
        isolated_margin_quote(D("1"), D("1"), D("0"))
    with pytest.raises(ValueError, match="not a reduction"):
        margin_after_reduction(D("600"), D("0.1"), D("0.2"))


# --- properties ----------------------------------------------------------------------------------------
TABLE_SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT", "0GUSDT"]


@settings(max_examples=200, deadline=None)
@given(
    symbol=st.sampled_from(TABLE_SYMBOLS),
    notional=st.decimals(min_value=D("10"), max_value=D("50000000"), places=2),
    entry=st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2),
    lev_low=st.integers(min_value=1, max_value=100),
    lev_step=st.integers(min_value=1, max_value=50),
    is_long=st.booleans(),
)
def test_liquidation_distance_shrinks_as_leverage_grows(
    brackets: MarginBrackets, symbol: str, notional: D, entry: D, lev_low: int, lev_step: int, is_long: bool
) -> None:
    table = brackets.table(symbol)
    assert table is not None
    amount = (notional / entry) * (1 if is_long else -1)

    def distance(leverage: int) -> D:
        liq = estimate_liquidation_price(amount, entry, notional / leverage, table)
        assert liq is not None
        return liquidation_distance_pct(entry, liq, is_long=is_long)

    assert distance(lev_low) >= distance(lev_low + lev_step)


@settings(max_examples=200, deadline=None)
@given(
    symbol=st.sampled_from(TABLE_SYMBOLS),
    notional=st.decimals(min_value=D("10"), max_value=D("50000000"), places=2),
    entry=st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2),
    leverage=st.integers(min_value=2, max_value=125),
    is_long=st.booleans(),
)
def test_liquidation_price_is_where_equity_meets_maintenance(
    brackets: MarginBrackets, symbol: str, notional: D, entry: D, leverage: int, is_long: bool
) -> None:
    table = brackets.table(symbol)
    assert table is not None
    amount = (notional / entry) * (1 if is_long else -1)
    margin = notional / leverage
    liq = estimate_liquidation_price(amount, entry, margin, table)
    assert liq is not None
    if liq == 0:  # long that cannot be liquidated: equity >= MM at price 0
        assert _equity_minus_mm(amount, entry, margin, D(0), table) >= 0
        return
    assert abs(_equity_minus_mm(amount, entry, margin, liq, table)) <= notional * D("1e-18")


@settings(max_examples=300, deadline=None)
@given(
    symbol=st.sampled_from(TABLE_SYMBOLS),
    notional=st.decimals(min_value=D("100"), max_value=D("50000000"), places=2),
    entry=st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2),
    leverage=st.integers(min_value=1, max_value=125),
    move_pct=st.decimals(min_value=D("-60"), max_value=D("90"), places=2),
    is_long=st.booleans(),
    with_lot=st.booleans(),
)
def test_reduce_fraction_restores_the_distance_with_margin_released_pro_rata(
    brackets: MarginBrackets,
    symbol: str,
    notional: D,
    entry: D,
    leverage: int,
    move_pct: D,
    is_long: bool,
    with_lot: bool,
) -> None:
    """The rest keeps its entry and its margin per unit (as the venue does); what is kept liquidates >= 15 %
    away, one lot more kept would not, and within the first bracket (cum 0) only closing everything helps."""
    table = brackets.table(symbol)
    assert table is not None
    sign = 1 if is_long else -1
    amount, margin = notional / entry * sign, notional / leverage
    mark = entry * (1 + move_pct / 100)
    liq = estimate_liquidation_price(amount, entry, margin, table)
    assert liq is not None
    if liquidation_distance_pct(mark, liq, is_long=is_long) >= 15:
        return
    lot = D(1).scaleb(abs(amount).adjusted() - 3) if with_lot else None

    def distance(keep: D) -> D:
        rest_liq = estimate_liquidation_price(keep * sign, entry, margin_after_reduction(margin, amount, keep), table)
        assert rest_liq is not None
        return liquidation_distance_pct(mark, rest_liq, is_long=is_long)

    fraction = reduce_fraction_for_distance(amount, entry, margin, mark, D("15"), table, lot)
    assert 0 < fraction <= 1
    keep = abs(amount) * (1 - fraction)
    if keep > 0:
        assert distance(keep) >= D("15") - D("1e-15")
    if lot is not None and keep + lot <= abs(amount):
        assert distance(keep + lot) < D("15")  # one lot less cut would not restore it
    if table.bracket_for(abs(amount) * mark).tier == 1 and table.tiers[0].max_notional_quote > notional * 3:
        assert fraction == 1  # the first bracket: a cut leaves the liquidation price where it is
