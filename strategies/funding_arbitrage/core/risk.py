"""Risk gate between decision and execution (pure; time is passed in, in seconds).

Trading state (NautilusTrader's `TradingState`):
  * ACTIVE   - entries allowed on venues whose data is fresh.
  * REDUCING - a pair is nearer to liquidation than `min_liquidation_distance_pct` and its `ReduceAction`
               (usually closing the whole pair: `check_positions`) is pending; new entries are denied everywhere
               until every leg is back beyond the threshold or closed.
  * HALTED   - latched by an error burst, a drawdown of `max_drawdown_quote`, a daily loss of `max_daily_loss_pct`
               of the UTC day's starting equity, every venue going stale, or an operator kill / kill-switch file.
               A halt means: **no new entries, cancel working entry orders, keep hedged positions.** It
               does not close positions (closing both legs in a hurry is how one-legged losses start);
               reduce-only actions (`ReduceAction`, `UnwindAction`) are still produced and must still be
               executed. Only `resume()` (an operator) clears it; `halt_reason` says why it happened.

Separately, an operator `pause` blocks new entries (exits, reductions and unwinds still run) until `resume()`.
The state that must survive a restart (halt, pause, equity peak, day start equity, error history) is exported by
`export_state()` and restored by `restore_state()`; `revision` grows whenever it changes (the shell persists then).

Each check is a small function returning a reason string or None; the gate applies them to its state.
Actions are level-triggered: recomputed from the current amounts every tick while the condition holds,
so the shell must not stack a second reduction on a pair whose reduction is still in flight.
Per tick the shell calls `evaluate(...)` (or the checks in the same order), executes the actions,
syncs `alerts()` into metrics, and asks `allow_entry(ts, venues)` before every entry.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from .config import FundingArbSettings
from .leverage import LEVERAGE_FIXED, fresh_short_too_near
from .margin import (
    BracketTable,
    MarginBrackets,
    estimate_liquidation_price,
    liquidation_distance_pct,
    locate_brackets,
    margin_ratio,
    reduce_fraction_for_distance,
)
from .metrics import Severity
from .portfolio import drawdown_limit_quote
from .redaction import redact
from .venues import venue_spec

logger = logging.getLogger(__name__)
ALERT_PREFIX = "risk."


class TradingState(str, Enum):  # noqa: UP042 - same str-Enum idiom as snapshots.MarketKind
    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


@dataclass(frozen=True)
class LegRisk:
    """One open leg as the shell sees it this tick: amount in base, signed (negative = short); quote prices.

    `mark_price` None (no data) or a non-positive entry price make the liquidation *unknown* (N/A and an
    alert, never assumed safe). `wallet_margin_quote`: the leg's isolated margin at its current size (what the
    venue holds: released pro rata by reductions); None = |amount| × entry / leverage (`isolated_margin_quote`).
    `quote_asset` None = the connector's `quote_assets` entry in the settings. `lot_size_base` makes reduce
    fractions land on whole lots; None = no rounding.
    """

    pair_id: str
    connector: str
    token: str
    amount: Decimal
    entry_price: Decimal
    mark_price: Decimal | None
    leverage: Decimal
    wallet_margin_quote: Decimal | None = None
    quote_asset: str | None = None
    lot_size_base: Decimal | None = None

    def problem(self) -> str | None:
        """Why this leg's liquidation cannot be estimated, or None."""
        if self.mark_price is None or self.mark_price <= 0:
            return f"mark price unknown ({self.mark_price})"
        if self.entry_price <= 0:
            return f"entry price unknown ({self.entry_price})"
        if self.wallet_margin_quote is None and self.leverage < 1:
            return f"leverage ({self.leverage}) below 1 and no wallet margin"
        return None

    @property
    def margin_quote(self) -> Decimal:
        if self.wallet_margin_quote is not None:
            return self.wallet_margin_quote
        return abs(self.amount) * self.entry_price / self.leverage

    @property
    def equity_quote(self) -> Decimal:
        """Margin plus unrealised PnL at mark (quote); only for legs without a `problem()`."""
        assert self.mark_price is not None
        return self.margin_quote + self.amount * (self.mark_price - self.entry_price)


