"""Make simulated connectors known to Hummingbot: `AllConnectorSettings` (fee schema) and the `RateOracle`.

Hummingbot looks connector fees up by name (`TradeFeeSchemaLoader.configured_schema_for_exchange`, used by
`build_perpetual_trade_fee`, `build_trade_fee` and the budget checkers); an unknown name raises
`Exception: Invalid connector. <name> does not exist in AllConnectorSettings` (notes section 4, shim 6). The rate
oracle uses registered connectors' books as a fallback price source (shim 5).
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from hummingbot.client.config.fee_overrides_config_map import fee_overrides_config_map
from hummingbot.client.config.trade_fee_schema_loader import TradeFeeSchemaLoader
from hummingbot.client.settings import AllConnectorSettings, ConnectorSetting, ConnectorType
from hummingbot.connector.connector_base import ConnectorBase
from hummingbot.core.data_type.common import PositionAction, TradeType
from hummingbot.core.data_type.trade_fee import TokenAmount, TradeFeeBase, TradeFeeSchema
from hummingbot.core.rate_oracle.rate_oracle import RateOracle

log = logging.getLogger(__name__)


def register_connector_settings(
    name: str, is_perp: bool, maker_fee: Decimal, taker_fee: Decimal, example_pair: str
) -> None:
    """Add (or replace) `name` in AllConnectorSettings with a percent fee schema (fees as fractions, 0.0005 = 5 bps).

    The real connectors' settings are loaded first, so registering a sim venue never hides them.
    """
    settings = AllConnectorSettings.get_connector_settings()
    settings[name] = ConnectorSetting(
        name=name,
        type=ConnectorType.Derivative if is_perp else ConnectorType.Exchange,
        example_pair=example_pair,
        centralised=True,
        use_ethereum_wallet=False,
        trade_fee_schema=TradeFeeSchema(maker_percent_fee_decimal=maker_fee, taker_percent_fee_decimal=taker_fee),
        config_keys=None,
        is_sub_domain=False,
        parent_name=None,
        domain_parameter=None,
        use_eth_gas_lookup=False,
    )
    log.debug("registered sim connector %s (maker=%s taker=%s)", name, maker_fee, taker_fee)


_OVERRIDE_KEYS = (
    "percent_fee_token",
    "maker_percent_fee",
    "taker_percent_fee",
    "buy_percent_fee_deducted_from_returns",
    "maker_fixed_fees",
    "taker_fixed_fees",
)
_SCHEMAS: dict[str, tuple[Any, TradeFeeSchema, tuple[Any, ...]]] = {}


_OVERRIDE_NAMES: dict[str, tuple[str, ...]] = {}


def _override_values(name: str) -> tuple[Any, ...]:
    keys = _OVERRIDE_NAMES.get(name)
    if keys is None:
        keys = _OVERRIDE_NAMES[name] = tuple(f"{name}_{key}" for key in _OVERRIDE_KEYS)
    configs = tuple(map(fee_overrides_config_map.get, keys))
    if configs.count(None) == len(configs):  # the usual case: no override configured for this connector
        return configs
    return tuple(None if config is None else config.value for config in configs)


def fee_schema(name: str) -> TradeFeeSchema:
    """`TradeFeeSchemaLoader.configured_schema_for_exchange(name)`, re-run only when its inputs change.

    The loader looks the schema up and re-applies the user's fee overrides on every call (a few microseconds, and
    strategies ask for fees per market per tick). Its result is the registered schema object itself, changed only by
    those overrides, so it is reused while the registered settings object, its schema object and the override values
    are the same ones as last time."""
    settings = AllConnectorSettings.get_connector_settings().get(name)
    overrides = _override_values(name)
    cached = _SCHEMAS.get(name)
    if (
        settings is not None
        and cached is not None
        and cached[0] is settings
        and cached[1] is settings.trade_fee_schema
        and cached[2] == overrides
    ):
        return cached[1]
    schema = TradeFeeSchemaLoader.configured_schema_for_exchange(exchange_name=name)  # raises for unknown names
    if settings is not None:
        _SCHEMAS[name] = (settings, schema, overrides)
    return schema


def perpetual_trade_fee(name: str, is_maker: bool, position_action: PositionAction) -> TradeFeeBase:
    """What `build_perpetual_trade_fee` returns (it uses neither amount nor price), through `fee_schema`."""
    schema = fee_schema(name)
    fixed = schema.maker_fixed_fees if is_maker else schema.taker_fixed_fees
    return TradeFeeBase.new_perpetual_fee(
        fee_schema=schema,
        position_action=position_action,
        percent=schema.maker_percent_fee_decimal if is_maker else schema.taker_percent_fee_decimal,
        percent_token=schema.percent_fee_token,
        flat_fees=[TokenAmount(f.token, f.amount) for f in fixed],
    )


def spot_trade_fee(name: str, is_maker: bool, order_side: TradeType) -> TradeFeeBase:
    """What `build_trade_fee` returns (without extra flat fees; it uses neither amount nor price), through
    `fee_schema`."""
    schema = fee_schema(name)
    fixed = schema.maker_fixed_fees if is_maker else schema.taker_fixed_fees
    return TradeFeeBase.new_spot_fee(
        fee_schema=schema,
        trade_type=order_side,
        percent=schema.maker_percent_fee_decimal if is_maker else schema.taker_percent_fee_decimal,
        percent_token=schema.percent_fee_token,
        flat_fees=[TokenAmount(f.token, f.amount) for f in fixed],
    )


def register_sim_connector(connector: ConnectorBase) -> None:
    """Register a sim connector's fee schema (idempotent) and its books with the RateOracle."""
    register = getattr(connector, "register_settings", None)
    if register is None:
        raise TypeError(f"{connector.name} is not a simulated connector (no register_settings())")
    register()
    RateOracle.get_instance().register_connector(connector)
