"""Strategy settings: one strict pydantic model shared by the Hummingbot script, check-config and replay.

Pure (core/). The script's config class inherits these fields (and their prompts) and adds
Hummingbot's own (`script_file_name`, `controllers_config`). Every field is consumed by behaviour;
`tests/funding_arbitrage/test_config_fields.py` proves it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from .venues import is_perp_connector, venue_spec


class ConfigError(ValueError):
    """A configuration problem the operator must fix before the strategy can run."""


def _f(prompt: str, **kwargs: Any) -> Any:
    """A field with a prompt for Hummingbot's `create --v2-config`."""
    return Field(json_schema_extra={"prompt": prompt, "prompt_on_new": True}, **kwargs)


HINT_KEY_DOC = "keys are `connector` or `connector:TOKEN`"
GUARD_UPPER_BOUNDS: dict[str, int] = {  # upper bounds of execution guards (their fields keep their own lower bounds)
    "entry_maker_timeout_s": 600,
    "entry_cooldown_s": 86400,
    "entry_cooldown_max_s": 7 * 86400,
    "close_retry_backoff_s": 600,
    "close_retry_max_backoff_s": 3600,
    "close_escalate_after": 100,
    "hedge_rebalance_cooldown_s": 86400,
}
PROJECT_HOME_CONTEXT = "project_home"  # validation context key: paths must resolve under this directory


def _positive(v: Decimal) -> bool:
    return v.is_finite() and v > 0


def _percent(v: Decimal) -> bool:
    return v.is_finite() and 0 < v <= 100


def _finite(v: Decimal) -> bool:
    return v.is_finite()


def _at_least_one(v: int) -> bool:
    return v >= 1


NUMBER_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {  # field: (accepts, what the error says it must be)
    **dict.fromkeys(
        (
            "total_capital_quote",
            "order_amount_quote",
            "max_token_exposure_quote",
            "max_venue_exposure_quote",
            "max_total_exposure_quote",
            "holding_horizon_hours",
            "max_break_even_hours",
            "max_holding_hours",
            "max_drawdown_quote",
            "volatility_reference_pct",
        ),
        (_positive, "must be a positive number"),
    ),
    **dict.fromkeys(
        ("max_book_depth_share_pct", "min_liquidation_distance_pct", "hedge_gap_tolerance_pct", "hedge_gap_halt_pct"),
        (_percent, "must be in (0, 100]"),
    ),
    **dict.fromkeys(
        ("min_net_edge_pct", "take_profit_pct", "exit_edge_apr_pct", "exit_basis_pct"),
        (_finite, "must be a finite number"),
    ),
    **dict.fromkeys(
        (
            "persistence_observations",
            "exit_confirmations",
            "max_errors_per_window",
            "error_window_s",
            "stale_data_s",
            "single_leg_timeout_s",
            "metrics_export_interval_s",
            "entry_maker_timeout_s",
            "entry_cooldown_s",
            "entry_cooldown_max_s",
            "close_retry_backoff_s",
            "close_retry_max_backoff_s",
            "close_escalate_after",
            "hedge_rebalance_cooldown_s",
            "alert_repeat_s",
        ),
        (_at_least_one, "must be at least 1"),
    ),
    "entry_max_retries": (lambda v: 0 <= v <= 10, "must be in 0..10"),
    "prometheus_port": (lambda v: v == 0 or 1024 <= v <= 65535, "must be 0 (off) or in 1024..65535"),
}
REQUIRED_FILES = {  # path fields that may not be empty: why
    "state_file": "positions cannot be remembered without it",
    "kill_switch_file": "the kill switch cannot be turned off",
}


def path_outside_home(value: str, home: Path | None) -> str | None:
    """Why `value` (a path from the config, relative to the project home) escapes the home, or None.

    `..` components are refused always; an absolute path only when `home` is given and it is not under it
    (programmatic use without a home, e.g. a replay's temporary directory, may pass absolute paths).
    """
    if not value:
        return None
    path = Path(value)
    if ".." in path.parts:
        return "must stay under the project home (no '..' components)"
    if home is None:
        return None
    resolved = (home / path).resolve() if not path.is_absolute() else path.resolve()
    if not resolved.is_relative_to(home.resolve()):
        return f"must stay under the project home {home} (relative paths like data/... are)"
    return None


