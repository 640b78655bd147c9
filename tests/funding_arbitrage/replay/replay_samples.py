"""Hand-built replay results for the report tests: three runs whose books balance, hostile text in places."""

from __future__ import annotations

from decimal import Decimal as D

from strategies.funding_arbitrage.replay.allocation import ExposureCaps
from strategies.funding_arbitrage.replay.passive import run_passive_carry
from strategies.funding_arbitrage.replay.results import (
    EquityPoint,
    EventKind,
    MarginPoint,
    PairRow,
    PositionAction,
    ReplayReport,
    RunEvent,
    RunResult,
    Side,
    Trade,
    build_run_result,
    pair_key,
    with_carry_capture,
)

START = 1_741_449_600  # 2025-03-08T16:00:00Z
HOUR = 3600
HOSTILE = (
    "</script><script>document.body.dataset.pwned='1'</script>"
    '<img src=x onerror="document.body.dataset.pwned=\'2\'"> & "quoted" <b>bold</b>'
)
SECRET_VALUE = "Zx9Qp3Lm7Tn2Vb8Kc4Wd6Yf1"


def strategy_trades() -> list[Trade]:
    """Open long binance / short bybit BTC, close 48 h later: fees 4 × 0.05, slippage 4 × 0.01."""
    t0, t1 = START + HOUR, START + 49 * HOUR
    bn, by, pair = "sim_binance_perpetual", "sim_bybit_perpetual", "BTC-USDT"
    lot, opn, cls = D("0.01"), PositionAction.OPEN, PositionAction.CLOSE
    return [
        Trade(t0, "BTC", bn, pair, Side.BUY, lot, D(60001), D(60000), D("0.30"), opn, "entry"),
        Trade(t0, "BTC", by, pair, Side.SELL, lot, D(60009), D(60010), D("0.33"), opn, "entry"),
        Trade(t1, "BTC", bn, pair, Side.SELL, lot, D(61999), D(62000), D("0.31"), cls, "exit " + HOSTILE),
        Trade(t1, "BTC", by, pair, Side.BUY, lot, D(62006), D(62005), D("0.34"), cls, "exit"),
    ]


def strategy_run() -> RunResult:
    trades = strategy_trades()
    funding, capital = D("3.60"), D(10000)
    basis = (D(62000) - D(60000)) * D("0.01") + (D(60010) - D(62005)) * D("0.01")  # +0.05
    net = funding + basis - D("1.28") - D("0.04")
    equity = [(START + h * HOUR, capital + (net * h / 72).quantize(D("0.0001"))) for h in range(72)]
    equity.append((START + 72 * HOUR, capital + net))
    equity[30] = (equity[30][0], capital - D(2))  # a dip for the drawdown figure
    row = PairRow(
        pair_key("BTC", "sim_binance_perpetual", "sim_bybit_perpetual"),
        "BTC",
        START + HOUR,
        START + 49 * HOUR,
        funding,
        D("1.28"),
        D("0.04"),
        basis,
        net,
        "take_profit",
    )
    margin = [
        MarginPoint(START + h * HOUR, c, "BTC", D("0.05") + D(h) / 1000, D(30) - D(h) / 10)
        for h in range(1, 50)
        for c in ("sim_binance_perpetual", "sim_bybit_perpetual")
    ]
    margin.append(MarginPoint(START + 50 * HOUR, "sim_bybit_perpetual", "BTC", None, None))
    events = [
        RunEvent(START + 20 * HOUR, EventKind.LEVERAGE_REDUCTION, "bybit BTC distance 14 % < 15 %"),
        RunEvent(START + 40 * HOUR, EventKind.HALT, "drawdown " + HOSTILE),
        RunEvent(START + 41 * HOUR, EventKind.FAULT, f"rejected api_key={SECRET_VALUE}"),
    ]
    return build_run_result(
        "funding_arbitrage",
        capital_quote=capital,
        equity=equity,
        trades=trades,
        funding_pnl_quote=funding,
        borrow_quote=D(0),
        final_mids={},
        period_s=72 * HOUR,
        pairs_opened=1,
        liquidations=0,
        max_hedge_gap_pct=D("0.5"),
        unhedged_seconds=D("2.5"),
        pairs=[row],
        margin=margin,
        events=events,
        notes=["spot legs none"],
        halted=True,
    )


