"""Every metric the strategy exports: name, kind, unit, labels and HELP text, in one table (pure).

Conventions (https://prometheus.io/docs/practices/naming/): base units (`_seconds`, ratios 0..1 instead of
percent), money as `_quote` with a `quote` label naming the quote asset, monotonic totals as counters `_total`
(restored at start so they never go backwards across restarts), every series of a finite label domain
(connectors, tokens, reasons, states) created at start so `increase()` and alerts see it before the first event.
docs/metrics.md is checked against this table by a test.
"""

from __future__ import annotations

from dataclasses import dataclass

from .reasons import ExitReason

__all__ = ["CATALOG", "ERROR_KINDS", "TRADING_STATES", "MetricSpec", "spec"]

TRADING_STATES = ("ACTIVE", "REDUCING", "HALTED")
ERROR_KINDS = ("tick_exception", "order_place_failed", "order_failed", "single_leg_timeout")
ENTRY_DENIALS = ("halted", "reducing", "unchecked", "unknown_venue", "stale", "leverage")
CRITICAL_KINDS = ("close_failed", "hedge_gap", "leverage_reduction_failed", "orphan_position")
MARGIN_SOURCES = ("venue", "estimated", "proxy:binance")
TICK_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass(frozen=True)
class MetricSpec:
    """One exported family. `name` without the `funding_arb_` prefix and without `_total`; `domain` names the
    finite label set whose series are created at start (see `MetricsRegistry.declare_catalog`)."""

    name: str
    kind: str  # counter | gauge | histogram
    labels: tuple[str, ...]
    help: str
    domain: str = ""  # "" (dynamic labels: created on first use), or a key of the label domains

    @property
    def exported(self) -> str:
        return "funding_arb_" + self.name + ("_total" if self.kind == "counter" else "")


def _c(name: str, labels: tuple[str, ...], help_text: str, domain: str = "") -> MetricSpec:
    return MetricSpec(name, "counter", labels, help_text, domain)


def _g(name: str, labels: tuple[str, ...], help_text: str, domain: str = "") -> MetricSpec:
    return MetricSpec(name, "gauge", labels, help_text, domain)