_new_object = object.__new__


def leg_risk(
    pair_id: str,
    connector: str,
    token: str,
    amount: Decimal,
    entry_price: Decimal,
    mark_price: Decimal | None,
    leverage: Decimal,
    wallet_margin_quote: Decimal | None = None,
    quote_asset: str | None = None,
    lot_size_base: Decimal | None = None,
) -> LegRisk:
    """`LegRisk(...)`, equal in every field, built without the frozen dataclass's `__init__` (one
    `object.__setattr__` per field, ~8 µs here): the shell builds one per open perp leg every tick."""
    leg = _new_object(LegRisk)
    d = leg.__dict__
    d["pair_id"], d["connector"], d["token"], d["amount"] = pair_id, connector, token, amount
    d["entry_price"], d["mark_price"], d["leverage"] = entry_price, mark_price, leverage
    d["wallet_margin_quote"], d["quote_asset"], d["lot_size_base"] = wallet_margin_quote, quote_asset, lot_size_base
    return leg


@dataclass(frozen=True)
class LegReport:
    """Liquidation view of one leg; prices in quote, distance in % of mark, margin ratio as a fraction.

    `status`: ok | near_liquidation | unknown (N/A, never "safe") | spot. `bracket_source`: "binance" or
    "proxy:binance". `note` says why values are N/A.
    """

    pair_id: str
    connector: str
    token: str
    amount: Decimal
    mark_price: Decimal | None
    liquidation_price: Decimal | None
    distance_pct: Decimal | None
    margin_ratio: Decimal | None
    bracket_source: str | None
    status: str
    note: str = ""


def _leg_report(
    pair_id: str,
    connector: str,
    token: str,
    amount: Decimal,
    mark_price: Decimal | None,
    liquidation_price: Decimal | None,
    distance_pct: Decimal | None,
    margin_ratio: Decimal | None,
    bracket_source: str | None,
    status: str,
    note: str = "",
) -> LegReport:
    """`LegReport(...)` without the frozen dataclass's `__init__` (as `leg_risk`): one per leg every tick."""
    report = _new_object(LegReport)
    d = report.__dict__
    d["pair_id"], d["connector"], d["token"], d["amount"] = pair_id, connector, token, amount
    d["mark_price"], d["liquidation_price"] = mark_price, liquidation_price
    d["distance_pct"], d["margin_ratio"] = distance_pct, margin_ratio
    d["bracket_source"], d["status"], d["note"] = bracket_source, status, note
    return report


@dataclass(frozen=True)
class ReduceAction:
    """Reduce BOTH legs of `pair_id` by `fraction` (0 < f <= 1) of their amounts, reduce-only; 1 closes the whole
    pair (both legs, hedged, through the lifecycle's close), the usual case: see `RiskGate.check_positions`.

    The shell rounds the at-risk leg's cut up to its lot and the partner's to the nearest lot.
    """

    pair_id: str
    fraction: Decimal
    reason: str

    @property
    def closes_pair(self) -> bool:
        return self.fraction >= 1


@dataclass(frozen=True)
class UnwindAction:
    """Close the filled leg of `pair_id` whose partner never filled (reduce-only)."""

    pair_id: str
    age_s: float
    reason: str


@dataclass(frozen=True)
class RiskAlert:
    name: str
    severity: Severity
    message: str


@dataclass(frozen=True)
class RiskReport:
    """What one tick of the gate decided; `cancel_entry_orders` is True while HALTED."""

    state: TradingState
    halt_reason: str | None
    reduce_actions: tuple[ReduceAction, ...]
    unwind_actions: tuple[UnwindAction, ...]
    cancel_entry_orders: bool
    legs: tuple[LegReport, ...]
    alerts: tuple[RiskAlert, ...]


# --- checks: each returns a reason or None ---------------------------------------------------------
def error_burst_reason(error_count: int, max_errors: int, window_s: int) -> str | None:
    if error_count >= max_errors:
        return f"error burst: {error_count} errors within {window_s}s (max_errors_per_window={max_errors})"
    return None


