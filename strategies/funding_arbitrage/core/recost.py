"""Re-cost only on change: a token's costing and a held pair's exit cost reused while their inputs hold (pure core).

The market data the strategy trades on changes slowly: funding per settlement (1-8 h), venues' predicted rates
a few times an hour, books that mostly follow the mid. Sizing and costing a candidate (walking both books, the
forecast, the verdict) is the engine's largest per-tick cost, and between two ticks its answer barely moves.

Entry candidates (`TokenCostings`). A token's costed candidates are reused when ALL of these hold, else re-costed:

* every one of them was refused on its economics (no candidate passing, none with bad market data): a candidate
  that may enter is always costed on the live books, so a reused costing never makes the shell act;
* each refused candidate's net edge is at least `CANDIDATE_MARGIN_PCT` percentage points short of what it needs
  (or it had no edge figure: a size or book refusal), so the moves allowed below cannot make it pass;
* the same markets are usable, with the same funding rate per hour, fees, trading rules, forecast history
  (settlements recorded), realised volatility, chosen leverage, borrow rate and switch target;
* no market's mid or funding mark moved more than `CANDIDATE_MID_MOVE_FRAC` (5 bps) since the costing:
  that moves fees by 5 bps of themselves and the entry basis by at most ~10 bps of notional, 0.1 percentage
  points, half of `CANDIDATE_MARGIN_PCT`;
* the costing is younger than `MAX_AGE_S` (30 min): book depth and anything not listed is re-read at least that
  often (the data is hourly; live books refill within minutes).

Held pairs (`ExitCosts`). The exit cost (fees and slippage of closing both legs on the live books) feeds the hold
rule (exit only when the forecast carry is confidently below it), take-profit and the switch gain. The engine costs
it on the live books every tick where it can decide something: the forecast carry is negative by more than its
uncertainty (the hold rule compares it with the cost), funding + leg PnL has reached take-profit's line (below it no
cost >= 0 can fire take-profit; at or above it the cost decides), or switching is on (the switch gain reads it).
Otherwise the last cost is reused, scaled by the legs' mids (fees are a share of the traded price; slippage on a book
of the same relative shape too), while the pair's amount and both legs' fees are unchanged, neither leg's mid moved more
than `EXIT_MID_MOVE_FRAC` (1 %) since the costing and it is younger than `EXIT_MAX_AGE_S` (1 h; the book's depth is
re-read at least that often). An unknown cost is never reused.

None of this is an operator setting: the thresholds are far below what any decision rule resolves (funding
forecasts have standard errors of tens of bps of notional), and the maximum ages bound every approximation in time.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from .candidates import TickScratch
from .edge import EdgeResult, ScreenedPair
from .market_data import MarketKey, MarketQuote
from .reasons import Reason

CANDIDATE_MID_MOVE_FRAC = Decimal("0.0005")  # 5 bps of a market's mid or mark since the costing
CANDIDATE_MARGIN_PCT = Decimal("0.2")  # percentage points of notional a reused refusal must be short by
EXIT_MID_MOVE_FRAC = Decimal("0.01")  # 1 % of a held leg's mid since its exit was costed
MAX_AGE_S = 1800.0  # a token's costing is redone at least this often (seconds of the tick clock)
EXIT_MAX_AGE_S = 3600.0  # a held pair's exit cost is re-read on the books at least this often

_PASSING = (Reason.ACCEPTED, Reason.AWAITING_PERSISTENCE)
_NEG_MARGIN = -CANDIDATE_MARGIN_PCT
_new_result = tuple.__new__
assert EdgeResult._fields[0] == "ts"  # `TokenCostings.reuse` restamps results by position


class Costed(NamedTuple):
    """One token's costing as the engine returns it: (result, long quote, short quote) per costed candidate, the
    best screened-out pair (None: none) and how many pairs were screened out."""

    found: list[tuple[EdgeResult, MarketQuote, MarketQuote]]
    best_screened: ScreenedPair | None
    n_screened: int


class _Entry(NamedTuple):
    ts: float
    signature: tuple[Hashable, ...]
    prices: tuple[Decimal, ...]  # mid and mark of each market, in signature order
    results: tuple[tuple[EdgeResult, MarketKey, MarketKey], ...]
    best_screened: ScreenedPair | None
    n_screened: int


def reusable_refusal(r: EdgeResult) -> bool:
    """A refusal a small price move cannot turn into a pass (see the module docstring)."""
    if r.reason in _PASSING or r.reason is Reason.BAD_MARKET_DATA:
        return False
    return r.edge_margin_pct is None or r.edge_margin_pct <= _NEG_MARGIN


def _prices(quotes: Sequence[MarketQuote]) -> tuple[Decimal, ...]:
    out: list[Decimal] = []
    for q in quotes:
        out += (q.mid, q.mark)
    return tuple(out)


def _quotes_moved(quotes: Sequence[MarketQuote], then: tuple[Decimal, ...], frac: Decimal) -> bool:
    """Whether any market's mid or mark moved more than `frac` of its price then (`then`: `_prices` of the same
    markets, in order); stops at the first that did."""
    if len(then) != 2 * len(quotes):
        raise ValueError(f"{len(quotes)} quotes against {len(then)} prices")
    i = 0
    for q in quotes:
        b = then[i]
        if abs(q.mid - b) > frac * b:
            return True
        b = then[i + 1]
        if abs(q.mark - b) > frac * b:
            return True
        i += 2
    return False


class TokenCostings:
    """The last reusable costing per token (bounded by the configured tokens)."""

    def __init__(self) -> None:
        self._last: dict[str, _Entry] = {}

    def clear(self) -> None:
        self._last.clear()

    def forget(self, token: str) -> None:
        self._last.pop(token, None)

    def reuse(
        self, token: str, ts: float, signature: tuple[Hashable, ...], quotes: Sequence[MarketQuote]
    ) -> Costed | None:
        """The stored costing rebuilt on this tick's quotes (results stamped `ts`), or None: cost afresh."""
        e = self._last.get(token)
        if e is None or e.signature != signature:
            return None
        return _rebuilt(e, ts, quotes)

    def reuse_if_unchanged(
        self,
        token: str,
        t: TickScratch,
        quotes: Sequence[MarketQuote],
        settlements: Callable[[MarketKey], int],
        switch_target: Hashable,
    ) -> Costed | None:
        """`reuse(token, t.ts, token_signature(t, quotes, settlements, switch_target), quotes)` without building the
        signature: the stored one is compared in place (`signature_matches`), the engine's path every tick."""
        e = self._last.get(token)
        if e is None or not 0 <= t.ts - e.ts < MAX_AGE_S:
            return None
        if not signature_matches(e.signature, t, quotes, settlements, switch_target):
            return None
        return _rebuilt(e, t.ts, quotes)

    def store(
        self,
        token: str,
        ts: float,
        signature: tuple[Hashable, ...],
        quotes: Sequence[MarketQuote],
        costed: Costed,
    ) -> None:
        """Keep a fresh costing if every candidate in it is a reusable refusal; otherwise forget the token's."""
        if storable(costed):
            results = tuple((r, lg.key, sh.key) for r, lg, sh in costed.found)
            self._last[token] = _Entry(ts, signature, _prices(quotes), results, *costed[1:])
        else:
            self._last.pop(token, None)


