"""Make simulated connectors known to Hummingbot: `AllConnectorSettings` (fee schema) and the `RateOracle`.

Hummingbot looks connector fees up by name (`TradeFeeSchemaLoader.configured_schema_for_exchange`, used by
`build_perpetual_trade_fee`, `build_trade_fee` and the budget checkers); an unknown name raises
`Exception: Invalid connector. <name> does not exist in AllConnectorSettings` (notes section 4, shim 6). The rate
oracle uses registered connectors' books as a fallback price source (shim 5).
"""
from __future__ import annotations

import logging
from decimal import Decimal

from hummingbot.client.settings import AllConnectorSettings, ConnectorSetting, ConnectorType
from hummingbot.connector.connector_base import ConnectorBase
from hummingbot.core.data_type.trade_fee import TradeFeeSchema
from hummingbot.core.rate_oracle.rate_oracle import RateOracle

log = logging.getLogger(__name__)


def register_connector_settings(name: str, is_perp: bool, maker_fee: Decimal, taker_fee: Decimal,
                                example_pair: str) -> None:
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


def register_sim_connector(connector: ConnectorBase) -> None:
    """Register a sim connector's fee schema (idempotent) and its books with the RateOracle."""
    register = getattr(connector, "register_settings", None)
    if register is None:
        raise TypeError(f"{connector.name} is not a simulated connector (no register_settings())")
    register()
    RateOracle.get_instance().register_connector(connector)
