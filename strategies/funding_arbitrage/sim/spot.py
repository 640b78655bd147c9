"""`SimSpotExchange`: a real Hummingbot spot connector (ExchangePyBase) for the spot leg of a carry trade.

APPROXIMATION: the datasets hold no spot history. The spot price is the same venue's PERP candle path times
(1 + basis), basis = `BasisModel.mean_bps` plus optional seeded noise (an hourly Gaussian draw of `noise_bps`
standard deviation, interpolated linearly within the hour, so it does not depend on the tick size). The book has the
perp's calibrated shape (no spot capture exists). Spot-perp basis dynamics, spot liquidity and borrow costs are
therefore NOT in the data; treat carry results as funding-driven with an assumed basis.

Accounting: balances in base and quote; a BUY reserves quote (amount x price x (1 + taker fee); MARKET orders are
estimated from the book), a SELL reserves base; fills move both balances and pay the fee in quote. Insufficient
balance rejects the order (MarketOrderFailureEvent). Same fault injection as the perp (faults.py).
"""

from __future__ import annotations

import functools
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from hummingbot.connector.exchange_py_base import ExchangePyBase
from hummingbot.connector.trading_rule import TradingRule
from hummingbot.core.data_type.common import OrderType, TradeType
from hummingbot.core.data_type.trade_fee import TradeFeeBase

from ..core.venues import venue_spec
from .book import walk
from .data import DEFAULT_MAX_STALENESS_S, HOUR_S, MarketData
from .faults import NO_FAULTS, FaultConfig, FaultInjector
from .markets import DEFAULT_MIN_NOTIONAL_QUOTE, build_markets, default_trading_rules
from .matching import SimOrder
from .registry import register_connector_settings, spot_trade_fee
from .venue import MarketState, SimOrderBookDataSource, SimOrderRejected, SimVenueMixin

_BPS = Decimal(10000)


@dataclass(frozen=True)
class BasisModel:
    """spot = perp x (1 + (mean_bps + noise) / 10000); noise ~ N(0, noise_bps) drawn per (coin, hour) from `seed`."""

    mean_bps: Decimal = Decimal(0)
    noise_bps: Decimal = Decimal(0)
    seed: int = 0

    def basis(self, coin: str, ts: float) -> Decimal:
        """Example: mean_bps=-3, noise_bps=0 -> -0.0003 at every ts."""
        noise = Decimal(0)
        if self.noise_bps > 0:
            hour, into = divmod(Decimal(str(ts)), HOUR_S)
            a, b = self._draw(coin, int(hour)), self._draw(coin, int(hour) + 1)
            noise = a + (b - a) * into / HOUR_S
        return (self.mean_bps + noise) / _BPS

    def _draw(self, coin: str, hour: int) -> Decimal:
        return Decimal(f"{_gauss(self.seed, coin, hour):.6f}") * self.noise_bps

    def is_constant(self) -> bool:
        """True when basis() does not depend on coin or time (no noise)."""
        return not self.noise_bps > 0


@functools.lru_cache(maxsize=1 << 12)
def _gauss(seed: int, coin: str, hour: int) -> float:
    """The seeded standard-normal draw of (coin, hour); cached (every tick of an hour asks for the same two)."""
    return random.Random(f"{seed}:{coin}:{hour}").gauss(0.0, 1.0)


