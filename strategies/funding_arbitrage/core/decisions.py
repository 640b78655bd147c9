"""Decisions: `EdgeEngine`, one call per tick from market snapshots to enter/exit actions (pure core).

    engine = EdgeEngine(settings, borrow_providers={"binance": BinanceBorrow(...)})
    decision = engine.evaluate(tick, held)   # held: every pair the shell holds OR is opening

Per tick: (1) `MarketIntake` checks every market and derives funding intervals; (2) per token not held (the
shell holds one pair per token; with switching on, held tokens too: the switch rule compares their pairs) every
candidate (perp-perp across venues, long spot/short perp carry) is screened by an optimistic bound (zero
slippage) and only survivors are sized, costed on their books and judged (`edge.verdict`); (3) persistence;
(4) held pairs are reviewed for exits (`review.HoldReviewer`); (5) persistent candidates are allocated by net
edge % within the exposure caps, at most one entry per token. The engine keeps only bounded state: interval
schedules and price samples per configured market, streak counters, and the EdgeTracker history.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from decimal import Decimal

from .actions import EnterAction, ExitAction, HeldPair, HoldReview, Streaks, TickDecision, tick_decision
from .candidates import EngineParams, TickScratch, coarse_bound, evaluate_pair, min_pair_spread, pair_bound
from .config import FundingArbSettings
from .costs import BorrowProvider
from .edge import EdgeResult, EdgeTracker, OpportunityKind, PairKey, ScreenedPair
from .forecast import forecaster_for
from .funding import FundingView, IntervalTracker
from .holding import ForwardValue
from .market_data import MarketIntake, MarketKey, MarketQuote
from .reasons import REVERSE_CARRY_UNSUPPORTED, ExitReason, Reason, SkipReason
from .recost import Costed, TokenCostings, storable, token_signature
from .review import HoldReviewer, forward_value
from .sizing import FUNDS_BUFFER, ExposureBook, VenueFunds, VolatilityTracker
from .snapshots import MarketKind, TickSnapshot
from .switching import SwitchMonitor, SwitchParams

__all__ = [
    "REVERSE_CARRY_UNSUPPORTED",
    "EdgeEngine",
    "EnterAction",
    "ExitAction",
    "ExitReason",
    "HeldPair",
    "HoldReview",
    "Reason",
    "SkipReason",
    "TickDecision",
]

logger = logging.getLogger(__name__)

_Candidate = tuple[EdgeResult, MarketQuote, MarketQuote]
_ZERO = Decimal(0)
_BELOW_FLOOR = Reason.FUNDING_BELOW_COST_FLOOR
_new_screened = tuple.__new__  # one ScreenedPair per token most ticks: skip the Python-level constructor
_PASSING = (Reason.ACCEPTED, Reason.AWAITING_PERSISTENCE)


class EdgeEngine:
    """Stateful edge engine. Settings are read at construction (`reconfigure` to change them)."""

    def __init__(
        self,
        settings: FundingArbSettings,
        borrow_providers: Mapping[str, BorrowProvider] | None = None,
        history_per_pair: int = 1000,
    ) -> None:
        self.intervals = IntervalTracker()
        self.volatility = VolatilityTracker()
        self.tracker = EdgeTracker(history_per_pair)
        self._providers = dict(borrow_providers or {})
        self._streaks: Streaks[PairKey] = Streaks()
        self.market_leverage: dict[MarketKey, Decimal] = {}  # volatility mode: set by the shell (core.leverage)
        self._switch = SwitchMonitor()
        self._costings = TokenCostings()  # re-cost only on change (core/recost.py)
        self._reviewer = HoldReviewer()  # held pairs' hold / exit review (core/review.py)
        self.reconfigure(settings)

    def reconfigure(self, settings: FundingArbSettings) -> None:
        """Adopt new settings; interval schedules, price history, streaks and history are kept."""
        self.settings = settings
        self._p = EngineParams.from_settings(settings)
        self._switch_p = SwitchParams.of(
            settings.switch_enabled,
            settings.switch_uncertainty_z,
            settings.switch_min_hold_hours,
            settings.switch_confirm_hours,
        )
        if getattr(self, "_forecast_model", None) != settings.funding_forecast:
            self.forecaster = forecaster_for(settings.funding_forecast)
            self._forecast_model = settings.funding_forecast
        self._intake = MarketIntake(settings, self.intervals, self.volatility)
        self._costings.clear()  # costings depend on every setting: none survives a change
        self._reviewer.reset_costs()

    def funding_views(self) -> tuple[FundingView, ...]:
        """Latest normalised funding per perp market (rate, interval and its source, per hour, APR)."""
        return self._intake.funding_views()

    # --- the tick -------------------------------------------------------------------------------------------
    def evaluate(self, tick: TickSnapshot, held: Sequence[HeldPair] = ()) -> TickDecision:
        """Decide this tick. Never raises on bad market data: such markets are counted in `skipped`."""
        t = TickScratch(tick.ts, self._providers, self._p, self.volatility.hourly_vol_pct, self.forecaster)
        t.market_leverage = self.market_leverage
        by_token, by_key = self._intake.intake(tick, t.skipped)
        observe = self.forecaster.observe
        for q in by_key.values():
            rate, funding = q.rate_per_hour, q.market.funding
            if rate is not None and funding is not None:
                observe(q.key, funding.next_funding_ts, rate)
        candidates: list[_Candidate] = []
        screened: list[ScreenedPair] = []
        screened_out = 0
        held_tokens = {h.token for h in held}
        for token, (perps, spots) in by_token.items():
            if token in held_tokens and not self._switch_p.enabled:
                continue  # one pair per token: no entry can be taken; only the switch rule compares its pairs
            try:
                found, best_screened, n_screened = self._token_costing(t, token, perps, spots)
            except Exception:  # last line: logged, counted, the other tokens still evaluated
                logger.exception("token_skip reason=internal_error token=%s", token)
                t.skipped[SkipReason.INTERNAL_ERROR] += 1
                continue
            candidates += found
            screened_out += n_screened
            if best_screened is not None:
                screened.append(best_screened)
        self._update_streaks(candidates)
        exits, holds = self._reviewer.review(t, self._p, self.forecaster, self._switch_p.enabled, held, by_key)
        passing = [c[0] for c in candidates if c[0].reason in _PASSING]  # switch_confirm_hours is the persistence
        results, enters = self._allocate(t, candidates, held, tick.balances_quote)
        if self._switch_p.enabled:
            exits += self._switches(t, held, holds, exits, passing, results, by_key)
        self.tracker.record(results)
        decision = tick_decision(  # = TickDecision(...) without its frozen __init__
            tick.ts,
            tuple(results),
            tuple(screened),
            tuple(enters),
            tuple(exits),
            tuple(holds),
            dict(t.skipped),
            screened_out,
        )
        _log_decision(decision)
        self.last_tick = (t, by_key)  # status costs the screened pairs on these books on demand (core/explain.py)
        return decision

    def explain_screened(self, screened: Sequence[ScreenedPair]) -> list[EdgeResult]:
        """The screened pairs of the last tick sized and costed on its books (for `status`, never in the tick)."""
        from .explain import cost_screened

        last = getattr(self, "last_tick", None)
        return [] if last is None else cost_screened(last[0], self._p, last[1], screened)

    # --- candidates -----------------------------------------------------------------------------------------
    def _token_costing(self, t: TickScratch, token: str, perps: list[MarketQuote], spots: list[MarketQuote]) -> Costed:
        """The token's last costing while nothing it depends on changed (`core/recost.py`), else a fresh one."""
        quotes = perps + spots
        target = self._switch.target(token) if self._switch_p.enabled else None
        recorded = self.forecaster.recorded
        reused = self._costings.reuse_if_unchanged(token, t, quotes, recorded, target)
        if reused is not None:
            return reused
        costed = Costed(*self._evaluate_token(t, token, perps, spots))
        if storable(costed):  # the signature is built only for a costing that is kept
            self._costings.store(token, t.ts, token_signature(t, quotes, recorded, target), quotes, costed)
        else:
            self._costings.forget(token)
        return costed

    def _evaluate_token(
        self, t: TickScratch, token: str, perps: list[MarketQuote], spots: list[MarketQuote]
    ) -> tuple[list[_Candidate], ScreenedPair | None, int]:
        """Best pair of one token by branch and bound: candidates in order of their optimistic bound, costed
        until the next bound cannot beat the best passing net edge (a bound is never below its net edge)."""
        n_pairs = len(perps) * (len(perps) - 1) // 2 + len(perps) * len(spots)
        if n_pairs == 0:
            return [], None, 0
        floor = self._p.min_edge_frac
        screen = coarse_bound(self._p, perps, spots)
        if screen.bound < floor:
            return [], _screened(token, screen.long, screen.short, screen.bound), n_pairs
        pairs = _pairs(perps, spots, min_pair_spread(self._p, screen, floor))
        bounded = sorted(
            ((pair_bound(t, self._p, lg, sh), lg, sh) for lg, sh in pairs), key=lambda b: b[0], reverse=True
        )
        found: list[_Candidate] = []
        for bound, long, short in bounded:
            if bound < floor:
                break
            result = evaluate_pair(
                t,
                self._p,
                token,
                long,
                short,
                self._p.order_quote,
                self._streaks.count((token, long.key[0], short.key[0])),
            )
            found.append((result, long, short))
            if result.reason in _PASSING and result.net_edge_pct is not None:
                floor = max(floor, result.net_edge_pct / 100)  # later candidates must beat this one
        n_screened = n_pairs - len(found)
        rest = bounded[len(found) :]
        best = rest[0] if rest else (screen.bound, screen.long, screen.short)
        found += self._switch_target(t, token, rest)
        return found, (_screened(token, best[1], best[2], best[0]) if n_screened else None), n_screened

    def _switch_target(
        self, t: TickScratch, token: str, rest: list[tuple[Decimal, MarketQuote, MarketQuote]]
    ) -> list[_Candidate]:
        """The pair a held pair of `token` was just switched for, costed even when a better one ends the search:
        while it is on offer the pair switched out is not re-entered (`SwitchMonitor.blocks`)."""
        target = self._switch.target(token) if self._switch_p.enabled else None
        for bound, long, short in rest if target is not None else ():
            if (token, long.key[0], short.key[0]) == target and bound >= self._p.min_edge_frac:
                streak = self._streaks.count(target)
                return [(evaluate_pair(t, self._p, token, long, short, self._p.order_quote, streak), long, short)]
        return []

    def _update_streaks(self, candidates: list[_Candidate]) -> None:
        self._streaks.update(c[0].key for c in candidates if c[0].reason in _PASSING)

    # --- switches -------------------------------------------------------------------------------------------
    def _switches(
        self,
        t: TickScratch,
        held: Sequence[HeldPair],
        holds: list[HoldReview],
        exits: list[ExitAction],
        passing: list[EdgeResult],
        results: list[EdgeResult],
        by_key: dict[MarketKey, MarketQuote],
    ) -> list[ExitAction]:
        """Held pairs to close for a better pair (`core/switching.py`); none that the hold rule closes already.
        `passing`: candidates that pass the entry rules this tick (persistence aside: the confirmation is)."""

        def notional_of(pair: HeldPair) -> Decimal | None:
            short = by_key.get((pair.short_connector, pair.short_pair))
            return None if short is None else pair.amount_base * short.mark

        def forward_at(pair: HeldPair, hours: Decimal) -> ForwardValue | None:
            long = by_key.get((pair.long_connector, pair.long_pair))
            short = by_key.get((pair.short_connector, pair.short_pair))
            return forward_value(self.forecaster, self._p, pair, long, short, hours)

        costs = {h.pair_id: h.exit_cost_quote for h in holds}
        return self._switch.decide(
            t.ts, self._switch_p, held, costs, {x.pair_id for x in exits}, passing, results, notional_of, forward_at
        )

    # --- allocation -----------------------------------------------------------------------------------------
    def _allocate(
        self,
        t: TickScratch,
        candidates: list[_Candidate],
        held: Sequence[HeldPair],
        balances_quote: Mapping[str, Decimal],
    ) -> tuple[list[EdgeResult], list[EnterAction]]:
        """Best expected value per unit of capital tied first, one entry per token, within the exposure caps
        (counting held pairs and this tick's) and the funds free on each venue (`sizing.VenueFunds`)."""
        if not any(c[0].reason is Reason.ACCEPTED for c in candidates):
            return [c[0] for c in candidates], []  # nothing to place: the caps and funds below would change nothing
        p = self._p
        book = ExposureBook(p.token_cap, p.venue_cap, p.total_cap)
        funds = VenueFunds(balances_quote, p.leverage, FUNDS_BUFFER, t.market_leverage)
        sides: dict[MarketKey, set[str]] = {}
        held_tokens = {h.token for h in held}
        for h in held:
            book.add(h.token, h.long_connector, h.short_connector, h.entry_notional_quote)
            funds.commit(
                h.long_connector,
                h.long_kind is MarketKind.PERP,
                h.short_connector,
                h.entry_notional_quote,
                held=True,
                long_pair=h.long_pair,
                short_pair=h.short_pair,
            )
            sides.setdefault((h.long_connector, h.long_pair), set()).add("long")
            sides.setdefault((h.short_connector, h.short_pair), set()).add("short")
        results = [c[0] for c in candidates]
        order = sorted(
            (i for i, c in enumerate(candidates) if c[0].reason is Reason.ACCEPTED),
            key=lambda i: results[i].value_per_capital or Decimal(0),  # accepted results always carry one
            reverse=True,
        )
        entered: set[str] = set()
        enters: list[EnterAction] = []
        on_offer = {c[0].key for c in candidates if c[0].reason in _PASSING}
        for i in order:
            result, long, short = candidates[i]
            blocked = _blocked(result, entered, sides, held_tokens)
            if blocked is None and self._switch_p.enabled:
                why = self._switch.blocks(result, on_offer)
                blocked = None if why is None else (Reason.NOT_BEST_FOR_TOKEN, why)
            if blocked is None:
                result, blocked = self._fit_caps(t, result, long, short, book, funds)
            if blocked is not None:
                results[i] = result._replace(reason=blocked[0], detail=blocked[1])
                continue
            results[i] = result
            enters.append(_enter_action(result))
            entered.add(result.token)
            book.add(result.token, result.long_connector, result.short_connector, result.notional_quote)  # type: ignore[arg-type]
            funds.commit(
                result.long_connector,
                long.is_perp,
                result.short_connector,
                result.notional_quote,  # type: ignore[arg-type]
                long_pair=result.long_pair,
                short_pair=result.short_pair,
            )
            sides.setdefault((result.long_connector, result.long_pair), set()).add("long")
            sides.setdefault((result.short_connector, result.short_pair), set()).add("short")
            self._streaks.reset(result.key)  # the next entry of this pair needs a fresh streak
        return results, enters

    def _fit_caps(
        self,
        t: TickScratch,
        result: EdgeResult,
        long: MarketQuote,
        short: MarketQuote,
        book: ExposureBook,
        funds: VenueFunds,
    ) -> tuple[EdgeResult, tuple[Reason, str] | None]:
        room, cap = book.headroom(result.token, result.long_connector, result.short_connector)
        r = result
        free = funds.room(r.long_connector, long.is_perp, r.short_connector, r.long_pair, r.short_pair)
        if free is not None and free < room:
            room, cap = free, Reason.VENUE_CAP
        notional = result.notional_quote
        assert notional is not None
        if room >= notional:
            return result, None
        if room <= self._p.zero:
            return result, (cap, f"no room under the {cap.value} or the venues' free funds (headroom {room})")
        streak = self._streaks.count(result.key) - 1  # already counted for this tick
        smaller = evaluate_pair(t, self._p, result.token, long, short, room, streak)
        if smaller.reason is not Reason.ACCEPTED:
            return result, (cap, f"resized to headroom {room}: {smaller.reason.value} {smaller.detail}")
        return smaller._replace(detail=f"resized to {cap.value} headroom {room}; " + smaller.detail), None