def drawdown_reason(peak_quote: Decimal, equity_quote: Decimal, max_drawdown_quote: Decimal) -> str | None:
    drawdown = peak_quote - equity_quote
    if drawdown >= max_drawdown_quote:
        return (
            f"drawdown {drawdown} quote from peak {peak_quote} to {equity_quote} "
            f"(limit {max_drawdown_quote}: the tighter of max_drawdown_quote and max_drawdown_pct)"
        )
    return None


def daily_loss_reason(
    day_start_equity_quote: Decimal, equity_quote: Decimal, max_daily_loss_pct: Decimal
) -> str | None:
    """Loss since the UTC day began, as a share of that day's starting equity: halts at `max_daily_loss_pct` %.

    Example: day start 10000, equity 9690, limit 3 % -> loss 310 = 3.1 % >= 3 % -> a reason. A gain never trips."""
    if day_start_equity_quote <= 0:
        return None
    loss = day_start_equity_quote - equity_quote
    loss_pct = loss / day_start_equity_quote * 100
    if loss_pct >= max_daily_loss_pct:
        return (
            f"daily loss {loss} quote ({loss_pct:.2f}% of the day's starting equity {day_start_equity_quote}; "
            f"max_daily_loss_pct={max_daily_loss_pct})"
        )
    return None


