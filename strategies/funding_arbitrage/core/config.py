"""Strategy settings: one strict pydantic model shared by the Hummingbot script, check-config and replay.

Pure (core/). The script's config class inherits these fields (and their prompts) and adds
Hummingbot's own (`script_file_name`, `controllers_config`). Every field is consumed by behaviour;
`tests/funding_arbitrage/test_config_fields.py` proves it.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .venues import is_perp_connector, venue_spec


class ConfigError(ValueError):
    """A configuration problem the operator must fix before the strategy can run."""


def _f(prompt: str, **kwargs: Any) -> Any:
    """A field with a prompt for Hummingbot's `create --v2-config`."""
    return Field(json_schema_extra={"prompt": prompt, "prompt_on_new": True}, **kwargs)


HINT_KEY_DOC = "keys are `connector` or `connector:TOKEN`"


class FundingArbSettings(BaseModel):
    """Everything an operator configures. Money in quote units, rates as percentages where named `_pct`."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)

    # --- venues and markets -------------------------------------------------------------------------
    perp_connectors: list[str] = _f(
        "Perpetual connectors to trade, comma separated (e.g. binance_perpetual,bybit_perpetual)",
        default=["binance_perpetual", "bybit_perpetual"],
    )
    spot_connectors: list[str] = _f(
        "Spot connectors for carry legs (long spot, short perp); empty for perp-perp only", default=[]
    )
    tokens: list[str] = _f("Base tokens to trade (e.g. BTC,ETH,SOL)", default=["BTC", "ETH", "SOL"])
    quote_assets: dict[str, str] = _f(
        "Quote asset per connector (e.g. {binance_perpetual: USDT, hyperliquid_perpetual: USD})",
        default={"binance_perpetual": "USDT", "bybit_perpetual": "USDT"},
    )
    funding_interval_hints_hours: dict[str, Decimal] = _f(
        f"Declared funding intervals in hours until observed ({HINT_KEY_DOC}); empty to wait for observation",
        default={},
    )
    position_mode: Literal["ONEWAY", "HEDGE"] = _f("Position mode on every perp venue (ONEWAY/HEDGE)", default="ONEWAY")
    leverage: dict[str, int] = _f(
        "Leverage per perp connector (e.g. {binance_perpetual: 3, bybit_perpetual: 3})",
        default={"binance_perpetual": 3, "bybit_perpetual": 3},
    )

    # --- capital and sizing -------------------------------------------------------------------------
    total_capital_quote: Decimal = _f("Total capital across venues, in quote", default=Decimal("10000"))
    order_amount_quote: Decimal = _f("Notional of one position per leg, in quote", default=Decimal("1000"))
    max_token_exposure_quote: Decimal = _f("Max notional per token (per leg), in quote", default=Decimal("3000"))
    max_venue_exposure_quote: Decimal = _f("Max notional on one venue, in quote", default=Decimal("6000"))
    max_total_exposure_quote: Decimal = _f("Max notional per side across all tokens, in quote", default=Decimal("9000"))
    max_book_depth_share_pct: Decimal = _f(
        "Max share of visible book depth (within 20 levels) one order may take, in %", default=Decimal("20")
    )
    volatility_reference_pct: Decimal = _f(
        "Hourly volatility (stdev of 1h returns, %) above which size is scaled down proportionally",
        default=Decimal("1.5"),
    )

    # --- entry / exit decisions ---------------------------------------------------------------------
    holding_horizon_hours: Decimal = _f("Expected holding horizon used to judge an entry, hours", default=Decimal("72"))
    min_net_edge_pct: Decimal = _f(
        "Minimum expected net edge over the horizon after all entry and exit costs, % of notional",
        default=Decimal("0.10"),
    )
    max_break_even_hours: Decimal = _f("Maximum hours of funding needed to pay all costs", default=Decimal("48"))
    persistence_observations: int = _f("Consecutive ticks the entry edge must hold before entering", default=3)
    exit_edge_apr_pct: Decimal = _f(
        "Exit when the forward funding edge falls below this APR %, for exit_confirmations ticks", default=Decimal("0")
    )
    exit_confirmations: int = _f("Consecutive ticks below the exit threshold before exiting (hysteresis)", default=3)
    take_profit_pct: Decimal = _f(
        "Close when funding received + leg PnL - exit cost reaches this % of notional", default=Decimal("2.0")
    )
    max_holding_hours: Decimal = _f("Close a position after this many hours", default=Decimal("720"))
    exit_basis_pct: Decimal = _f("Basis (short minus long price, % of mid) assumed at exit", default=Decimal("0"))
    borrow_rates_apr_pct: dict[str, Decimal] = _f(
        "Configured borrow APR % per asset for legs that borrow, where the venue publishes none", default={}
    )
    spot_leg_borrows_quote: bool = _f(
        "Spot carry legs are bought with borrowed quote (margin); charges the quote asset's borrow rate",
        default=False,
    )

    # --- risk -------------------------------------------------------------------------------------
    max_drawdown_quote: Decimal = _f("Halt trading when equity falls this far below its peak, quote", default=Decimal("500"))
    min_liquidation_distance_pct: Decimal = _f(
        "Reduce a position when price is closer than this % to its estimated liquidation price", default=Decimal("15")
    )
    max_errors_per_window: int = _f("Halt after this many order/venue errors within error_window_s", default=10)
    error_window_s: int = _f("Window for counting errors, seconds", default=300)
    stale_data_s: int = _f("Treat a venue's funding or book as stale after this many seconds", default=120)
    single_leg_timeout_s: int = _f("Unwind a leg whose partner has not filled within this many seconds", default=30)

    # --- metrics and state --------------------------------------------------------------------------
    prometheus_port: int = _f("Port for Prometheus metrics (0 disables)", default=0)
    metrics_export_path: str = _f(
        "JSON metrics snapshot file, relative to the project (empty disables)", default="data/funding_arb_metrics.json"
    )
    metrics_export_interval_s: int = _f("Seconds between JSON metrics exports", default=10)
    state_file: str = _f("Persistent state file, relative to the project", default="data/funding_arb_state.json")

    # --- expected-value decisions and drawdown in % (issue 7) ---------------------------------------
    max_drawdown_pct: Decimal = _f(
        "Halt trading when equity falls this % of total_capital_quote below its peak (with max_drawdown_quote, "
        "whichever is hit first)", default=Decimal("10"), ge=Decimal("0.1"), le=Decimal("100"),
    )
    entry_uncertainty_z: Decimal = _f(
        "Entry margin in std errors of the forecast carry: expected value must exceed min_net_edge_pct plus this "
        "many std errors", default=Decimal("1"), ge=Decimal("0"), le=Decimal("10"),
    )
    exit_uncertainty_z: Decimal = _f(
        "Exit only when the forward carry forecast plus this many std errors is still negative",
        default=Decimal("1"), ge=Decimal("0"), le=Decimal("10"),
    )
    funding_forecast: Literal["mean_reverting", "persistent"] = _f(
        "Funding forecast: mean_reverting (calibrated Ornstein-Uhlenbeck, docs/forecast.md) or persistent (the "
        "current rate lasts the whole holding_horizon_hours, the pre-forecast behaviour)", default="mean_reverting",
    )
    exit_forward_hours: Decimal = _f(
        "Forward horizon of the hold rule's expected carry, hours", default=Decimal("72"), ge=Decimal("1"),
        le=Decimal("8760"),
    )

    # ------------------------------------------------------------------------------------------------
    @field_validator("perp_connectors", "spot_connectors", "tokens")
    @classmethod
    def _no_duplicates(cls, v: list[str], info: Any) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError(f"{info.field_name} ({v}) must not contain duplicates")
        return v

    @field_validator("tokens")
    @classmethod
    def _tokens_upper(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("tokens ([]) must name at least one token")
        for t in v:
            if not t or not t.isalnum() or t != t.upper():
                raise ValueError(f"tokens ({t!r}) must be upper-case alphanumeric symbols like BTC")
        return v

    @field_validator(
        "total_capital_quote", "order_amount_quote", "max_token_exposure_quote", "max_venue_exposure_quote",
        "max_total_exposure_quote", "holding_horizon_hours", "max_break_even_hours", "max_holding_hours",
        "max_drawdown_quote", "volatility_reference_pct",
    )
    @classmethod
    def _positive(cls, v: Decimal, info: Any) -> Decimal:
        if not v.is_finite() or v <= 0:
            raise ValueError(f"{info.field_name} ({v}) must be a positive number")
        return v

    @field_validator("max_book_depth_share_pct", "min_liquidation_distance_pct")
    @classmethod
    def _percent_range(cls, v: Decimal, info: Any) -> Decimal:
        if not v.is_finite() or not (0 < v <= 100):
            raise ValueError(f"{info.field_name} ({v}) must be in (0, 100]")
        return v

    @field_validator("min_net_edge_pct", "take_profit_pct", "exit_edge_apr_pct", "exit_basis_pct")
    @classmethod
    def _finite(cls, v: Decimal, info: Any) -> Decimal:
        if not v.is_finite():
            raise ValueError(f"{info.field_name} ({v}) must be a finite number")
        return v

    @field_validator(
        "persistence_observations", "exit_confirmations", "max_errors_per_window", "error_window_s",
        "stale_data_s", "single_leg_timeout_s", "metrics_export_interval_s",
    )
    @classmethod
    def _positive_int(cls, v: int, info: Any) -> int:
        if v < 1:
            raise ValueError(f"{info.field_name} ({v}) must be at least 1")
        return v

    @field_validator("prometheus_port")
    @classmethod
    def _port(cls, v: int) -> int:
        if v != 0 and not (1024 <= v <= 65535):
            raise ValueError(f"prometheus_port ({v}) must be 0 (off) or in 1024..65535")
        return v

    @field_validator("borrow_rates_apr_pct")
    @classmethod
    def _borrow(cls, v: dict[str, Decimal]) -> dict[str, Decimal]:
        for asset, rate in v.items():
            if not rate.is_finite() or rate < 0 or rate > 1000:
                raise ValueError(f"borrow_rates_apr_pct.{asset} ({rate}) must be in [0, 1000]")
        return v

    @field_validator("state_file")
    @classmethod
    def _state_file(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("state_file ('') must name a file: positions cannot be remembered without it")
        return v

    # --- cross-field checks -------------------------------------------------------------------------
    @model_validator(mode="after")
    def _cross_checks(self) -> "FundingArbSettings":
        problems = [p for check in _CROSS_CHECKS if (p := check(self))]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # --- derived views ------------------------------------------------------------------------------
    @property
    def all_connectors(self) -> list[str]:
        return [*self.perp_connectors, *self.spot_connectors]

    def trading_pair(self, connector: str, token: str) -> str:
        return f"{token}-{self.quote_assets[connector]}"

    def interval_hint_s(self, connector: str, token: str) -> int | None:
        """Declared interval for a market, from config or the venue's documented default; None if unknown."""
        hours = self.funding_interval_hints_hours.get(f"{connector}:{token}")
        if hours is None:
            hours = self.funding_interval_hints_hours.get(connector)
        if hours is not None:
            return int(hours * 3600)
        spec = venue_spec(connector)
        return spec.funding_interval_hint_s if spec else None


