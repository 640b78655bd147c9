"""The simulated venues' fast paths give exactly what the plain Decimal formulas give (see docs/performance.md).

* BookSynth vs book.synthesize: Decimal levels equal in value and representation; Hummingbot float rows equal to
  float() of synthesize's levels; on mids built to hit rounding ties and near-exact ticks.
* CandleSeries.price_at (cached segments) vs data._path_price on the real data, ticks on and off the minute grid.
* The sim connectors' cached fee schema vs Hummingbot's build_*_trade_fee, before and after a fee override.
"""

from __future__ import annotations

import bisect
import random
from decimal import Decimal

from hummingbot.client.config.config_var import ConfigVar
from hummingbot.client.config.fee_overrides_config_map import fee_overrides_config_map
from hummingbot.core.data_type.common import OrderType, PositionAction, TradeType
from hummingbot.core.utils.estimate_fee import build_perpetual_trade_fee, build_trade_fee

from strategies.funding_arbitrage.sim.book import BookShape, BookSynth, book_shape, synthesize
from strategies.funding_arbitrage.sim.calibration import CALIBRATED_PROFILES
from strategies.funding_arbitrage.sim.data import HOUR_S, MarketData, _path_price, _path_vertices
from strategies.funding_arbitrage.sim.registry import (
    perpetual_trade_fee,
    register_connector_settings,
    spot_trade_fee,
)

TICKS = [
    Decimal(t)
    for t in ("0.1", "1E-1", "0.01", "1E-5", "0.001", "1", "0.5", "0.25", "0.0001", "1E-6", "0.05", "10", "1E+1", "0.3")
]


def _shapes() -> list[BookShape]:
    shapes = []
    for key, profile in CALIBRATED_PROFILES.items():
        for scale in (Decimal(1), Decimal("0.01"), Decimal("0.2173913043478260869565217391"), Decimal("3.7")):
            shapes.append(
                BookShape(key, profile.spread_bps, tuple(d * scale for d in profile.completed_depths()), scale)
            )
    shapes.append(BookShape("wide", Decimal("7.5"), shapes[0].band_depth_quote, Decimal(1)))
    return shapes


def _mid(rng: random.Random, tick: Decimal) -> Decimal:
    base = Decimal(str(rng.choice([0.2, 0.16543, 2.5, 37.123, 150.77, 2600.5, 86371.1, 105000, 12.0])))
    base *= Decimal(str(rng.uniform(0.5, 2)))
    on_grid = (base / tick).to_integral_value() * tick
    kind = rng.randrange(6)
    if kind == 0:
        return on_grid  # ties: best bid half-even
    if kind == 1:
        return on_grid + tick / 2
    if kind == 2:
        return on_grid + Decimal("3E-22")  # a hair off the grid: Decimal's own rounding decides
    if kind == 3:
        return on_grid - Decimal("1E-24")
    if kind == 4:  # interpolated the way price_at does it: 28 digits
        third = Decimal(1) / 3
        frac = Decimal(str(float(rng.randrange(0, 3600, 60)))) / HOUR_S
        return on_grid + tick * rng.randrange(-500, 500) * (frac - third) / third
    return base


def test_book_synth_matches_synthesize_exactly() -> None:
    rng = random.Random(20250610)
    shapes = _shapes()
    synths: dict[tuple[int, int], BookSynth] = {}
    for update_id in range(6000):
        si, ti = rng.randrange(len(shapes)), rng.randrange(len(TICKS))
        shape, tick = shapes[si], TICKS[ti]
        mid = _mid(rng, tick)
        if mid <= 0:
            continue
        synth = synths.setdefault((si, ti), BookSynth(shape, tick))
        bids, asks = synthesize(mid, shape, tick)

        fast_bids, fast_asks = synth.decimal_levels(mid)
        rows = synth.rows(mid, update_id)

        assert repr(fast_bids) == repr(bids) and repr(fast_asks) == repr(asks), (mid, tick, shape.profile)
        for side, levels in zip(rows, (bids, asks), strict=False):
            assert [(r.price, r.amount, r.update_id) for r in side] == [
                (float(p), float(s), update_id) for p, s in levels
            ], (mid, tick, shape.profile)
        top = synth.touch(mid)
        if top is not None:
            assert synth.price(top[1]) == asks[0][0] and (synth.price(top[0]) == bids[0][0] if bids else top[0] <= 0)


