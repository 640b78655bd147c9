"""Build the replayed markets and default trading rules of a simulated venue from the loaded data.

Default trading rules (override per pair with `trading_rules=`): price tick = the finest step seen in the venue's
recorded prices (binance BTC 0.1, DOGE 0.00001); lot = a power of ten worth 1-10 quote at the first recorded close
(`book.default_lot_size`); minimum order = one lot; minimum notional = `min_notional_quote` (5, Binance's common
USDT-M value). Real venues' filters differ per contract; these keep the sim permissive but lot/tick-accurate in kind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from hummingbot.connector.trading_rule import TradingRule

from .book import book_shape, default_lot_size
from .data import DataError, MarketData
from .venue import MarketState

DEFAULT_MIN_NOTIONAL_QUOTE = Decimal(5)


def trading_pair(coin: str, quote_asset: str) -> str:
    return f"{coin}-{quote_asset}"


def build_markets(
    venue: str, data: MarketData, coins: Sequence[str], quote_asset: str, depth_scale: Decimal | None = None
) -> dict[str, MarketState]:
    """One MarketState per coin, priced by the venue's candles. Raises DataError if a coin has no candles there."""
    if not coins:
        raise ValueError(f"sim venue {venue}: coins ([]) must name at least one coin")
    markets: dict[str, MarketState] = {}
    for coin in coins:
        if not data.has_candles(venue, coin):
            data.candle_series(venue, coin)  # raises the precise DataError (funding-only dataset, or missing rows)
            raise DataError(f"{data.source_dir}: no candles for {venue}/{coin}")  # pragma: no cover
        candles = data.candle_series(venue, coin)
        shape = book_shape(venue, coin, data, depth_scale)
        markets[trading_pair(coin, quote_asset)] = MarketState(
            trading_pair(coin, quote_asset), coin, candles, shape, candles.tick_size
        )
    return markets


def default_trading_rules(
    markets: Mapping[str, MarketState],
    min_notional_quote: Decimal,
    collateral: str | None,
    overrides: Mapping[str, TradingRule] | None = None,
) -> dict[str, TradingRule]:
    """Trading rules per pair; `overrides` replace the derived rule of the pairs they name."""
    rules: dict[str, TradingRule] = {}
    for pair, state in markets.items():
        if overrides and pair in overrides:
            rules[pair] = overrides[pair]
            continue
        lot = default_lot_size(state.candles.candles[0].close)
        rules[pair] = TradingRule(
            pair,
            min_order_size=lot,
            min_price_increment=state.tick,
            min_base_amount_increment=lot,
            min_notional_size=min_notional_quote,
            buy_order_collateral_token=collateral,
            sell_order_collateral_token=collateral,
        )
    return rules