def _check_venue_count(s: FundingArbSettings) -> str | None:
    if not s.perp_connectors:
        return "perp_connectors ([]) must name at least one perpetual connector"
    if len(s.perp_connectors) + len(s.spot_connectors) < 2:
        return (f"perp_connectors ({s.perp_connectors}) with spot_connectors ({s.spot_connectors}) must give at "
                "least two venues: a hedge needs two legs")
    return None


def _check_connector_kinds(s: FundingArbSettings) -> str | None:
    for c in s.perp_connectors:
        spec = venue_spec(c)
        if not is_perp_connector(c) or (spec is not None and spec.kind != "perp"):
            return f"perp_connectors ({c}) is not a perpetual connector"
        if spec is None:
            return f"perp_connectors ({c}) is not a supported venue (no margin/fee/leverage facts for it)"
    for c in s.spot_connectors:
        spec = venue_spec(c)
        if is_perp_connector(c) or spec is None or spec.kind != "spot":
            return f"spot_connectors ({c}) is not a supported spot connector"
    return None


def _check_quotes(s: FundingArbSettings) -> str | None:
    missing = [c for c in s.all_connectors if c not in s.quote_assets]
    if missing:
        return f"quote_assets ({s.quote_assets}) has no entry for {missing}"
    extra = [c for c in s.quote_assets if c not in s.all_connectors]
    if extra:
        return f"quote_assets ({s.quote_assets}) names connectors not configured: {extra}"
    return None