def _pairs(
    perps: list[MarketQuote], spots: list[MarketQuote], min_spread: Decimal
) -> list[tuple[MarketQuote, MarketQuote]]:
    """(long, short) candidates whose hourly funding spread reaches `min_spread`: perp-perp shorts the higher
    hourly rate, carry is long spot / short perp (the spot leg's rate is 0)."""
    out = []
    for i, a in enumerate(perps):
        for b in perps[i + 1 :]:
            long, short = (a, b) if a.rate_per_hour <= b.rate_per_hour else (b, a)  # type: ignore[operator]
            if short.rate_per_hour - long.rate_per_hour >= min_spread:  # type: ignore[operator]
                out.append((long, short))
    out += [(s, p) for p in perps if p.rate_per_hour >= min_spread for s in spots]  # type: ignore[operator]
    return out


def _screened(token: str, long: MarketQuote, short: MarketQuote, bound: Decimal) -> ScreenedPair:
    kind = OpportunityKind.PERP_PERP if long.is_perp else OpportunityKind.CARRY
    long_rate = long.rate_per_hour if long.rate_per_hour is not None else _ZERO
    return _new_screened(
        ScreenedPair,
        (token, kind, long.key[0], short.key[0], long_rate, short.rate_per_hour, bound, _BELOW_FLOOR),
    )


