"""Volatility-chosen leverage on the connectors, and the guard that acts before the risk gate (shell side).

`leverage_mode: volatility` (`core.leverage` has the rule). Each `leverage_recheck_s` the leverage of every perp
market is re-chosen from the edge engine's price history; a market without a held leg is set to it
(`strategy.set_leverage`), a market with one is only ever lowered (raising it would re-margin the open position
nearer to liquidation). The engine sizes and ranks with these values (`EdgeEngine.market_leverage`).

Every tick the guard looks at each hedged pair's perp legs: one nearer to liquidation than the volatility threshold
(always above `min_liquidation_distance_pct`, the risk gate's cut) first gets a lower leverage (more margin, no
trade); the change is verified on the next tick with `get_leverage` and, if the venue refused it, or the leg is
already at 1x, the WHOLE pair is closed, both legs hedged, through the lifecycle (`LegExecutor.reduce_pair` with
fraction 1): the venue releases an isolated position's margin pro rata, so a partial cut would leave the rest's
liquidation price where it is (a partial cut only when the rest falls into a lower maintenance bracket). A refusal
(and its alert) lasts until the venue confirms a later change on that market.
Each action is an event (`leverage_lowered`, `leverage_reduction` with reason `volatility`) and a journal
transition (the reduction's reason). `leverage_mode: fixed` leaves everything as configured.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Optional

from ..core.leverage import (
    ACTION_LOWER,
    LEVERAGE_VOLATILITY,
    GuardAction,
    GuardParams,
    HeldLeg,
    LeverageChoice,
    choose_leverage,
    guard_leg,
    leverage_cap,
)
from ..core.margin import isolated_margin_quote
from ..core.venues import venue_spec
from .state import PairState

if TYPE_CHECKING:  # pragma: no cover
    from .runtime import FundingArbRuntime

log = logging.getLogger(__name__)
Market = tuple[str, str]


class LeverageControl:
    """Per-market leverage (volatility mode) and the pre-emptive guard; a no-op in fixed mode."""

    def __init__(self, runtime: FundingArbRuntime) -> None:
        self.rt = runtime
        s = runtime.settings
        self.enabled = s.leverage_mode == LEVERAGE_VOLATILITY
        self.params = GuardParams(
            s.liquidation_distance_vol_multiple, s.min_liquidation_distance_pct, s.leverage_guard_hysteresis_pct
        )
        self.current: dict[Market, int] = {}  # leverage requested per market
        self.choices: dict[Market, LeverageChoice] = {}
        self._pending: dict[Market, tuple[int, float]] = {}  # lowered, awaiting the venue's confirmation
        self._refused: set[Market] = set()  # the venue refused a lower leverage: reduce instead
        self._planned_ts: Optional[float] = None
        self.lowered = 0  # leverage lowerings on held markets (plan and guard)
        self.reductions = 0  # hedged reductions asked by the guard

    # --- leverage per market --------------------------------------------------------------------------------
    def start(self) -> None:
        """First ready tick: every market without a held leg at 1x until its volatility is known (the conservative
        choice). A market holding a leg (after a restart) is assumed at the configured maximum, the nearest its
        liquidation can be (connectors do not report the venue's leverage), until the first plan lowers it."""
        if not self.enabled:
            return
        held = self._held_markets()
        for name in self.rt.settings.perp_connectors:
            for token in self.rt.settings.tokens:
                market = (name, self.rt.settings.trading_pair(name, token))
                if market in held:
                    self.current[market] = self._restored_leverage(market, self.rt.settings.leverage[name])
                else:
                    self._set(market, 1)

    def _restored_leverage(self, market: Market, configured: int) -> int:
        """After a restart: the leverage a held market's legs were margined at, within [1, configured] (the highest
        if they differ: the nearer liquidation). Each leg's own `leverage` (saved when it is opened and when a
        lowering is confirmed, so a cut's fill cannot make it stale); for a leg without one (a state file older
        than that field) cost / `margin_quote`, as saved by the runtime when the margin changes; the configured
        maximum when neither is known."""
        found: list[Decimal] = []
        for r in self.rt.store.open_records():
            for leg in r.legs():
                if (leg.connector, leg.trading_pair) != market:
                    continue
                if leg.leverage is not None:
                    found.append(Decimal(leg.leverage))
                elif leg.margin_quote > 0 and leg.cost_quote > 0:
                    found.append(leg.cost_quote / leg.margin_quote)
        if not found:
            return configured
        return max(1, min(configured, int(max(found).to_integral_value())))

    def stamp(self, record: Any) -> None:
        """A new pair: each perp leg records the leverage its market is at (`leverage_of`: the higher of what the
        venue shows and what was last asked) before its entry orders go out; persisted with the record."""
        for leg in record.legs():
            if leg.kind == "perp":
                leg.leverage = int(self.leverage_of(leg.connector, leg.trading_pair))

    def leverage_of(self, connector: str, pair: str) -> Decimal:
        """The leverage to assume for a market's margin: fixed mode, the configured one; volatility mode, the higher
        of what the connector shows and what was last asked (a lowering not yet confirmed, or refused, counts at the
        old, higher leverage: the nearer liquidation)."""
        configured = self.rt.settings.leverage[connector]
        if not self.enabled:
            return Decimal(configured)
        conn = self.rt.strategy.connectors.get(connector)
        try:
            shown = int(conn.get_leverage(pair)) if conn is not None else None
        except Exception:  # an unreadable leverage is unknown, not 0
            shown = None
        if shown is None or shown < 1:  # unknown: what was last asked, else the configured maximum
            return Decimal(self.current.get((connector, pair), configured))
        return Decimal(max(shown, self.current.get((connector, pair), 1)))

    def plan(self, ts: float) -> None:
        """Re-choose every market's leverage each `leverage_recheck_s`; push it to the venues and the engine."""
        if not self.enabled:
            return
        if self._planned_ts is not None and 0 <= ts - self._planned_ts < self.rt.settings.leverage_recheck_s:
            return
        self._planned_ts = ts
        held = self._held_markets()
        for name in self.rt.settings.perp_connectors:
            for token in self.rt.settings.tokens:
                market = (name, self.rt.settings.trading_pair(name, token))
                choice = self._choose(market, token)
                if choice is None:
                    continue
                self.choices[market] = choice
                now = self.current.get(market, 1)
                if market in held:  # only ever lowered under an open position (raising moves liquidation nearer)
                    if choice.leverage < now and market not in self._pending:
                        reason = f"volatility re-checked: {choice.leverage}x keeps {choice.distance_pct:.2f}% "
                        self._lower(ts, held[market], market, choice.leverage, reason + f"({choice.status})")
                elif choice.leverage != now:
                    log.info("leverage market=%s/%s %s->%s status=%s", *market, now, choice.leverage, choice.status)
                    self._set(market, choice.leverage)
                    if market in self._refused:  # verified like a lowering: only a confirmed change clears it
                        self._pending[market] = (choice.leverage, ts)
        self.rt.engine.market_leverage = {m: Decimal(v) for m, v in self.current.items()}

    def _choose(self, market: Market, token: str) -> Optional[LeverageChoice]:
        s, (name, _) = self.rt.settings, market
        table = self.rt.risk.brackets.resolve(name, token, s.quote_assets[name])
        if table is None:  # no maintenance brackets: distance unknown, keep 1x
            return None
        spec = venue_spec(name)
        cap = leverage_cap(s.leverage[name], spec.max_leverage if spec else None, table, s.order_amount_quote)
        vol = self.rt.engine.volatility.hourly_vol_pct_over(market, s.leverage_vol_lookback_hours * 3600)
        return choose_leverage(
            vol,
            multiple=s.liquidation_distance_vol_multiple,
            horizon_hours=s.leverage_vol_horizon_hours,
            cap=cap,
            notional_quote=s.order_amount_quote,
            table=table,
            close_fee=spec.taker_fee if spec else Decimal(0),
        )

    def _set(self, market: Market, leverage: int) -> None:
        self.rt.strategy.set_leverage(market[0], market[1], leverage)
        self.current[market] = leverage
        self.rt.engine.market_leverage[market] = Decimal(leverage)

    def _held_markets(self) -> dict[Market, Any]:
        """Perp markets with an open pair's leg -> one such pair (for the event)."""
        return {
            (leg.connector, leg.trading_pair): r
            for r in self.rt.store.open_records()
            for leg in r.legs()
            if leg.kind == "perp"
        }

    # --- the guard on held legs -----------------------------------------------------------------------------
    def guard(self, ts: float) -> None:
        """Lower leverage, or close the pair, of hedged pairs whose perp legs near the volatility threshold."""
        if not self.enabled:
            return
        self._confirm(ts)
        for r in self.rt.store.open_records():
            if r.state is not PairState.HEDGED or self.rt.executor.has_pending(r):
                continue
            try:
                self._guard_pair(ts, r)
            except Exception as e:  # one pair's bad figures never stop the others'
                log.exception("leverage_guard_failed pair=%s", r.pair_id)
                self.rt._record_error(ts, "risk_exception", f"{r.pair_id}: leverage guard: {e!r}")

    def _guard_pair(self, ts: float, r: Any) -> None:
        reduce: Optional[GuardAction] = None
        for leg in r.legs():
            market = (leg.connector, leg.trading_pair)
            held = self._held_leg(r.token, leg, market)
            if held is None or market in self._pending:
                continue
            choice = self.choices.get(market)
            action = self._action(held, market, choice.sigma_horizon_pct if choice else None)
            if action is None:
                continue
            if action.action == ACTION_LOWER and action.leverage is not None:
                self._lower(ts, r, market, action.leverage, action.reason)
            elif reduce is None or (action.fraction or 0) > (reduce.fraction or 0):
                reduce = action
        if reduce is not None and reduce.fraction is not None and reduce.fraction > 0:
            self.rt.metrics.inc("leverage_reductions", reason="volatility")
            self.rt.metrics.event(
                ts, "leverage_reduction", f"{r.pair_id}: {reduce.reason}", pair_id=r.pair_id, token=r.token,
                reason="volatility",
            )  # fmt: skip
            self.reductions += 1
            self.rt.executor.reduce_pair(r, ts, reduce.fraction, f"volatility guard: {reduce.reason}")

    def _action(self, held: HeldLeg, market: Market, sigma: Optional[Decimal]) -> Optional[GuardAction]:
        if market in self._refused:  # the venue would not take more margin: behave as at 1x (reduce)
            held = replace(held, leverage=1)
        return guard_leg(held, sigma, self.params)

    def _held_leg(self, token: str, leg: Any, market: Market) -> Optional[HeldLeg]:
        if leg.kind != "perp" or leg.filled_base == 0 or not leg.avg_entry_price:
            return None
        table = self.rt.risk.brackets.resolve(leg.connector, token, self.rt.settings.quote_assets[leg.connector])
        mark = self.rt._mark(*market)
        if table is None or mark is None:
            return None  # the risk gate reports such a leg as unknown and alerts
        lev = self.leverage_of(*market)
        margin = isolated_margin_quote(leg.filled_base, leg.avg_entry_price, lev)  # as the venue holds it now
        lot = self.rt._markets.get(market)
        return HeldLeg(
            leg.filled_base, leg.avg_entry_price, mark, margin, int(lev), table, lot.rules.lot_size if lot else None
        )

    def _lower(self, ts: float, r: Any, market: Market, leverage: int, reason: str) -> None:
        """Lower a held market's leverage (the venue adds margin); verified by `_confirm` on the next tick."""
        self._pending[market] = (leverage, ts)
        self._set(market, leverage)
        self.lowered += 1
        self.rt.metrics.event(
            ts, "leverage_lowered", f"{r.pair_id}: {market[0]} {market[1]}: {reason}", pair_id=r.pair_id,
            token=r.token, reason="volatility",
        )  # fmt: skip
        log.warning("leverage_lowered pair=%s market=%s/%s %s", r.pair_id, *market, reason)

    def _note_legs(self, market: Market, leverage: int) -> None:
        """The venue confirmed `leverage` on a market: its held legs are margined at it from now on (saved at once,
        so a restart recovers it even if a cut fills before the runtime's next margin save)."""
        legs = [
            leg
            for r in self.rt.store.open_records()
            for leg in r.legs()
            if (leg.connector, leg.trading_pair) == market and leg.leverage != leverage
        ]
        for leg in legs:
            leg.leverage = leverage
        if legs:
            self.rt.store.save()

    def _confirm(self, ts: float) -> None:
        """A lowered leverage the connector does not show by the next tick was refused (e.g. too little free
        margin): alert, and close that market's pairs from now on (`_action`). The refusal (and its alert) lasts
        until the venue confirms a later change on that market, held or not (`plan` asks again each re-check):
        raised once, cleared once, never toggled by the pairs opening and closing in between."""
        for market, (wanted, asked_ts) in list(self._pending.items()):
            if ts <= asked_ts:
                continue
            del self._pending[market]
            conn = self.rt.strategy.connectors.get(market[0])
            try:
                actual = int(conn.get_leverage(market[1])) if conn is not None else None
            except Exception:
                actual = None
            if actual is not None and actual <= wanted:
                self._note_legs(market, actual)
                if market in self._refused:
                    self._refused.discard(market)
                    self.rt.metrics.clear_alert(f"leverage_reduction_failed.{market[0]}.{market[1]}", ts)
                continue
            self._refused.add(market)
            self.current[market] = actual if actual is not None else self.current.get(market, wanted)
            self.rt.metrics.alert(
                f"leverage_reduction_failed.{market[0]}.{market[1]}",
                "critical",
                f"{market[0]} {market[1]}: leverage {wanted}x not confirmed (venue shows {actual}); "
                "closing its pairs instead",
                ts,
            )