def _check_leverage(s: FundingArbSettings) -> str | None:
    missing = [c for c in s.perp_connectors if c not in s.leverage]
    if missing:
        return f"leverage ({s.leverage}) has no entry for {missing}"
    for c, lev in s.leverage.items():
        spec = venue_spec(c)
        if c not in s.perp_connectors:
            return f"leverage.{c} ({lev}) names a connector that is not in perp_connectors"
        if lev < 1:
            return f"leverage.{c} ({lev}) must be at least 1"
        if spec is not None and lev > spec.max_leverage:
            return f"leverage.{c} ({lev}) exceeds the venue maximum of {spec.max_leverage}"
        if spec is not None and s.position_mode not in spec.position_modes:
            return f"position_mode ({s.position_mode}) is not supported by {c} (supports {spec.position_modes})"
    return None


def _check_interval_hints(s: FundingArbSettings) -> str | None:
    for key, hours in s.funding_interval_hints_hours.items():
        connector = key.split(":", 1)[0]
        if connector not in s.perp_connectors:
            return f"funding_interval_hints_hours.{key} ({hours}) names a connector not in perp_connectors"
        if not hours.is_finite() or hours <= 0 or hours > 24:
            return f"funding_interval_hints_hours.{key} ({hours}) must be in (0, 24] hours"
    return None