CATALOG: tuple[MetricSpec, ...] = (
    # --- identity and heartbeat
    _g(
        "build_info",
        ("version", "python", "engine"),
        "Always 1; labels name the running build (engine: the trading engine's version).",
    ),
    _g(
        "last_tick_timestamp_seconds",
        (),
        "Clock time (Unix seconds) of the last completed strategy tick; "
        "time() minus it is the data age an alert watches.",
    ),
    MetricSpec(
        "tick_duration_seconds",
        "histogram",
        (),
        "Wall time one strategy tick took (snapshot, risk, decisions, execution, metrics).",
    ),
    # --- counters (restored at start)
    _c("entries", ("token",), "Pair entries started (both legs sent), per token.", "token"),
    _c(
        "entries_failed",
        ("token",),
        "Entries that failed (rejected, timed out or rolled back), per token; each starts the token's cooldown.",
        "token",
    ),
    _c("exits", ("reason",), "Pair exits started by the edge engine, per exit reason.", "exit_reason"),
    _c(
        "entries_denied",
        ("reason",),
        "Entries the edge engine wanted but the risk gate refused, per reason.",
        "entry_denial",
    ),
    _c(
        "leverage_reductions",
        ("reason",),
        "Risk reductions sent for a pair too near liquidation: the whole pair closed (a partial cut of an isolated "
        "position does not move its liquidation price), or a partial cut where the rest falls into a lower "
        "maintenance bracket.",
        "reduction_reason",
    ),
    _c("fills", ("connector",), "Order fills received for the strategy's own orders, per connector.", "connector"),
    _c("fees_paid_quote", ("quote",), "Trading fees paid on the strategy's fills, in the quote asset.", "quote"),
    _c(
        "funding_received_quote",
        ("quote",),
        "Funding payments received (positive settlements), in the quote asset.",
        "quote",
    ),
    _c(
        "funding_paid_quote",
        ("quote",),
        "Funding payments paid (negative settlements, as a positive amount), in the quote asset.",
        "quote",
    ),
    _c("errors", ("kind",), "Errors counted by the risk gate's error-burst breaker, per kind.", "error_kind"),
    _c("fee_conversion_failures", (), "Fills whose flat fee could not be converted to quote (percent part booked)."),
    _c(
        "adapter_read_errors",
        ("reason",),
        "Connector state the snapshot adapter could not read, per reason.",
        "adapter_error",
    ),
    _c(
        "alert_notifications",
        ("result",),
        "Alert notifications: sent, failed (delivery error) or suppressed (rate limit / hysteresis).",
        "notification_result",
    ),
    # --- risk and state
    _g("trading_state", ("state",), "1 for the risk gate's current trading state, 0 for the others.", "trading_state"),
    _g(
        "equity_quote",
        ("quote",),
        "Account equity across all venues (balances, unrealised PnL, spot legs at "
        "mid), in the quote asset; absent while unknown.",
    ),
    _g("drawdown_quote", ("quote",), "Peak equity minus current equity, in the quote asset."),
    _g("drawdown_limit_quote", ("quote",), "Configured max_drawdown_quote: the drawdown that halts trading."),
    _g(
        "unrealized_pnl_quote",
        ("quote",),
        "Mark-to-mid PnL of every open pair's legs, in the quote asset; absent when a price is unknown.",
    ),
    _g(
        "expected_funding_quote_per_second",
        ("quote",),
        "Funding the open pairs earn per second at the current "
        "rates (short leg receives minus long leg pays), in the quote asset.",
    ),
    _g("open_pairs", (), "Hedged pairs currently held."),
    _g("imbalanced_pairs", (), "Open pairs whose legs differ (IMBALANCED or FAILED): a hedge gap."),
    _g("venue_ready", ("connector",), "1 when the connector reports ready, else 0.", "connector"),
    _g("position_base", ("connector", "pair"), "Signed perp position held on the venue, in base units."),
    _g("hedge_gap_base", ("pair_id",), "Long leg minus short leg of an open pair, in base units (0 = hedged)."),
    _g(
        "token_hedge_gap_ratio",
        ("token",),
        "Net position of a token over all venues as a share of its gross position (0 = hedged; absent while "
        "nothing is held), as the hedge monitor sees it every tick.",
    ),
    _c("hedge_rebalances", ("token",), "Leg rebalances the hedge monitor started, per token.", "token"),
    _g("pair_funding_received_quote", ("pair_id", "quote"), "Net funding booked to an open pair, in quote."),
    _g(
        "liquidation_distance_ratio",
        ("pair_id", "connector", "source"),
        "Distance from mark to the estimated "
        "liquidation price as a ratio of mark (0.2 = 20 %); source: venue, estimated (own margin model) or "
        "proxy:binance (Binance's brackets stand in for this venue).",
    ),
    _g(
        "margin_ratio",
        ("pair_id", "connector", "source"),
        "Maintenance margin over leg equity (1 = liquidation); source as for liquidation_distance_ratio.",
    ),
    # --- market and candidates
    _g("funding_rate_apr_ratio", ("connector", "pair"), "Latest funding rate annualised, as a ratio (0.1 = 10 % APR)."),
    _g("funding_interval_seconds", ("connector", "pair"), "Funding settlement interval in seconds."),
    _g("skipped_markets", ("reason",), "Markets skipped this tick for bad or missing data, per reason."),
    _g(
        "candidate_net_edge_ratio",
        ("token", "long", "short"),
        "Net edge of a candidate pair over the holding "
        "horizon after fees, slippage, basis and borrow, as a ratio of notional.",
    ),
    _g(
        "candidate_break_even_seconds",
        ("token", "long", "short"),
        "Time for a candidate's funding to pay its costs, in seconds.",
    ),
    _g(
        "candidate_borrow_quote",
        ("token", "long", "short", "source", "quote"),
        "Borrow cost of a candidate over the horizon, in quote; source says where the rate comes from.",
    ),
    _g("alert_active", ("alert", "severity"), "1 while the alert is active, 0 after it cleared (kept for a day)."),
    _g("alerts_active", ("severity",), "Number of active alerts per severity (0 when none)."),
    _g(
        "critical_conditions",
        ("kind",),
        "Active critical conditions per kind: close_failed, hedge_gap, "
        "leverage_reduction_failed, orphan_position (0 when none).",
        "critical_kind",
    ),
)

_BY_NAME = {s.name: s for s in CATALOG}


def spec(name: str) -> MetricSpec:
    """The catalog entry of `name` (without prefix or `_total`). Raises KeyError for an unknown metric."""
    return _BY_NAME[name]


def label_domains(tokens: list[str], connectors: list[str], quotes: list[str]) -> dict[str, list[str]]:
    """Finite label sets whose series exist from the start."""
    return {
        "token": tokens,
        "connector": connectors,
        "quote": quotes,
        "trading_state": list(TRADING_STATES),
        "exit_reason": [str(r) for r in ExitReason],
        "entry_denial": list(ENTRY_DENIALS),
        "reduction_reason": ["liquidation_distance", "volatility"],
        "error_kind": list(ERROR_KINDS),
        "notification_result": ["sent", "failed", "suppressed"],
        "critical_kind": list(CRITICAL_KINDS),
        "adapter_error": ["no_trading_rule", "adapter_error", "positions_unreadable", "balance_unreadable"],
    }