class SimSpotExchange(SimVenueMixin, ExchangePyBase):
    """Spot markets `<COIN>-<quote_asset>` of `venue`, named `sim_<venue>`, priced off that venue's perp candles."""

    def __init__(
        self,
        venue: str,
        market_data: MarketData,
        coins: Sequence[str],
        quote_asset: str = "USDT",
        initial_balance_quote: Decimal = Decimal(10000),
        initial_base_balances: Mapping[str, Decimal] | None = None,
        faults: FaultConfig = NO_FAULTS,
        basis: BasisModel = BasisModel(),
        trading_rules: Mapping[str, TradingRule] | None = None,
        depth_scale: Decimal | None = None,
        fees: tuple[Decimal, Decimal] | None = None,
        name: str | None = None,
        price_path: str = "ohlc",
        max_staleness_s: int = DEFAULT_MAX_STALENESS_S,
        min_notional_quote: Decimal = DEFAULT_MIN_NOTIONAL_QUOTE,
    ) -> None:
        name = name or f"sim_{venue}"
        spec = venue_spec(name)
        if fees is None and spec is None:
            raise ValueError(f"{name}: no venue spec for {venue}; pass fees=(maker, taker)")
        self._maker_fee, self._taker_fee = fees or (spec.maker_fee, spec.taker_fee)  # type: ignore[union-attr]
        self._quote, self._basis = quote_asset, basis
        self._constant_factor: tuple[BasisModel, Decimal] | None = None
        markets = build_markets(venue, market_data, coins, quote_asset, depth_scale)
        rules = default_trading_rules(markets, min_notional_quote, None, trading_rules)
        self._sim_init(name, markets, FaultInjector(faults, name), rules, price_path, max_staleness_s)
        self._totals = {quote_asset: initial_balance_quote}
        for state in markets.values():
            self._totals[state.coin] = Decimal((initial_base_balances or {}).get(state.coin, 0))
        self.register_settings()
        super().__init__()
        self._sim_finish_init()
        self._refresh_account()

    def register_settings(self) -> None:
        """Register this connector's fee schema in AllConnectorSettings (idempotent)."""
        register_connector_settings(self.name, False, self._maker_fee, self._taker_fee, self.trading_pairs[0])

    def _create_order_book_data_source(self) -> SimOrderBookDataSource:
        return SimOrderBookDataSource(self.trading_pairs, self)

    def _get_fee(
        self,
        base_currency: str,
        quote_currency: str,
        order_type: OrderType,
        order_side: TradeType,
        amount: Decimal,
        price: Decimal = Decimal("NaN"),
        is_maker: bool | None = None,
    ) -> TradeFeeBase:
        is_maker = bool(is_maker) or order_type is OrderType.LIMIT_MAKER
        return spot_trade_fee(self.name, is_maker, order_side)  # = build_trade_fee(...)

    def _venue_price(self, state: MarketState, price: Decimal | None, ts: float) -> Decimal | None:
        if price is None:
            return None
        basis = self._basis
        if type(basis) is BasisModel and basis.is_constant():  # the same factor every tick: compute it once
            cached = self._constant_factor
            if cached is None or cached[0] is not basis:
                cached = self._constant_factor = (basis, 1 + basis.basis(state.coin, ts))
            return price * cached[1]
        return price * (1 + basis.basis(state.coin, ts))

    # --- venue hooks --------------------------------------------------------------------------------------
    def _validate_order(self, order: SimOrder) -> None:
        base, quote = order.trading_pair.split("-")
        if order.is_buy:
            price = order.price if order.price is not None else self._estimate_price(order)
            need, asset = order.amount * price * (1 + self._taker_fee), quote
        else:
            need, asset = order.amount, base
        free = self._totals[asset] - self._reserved(asset)
        if need > free:
            raise SimOrderRejected(f"{self.name}: insufficient {asset} balance: order needs {need}, free {free}")
        order.reserved, order.reserved_asset = need, asset

    def _estimate_price(self, order: SimOrder) -> Decimal:
        state = self._markets[order.trading_pair]
        levels = state.asks if order.is_buy else state.bids
        taken = walk(levels, order.amount, None, order.is_buy)
        return levels[-1][0] if taken.filled < order.amount or taken.average_price is None else taken.average_price

    def _clip_fill(self, order: SimOrder, amount: Decimal, price: Decimal) -> Decimal:
        """A buy never spends more quote than the account holds beyond other orders' reservations."""
        if not order.is_buy:
            return amount
        quote = order.trading_pair.split("-")[1]
        free = self._totals[quote] - self._reserved(quote, exclude=order.client_order_id)
        return min(amount, free / (price * (1 + self._taker_fee)))

    def _apply_fill(self, order: SimOrder, amount: Decimal, price: Decimal, fee_quote: Decimal) -> None:
        base, quote = order.trading_pair.split("-")
        sign = 1 if order.is_buy else -1
        self._totals[base] += sign * amount
        self._totals[quote] -= sign * amount * price + fee_quote

    def _fee_for(self, order: SimOrder, amount: Decimal, price: Decimal, is_maker: bool) -> TradeFeeBase:
        base, quote = order.trading_pair.split("-")
        return self.get_fee(base, quote, order.order_type, order.trade_type, amount, price, is_maker)

    def _refresh_account(self) -> None:
        for asset, total in self._totals.items():
            self._account_balances[asset] = total
            self._account_available_balances[asset] = total - self._reserved(asset)