def _check_sizes(s: FundingArbSettings) -> str | None:
    if s.order_amount_quote > s.max_token_exposure_quote:
        return (f"order_amount_quote ({s.order_amount_quote}) must not exceed max_token_exposure_quote "
                f"({s.max_token_exposure_quote})")
    if s.max_token_exposure_quote > s.max_total_exposure_quote:
        return (f"max_token_exposure_quote ({s.max_token_exposure_quote}) must not exceed max_total_exposure_quote "
                f"({s.max_total_exposure_quote})")
    if s.order_amount_quote > s.max_venue_exposure_quote:
        return (f"order_amount_quote ({s.order_amount_quote}) must not exceed max_venue_exposure_quote "
                f"({s.max_venue_exposure_quote})")
    # Margin: each leg posts notional/leverage (spot legs the full notional) on its own venue.
    lev = [Decimal(s.leverage.get(c, 1)) for c in s.perp_connectors] or [Decimal(1)]
    margin_per_side = s.max_total_exposure_quote / min(lev)
    long_side = s.max_total_exposure_quote if s.spot_connectors else margin_per_side
    if margin_per_side + long_side > s.total_capital_quote:
        return (f"max_total_exposure_quote ({s.max_total_exposure_quote}) needs {margin_per_side + long_side} of "
                f"margin at the configured leverage, more than total_capital_quote ({s.total_capital_quote})")
    if s.max_drawdown_pct >= 100:
        return f"max_drawdown_pct ({s.max_drawdown_pct}) must be below 100"
    if s.max_drawdown_quote >= s.total_capital_quote:
        return f"max_drawdown_quote ({s.max_drawdown_quote}) must be below total_capital_quote ({s.total_capital_quote})"
    return None