def test_book_synth_on_the_real_markets(market_data: MarketData) -> None:
    start = 1749513600  # 2025-06-10
    for venue in ("binance", "bybit"):
        for coin in ("BTC", "ETH", "SOL", "DOGE", "HYPE"):
            candles = market_data.candle_series(venue, coin)
            shape, tick = book_shape(venue, coin, market_data), candles.tick_size
            synth = BookSynth(shape, tick)
            for i in range(0, 6 * 3600, 60):
                mid = candles.price_at(start + i)
                assert mid is not None
                bids, asks = synthesize(mid, shape, tick)
                rows = synth.rows(mid, i)
                assert [(r.price, r.amount) for r in rows[0]] == [(float(p), float(s)) for p, s in bids]
                assert [(r.price, r.amount) for r in rows[1]] == [(float(p), float(s)) for p, s in asks]


def test_price_at_equals_the_path_formula(market_data: MarketData) -> None:
    candles = market_data.candle_series("binance", "SOL")
    start = candles.open_times[100]
    for offset in [*range(0, 3 * HOUR_S, 60), 0.5, 59.25, 1200, 1200.0, 2400, 3599.999]:
        for path in ("ohlc", "linear"):
            ts = start + offset
            i = max(j for j, t in enumerate(candles.open_times[:110]) if t <= ts)
            candle = candles.candles[i]
            expected = _path_price(candle, Decimal(str(ts - candle.open_ts)) / HOUR_S, path)
            got = candles.price_at(ts, path=path)
            assert repr(got) == repr(expected), (offset, path)


def test_cached_fee_schema_matches_hummingbot() -> None:
    register_connector_settings("sim_fastpath_perpetual", True, Decimal("0.0002"), Decimal("0.0005"), "BTC-USDT")
    register_connector_settings("sim_fastpath", False, Decimal("0.001"), Decimal("0.001"), "BTC-USDT")
    key = "sim_fastpath_perpetual_taker_percent_fee"

    def check() -> None:
        for maker in (False, True):
            for action in (PositionAction.OPEN, PositionAction.CLOSE):
                ours = perpetual_trade_fee("sim_fastpath_perpetual", maker, action)
                theirs = build_perpetual_trade_fee(
                    "sim_fastpath_perpetual",
                    maker,
                    action,
                    "BTC",
                    "USDT",
                    OrderType.MARKET,
                    TradeType.BUY,
                    Decimal(1),
                    Decimal(2),
                )
                assert type(ours) is type(theirs) and repr(ours) == repr(theirs)
            for side in (TradeType.BUY, TradeType.SELL):
                ours = spot_trade_fee("sim_fastpath", maker, side)
                theirs = build_trade_fee(
                    "sim_fastpath", maker, "BTC", "USDT", OrderType.MARKET, side, Decimal(1), Decimal(2)
                )
                assert type(ours) is type(theirs) and repr(ours) == repr(theirs)

    check()
    override = ConfigVar(key=key, prompt=None, type_str="decimal")
    override.value = Decimal("0.09")
    fee_overrides_config_map[key] = override
    try:
        check()
        assert perpetual_trade_fee("sim_fastpath_perpetual", False, PositionAction.OPEN).percent == Decimal("0.0009")
        override.value = Decimal("0.07")
        check()
        assert perpetual_trade_fee("sim_fastpath_perpetual", False, PositionAction.OPEN).percent == Decimal("0.0007")
    finally:
        del fee_overrides_config_map[key]
    register_connector_settings("sim_fastpath_perpetual", True, Decimal("0.0001"), Decimal("0.0004"), "BTC-USDT")
    check()  # a re-registered schema is picked up
    assert perpetual_trade_fee("sim_fastpath_perpetual", False, PositionAction.OPEN).percent == Decimal("0.0004")


def test_path_extremes_equal_the_vertex_scan(market_data: MarketData) -> None:
    """Cached vertex times, compared as floats unless within a millisecond of a window end, decide as the original
    scan (Decimal vertex times, the same candles) does."""
    candles = market_data.candle_series("binance", "BTC")
    rng = random.Random(7)

    def by_hand(start: float, end: float, path: str) -> tuple[Decimal, Decimal] | None:
        points = [p for p in (candles.price_at(start, path=path), candles.price_at(end, path=path)) if p is not None]
        lo = bisect.bisect_right(candles.open_times, start - HOUR_S)  # the candles the original scan visits
        for candle in candles.candles[lo : bisect.bisect_right(candles.open_times, end)]:
            for frac, price in _path_vertices(candle, path):
                if start <= candle.open_ts + frac * HOUR_S <= end:
                    points.append(price)
        return (min(points), max(points)) if points else None

    for _ in range(300):
        open_ts = candles.open_times[rng.randrange(100, 200)]
        start = open_ts + rng.choice([0, 1200, 2400, 1200.0, 1199.9999999, 2400.0000001, rng.uniform(0, 3600)])
        end = start + rng.choice([0, 60, 60.0, 1200, 3600])
        for path in ("ohlc", "linear"):
            assert repr(candles.path_extremes(start, end, path)) == repr(by_hand(start, end, path)), (start, end)
