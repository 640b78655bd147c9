"""Builders for the core edge-engine tests: settings, books, markets and ticks (hand-written, no mocks)."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from strategies.funding_arbitrage.core.actions import HeldPair
from strategies.funding_arbitrage.core.config import FundingArbSettings
from strategies.funding_arbitrage.core.orderbook import book_from_levels
from strategies.funding_arbitrage.core.snapshots import (
    BookSnapshot,
    FeeSchedule,
    FundingSnapshot,
    MarketKind,
    MarketRules,
    MarketSnapshot,
    TickSnapshot,
)

D = Decimal
DATA_DIR = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
T0 = 1_750_000_000.0  # a tick time; settlements are put on whole hours relative to it
HOUR = 3600

BINANCE = "binance_perpetual"
BYBIT = "bybit_perpetual"
HYPER = "hyperliquid_perpetual"
SPOT = "binance"


def settings(**overrides: Any) -> FundingArbSettings:
    """Two 8h-hinted perp venues, one token, persistence and exit confirmation of 1, the persistent funding forecast
    (the expected-value rules with the current rate held over `holding_horizon_hours`) unless overridden."""
    base: dict[str, Any] = {
        "perp_connectors": [BINANCE, BYBIT],
        "spot_connectors": [],
        "tokens": ["BTC"],
        "quote_assets": {BINANCE: "USDT", BYBIT: "USDT"},
        "leverage": {BINANCE: 3, BYBIT: 3},
        "funding_interval_hints_hours": {BINANCE: D("8"), BYBIT: D("8")},
        "persistence_observations": 1,
        "exit_confirmations": 1,
        "funding_forecast": "persistent",  # the rate lasts the horizon: figures checkable by hand
        "exit_uncertainty_z": 0,
    }
    base.update(overrides)
    return FundingArbSettings(**base)


def carry_settings(**overrides: Any) -> FundingArbSettings:
    """One perp venue and Binance spot (carry)."""
    base: dict[str, Any] = {
        "perp_connectors": [BINANCE, BYBIT],
        "spot_connectors": [SPOT],
        "quote_assets": {BINANCE: "USDT", BYBIT: "USDT", SPOT: "USDT"},
        "total_capital_quote": D("20000"),
    }
    base.update(overrides)
    return settings(**base)


def ladder(
    mid: Decimal, half_spread: Decimal, step: Decimal, size: Decimal, levels: int = 20
) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
    bids = [(mid - half_spread - step * i, size) for i in range(levels)]
    asks = [(mid + half_spread + step * i, size) for i in range(levels)]
    return bids, asks


def book(
    connector: str,
    pair: str,
    mid: str | Decimal = "60000",
    half_spread: str = "0.5",
    step: str = "1",
    size: str = "1",
    levels: int = 20,
    ts: float = T0,
) -> BookSnapshot:
    bids, asks = ladder(D(mid), D(half_spread), D(step), D(size), levels)
    return BookSnapshot(connector, pair, tuple(bids), tuple(asks), ts)


FEES = FeeSchedule(D("0.0005"), D("0.0005"), D("0.0002"), D("0.0002"), "venue-spec")
SPOT_FEES = FeeSchedule(D("0.001"), D("0.001"), D("0.001"), D("0.001"), "venue-spec")
RULES = MarketRules(min_order_size=D("0.001"), lot_size=D("0.001"), tick_size=D("0.1"), min_notional=D("5"))


def perp(
    connector: str,
    rate: str | Decimal,
    token: str = "BTC",
    mid: str | Decimal = "60000",
    next_funding_ts: float | None = None,
    ts: float = T0,
    book_: BookSnapshot | None = None,
    mark: str | Decimal | None = None,
    fees: FeeSchedule = FEES,
    rules: MarketRules = RULES,
    quote: str = "USDT",
    funding: FundingSnapshot | str | None = "auto",
) -> MarketSnapshot:
    pair = f"{token}-{quote}"
    nf = int(ts + HOUR) if next_funding_ts is None else int(next_funding_ts)
    mark_price = D(mark) if mark is not None else D(mid)
    fs = FundingSnapshot(connector, pair, D(rate), nf, mark_price, mark_price, ts) if funding == "auto" else funding
    b = book_ if book_ is not None else book(connector, pair, mid, ts=ts)
    return MarketSnapshot(connector, token, pair, MarketKind.PERP, b, fs, fees, rules, D(3))  # type: ignore[arg-type]


def spot(
    connector: str = SPOT,
    token: str = "BTC",
    mid: str | Decimal = "60000",
    ts: float = T0,
    book_: BookSnapshot | None = None,
    fees: FeeSchedule = SPOT_FEES,
    rules: MarketRules = RULES,
    quote: str = "USDT",
) -> MarketSnapshot:
    pair = f"{token}-{quote}"
    b = book_ if book_ is not None else book(connector, pair, mid, ts=ts)
    return MarketSnapshot(connector, token, pair, MarketKind.SPOT, b, None, fees, rules)


def tick(ts: float, *markets: MarketSnapshot | None, ready: dict[str, bool] | None = None) -> TickSnapshot:
    return TickSnapshot(ts, tuple(markets), ready=ready or {})  # type: ignore[arg-type]


def held(
    pair_id: str = "p1",
    long_connector: str = BINANCE,
    short_connector: str = BYBIT,
    token: str = "BTC",
    amount: str = "0.016",
    entry_ts: float = T0,
    notional: str = "960",
    funding_received: str = "0",
    pnl: str | None = "0",
    long_kind: MarketKind = MarketKind.PERP,
) -> HeldPair:
    pair = f"{token}-USDT"
    return HeldPair(
        pair_id,
        token,
        long_connector,
        pair,
        long_kind,
        short_connector,
        pair,
        D(amount),
        entry_ts,
        D(notional),
        D(funding_received),
        None if pnl is None else D(pnl),
    )


# --- real captures in ../shared/data/orderbooks ------------------------------------------------------------
def hyperliquid_snapshots(limit: int | None = None) -> list[tuple[int, BookSnapshot]]:
    """l2Book messages of the Hyperliquid BTC capture, as (recv_ns, BookSnapshot)."""
    out = []
    with gzip.open(DATA_DIR / "orderbooks" / "hyperliquid_btc_20250126_ws.gz", "rt") as fh:
        for line in fh:
            ns, raw = line.split(" ", 1)
            msg = json.loads(raw)
            if msg.get("channel") != "l2Book":
                continue
            bids, asks = msg["data"]["levels"]
            snap = book_from_levels(
                HYPER,
                "BTC-USD",
                [(lv["px"], lv["sz"]) for lv in bids],
                [(lv["px"], lv["sz"]) for lv in asks],
                int(ns) / 1e9,
            )
            out.append((int(ns), snap))
            if limit is not None and len(out) >= limit:
                break
    return out


def binance_depth_snapshot(symbol: str = "btcusdt", levels: int = 20) -> BookSnapshot:
    """The REST depth snapshot line of a Binance USDT-M capture, cut to `levels` per side."""
    with gzip.open(DATA_DIR / "orderbooks" / f"binance_usdm_{symbol}_20240808_ws.gz", "rt") as fh:
        for line in fh:
            ns, raw = line.split(" ", 1)
            if '"lastUpdateId"' in raw[:40]:
                msg = json.loads(raw)
                return book_from_levels(
                    BINANCE,
                    f"{symbol[:-4].upper()}-USDT",
                    msg["bids"][:levels],
                    msg["asks"][:levels],
                    int(ns) / 1e9,
                )
    raise LookupError(f"no depth snapshot in the {symbol} capture")