def _check_thresholds(s: FundingArbSettings) -> str | None:
    if s.min_net_edge_pct <= 0:
        return (f"min_net_edge_pct ({s.min_net_edge_pct}) must be positive: it is the edge left after all costs, "
                "a threshold at or below costs would enter losing trades")
    fees = [venue_spec(c).taker_fee for c in s.all_connectors if venue_spec(c)]  # type: ignore[union-attr]
    if len(fees) >= 2:
        cheapest_round_trip_pct = 2 * sum(sorted(fees)[:2]) * 100
        if s.take_profit_pct <= cheapest_round_trip_pct:
            return (f"take_profit_pct ({s.take_profit_pct}) is below the cheapest round-trip taker fees "
                    f"({cheapest_round_trip_pct}%): it would close positions at a loss")
    if s.max_holding_hours < s.holding_horizon_hours:
        return (f"max_holding_hours ({s.max_holding_hours}) must be at least holding_horizon_hours "
                f"({s.holding_horizon_hours})")
    if s.max_break_even_hours > s.holding_horizon_hours:
        return (f"max_break_even_hours ({s.max_break_even_hours}) must not exceed holding_horizon_hours "
                f"({s.holding_horizon_hours}): a position could not pay back its costs within the horizon")
    return None


def _check_borrow(s: FundingArbSettings) -> str | None:
    if s.spot_leg_borrows_quote:
        if not s.spot_connectors:
            return "spot_leg_borrows_quote (true) needs spot_connectors"
        quotes = {s.quote_assets[c] for c in s.spot_connectors if c in s.quote_assets}
        missing = sorted(q for q in quotes if q not in s.borrow_rates_apr_pct)
        if missing:
            return f"borrow_rates_apr_pct ({dict(s.borrow_rates_apr_pct)}) has no rate for borrowed {missing}"
    return None


_CROSS_CHECKS = (
    _check_venue_count, _check_connector_kinds, _check_quotes, _check_leverage, _check_interval_hints,
    _check_sizes, _check_thresholds, _check_borrow,
)

HUMMINGBOT_KEYS = {"script_file_name", "controllers_config", "markets", "candles_config"}


def format_validation_error(err: ValidationError) -> list[str]:
    """One line per problem: `field (value): why`."""
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "config"
        msg = e["msg"].removeprefix("Value error, ")
        value = e.get("input")
        shown = "" if isinstance(value, dict) and not e["loc"] else f" (value: {value!r})"
        if e["type"] == "extra_forbidden":
            msg = "unknown key (typo? see conf/scripts/conf_funding_arbitrage.yml for the fields)"
        lines.extend(f"{loc}{shown}: {part}" for part in msg.split("; "))
    return lines


def load_settings_dict(path: Path) -> dict[str, Any]:
    """Read a YAML config file into a dict.

    Raises:
        ConfigError: the file is missing, unreadable or not a YAML mapping.
    """
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError as e:
        raise ConfigError(f"config file {path} does not exist") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"config file {path} is not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of fields, got {type(data).__name__}")
    return data


def check_settings(data: dict[str, Any]) -> tuple[FundingArbSettings | None, list[str]]:
    """Validate a config mapping; returns the settings or every problem found."""
    problems: list[str] = []
    own = {k: v for k, v in data.items() if k not in HUMMINGBOT_KEYS}
    sfn = data.get("script_file_name")
    if sfn is not None and sfn != "funding_arbitrage.py":
        problems.append(f"script_file_name ({sfn!r}): must be 'funding_arbitrage.py'")
    if data.get("controllers_config"):
        problems.append(f"controllers_config ({data['controllers_config']!r}): must be empty; this script runs no "
                        "controllers")
    try:
        settings = FundingArbSettings(**own)
    except ValidationError as e:
        return None, problems + format_validation_error(e)
    return (settings if not problems else None), problems


def load_settings(path: Path) -> FundingArbSettings:
    """Load and validate a config file.

    Raises:
        ConfigError: with every problem, one per line.
    """
    settings, problems = check_settings(load_settings_dict(path))
    if settings is None:
        raise ConfigError(f"{path}:\n  " + "\n  ".join(problems))
    return settings