def utc_day(ts: float) -> int:
    """Days since the epoch (UTC) of a timestamp in seconds: the daily-loss window resets when this changes."""
    return int(ts // 86400)


def stale_reason(ts: float, last_update_ts: float | None, stale_data_s: int) -> str | None:
    if last_update_ts is None:
        return "no funding/book data received"
    age = ts - last_update_ts
    return f"data {age:.0f}s old (stale_data_s={stale_data_s})" if age > stale_data_s else None


def liquidation_reason(report: LegReport, min_distance_pct: Decimal) -> str | None:
    if report.distance_pct is None or report.distance_pct >= min_distance_pct:
        return None
    return (
        f"{report.connector} {report.token} liquidation at {report.liquidation_price:.8g}, "
        f"{report.distance_pct:.2f}% from mark {report.mark_price} "
        f"(min_liquidation_distance_pct={min_distance_pct})"
    )


def _action_reason(fraction: Decimal, reason: str) -> str:
    """The reason a `ReduceAction` carries: says whether the whole pair is closed or cut, and why."""
    if fraction >= 1:
        return (
            f"{reason}: closing the whole pair (isolated margin is released pro rata, so a partial cut would leave "
            "the rest's liquidation price where it is)"
        )
    return f"{reason}: cutting {fraction:.4f} of the pair (the rest falls into a lower maintenance bracket)"


def single_leg_reason(ts: float, opened_ts: float, timeout_s: int) -> str | None:
    age = ts - opened_ts
    if age > timeout_s:
        return f"single leg open {age:.0f}s without its partner (single_leg_timeout_s={timeout_s})"
    return None


_ONE = Decimal(1)
CUT_MARGIN = Decimal("1.2")  # a partial cut leaves the rest this x min_liquidation_distance_pct away: no re-cut
LIQ_MEMO_MAX = 10_000  # legs whose liquidation price is remembered before the memo starts over


class RiskGate:
    """Applies the checks above to one strategy's state (see the module docstring for the states)."""

    def __init__(self, settings: FundingArbSettings, brackets: MarginBrackets | None = None) -> None:
        """`brackets` None loads the shared Binance table (`margin.BRACKETS_RELPATH`) beside the project
        home, else beside this checkout; `MarginBrackets({})` runs without any (every leg reports N/A).

        Raises:
            MarginDataError: the bracket file is missing or malformed (a configuration stop).
        """
        self.settings = settings
        if brackets is None:
            home = os.environ.get("FUNDING_ARB_HOME")
            brackets = MarginBrackets.load(locate_brackets(*([Path(home)] if home else [])))
        self.brackets = brackets
        self.halt_reason: str | None = None
        self.halted_ts: float | None = None
        self.peak_equity_quote: Decimal | None = None
        self.last_equity_quote: Decimal | None = None
        self.paused = False
        self.day: int | None = None  # utc_day() of day_start_equity_quote
        self.day_start_equity_quote: Decimal | None = None
        self.revision = 0  # grows whenever the state `export_state` returns changes
        self.stale_venues: dict[str, str] = {}
        self.leg_reports: tuple[LegReport, ...] = ()
        self._errors: deque[tuple[float, str, str]] = deque()  # (ts, kind, redacted detail)
        self._staleness_checked_ts: float | None = None
        self._known_venues: set[str] = set()
        self._pending_reduce: set[str] = set()
        self._timed_out: set[str] = set()
        self._alerts: dict[str, list[RiskAlert]] = {}  # fixed domains, each replaced by its own check
        # per-tick lookups whose inputs rarely change (the mark moves every tick, the rest on fills only)
        self._tables: dict[tuple[str, str, str], BracketTable | None] = {}  # (connector, token, quote) -> table
        self._spot: dict[str, bool] = {}  # connector -> is a spot venue
        self._venue_names: tuple[str, ...] | None = None  # venues of the last staleness check's mapping
        self._venues_set: set[str] = set()  # those and the configured ones (read only)
        self._venues_sorted: tuple[str, ...] = ()  # the same, sorted
        # (pair id, connector) -> (amount, entry price, margin, table, liquidation price) of the leg's last check
        self._liq: dict[tuple[str, str], tuple[Decimal, Decimal, Decimal, BracketTable, Decimal | None]] = {}
        self._fresh: dict[str, str | None] = {}  # venue -> `fresh_leg_reason` (settings and tables are fixed)

    @property
    def state(self) -> TradingState:
        if self.halt_reason is not None:
            return TradingState.HALTED
        return TradingState.REDUCING if self._pending_reduce else TradingState.ACTIVE

    def _halt(self, ts: float, reason: str) -> None:
        if self.halt_reason is None:
            self.halt_reason, self.halted_ts = redact(reason), ts
            self.revision += 1
            logger.warning("risk_halt ts=%s reason=%r", ts, self.halt_reason)
        self._alerts["halt"] = [
            RiskAlert(ALERT_PREFIX + "halted", Severity.CRITICAL, f"trading halted: {self.halt_reason}")
        ]

    def resume(self, ts: float) -> None:
        """Operator action: clear the halt and the pause, forget counted errors, restart the drawdown peak and the
        day's starting equity at the current equity."""
        logger.warning("risk_resume ts=%s cleared_reason=%r paused=%s", ts, self.halt_reason, self.paused)
        self.halt_reason = self.halted_ts = None
        self.paused = False
        self._errors.clear()
        self.peak_equity_quote = self.last_equity_quote
        if self.last_equity_quote is not None:
            self.day, self.day_start_equity_quote = utc_day(ts), self.last_equity_quote
        self._alerts.pop("halt", None)
        self.revision += 1

    def halt(self, ts: float, reason: str) -> None:
        """Operator or kill-switch halt: latched like every halt, cleared only by `resume()`."""
        self._halt(ts, reason)

    def pause(self, ts: float) -> None:
        """Operator pause: new entries denied until `resume()`; exits, reductions and unwinds still run."""
        if not self.paused:
            self.paused = True
            self.revision += 1
            logger.warning("risk_pause ts=%s", ts)

    # --- persistence ------------------------------------------------------------------------------
    def export_state(self) -> dict[str, Any]:
        """What must survive a restart, JSON-ready (Decimals as text)."""

        def d(x: Decimal | None) -> str | None:
            return None if x is None else str(x)

        return {
            "trading_state": self.state.value,
            "halt_reason": self.halt_reason,
            "halted_ts": self.halted_ts,
            "paused": self.paused,
            "peak_equity_quote": d(self.peak_equity_quote),
            "last_equity_quote": d(self.last_equity_quote),
            "day": self.day,
            "day_start_equity_quote": d(self.day_start_equity_quote),
            "errors": [list(e) for e in self._errors],
        }

    def restore_state(self, doc: Mapping[str, Any]) -> None:
        """Restore `export_state()` output (at start, before the first tick). A halt comes back latched."""

        def d(x: object) -> Decimal | None:
            return None if x is None else Decimal(str(x))

        reason = doc.get("halt_reason")
        self.halt_reason = str(reason) if reason is not None else None
        halted = doc.get("halted_ts")
        self.halted_ts = float(halted) if isinstance(halted, (int, float)) else None
        self.paused = bool(doc.get("paused", False))
        self.peak_equity_quote = d(doc.get("peak_equity_quote"))
        self.last_equity_quote = d(doc.get("last_equity_quote"))
        day = doc.get("day")
        self.day = int(day) if isinstance(day, (int, float)) else None
        self.day_start_equity_quote = d(doc.get("day_start_equity_quote"))
        errors = doc.get("errors") or []
        self._errors = deque((float(e[0]), str(e[1]), str(e[2])) for e in errors)
        if self.halt_reason is not None:
            self._alerts["halt"] = [
                RiskAlert(ALERT_PREFIX + "halted", Severity.CRITICAL, f"trading halted: {self.halt_reason}")
            ]
        logger.warning(
            "risk_restored halted=%r paused=%s peak=%s day_start=%s errors=%d",
            self.halt_reason,
            self.paused,
            self.peak_equity_quote,
            self.day_start_equity_quote,
            len(self._errors),
        )

    # --- errors -----------------------------------------------------------------------------------
    def error_count(self, ts: float) -> int:
        """Errors within the last `error_window_s` seconds; older ones are dropped."""
        horizon = ts - self.settings.error_window_s
        while self._errors and self._errors[0][0] <= horizon:
            self._errors.popleft()
        return len(self._errors)

    def record_error(self, ts: float, kind: str, detail: str) -> str | None:
        """Count an order reject / venue error; returns the halt reason if this one completes a burst."""
        detail = redact(detail)
        self._errors.append((ts, kind, detail))
        self.revision += 1
        logger.info("risk_error ts=%s kind=%s detail=%r", ts, kind, detail)
        reason = error_burst_reason(
            self.error_count(ts), self.settings.max_errors_per_window, self.settings.error_window_s
        )
        if reason:
            self._halt(ts, f"{reason}; last: {kind}: {detail}")
        return reason

    # --- equity -----------------------------------------------------------------------------------
    def update_equity(self, ts: float, equity_quote: Decimal | None) -> str | None:
        """Track peak equity (quote); halt `portfolio.drawdown_limit_quote` below it. None = unknown: alert only."""
        if equity_quote is None:
            self._alerts["equity"] = [
                RiskAlert(
                    ALERT_PREFIX + "equity_unknown",
                    Severity.WARNING,
                    "account equity unknown: drawdown limit not evaluated",
                )
            ]
            return None
        self._alerts["equity"] = []
        self.last_equity_quote = equity_quote
        if self.peak_equity_quote is None or equity_quote > self.peak_equity_quote:
            self.peak_equity_quote = equity_quote
            self.revision += 1
        if self.day != utc_day(ts) or self.day_start_equity_quote is None:
            self.day, self.day_start_equity_quote = utc_day(ts), equity_quote
            self.revision += 1
        reason = drawdown_reason(self.peak_equity_quote, equity_quote, drawdown_limit_quote(self.settings))
        reason = reason or daily_loss_reason(
            self.day_start_equity_quote, equity_quote, self.settings.max_daily_loss_pct
        )
        if reason:
            self._halt(ts, reason)
        return reason

    @property
    def drawdown_quote(self) -> Decimal | None:
        if self.peak_equity_quote is None or self.last_equity_quote is None:
            return None
        return self.peak_equity_quote - self.last_equity_quote

    # --- staleness --------------------------------------------------------------------------------
    def check_staleness(self, ts: float, last_update_ts_by_venue: Mapping[str, float | None]) -> dict[str, str]:
        """Block entries on venues whose funding/book data is older than `stale_data_s`; {venue: reason}.

        Configured venues absent from the mapping (or None) count as stale; all stale -> HALTED. A stale
        venue holding open legs raises a critical alert, otherwise a warning.
        """
        names = tuple(last_update_ts_by_venue)
        if names != self._venue_names:  # the same venues as last tick (the usual case): their sorted set is known
            self._venue_names = names
            self._venues_set = set(self.settings.all_connectors) | set(names)
            self._venues_sorted = tuple(sorted(self._venues_set))
        venues, stale_data_s = self._venues_sorted, self.settings.stale_data_s
        stale = {}
        for v in venues:
            reason = stale_reason(ts, last_update_ts_by_venue.get(v), stale_data_s)
            if reason:
                stale[v] = reason
        self.stale_venues, self._known_venues, self._staleness_checked_ts = stale, self._venues_set, ts
        with_legs = {r.connector for r in self.leg_reports} if stale else set()
        self._alerts["staleness"] = [
            RiskAlert(
                f"{ALERT_PREFIX}stale_data.{v}",
                Severity.CRITICAL if v in with_legs else Severity.WARNING,
                f"{v}: {r}; entries blocked" + (" (open legs here)" if v in with_legs else ""),
            )
            for v, r in stale.items()
        ]
        if venues and len(stale) == len(venues):
            self._halt(ts, "all venues stale: " + ", ".join(f"{v} ({r})" for v, r in stale.items()))
        return stale

    # --- positions --------------------------------------------------------------------------------
    def _table(self, leg: LegRisk) -> BracketTable | None:
        """The leg's bracket table (`MarginBrackets.resolve`), looked up once per market."""
        quote = leg.quote_asset or self.settings.quote_assets.get(leg.connector)
        if not quote:
            return None
        key = (leg.connector, leg.token, quote)
        try:
            return self._tables[key]
        except KeyError:
            table = self._tables[key] = self.brackets.resolve(leg.connector, leg.token, quote)
            return table

    def _is_spot(self, connector: str) -> bool:
        if connector not in self._spot:
            spec = venue_spec(connector)
            self._spot[connector] = spec is not None and spec.kind == "spot"
        return self._spot[connector]

    def _liquidation_price(self, leg: LegRisk, table: BracketTable, margin: Decimal) -> Decimal | None:
        """`estimate_liquidation_price` with `margin` (the leg's `margin_quote`), computed once per position (it does
        not depend on the mark)."""
        known = self._liq.get((leg.pair_id, leg.connector))
        if known is not None and known[3] is table and known[:3] == (leg.amount, leg.entry_price, margin):
            return known[4]
        liq = estimate_liquidation_price(leg.amount, leg.entry_price, margin, table)
        if len(self._liq) >= LIQ_MEMO_MAX:
            self._liq.clear()
        self._liq[(leg.pair_id, leg.connector)] = (leg.amount, leg.entry_price, margin, table, liq)
        return liq

    def _report(self, leg: LegRisk, table: BracketTable | None) -> LegReport:
        def na(status: str, note: str) -> LegReport:
            return _leg_report(
                leg.pair_id, leg.connector, leg.token, leg.amount, leg.mark_price, None, None, None, None, status, note
            )

        if leg.leverage <= 1 and self._is_spot(leg.connector):
            return na("spot", "unleveraged spot leg: no liquidation")
        problem = leg.problem()
        if problem is not None or table is None:
            return na("unknown", problem or f"no margin brackets for {leg.token}, not even a Binance proxy")
        mark, amount = leg.mark_price, leg.amount
        assert mark is not None
        margin = leg.margin_quote
        liq = self._liquidation_price(leg, table, margin)
        assert liq is not None  # a table was given
        dist = liquidation_distance_pct(mark, liq, is_long=amount > 0)
        equity = margin + amount * (mark - leg.entry_price)  # `LegRisk.equity_quote`, its margin computed once
        ratio = margin_ratio(table.maintenance_margin(abs(amount) * mark), equity)
        status = "ok" if dist >= self.settings.min_liquidation_distance_pct else "near_liquidation"
        return _leg_report(
            leg.pair_id, leg.connector, leg.token, leg.amount, leg.mark_price, liq, dist, ratio, table.source, status
        )

    def check_positions(self, ts: float, legs: Sequence[LegRisk]) -> list[ReduceAction]:
        """Estimate each leg's liquidation; act on pairs nearer than `min_liquidation_distance_pct`.

        A pair's fraction is the largest any of its legs needs (`margin.reduce_fraction_for_distance`, with the
        margin released pro rata as the venue does: the rest liquidates at least `CUT_MARGIN` x the threshold
        away). An isolated position's liquidation price does not move when part of it is closed (same entry, same
        margin per unit), so the answer is 1, close the whole pair, unless the rest falls into a lower maintenance
        bracket; more margin (lower leverage) is `leverage.guard_leg`'s, before this cut. State is REDUCING while
        any is pending. Legs with an unknown liquidation price get status "unknown" and an alert; they are not
        treated as safe.
        """
        min_pct = self.settings.min_liquidation_distance_pct
        reports, alerts = [], []
        fractions: dict[str, Decimal] = {}
        reasons: dict[str, str] = {}
        for leg in legs:
            if leg.amount == 0:
                continue
            table = self._table(leg)
            report = self._report(leg, table)
            reports.append(report)
            if report.status == "unknown":
                alerts.append(
                    RiskAlert(
                        f"{ALERT_PREFIX}liquidation_unknown.{leg.pair_id}.{leg.connector}",
                        Severity.WARNING,
                        f"{leg.connector} {leg.token}: liquidation price N/A ({report.note}); "
                        "not protected by the liquidation check",
                    )
                )
            reason = liquidation_reason(report, min_pct)
            if reason is None or table is None or leg.mark_price is None:
                continue
            fraction = reduce_fraction_for_distance(
                leg.amount, leg.entry_price, leg.margin_quote, leg.mark_price, min_pct * CUT_MARGIN, table,
                leg.lot_size_base,
            )  # fmt: skip
            if fraction > fractions.get(leg.pair_id, Decimal(0)):
                fractions[leg.pair_id], reasons[leg.pair_id] = fraction, reason
            alerts.append(
                RiskAlert(f"{ALERT_PREFIX}liquidation_near.{leg.pair_id}.{leg.connector}", Severity.CRITICAL, reason)
            )
        self.leg_reports = tuple(reports)
        self._alerts["positions"] = alerts
        actions = [ReduceAction(p, f, _action_reason(f, reasons[p])) for p, f in fractions.items() if f > 0]
        self._pending_reduce = {a.pair_id for a in actions}
        return actions  # asked every tick while it holds: the shell logs the one reduction it sends (`risk_reduce`)

    # --- single legs ------------------------------------------------------------------------------
    def check_single_leg(self, ts: float, open_legs_without_partner: Sequence[tuple[str, float]]) -> list[UnwindAction]:
        """`UnwindAction` for each (pair_id, opened_ts) older than `single_leg_timeout_s`, every tick until
        the leg is gone. Each timeout counts once as an error ("single_leg_timeout"), so repeats halt."""
        actions, overdue = [], set()
        for pair_id, opened_ts in open_legs_without_partner:
            reason = single_leg_reason(ts, opened_ts, self.settings.single_leg_timeout_s)
            if reason is None:
                continue
            overdue.add(pair_id)
            actions.append(UnwindAction(pair_id, ts - opened_ts, reason))
            if pair_id not in self._timed_out:
                logger.warning("risk_unwind ts=%s pair=%s reason=%r", ts, pair_id, reason)
                self.record_error(ts, "single_leg_timeout", f"{pair_id}: {reason}")
        self._timed_out = overdue
        self._alerts["single_leg"] = [
            RiskAlert(f"{ALERT_PREFIX}single_leg.{a.pair_id}", Severity.CRITICAL, f"{a.pair_id}: {a.reason}")
            for a in actions
        ]
        return actions

    # --- entry gate -------------------------------------------------------------------------------
    def allow_entry(self, ts: float, venues: Iterable[str]) -> str | None:
        """None if a new pair may be opened on `venues` now, else the denial reason.

        The text before the first ":" is a bounded code (halted, reducing, unchecked, stale,
        unknown_venue, paused, leverage), fit for a metric label; the rest is for people.
        """
        if self.halt_reason is not None:
            return f"halted: {self.halt_reason}"
        if self.paused:
            return "paused: operator pause (funding-arb ctl resume to trade again)"
        if self._pending_reduce:
            return f"reducing: pairs {sorted(self._pending_reduce)} are near liquidation"
        checked = self._staleness_checked_ts
        if checked is None or ts - checked > self.settings.stale_data_s:
            return "unchecked: data freshness not checked within stale_data_s (call check_staleness)"
        for v in venues:
            if v not in self._known_venues:
                return f"unknown_venue: {v} was not in the last staleness check"
            if v in self.stale_venues:
                return f"stale: {v}: {self.stale_venues[v]}"
            too_near = self.fresh_leg_reason(v)
            if too_near is not None:
                return f"leverage: {too_near}"
        return None

    def fresh_leg_reason(self, venue: str) -> str | None:
        """Why a new perp leg on `venue` would start within `CUT_MARGIN` x `min_liquidation_distance_pct` of its
        liquidation (fixed leverage mode: the configured `leverage`, any configured token, a short of
        `order_amount_quote`, the nearer side), or None. Such a leg would be closed whole at once or on the first
        small move (a partial cut cannot help), then opened again: entries there are denied instead. Computed once
        per venue."""
        if venue not in self._fresh:
            self._fresh[venue] = self._fresh_leg_check(venue)
        return self._fresh[venue]

    def _fresh_leg_check(self, venue: str) -> str | None:
        s = self.settings
        leverage = s.leverage.get(venue)
        quote = s.quote_assets.get(venue)
        if s.leverage_mode != LEVERAGE_FIXED or leverage is None or not quote or self._is_spot(venue):
            return None
        min_pct = s.min_liquidation_distance_pct
        tables = ((token, self.brackets.resolve(venue, token, quote)) for token in s.tokens)
        found = fresh_short_too_near(leverage, s.order_amount_quote, min_pct * CUT_MARGIN, tables)
        if found is None:  # (`funding-arb check-config` reports the same as a config error: fixed_leverage_problems)
            return None
        token, distance = found
        return (
            f"{venue} at {leverage}x puts a new {token} short {distance:.2f}% from liquidation, within "
            f"{CUT_MARGIN} x min_liquidation_distance_pct={min_pct} (lower `leverage`)"
        )

    def alerts(self) -> list[RiskAlert]:
        """Active risk alerts (named `risk.…`): `MetricsRegistry.sync_alerts(ts, gate.alerts(), "risk.")`."""
        return [a for domain in self._alerts.values() for a in domain]

    # --- one tick ---------------------------------------------------------------------------------
    def evaluate(
        self,
        ts: float,
        *,
        equity_quote: Decimal | None,
        last_update_ts_by_venue: Mapping[str, float | None],
        legs: Sequence[LegRisk],
        unpaired_legs: Sequence[tuple[str, float]],
    ) -> RiskReport:
        """Run every check in order and return what the shell must do this tick."""
        reduces = self.check_positions(ts, legs)
        self.check_staleness(ts, last_update_ts_by_venue)
        self.update_equity(ts, equity_quote)
        unwinds = self.check_single_leg(ts, unpaired_legs)
        halted = self.state is TradingState.HALTED
        report = _new_object(RiskReport)  # = RiskReport(...) without its frozen __init__ (one per tick)
        report.__dict__.update(
            state=self.state,
            halt_reason=self.halt_reason,
            reduce_actions=tuple(reduces),
            unwind_actions=tuple(unwinds),
            cancel_entry_orders=halted,
            legs=self.leg_reports,
            alerts=tuple(self.alerts()),
        )
        return report
