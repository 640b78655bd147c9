"""Hedge-gap monitor: net base exposure per token across every venue, every tick (pure core).

Inputs are what the venues hold: every perp position (including ones this strategy did not open) and the base the
strategy's spot legs hold. Per token:

    net_base   = sum of signed amounts (long +, short -)
    gross_base = max(sum of longs, sum of shorts)
    gap_pct    = |net_base| / gross_base x 100            (None when nothing is held)

Example: long 0.012 BTC on one venue, short 0.010 on another: net 0.002, gross 0.012, gap 16.7 %.

A token is *unhedged* while |net| exceeds its tolerance, max(largest lot of its legs, `tolerance_pct` of gross):
lot matching cannot do better than a lot. Beyond tolerance the monitor asks for a rebalance (at most once per
`rebalance_cooldown_s` per token; the lifecycle trims the larger leg reduce-only, never below the venue minimum);
beyond `halt_pct` it asks to halt entries with a critical alert. `max_gap_pct` and `unhedged_seconds` are the
run's figures (the replay report reads them). A token with unusable data (NaN, infinite amount) is reported and
left out; it never stops the other tokens.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal(0)


@dataclass(frozen=True)
class HeldLeg:
    """One venue holding of a token: signed base amount, the market's lot, whether this strategy manages it."""

    connector: str
    trading_pair: str
    token: str
    amount_base: Decimal
    lot_base: Decimal
    managed: bool = True


@dataclass(frozen=True)
class TokenExposure:
    token: str
    net_base: Decimal
    gross_base: Decimal
    tolerance_base: Decimal
    unmanaged_base: Decimal  # signed base held on markets this strategy has no pair on

    @property
    def gap_pct(self) -> Decimal | None:
        return abs(self.net_base) / self.gross_base * 100 if self.gross_base > 0 else None

    @property
    def unhedged(self) -> bool:
        return abs(self.net_base) > self.tolerance_base


@dataclass(frozen=True)
class HedgeVerdict:
    """What the shell must do this tick: rebalance these tokens, halt (reason), alerts (token -> message)."""

    exposures: dict[str, TokenExposure]
    rebalance: tuple[str, ...]
    halt_reason: str | None
    bad_data: dict[str, str]


def exposures(legs: Iterable[HeldLeg], tolerance_pct: Decimal) -> tuple[dict[str, TokenExposure], dict[str, str]]:
    """Per-token exposure; tokens with a non-finite amount or lot are returned apart with the reason."""
    by_token: dict[str, list[HeldLeg]] = {}
    bad: dict[str, str] = {}
    for leg in legs:
        if not leg.amount_base.is_finite() or not leg.lot_base.is_finite():
            bad[leg.token] = f"{leg.connector} {leg.trading_pair}: amount {leg.amount_base}, lot {leg.lot_base}"
            continue
        by_token.setdefault(leg.token, []).append(leg)
    out = {}
    for token, held in by_token.items():
        if token in bad:
            continue
        longs = sum((lg.amount_base for lg in held if lg.amount_base > 0), ZERO)
        shorts = -sum((lg.amount_base for lg in held if lg.amount_base < 0), ZERO)
        gross = max(longs, shorts)
        tolerance = max(max(lg.lot_base for lg in held), gross * tolerance_pct / 100)
        unmanaged = sum((lg.amount_base for lg in held if not lg.managed), ZERO)
        out[token] = TokenExposure(token, longs - shorts, gross, tolerance, unmanaged)
    return out, bad


@dataclass
class HedgeMonitor:
    """Tick-by-tick gap tracking with a rebalance cooldown per token and a hard limit."""

    tolerance_pct: Decimal
    halt_pct: Decimal
    rebalance_cooldown_s: float
    max_gap_pct: Decimal = ZERO
    unhedged_seconds: Decimal = ZERO
    _last_ts: float | None = None
    _rebalanced_ts: dict[str, float] = field(default_factory=dict)
    _calm: tuple[tuple[HeldLeg, ...], HedgeVerdict] | None = None  # last legs when every token was within tolerance

    def update(self, ts: float, legs: Iterable[HeldLeg], settling: Collection[str] = ()) -> HedgeVerdict:
        """Measure this tick. `settling`: tokens with orders still working (an entry following its first leg, a
        close in flight): their gap counts toward `unhedged_seconds` but asks for no rebalance or halt yet.

        The same holdings as last tick with every token within tolerance and no bad data give the same verdict
        (no rebalance, no halt, gaps already counted in `max_gap_pct`): it is returned without recomputing."""
        held = tuple(legs)
        if self._calm is not None and self._calm[0] == held:
            self._last_ts = ts
            return self._calm[1]
        verdict = self._measure(ts, held, settling)
        calm = not verdict.bad_data and not any(e.unhedged for e in verdict.exposures.values())
        self._calm = (held, verdict) if calm else None
        return verdict

    def unchanged(self, ts: float) -> HedgeVerdict | None:
        """The caller saw the same holdings as at the last `update`: if every token was within tolerance then, the
        same verdict (this tick counted, nothing to rebalance or halt); None: call `update`."""
        if self._calm is None:
            return None
        self._last_ts = ts
        return self._calm[1]

    def _measure(self, ts: float, legs: Iterable[HeldLeg], settling: Collection[str]) -> HedgeVerdict:
        expo, bad = exposures(legs, self.tolerance_pct)
        dt = ZERO if self._last_ts is None else Decimal(str(max(0.0, ts - self._last_ts)))
        self._last_ts = ts
        rebalance, halts = [], []
        for token, e in sorted(expo.items()):
            gap = e.gap_pct
            if gap is not None:
                self.max_gap_pct = max(self.max_gap_pct, gap)
            if not e.unhedged:
                continue
            self.unhedged_seconds += dt
            if token in settling:
                continue
            if gap is not None and gap > self.halt_pct:
                halts.append(f"{token} hedge gap {gap:.2f} % > {self.halt_pct} % (net {e.net_base})")
            last = self._rebalanced_ts.get(token)
            if last is None or ts - last >= self.rebalance_cooldown_s:
                self._rebalanced_ts[token] = ts
                rebalance.append(token)
        return HedgeVerdict(expo, tuple(rebalance), "; ".join(halts) or None, bad)