def storable(costed: Costed) -> bool:
    """Whether `TokenCostings.store` keeps this costing (every candidate a reusable refusal)."""
    return all(reusable_refusal(c[0]) for c in costed.found)


def _rebuilt(e: _Entry, ts: float, quotes: Sequence[MarketQuote]) -> Costed | None:
    """The stored costing on this tick's quotes if it is young enough and no price moved too far, else None."""
    if not 0 <= ts - e.ts < MAX_AGE_S:
        return None
    if _quotes_moved(quotes, e.prices, CANDIDATE_MID_MOVE_FRAC):
        return None
    by_key = {q.key: q for q in quotes}
    # r._replace(ts=ts) without the Python-level NamedTuple machinery (`ts` is EdgeResult's first field)
    found = [(_new_result(EdgeResult, (ts, *r[1:])), by_key[lk], by_key[sk]) for r, lk, sk in e.results]
    return Costed(found, e.best_screened, e.n_screened)


class _ExitEntry(NamedTuple):
    ts: float
    inputs: tuple[Hashable, ...]  # amount and both legs' fees
    mids: tuple[Decimal, Decimal]
    cost_quote: Decimal
    long_move: Decimal  # EXIT_MID_MOVE_FRAC * the long leg's mid then (computed once, at the costing)
    short_move: Decimal  # the same for the short leg
    mids_sum: Decimal  # both mids then, added


