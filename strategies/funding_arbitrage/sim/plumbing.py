"""Hummingbot plumbing of the simulated connectors: offline stand-ins for everything a live connector does over
the network (order-book data source and tracker, user stream, REST paths, network status).

Nothing here opens a socket. The order-book tracker is filled from the replay (`SimOrderBookTracker.install`);
there is no user stream, so `_create_user_stream_tracker` returns None and `_is_user_stream_initialized` is True
(Hummingbot's default would dereference the missing tracker); members that only make sense against a live API
raise `RuntimeError("sim venue: ... is not available offline")`.
"""

from __future__ import annotations

import logging
from typing import Any

from bidict import bidict
from hummingbot.connector.trading_rule import TradingRule
from hummingbot.core.data_type.common import OrderType
from hummingbot.core.data_type.order_book_message import OrderBookMessage, OrderBookMessageType
from hummingbot.core.data_type.order_book_tracker import OrderBookTracker
from hummingbot.core.data_type.order_book_tracker_data_source import OrderBookTrackerDataSource
from hummingbot.core.network_iterator import NetworkStatus
from hummingbot.core.web_assistant.web_assistants_factory import WebAssistantsFactory

from .faults import FaultInjector
from .lazybook import SimOrderBook

log = logging.getLogger(__name__)
OFFLINE = "sim venue: {} is not available offline"


class SimNetworkError(IOError):
    """The venue is unreachable (an injected disconnect window)."""


class SimOrderRejected(ValueError):
    """The venue refused the order (margin, reduce-only, balance, no market data or an injected reject)."""


class SimOrderNotFound(LookupError):
    """The venue does not know the order."""


class SimOrderBookDataSource(OrderBookTrackerDataSource):
    """Serves the connector's synthetic books; it has nothing to subscribe to."""

    def __init__(self, trading_pairs: list[str], connector: Any) -> None:
        super().__init__(trading_pairs)
        self._connector = connector

    async def get_last_traded_prices(self, trading_pairs: list[str], domain: str | None = None) -> dict[str, float]:
        return {p: float(self._connector.mid_price(p) or "nan") for p in trading_pairs}

    async def _order_book_snapshot(self, trading_pair: str) -> OrderBookMessage:
        state = self._connector.market(trading_pair)
        return OrderBookMessage(
            OrderBookMessageType.SNAPSHOT,
            {
                "trading_pair": trading_pair,
                "update_id": self._connector.book_update_id,
                "bids": [(float(p), float(s)) for p, s in state.bids],
                "asks": [(float(p), float(s)) for p, s in state.asks],
            },
            timestamp=self._connector.current_timestamp,
        )

    async def subscribe_to_trading_pair(self, trading_pair: str) -> bool:
        raise RuntimeError(OFFLINE.format("adding a trading pair after construction"))

    async def unsubscribe_from_trading_pair(self, trading_pair: str) -> bool:
        raise RuntimeError(OFFLINE.format("removing a trading pair"))


class SimOrderBookTracker(OrderBookTracker):
    """Holds one OrderBook per pair, written by the replay; start() runs no listener tasks."""

    def install(self, trading_pairs: list[str]) -> None:
        for pair in trading_pairs:
            self._order_books[pair] = SimOrderBook()  # written on first read (lazybook.py)
        self._order_books_initialized.set()

    def start(self) -> None:
        return None

    def stop(self) -> None:
        return None


