"""Static venue facts the strategy validates against.

Sources: the venues' public fee and contract pages as summarised in `shared/docs/field-notes.md`
(non-VIP tiers, re-checked 2026-08) and Binance's leverage brackets. These are *limits and hints*:
live fees come from the connector's fee schedule and the live funding interval is observed from
`next_funding_utc_timestamp`; a hint is only used until the interval has been observed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Optional


@dataclass(frozen=True)
class VenueSpec:
    """What we know of one Hummingbot connector.

    `funding_interval_hint_s` is the venue's documented default settlement interval; None when the
    venue sets it per contract (then only observation or an explicit config hint can tell).
    """

    connector: str
    kind: str  # "perp" or "spot"
    max_leverage: int
    taker_fee: Decimal
    maker_fee: Decimal
    funding_interval_hint_s: Optional[int]
    funding_rate_cap: Optional[Decimal]  # absolute per-interval cap; None when it varies per contract
    position_modes: tuple[str, ...] = ("ONEWAY", "HEDGE")


_H = 3600

VENUE_SPECS: dict[str, VenueSpec] = {
    spec.connector: spec
    for spec in (
        VenueSpec("binance_perpetual", "perp", 125, Decimal("0.0005"), Decimal("0.0002"), None, Decimal("0.03")),
        VenueSpec("bybit_perpetual", "perp", 100, Decimal("0.00055"), Decimal("0.0002"), None, Decimal("0.02")),
        VenueSpec("okx_perpetual", "perp", 100, Decimal("0.0005"), Decimal("0.0002"), None, Decimal("0.03")),
        VenueSpec("gate_io_perpetual", "perp", 100, Decimal("0.0005"), Decimal("0.0002"), None, Decimal("0.03")),
        VenueSpec("kucoin_perpetual", "perp", 100, Decimal("0.0006"), Decimal("0.0002"), None, Decimal("0.03")),
        VenueSpec(
            "hyperliquid_perpetual",
            "perp",
            50,
            Decimal("0.00045"),
            Decimal("0.00015"),
            1 * _H,
            Decimal("0.04"),
            ("ONEWAY",),
        ),
        VenueSpec("dydx_v4_perpetual", "perp", 20, Decimal("0.0005"), Decimal("0.0001"), 1 * _H, None, ("ONEWAY",)),
        VenueSpec("binance", "spot", 1, Decimal("0.001"), Decimal("0.001"), None, None, ()),
        VenueSpec("bybit", "spot", 1, Decimal("0.001"), Decimal("0.001"), None, None, ()),
        VenueSpec("okx", "spot", 1, Decimal("0.001"), Decimal("0.0008"), None, None, ()),
        VenueSpec("gate_io", "spot", 1, Decimal("0.002"), Decimal("0.002"), None, None, ()),
        VenueSpec("kucoin", "spot", 1, Decimal("0.001"), Decimal("0.001"), None, None, ()),
        VenueSpec("hyperliquid", "spot", 1, Decimal("0.0007"), Decimal("0.0004"), None, None, ()),
    )
}

SIM_PREFIX = "sim_"


def venue_spec(connector: str) -> Optional[VenueSpec]:
    """Spec of a connector; a simulated venue `sim_<venue>_perpetual` / `sim_<venue>` shares its real venue's."""
    if connector in VENUE_SPECS:
        return VENUE_SPECS[connector]
    if connector.startswith(SIM_PREFIX):
        real = VENUE_SPECS.get(connector[len(SIM_PREFIX) :])
        if real is not None:
            return VenueSpec(
                connector,
                real.kind,
                real.max_leverage,
                real.taker_fee,
                real.maker_fee,
                real.funding_interval_hint_s,
                real.funding_rate_cap,
                ("ONEWAY", "HEDGE") if real.kind == "perp" else (),
            )
    return None


def is_perp_connector(connector: str) -> bool:
    """Hummingbot's own test (`StrategyV2Base.is_perpetual`): the name contains 'perpetual'."""
    return "perpetual" in connector


def venue_name(connector: str) -> str:
    """Short venue label: `binance_perpetual` -> `binance`, `sim_bybit_perpetual` -> `bybit`."""
    name = connector[len(SIM_PREFIX) :] if connector.startswith(SIM_PREFIX) else connector
    return name.removesuffix("_perpetual")