def _blocked(
    result: EdgeResult, entered: set[str], sides: dict[MarketKey, set[str]], held_tokens: set[str]
) -> tuple[Reason, str] | None:
    if result.token in held_tokens:  # the shell holds one pair per token (switching enters after the exit)
        return Reason.CONFLICTS_WITH_HELD, f"{result.token} already held (one pair per token)"
    if result.token in entered:
        return Reason.NOT_BEST_FOR_TOKEN, "a better pair of this token enters this tick"
    if "short" in sides.get((result.long_connector, result.long_pair), ()):
        return Reason.CONFLICTS_WITH_HELD, f"{result.long_connector} {result.long_pair} is held short"
    if "long" in sides.get((result.short_connector, result.short_pair), ()):
        return Reason.CONFLICTS_WITH_HELD, f"{result.short_connector} {result.short_pair} is held long"
    return None


def _enter_action(r: EdgeResult) -> EnterAction:
    assert r.size is not None
    return EnterAction(
        r.token,
        r.kind,
        r.long_connector,
        r.long_pair,
        r.long_kind,
        r.short_connector,
        r.short_pair,
        r.size.amount_base,
        r.size.long_amount_base,
        r.size.short_amount_base,
        r.size.notional_quote,
        r,
    )


def _log_decision(d: TickDecision) -> None:
    for e in d.enters:
        r = e.edge
        logger.info(
            "decision=enter token=%s kind=%s long=%s:%s short=%s:%s amount_base=%s notional_quote=%s "
            "net_edge_pct=%s break_even_h=%s spread_apr_pct=%s reason=%s",
            e.token,
            e.kind.value,
            e.long_connector,
            e.long_pair,
            e.short_connector,
            e.short_pair,
            e.amount_base,
            e.notional_quote,
            _fmt(r.net_edge_pct),
            _fmt(r.break_even_hours),
            _fmt(r.funding_spread_apr_pct),
            r.reason.value,
        )
    for x in d.exits:
        logger.info("decision=exit pair_id=%s reason=%s detail=%r", x.pair_id, x.reason.value, x.detail)
    if logger.isEnabledFor(logging.DEBUG):
        for r in d.candidates:
            logger.debug(
                "decision=candidate token=%s kind=%s long=%s short=%s net_edge_pct=%s break_even_h=%s "
                "reason=%s detail=%r",
                r.token,
                r.kind.value,
                r.long_connector,
                r.short_connector,
                _fmt(r.net_edge_pct),
                _fmt(r.break_even_hours),
                r.reason.value,
                r.detail,
            )
        for s in d.screened:
            logger.debug(
                "decision=screened token=%s long=%s short=%s spread_apr_pct=%s bound_pct=%s reason=%s",
                s.token,
                s.long_connector,
                s.short_connector,
                _fmt(s.funding_spread_apr_pct),
                _fmt(s.upper_bound_pct),
                s.reason.value,
            )
        logger.debug(
            "decision=tick ts=%s candidates=%d screened_out=%d enters=%d exits=%d skipped=%s",
            d.ts,
            len(d.candidates),
            d.screened_out,
            len(d.enters),
            len(d.exits),
            ",".join(f"{k.value}:{v}" for k, v in sorted(d.skipped.items())) or "none",
        )


def _fmt(x: object) -> str:
    return "na" if x is None else f"{x:.4f}"