class SimOfflineMixin:
    """Identity and offline members shared by the simulated connectors (placed before the Hummingbot base)."""

    _sim_name: str
    _markets: dict[str, Any]
    _faults: FaultInjector
    _rules: dict[str, TradingRule]

    # --- Hummingbot members: identity and offline plumbing ----------------------------------------------
    @property
    def name(self) -> str:
        return self._sim_name

    @property
    def trading_pairs(self) -> list[str]:
        return list(self._markets)

    @property
    def authenticator(self) -> None:
        return None

    @property
    def rate_limits_rules(self) -> list:
        return []

    @property
    def domain(self) -> str:
        return "sim"

    @property
    def client_order_id_max_length(self) -> int:
        return 36

    @property
    def client_order_id_prefix(self) -> str:
        return "sim-"

    @property
    def trading_rules_request_path(self) -> str:
        raise RuntimeError(OFFLINE.format("the trading rules endpoint"))

    @property
    def trading_pairs_request_path(self) -> str:
        raise RuntimeError(OFFLINE.format("the trading pairs endpoint"))

    @property
    def check_network_request_path(self) -> str:
        raise RuntimeError(OFFLINE.format("the ping endpoint"))

    @property
    def is_cancel_request_in_exchange_synchronous(self) -> bool:
        return True

    @property
    def is_trading_required(self) -> bool:
        return True

    def supported_order_types(self) -> list[OrderType]:
        return [OrderType.MARKET, OrderType.LIMIT, OrderType.LIMIT_MAKER]

    def _create_web_assistants_factory(self) -> WebAssistantsFactory:
        return WebAssistantsFactory(throttler=self._throttler)  # inert: nothing here ever sends a request

    def _create_user_stream_tracker(self) -> None:
        return None

    def _create_user_stream_data_source(self) -> Any:
        raise RuntimeError(OFFLINE.format("the user stream"))

    def _is_user_stream_initialized(self) -> bool:
        return True  # fills and balances come straight from the replay, not from a user stream

    async def _user_stream_event_listener(self) -> None:
        raise RuntimeError(OFFLINE.format("the user stream"))

    async def _format_trading_rules(self, exchange_info_dict: dict[str, Any]) -> list[TradingRule]:
        raise RuntimeError(OFFLINE.format("exchange info"))

    async def _update_trading_rules(self) -> None:
        self._trading_rules.update(self._rules)

    async def _update_trading_fees(self) -> None:
        return None  # fees are the registered schema; there is no fee endpoint to poll

    def _initialize_trading_pair_symbols_from_exchange_info(self, exchange_info: dict[str, Any]) -> None:
        self._set_trading_pair_symbol_map(bidict({p: p for p in self.trading_pairs}))

    def _is_request_exception_related_to_time_synchronizer(self, request_exception: Exception) -> bool:
        return False

    def _is_order_not_found_during_status_update_error(self, status_update_exception: Exception) -> bool:
        return isinstance(status_update_exception, SimOrderNotFound)

    def _is_order_not_found_during_cancelation_error(self, cancelation_exception: Exception) -> bool:
        return isinstance(cancelation_exception, SimOrderNotFound)

    async def _get_last_traded_price(self, trading_pair: str) -> float:
        return float(self.mid_price(trading_pair) or "nan")

    async def _update_balances(self) -> None:
        self._refresh_account()

    # --- network status, readiness ----------------------------------------------------------------------
    def _disconnected(self) -> bool:
        return self._faults.disconnected(self.current_timestamp)

    @property
    def network_status(self) -> NetworkStatus:
        return NetworkStatus.NOT_CONNECTED if self._disconnected() else super().network_status  # type: ignore[misc]

    async def check_network(self) -> NetworkStatus:
        return NetworkStatus.NOT_CONNECTED if self._disconnected() else NetworkStatus.CONNECTED

    async def start_network(self) -> None:
        log.debug("%s: network started (offline replay, no tasks)", self.name)

    async def stop_network(self) -> None:
        log.debug("%s: network stopped", self.name)

    @property
    def status_dict(self) -> dict[str, bool]:
        status = dict(super().status_dict)  # type: ignore[misc]
        status["venue_reachable"] = not self._disconnected()
        return status

    @property
    def ready(self) -> bool:
        """ExchangePyBase.ready, every `status_dict` entry true, without copying the dict (asked every tick)."""
        return not self._disconnected() and all(super().status_dict.values())  # type: ignore[misc]