def baseline_run() -> RunResult:
    capital = D(10000)
    net = D("-1.5")
    rows = tuple(
        PairRow(
            pair_key("BTC", "sim_binance_perpetual", "sim_bybit_perpetual"),
            "BTC",
            START + h * HOUR,
            START + (h + 4) * HOUR,
            D("0.25"),
            D("0.95"),
            D("0.05"),
            D(0),
            D("-0.75"),
            "baseline exit",
        )
        for h in (2, 10)
    )
    return RunResult(
        name="baseline",
        capital_quote=capital,
        net_pnl_quote=net,
        funding_pnl_quote=D("0.5"),
        fees_quote=D("1.9"),
        slippage_quote=D("0.1"),
        borrow_quote=D(0),
        basis_pnl_quote=D(0),
        max_drawdown_quote=D(2),
        apr_pct=D("-0.76"),
        pairs_opened=2,
        liquidations=1,
        max_hedge_gap_pct=None,
        unhedged_seconds=None,
        equity=(),
        pairs=rows,
        events=(RunEvent(START + 5 * HOUR, EventKind.LIQUIDATION, "bybit BTC"),),
    )


def oracle_run() -> RunResult:
    capital = D(10000)
    return RunResult(
        name="oracle",
        capital_quote=capital,
        net_pnl_quote=D(8),
        funding_pnl_quote=D(10),
        fees_quote=D(2),
        slippage_quote=D(0),
        borrow_quote=D(0),
        basis_pnl_quote=D(0),
        max_drawdown_quote=D(1),
        apr_pct=D("4.05"),
        pairs_opened=1,
        liquidations=None,
        max_hedge_gap_pct=None,
        unhedged_seconds=None,
        equity=(EquityPoint(START, capital - 1), EquityPoint(START + 72 * HOUR, capital + 8)),
        pairs=(
            PairRow(
                pair_key("BTC", "sim_binance", "sim_bybit_perpetual"),
                "BTC",
                START,
                START + 72 * HOUR,
                D(10),
                D(2),
                D(0),
                D(0),
                D(8),
                "oracle_exit",
            ),
        ),
        trades_modelled=False,
    )


def passive_run() -> RunResult:
    """Computed passive carry: BTC on binance spot / binance perp, three 8-hourly settlements of 0.01 %."""
    series = {("sim_binance_perpetual", "BTC"): [(START + h * HOUR, D("0.0001")) for h in (8, 16, 24)]}
    caps = ExposureCaps(D(10000), D(600), D(3000), D(6000), D(4000), D(3))
    return run_passive_carry(
        series,
        perp_connectors=["sim_binance_perpetual"],
        spot_connectors=["sim_binance"],
        taker_fee={"sim_binance_perpetual": D("0.0005"), "sim_binance": D("0.001")},
        caps=caps,
        start_ts=START,
        end_ts=START + 72 * HOUR,
    )


def sample_report(wall_seconds: str = "1.25") -> ReplayReport:
    return ReplayReport(
        data={
            "dir": "../shared/data/cross_venue_2025",
            "venues": ["binance", "bybit"],
            "coins": ["BTC"],
            "spot_venues": [],
            "approximations": ["spot price follows perp candles with basis model " + HOSTILE],
        },
        period={"start": "2025-03-08T16:00:00Z", "end": "2025-03-11T16:00:00Z"},
        runs=with_carry_capture(
            {
                "funding_arbitrage": strategy_run(),
                "baseline": baseline_run(),
                "passive_carry": passive_run(),
                "oracle": oracle_run(),
            }
        ),
        sim_seconds=D(72 * HOUR),
        wall_seconds=D(wall_seconds),
        config={
            "tokens": ["BTC"],
            "order_amount_quote": D(600),
            "min_liquidation_distance_pct": D(15),
            "binance_api_key": SECRET_VALUE,
            "connector_secrets": {"bybit_api_secret": SECRET_VALUE},
            "nested": {"password": SECRET_VALUE, "leverage": 3},
            "note": HOSTILE,
        },
    )