class ExitCosts:
    """The last known exit cost per held pair (pairs no longer held are forgotten)."""

    def __init__(self) -> None:
        self._last: dict[str, _ExitEntry] = {}

    def get(
        self, pair_id: str, ts: float, inputs: tuple[Hashable, ...], mids: tuple[Decimal, Decimal]
    ) -> Decimal | None:
        """The stored cost scaled to the legs' mids now, if still valid for these inputs at `ts`; else None."""
        e = self._last.get(pair_id)
        if e is None or e.inputs != inputs or not 0 <= ts - e.ts < EXIT_MAX_AGE_S:
            return None
        (long_then, short_then), (long_now, short_now) = e.mids, mids
        if abs(long_now - long_then) > e.long_move:
            return None
        if abs(short_now - short_then) > e.short_move:
            return None
        return e.cost_quote * (long_now + short_now) / e.mids_sum

    def put(
        self, pair_id: str, ts: float, inputs: tuple[Hashable, ...], mids: tuple[Decimal, Decimal], cost: Decimal | None
    ) -> None:
        if cost is None:
            self._last.pop(pair_id, None)
        else:
            long_then, short_then = mids
            self._last[pair_id] = _ExitEntry(
                ts,
                inputs,
                mids,
                cost,
                EXIT_MID_MOVE_FRAC * long_then,
                EXIT_MID_MOVE_FRAC * short_then,
                long_then + short_then,
            )

    def retain(self, pair_ids: set[str]) -> None:
        for gone in [k for k in self._last if k not in pair_ids]:
            del self._last[gone]


def token_signature(
    t: TickScratch, quotes: Sequence[MarketQuote], settlements: Callable[[MarketKey], int], switch_target: Hashable
) -> tuple[Hashable, ...]:
    """Everything a token's costing depends on that must be exactly unchanged for a reuse (prices apart): per market
    its key, funding rate per hour and next settlement, fees, trading rules, settlements recorded by the forecaster,
    realised volatility, chosen leverage and (a spot long that borrows) the borrow rate; and the switch target."""
    out: list[Hashable] = [switch_target]
    volatility, leverage, borrows = t.volatility, t.market_leverage, t.borrows
    for q in quotes:
        m, key = q.market, q.key
        funding = m.funding
        out.append(
            (
                key,
                q.rate_per_hour,
                None if funding is None else funding.next_funding_ts,
                m.fees,
                m.rules,
                settlements(key),
                volatility(key),
                leverage.get(key),
                t.borrow_rate(q) if borrows(q) else None,
            )
        )
    return tuple(out)


def signature_matches(
    signature: tuple[Hashable, ...],
    t: TickScratch,
    quotes: Sequence[MarketQuote],
    settlements: Callable[[MarketKey], int],
    switch_target: Hashable,
) -> bool:
    """`signature == token_signature(t, quotes, settlements, switch_target)` without building the new one: the same
    element comparisons as tuple equality (identity, then ==), in the same order, stopping at the first difference."""
    if len(signature) != len(quotes) + 1:
        return False
    old: Any = signature[0]
    if not (old is switch_target or old == switch_target):
        return False
    volatility, leverage, borrows = t.volatility, t.market_leverage, t.borrows
    for i, q in enumerate(quotes, 1):
        old = signature[i]
        if len(old) != 9:
            return False
        o_key, o_rate, o_next, o_fees, o_rules, o_settled, o_vol, o_lev, o_borrow = old
        m, key = q.market, q.key
        if not (o_key is key or o_key == key):
            return False
        new: Any = q.rate_per_hour
        if not (o_rate is new or o_rate == new):
            return False
        new = None if m.funding is None else m.funding.next_funding_ts
        if not (o_next is new or o_next == new):
            return False
        new = m.fees
        if not (o_fees is new or o_fees == new):
            return False
        new = m.rules
        if not (o_rules is new or o_rules == new):
            return False
        new = settlements(key)
        if not (o_settled is new or o_settled == new):
            return False
        new = volatility(key)
        if not (o_vol is new or o_vol == new):
            return False
        new = leverage.get(key)
        if not (o_lev is new or o_lev == new):
            return False
        new = t.borrow_rate(q) if borrows(q) else None
        if not (o_borrow is new or o_borrow == new):
            return False
    return True