def _type_name(annotation: Any) -> str:
    """`int` -> "an integer", `Decimal` -> "a number", others by name (e.g. "dict[str, int]")."""
    names = {int: "an integer", Decimal: "a number", str: "a text"}
    return names.get(annotation) or f"a {str(annotation).replace('typing.', '')}"


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
    leverage_mode: Literal["fixed", "volatility"] = _f(
        "fixed: every perp leg at `leverage`; volatility: per market, the highest leverage (at most `leverage`) "
        "whose distance to liquidation is liquidation_distance_vol_multiple x the recent volatility",
        default="fixed",
    )
    liquidation_distance_vol_multiple: Decimal = _f(
        "volatility mode: distance to liquidation kept at least this many sigma over leverage_vol_horizon_hours",
        default=Decimal("4"),
        ge=1,
        le=50,
    )
    leverage_vol_lookback_hours: int = _f(
        "volatility mode: hours of hourly price samples the volatility is estimated from", default=72, ge=6, le=168
    )
    leverage_vol_horizon_hours: Decimal = _f(
        "volatility mode: horizon of sigma, hours (sigma = hourly vol x sqrt(hours))",
        default=Decimal("24"),
        ge=1,
        le=720,
    )
    leverage_recheck_s: int = _f(
        "volatility mode: seconds between re-computations of each market's leverage", default=3600, ge=60, le=86400
    )
    leverage_guard_hysteresis_pct: Decimal = _f(
        "volatility mode: a held leg is acted on below max(multiple x sigma, min_liquidation_distance_pct x (1 + "
        "this %)) and restored to that threshold x (1 + this %)",
        default=Decimal("20"),
        ge=1,
        le=100,
    )

    # --- capital and sizing -------------------------------------------------------------------------
    total_capital_quote: Decimal = _f("Total capital across venues, in quote", default=Decimal("10000"), le=1000000000)
    order_amount_quote: Decimal = _f("Notional of one position per leg, in quote", default=Decimal("1000"))
    # What it bounds (tests/funding_arbitrage/core/test_token_cap.py): order_amount_quote may not exceed it, each new
    # pair is sized at most order_amount_quote (each leg's base amount x the pair's reference mid, the mean of its legs'
    # mids, at entry), and a token holds one pair at a time. A held pair is never resized: price moves, fills away
    # from the mid, or a pair entered under a larger setting and kept across a restart can be worth more than this;
    # such a pair only keeps its token from other entries until it exits. The replay's benchmarks allocate at most this
    # per token (replay/allocation.py).
    max_token_exposure_quote: Decimal = _f(
        "Max notional per token (per leg) of a new pair, at the mid at entry, in quote (order_amount_quote <= it; "
        "a held pair is not resized when its value moves above it)",
        default=Decimal("3000"),
    )
    max_venue_exposure_quote: Decimal = _f("Max notional on one venue, in quote", default=Decimal("6000"))
    max_total_exposure_quote: Decimal = _f("Max notional per side across all tokens, in quote", default=Decimal("9000"))
    max_book_depth_share_pct: Decimal = _f(
        "Max share of visible book depth (within 20 levels) one order may take, in %",
        default=Decimal("20"),
        le=100,
    )
    volatility_reference_pct: Decimal = _f(
        "Hourly volatility (stdev of 1h returns, %) above which size is scaled down proportionally",
        default=Decimal("1.5"),
        le=100,
    )

    # --- entry / exit decisions ---------------------------------------------------------------------
    holding_horizon_hours: Decimal = _f(
        "Expected holding horizon used to judge an entry, hours", default=Decimal("72"), le=2160
    )
    min_net_edge_pct: Decimal = _f(
        "Minimum expected net edge over the horizon after all entry and exit costs, % of notional",
        default=Decimal("0.10"),
        le=50,
    )
    max_break_even_hours: Decimal = _f(
        "Maximum hours of funding needed to pay all costs", default=Decimal("48"), le=2160
    )
    decision_interval_s: int = _f(
        "Seconds of the strategy clock between the edge engine's decisions (entries, exits on expected value, "
        "switches; 0: every tick; 300 by default, as in the sample config). Fills, hedging, the risk gate, the "
        "leverage guard and operator controls act on every tick",
        default=300,
        ge=0,
        le=3600,
    )
    persistence_observations: int = _f(
        "Consecutive decisions (ticks when decision_interval_s is 0) the entry edge must hold before entering",
        default=3,
        le=1000,
    )
    exit_edge_apr_pct: Decimal = _f(
        "Exit when the forward funding edge falls below this APR %, for exit_confirmations decisions",
        default=Decimal("0"),
        ge=-1000,
        le=1000,
    )
    exit_confirmations: int = _f(
        "Consecutive decisions below the exit threshold before exiting (hysteresis)", default=3, le=1000
    )
    take_profit_pct: Decimal = _f(
        "Close when funding received + leg PnL - exit cost reaches this % of notional",
        default=Decimal("2.0"),
        le=100,
    )
    max_holding_hours: Decimal = _f("Close a position after this many hours", default=Decimal("720"), le=8760)
    exit_basis_pct: Decimal = _f(
        "Basis (short minus long price, % of mid) assumed at exit", default=Decimal("0"), ge=-50, le=50
    )
    borrow_rates_apr_pct: dict[str, Decimal] = _f(
        "Configured borrow APR % per asset for legs that borrow, where the venue publishes none", default={}
    )
    spot_leg_borrows_quote: bool = _f(
        "Spot carry legs are bought with borrowed quote (margin); charges the quote asset's borrow rate",
        default=False,
    )

    # --- risk -------------------------------------------------------------------------------------
    max_drawdown_quote: Decimal = _f(
        "Halt trading when equity falls this far below its peak, quote", default=Decimal("500")
    )
    min_liquidation_distance_pct: Decimal = _f(
        "Reduce a position when price is closer than this % to its estimated liquidation price",
        default=Decimal("15"),
        le=90,
    )
    max_errors_per_window: int = _f(
        "Halt after this many order/venue errors within error_window_s", default=10, le=1000
    )
    error_window_s: int = _f("Window for counting errors, seconds", default=300, ge=10, le=86400)
    stale_data_s: int = _f(
        "Treat a venue's funding or book as stale after this many seconds", default=120, ge=5, le=3600
    )
    single_leg_timeout_s: int = _f(
        "Unwind a leg whose partner has not filled within this many seconds", default=30, le=600
    )
    max_daily_loss_pct: Decimal = _f(
        "Halt new entries when equity falls this % below the UTC day's starting equity (resets at 00:00 UTC)",
        default=Decimal("5"),
        gt=0,
        le=50,
    )

    # --- execution (core/lifecycle.py) ----------------------------------------------------------------
    entry_maker_first: bool = _f(
        "Send the first entry leg as a maker order, cancelled and replaced at market after entry_maker_timeout_s",
        default=False,
    )
    entry_maker_timeout_s: int = _f("Seconds a maker entry order may rest before the taker fallback", default=30)
    entry_max_retries: int = _f(
        "Times a second entry leg that failed is re-sent at market before the first leg is rolled back (0..10)",
        default=2,
    )
    entry_cooldown_s: int = _f(
        "Cooldown of a token after a failed entry, seconds; doubles with each further "
        "failure up to entry_cooldown_max_s",
        default=300,
    )
    entry_cooldown_max_s: int = _f("Longest cooldown of a token after repeated failed entries, seconds", default=21600)
    close_retry_backoff_s: int = _f(
        "First wait before re-sending a failed close or reduction, seconds; doubles "
        "per failure up to close_retry_max_backoff_s",
        default=5,
    )
    close_retry_max_backoff_s: int = _f("Longest wait between retries of a failed close, seconds", default=300)
    close_escalate_after: int = _f(
        "Failed closes of one pair after which an alert fires and entries halt (the retries go on)", default=3
    )
    hedge_gap_tolerance_pct: Decimal = _f(
        "Net base exposure of a token, in % of its gross, tolerated before the "
        "larger leg is trimmed (one lot is always tolerated)",
        default=Decimal("1"),
    )
    hedge_gap_halt_pct: Decimal = _f(
        "Net exposure of a settled token, in % of its gross, beyond which entries halt with a critical alert",
        default=Decimal("20"),
    )
    hedge_rebalance_cooldown_s: int = _f("Seconds between two rebalances of one token", default=300)
    orphan_policy: Literal["flatten", "adopt_if_hedged", "halt"] = _f(
        "On restart, legs on the venues that no record explains: flatten (close them reduce-only), "
        "adopt_if_hedged (adopt a long/short that hedge each other as a pair, else halt), halt (alert, no new "
        "entries, leave them to the operator)",
        default="halt",
    )

    log_format: Literal["text", "json"] = _f(
        "Log line format of every log handler: text (Hummingbot's own lines) or json (one JSON object per line: "
        "ts, level, logger, message, and the key=value fields of the message; credentials masked), for servers "
        "whose log collector parses JSON. The interactive client's output pane stays text",
        default="text",
    )

    # --- metrics and state --------------------------------------------------------------------------
    prometheus_port: int = _f("Port for Prometheus metrics (0 disables)", default=0)
    prometheus_host: str = _f(
        "Address the Prometheus endpoint binds (127.0.0.1 = this machine only; 0.0.0.0 = every interface, "
        "e.g. for a Prometheus in another container; a warning is logged when not loopback)",
        default="127.0.0.1",
    )
    alert_repeat_s: int = _f(
        "Seconds before the same alert is sent to the notification channels again (hysteresis: a re-raise "
        "within this time of its last notification is not sent again)",
        default=3600,
    )
    metrics_export_path: str = _f(
        "JSON metrics snapshot file, relative to the project (empty disables)", default="data/funding_arb_metrics.json"
    )
    metrics_export_interval_s: int = _f("Seconds between JSON metrics exports", default=10, le=3600)
    state_file: str = _f(
        "JSON export of the journal's pairs (read-only view), relative to the project",
        default="data/funding_arb_state.json",
    )
    journal_file: str = _f(
        "SQLite journal (pairs, orders, funding, risk state, operator commands), relative to the project; "
        "empty = beside state_file as <state stem>.journal.sqlite",
        default="",
    )
    kill_switch_file: str = _f(
        "While this file exists, trading is halted at once (open orders cancelled), relative to the project",
        default="data/funding_arb.kill",
    )
    quote_pegs: list[str] = _f(
        "Quote assets accepted as 1:1 with each other when the legs of a pair differ (e.g. [USDT, USDC]); "
        "empty = every connector must use the same quote asset",
        default=[],
    )

    # --- expected-value decisions and drawdown in % (issue 7) ---------------------------------------
    max_drawdown_pct: Decimal = _f(
        "Halt trading when equity falls this % of total_capital_quote below its peak (with max_drawdown_quote, "
        "whichever is hit first)",
        default=Decimal("10"),
        ge=Decimal("0.1"),
        le=Decimal("100"),
    )
    entry_uncertainty_z: Decimal = _f(
        "Entry margin in std errors of the forecast carry: expected value must exceed min_net_edge_pct plus this "
        "many std errors",
        default=Decimal("1"),
        ge=Decimal("0"),
        le=Decimal("10"),
    )
    exit_uncertainty_z: Decimal = _f(
        "Exit only when the forward carry forecast plus this many std errors is still negative",
        default=Decimal("1"),
        ge=Decimal("0"),
        le=Decimal("10"),
    )
    funding_forecast: Literal["mean_reverting", "persistent"] = _f(
        "Funding forecast: mean_reverting (calibrated Ornstein-Uhlenbeck, docs/forecast.md) or persistent (the "
        "current rate lasts the whole holding_horizon_hours, the pre-forecast behaviour)",
        default="mean_reverting",
    )
    exit_forward_hours: Decimal = _f(
        "Forward horizon of the hold rule's expected carry, hours",
        default=Decimal("72"),
        ge=Decimal("1"),
        le=Decimal("8760"),
    )
    switch_enabled: bool = _f(
        "Close a held pair for a better one (same token; another token when capital binds) when the expected "
        "gain pays the whole switch (core/switching.py)",
        default=False,
    )
    switch_uncertainty_z: Decimal = _f(
        "Switch margin in std errors of both forecasts: the gain must exceed this many combined std errors",
        default=Decimal("1"),
        ge=Decimal("0"),
        le=Decimal("10"),
    )
    switch_min_hold_hours: Decimal = _f(
        "A pair is never switched out before it has been held this many hours (no churn), hours",
        default=Decimal("24"),
        ge=Decimal("0"),
        le=Decimal("8760"),
    )
    switch_confirm_hours: Decimal = _f(
        "The switch gain must stay positive this long before the switch (a short dip never triggers one), hours",
        default=Decimal("8"),
        ge=Decimal("0"),
        le=Decimal("720"),
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

    @field_validator(*NUMBER_RULES)
    @classmethod
    def _number_in_range(cls, v: Any, info: ValidationInfo) -> Any:
        """The rule of NUMBER_RULES for this field."""
        accepts, rule = NUMBER_RULES[info.field_name or ""]
        if not accepts(v):
            raise ValueError(f"{info.field_name} ({v}) {rule}")
        return v

    @field_validator("prometheus_host")
    @classmethod
    def _host(cls, v: str) -> str:
        import ipaddress

        try:
            ipaddress.ip_address(v)
        except ValueError:
            if v != "localhost":
                raise ValueError(
                    f"prometheus_host ({v!r}) must be an IP address (127.0.0.1, 0.0.0.0, ::) or localhost"
                ) from None
        return v

    @field_validator("borrow_rates_apr_pct")
    @classmethod
    def _borrow(cls, v: dict[str, Decimal]) -> dict[str, Decimal]:
        for asset, rate in v.items():
            if not rate.is_finite() or rate < 0 or rate > 1000:
                raise ValueError(f"borrow_rates_apr_pct.{asset} ({rate}) must be in [0, 1000]")
        return v

    @field_validator(*REQUIRED_FILES)
    @classmethod
    def _names_a_file(cls, v: str, info: ValidationInfo) -> str:
        if not v.strip():
            raise ValueError(f"{info.field_name} ('') must name a file: {REQUIRED_FILES[info.field_name or '']}")
        return v

    @field_validator("state_file", "journal_file", "kill_switch_file", "metrics_export_path")
    @classmethod
    def _under_home(cls, v: str, info: ValidationInfo) -> str:
        home = (info.context or {}).get(PROJECT_HOME_CONTEXT)
        problem = path_outside_home(v, Path(home) if home is not None else None)
        if problem:
            raise ValueError(f"{info.field_name} ({v!r}) {problem}")
        return v

    @field_validator(*GUARD_UPPER_BOUNDS, check_fields=False)
    @classmethod
    def _guard_upper_bound(cls, v: int, info: ValidationInfo) -> int:
        """Guards declared elsewhere in this class get their sane upper bound here (docs/configuration.md)."""
        limit = GUARD_UPPER_BOUNDS[info.field_name or ""]
        if v > limit:
            raise ValueError(f"{info.field_name} ({v}) must be at most {limit}: higher turns the guard off")
        return v

    @field_validator("*", mode="before")
    @classmethod
    def _booleans_are_not_numbers(cls, v: Any, info: ValidationInfo) -> Any:
        """YAML `true`/`yes`/`on` load as booleans; pydantic would take them as 1 in a number field."""
        field = cls.model_fields.get(info.field_name or "")
        if field is None or field.annotation is bool:
            return v
        values = v.values() if isinstance(v, dict) else v if isinstance(v, list) else [v]
        bad = [x for x in values if isinstance(x, bool)]
        if bad:
            raise ValueError(
                f"{info.field_name} ({v!r}) holds a boolean ({bad[0]}) where "
                f"{_type_name(field.annotation)} is expected (YAML true/false/yes/no/on/off are booleans)"
            )
        return v

    # --- cross-field checks -------------------------------------------------------------------------
    @model_validator(mode="after")
    def _cross_checks(self) -> FundingArbSettings:
        problems = cross_field_problems(self)
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


def _check_venue_count(s: FundingArbSettings) -> Iterator[str]:
    if not s.perp_connectors:
        yield "perp_connectors ([]) must name at least one perpetual connector"
    if len(s.perp_connectors) + len(s.spot_connectors) < 2:
        yield (
            f"perp_connectors ({s.perp_connectors}) with spot_connectors ({s.spot_connectors}) must give at "
            "least two venues: a hedge needs two legs"
        )


def _check_connector_kinds(s: FundingArbSettings) -> Iterator[str]:
    for c in s.perp_connectors:
        spec = venue_spec(c)
        if not is_perp_connector(c) or (spec is not None and spec.kind != "perp"):
            yield f"perp_connectors ({c}) is not a perpetual connector"
        elif spec is None:
            yield f"perp_connectors ({c}) is not a supported venue (no margin/fee/leverage facts for it)"
    for c in s.spot_connectors:
        spec = venue_spec(c)
        if is_perp_connector(c) or spec is None or spec.kind != "spot":
            yield f"spot_connectors ({c}) is not a supported spot connector"


def _check_quotes(s: FundingArbSettings) -> Iterator[str]:
    missing = [c for c in s.all_connectors if c not in s.quote_assets]
    if missing:
        yield f"quote_assets ({s.quote_assets}) has no entry for {missing}"
    extra = [c for c in s.quote_assets if c not in s.all_connectors]
    if extra:
        yield f"quote_assets ({s.quote_assets}) names connectors not configured: {extra}"
    quotes = sorted({q for c, q in s.quote_assets.items() if c in s.all_connectors})
    pegged = set(s.quote_pegs)
    if len(quotes) > 1 and not set(quotes) <= pegged:
        yield (
            f"quote_assets ({s.quote_assets}): the legs of a pair must share the quote asset, got {quotes} "
            f"(declare them 1:1 in quote_pegs (e.g. quote_pegs: {quotes}) to accept the depeg risk)"
        )
    if s.quote_pegs and len(pegged) < 2:
        yield f"quote_pegs ({s.quote_pegs}) must name at least two quote assets (or be empty)"


def _check_leverage(s: FundingArbSettings) -> Iterator[str]:
    missing = [c for c in s.perp_connectors if c not in s.leverage]
    if missing:
        yield f"leverage ({s.leverage}) has no entry for {missing}"
    for c, lev in s.leverage.items():
        spec = venue_spec(c)
        if c not in s.perp_connectors:
            yield f"leverage.{c} ({lev}) names a connector that is not in perp_connectors"
        if lev < 1:
            yield f"leverage.{c} ({lev}) must be at least 1"
        if spec is not None and lev > spec.max_leverage:
            yield f"leverage.{c} ({lev}) exceeds the venue maximum of {spec.max_leverage}"
        if spec is not None and s.position_mode not in spec.position_modes:
            yield f"position_mode ({s.position_mode}) is not supported by {c} (supports {spec.position_modes})"


def _check_interval_hints(s: FundingArbSettings) -> Iterator[str]:
    for key, hours in s.funding_interval_hints_hours.items():
        connector = key.split(":", 1)[0]
        if connector not in s.perp_connectors:
            yield f"funding_interval_hints_hours.{key} ({hours}) names a connector not in perp_connectors"
        if not hours.is_finite() or hours <= 0 or hours > 24:
            yield f"funding_interval_hints_hours.{key} ({hours}) must be in (0, 24] hours"


def _check_sizes(s: FundingArbSettings) -> Iterator[str]:
    if s.order_amount_quote > s.max_token_exposure_quote:
        yield (
            f"order_amount_quote ({s.order_amount_quote}) must not exceed max_token_exposure_quote "
            f"({s.max_token_exposure_quote})"
        )
    if s.max_token_exposure_quote > s.max_total_exposure_quote:
        yield (
            f"max_token_exposure_quote ({s.max_token_exposure_quote}) must not exceed max_total_exposure_quote "
            f"({s.max_total_exposure_quote})"
        )
    if s.order_amount_quote > s.max_venue_exposure_quote:
        yield (
            f"order_amount_quote ({s.order_amount_quote}) must not exceed max_venue_exposure_quote "
            f"({s.max_venue_exposure_quote})"
        )
    # Margin: each leg posts notional/leverage (spot legs the full notional) on its own venue.
    lev = [Decimal(s.leverage.get(c, 1)) for c in s.perp_connectors] or [Decimal(1)]
    margin_per_side = s.max_total_exposure_quote / min(lev)
    long_side = s.max_total_exposure_quote if s.spot_connectors else margin_per_side
    if margin_per_side + long_side > s.total_capital_quote:
        yield (
            f"max_total_exposure_quote ({s.max_total_exposure_quote}) needs {margin_per_side + long_side} of "
            f"margin at the configured leverage, more than total_capital_quote ({s.total_capital_quote})"
        )
    if s.max_drawdown_pct >= 100:
        yield f"max_drawdown_pct ({s.max_drawdown_pct}) must be below 100"
    if s.max_drawdown_quote >= s.total_capital_quote:
        yield f"max_drawdown_quote ({s.max_drawdown_quote}) must be below total_capital_quote ({s.total_capital_quote})"


def _check_thresholds(s: FundingArbSettings) -> Iterator[str]:
    if s.min_net_edge_pct <= 0:
        yield (
            f"min_net_edge_pct ({s.min_net_edge_pct}) must be positive: it is the edge left after all costs, "
            "a threshold at or below costs would enter losing trades"
        )
    fees = [venue_spec(c).taker_fee for c in s.all_connectors if venue_spec(c)]  # type: ignore[union-attr]
    if len(fees) >= 2:
        cheapest_round_trip_pct = 2 * sum(sorted(fees)[:2]) * 100
        if s.take_profit_pct <= cheapest_round_trip_pct:
            yield (
                f"take_profit_pct ({s.take_profit_pct}) is below the cheapest round-trip taker fees "
                f"({cheapest_round_trip_pct}%): it would close positions at a loss"
            )
    if s.max_holding_hours < s.holding_horizon_hours:
        yield (
            f"max_holding_hours ({s.max_holding_hours}) must be at least holding_horizon_hours "
            f"({s.holding_horizon_hours})"
        )
    if s.max_break_even_hours > s.holding_horizon_hours:
        yield (
            f"max_break_even_hours ({s.max_break_even_hours}) must not exceed holding_horizon_hours "
            f"({s.holding_horizon_hours}): a position could not pay back its costs within the horizon"
        )


def _check_borrow(s: FundingArbSettings) -> Iterator[str]:
    if s.spot_leg_borrows_quote:
        if not s.spot_connectors:
            yield "spot_leg_borrows_quote (true) needs spot_connectors"
        quotes = {s.quote_assets[c] for c in s.spot_connectors if c in s.quote_assets}
        missing = sorted(q for q in quotes if q not in s.borrow_rates_apr_pct)
        if missing:
            yield f"borrow_rates_apr_pct ({dict(s.borrow_rates_apr_pct)}) has no rate for borrowed {missing}"


def _check_paths(s: FundingArbSettings) -> Iterator[str]:
    paths = {
        "state_file": s.state_file,
        "journal_file": s.journal_file,
        "kill_switch_file": s.kill_switch_file,
        "metrics_export_path": s.metrics_export_path,
    }
    named = {k: str(Path(v)) for k, v in paths.items() if v}
    for field, value in named.items():
        clash = [other for other, v in named.items() if other < field and v == value]
        if clash:
            yield f"{field} ({value!r}) is the same file as {clash[0]}"


_CROSS_CHECKS = (
    _check_venue_count,
    _check_connector_kinds,
    _check_quotes,
    _check_leverage,
    _check_interval_hints,
    _check_sizes,
    _check_thresholds,
    _check_borrow,
    _check_paths,
)

HUMMINGBOT_KEYS = {"script_file_name", "controllers_config", "markets", "candles_config"}


def format_validation_error(err: ValidationError) -> list[str]:
    """One line per problem: `field (value): why`."""
    lines: list[str] = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "config"
        msg = e["msg"].removeprefix("Value error, ")
        value = e.get("input")
        shown = "" if isinstance(value, dict) and not e["loc"] else f" (value: {value!r})"
        if e["type"] == "extra_forbidden":
            msg = "unknown key (typo? see conf/scripts/conf_funding_arbitrage.yml for the fields)"
        lines.extend(f"{loc}{shown}: {part}" for part in msg.split("; "))
    return lines


class _DuplicateKeyLoader(yaml.SafeLoader):
    """A SafeLoader that records every key defined twice in one mapping (PyYAML silently keeps the last)."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.duplicates: list[str] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                later = self.construct_object(value_node, deep=True)
                self.duplicates.append(
                    f"{key} (value: {seen[key]!r} then {later!r} at line "
                    f"{key_node.start_mark.line + 1}): duplicate key; the file must set it once"
                )
            elif isinstance(key, (str, int, float, bool)):
                seen[key] = self.construct_object(value_node, deep=True)
        return super().construct_mapping(node, deep=deep)


def read_settings_file(path: Path) -> tuple[dict[str, Any], list[str]]:
    """Read a YAML config file: the mapping and the problems of the file itself (duplicate keys).

    Raises:
        ConfigError: the file is missing, unreadable or not a YAML mapping.
    """
    try:
        text = path.read_text()
    except FileNotFoundError as e:
        raise ConfigError(f"config file {path} does not exist") from e
    except OSError as e:
        raise ConfigError(f"config file {path} cannot be read: {e}") from e
    loader = _DuplicateKeyLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as e:
        raise ConfigError(f"config file {path} is not valid YAML: {e}") from e
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of fields, got {type(data).__name__}")
    return data, list(loader.duplicates)


def load_settings_dict(path: Path) -> dict[str, Any]:
    """Read a YAML config file into a dict.

    Raises:
        ConfigError: the file is missing, unreadable, not a YAML mapping, or sets a key twice.
    """
    data, duplicates = read_settings_file(path)
    if duplicates:
        raise ConfigError(f"{path}:\n  " + "\n  ".join(duplicates))
    return data


def cross_field_problems(settings: FundingArbSettings) -> list[str]:
    """Every cross-field problem (each check yields all it finds)."""
    return [p for check in _CROSS_CHECKS for p in check(settings)]


def _partial_cross_problems(own: dict[str, Any], err: ValidationError, context: dict[str, str] | None) -> list[str]:
    """Cross-field problems among the fields that are valid on their own: the invalid ones are left at their defaults
    and problems naming them dropped, so one run lists these too."""
    bad = {str(e["loc"][0]) for e in err.errors() if e["loc"]}
    good = {k: v for k, v in own.items() if k in FundingArbSettings.model_fields and k not in bad}
    try:
        FundingArbSettings.model_validate(good, context=context)
    except ValidationError as e:
        lines = [line for line in format_validation_error(e) if line.startswith("config")]
        return [
            line for line in lines if not any(f": {b} " in line or f": {b}." in line or f": {b}(" in line for b in bad)
        ]
    return []


def check_settings(
    data: dict[str, Any], home: Path | None = None, file_problems: list[str] | None = None
) -> tuple[FundingArbSettings | None, list[str]]:
    """Validate a config mapping; returns the settings or every problem found (one per line, field first).

    `home`: the project home; paths (state_file, journal_file, ...) must resolve under it. `file_problems`:
    problems found while reading the file (duplicate keys), listed first.
    """
    problems: list[str] = list(file_problems or [])
    own = {k: v for k, v in data.items() if k not in HUMMINGBOT_KEYS}
    sfn = data.get("script_file_name")
    if sfn is not None and sfn != "funding_arbitrage.py":
        problems.append(f"script_file_name ({sfn!r}): must be 'funding_arbitrage.py'")
    if data.get("controllers_config"):
        problems.append(
            f"controllers_config ({data['controllers_config']!r}): must be empty; this script runs no controllers"
        )
    context = {PROJECT_HOME_CONTEXT: str(home)} if home is not None else None
    try:
        settings = FundingArbSettings.model_validate(own, context=context)
    except ValidationError as e:
        lines = format_validation_error(e)
        extra = [p for p in _partial_cross_problems(own, e, context) if p not in lines]
        return None, problems + lines + extra
    return (settings if not problems else None), problems


def check_settings_file(path: Path, home: Path | None = None) -> tuple[FundingArbSettings | None, list[str]]:
    """Read and validate a config file; every problem of the file and its fields in one list.

    Raises:
        ConfigError: the file is missing, unreadable or not a YAML mapping.
    """
    data, duplicates = read_settings_file(path)
    return check_settings(data, home, duplicates)


def load_settings(path: Path, home: Path | None = None) -> FundingArbSettings:
    """Load and validate a config file (paths checked against `home` when given).

    Raises:
        ConfigError: with every problem, one per line.
    """
    settings, problems = check_settings_file(path, home)
    if settings is None:
        raise ConfigError(f"{path}:\n  " + "\n  ".join(problems))
    return settings
