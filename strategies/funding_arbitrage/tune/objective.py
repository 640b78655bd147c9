"""What a sweep maximises: carry capture, penalised for drawdown, liquidations and hedge gap.

    carry_quote(run)  = funding - fees - slippage - borrow            (basis PnL is never counted as skill)
    carry capture     = carry_quote(funding_arbitrage) / carry_quote(oracle)   (None when the oracle earned <= 0)
    score             = capture - drawdown_weight * max_drawdown / capital
                                - liquidation_weight * liquidations
                                - unhedged_time_weight * unhedged_seconds / window seconds

The hedge-gap term is the share of the window during which a token was unhedged by more than one lot (the
strategy's own hedge monitor, `unhedged_seconds`), not the largest gap ever seen: an entry whose second leg is sent
on the tick after the first one fills shows a 100 % gap for that one tick, and a penalty on that peak (as the first
sweeps had) scored every trial that traded about 1.0 lower than one that stayed flat, so "never trade" won folds.
The peak (`max_hedge_gap_pct`) is still reported in the fold table.

Example: capture 0.42, drawdown 150 on 10,000, no liquidation, unhedged 2 % of the window:
    0.42 - 5 * 0.015 - 0 - 5 * 0.02 = 0.245.
Unknown figures are not zero: a run with unknown liquidations or unhedged time cannot be scored (None).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..replay.results import carry_capture as report_capture

_ZERO = Decimal(0)


@dataclass(frozen=True)
class RunSummary:
    """The figures of one replay run a sweep keeps (picklable, small: travels back from Ray workers)."""

    name: str
    capital_quote: Decimal
    net_pnl_quote: Decimal
    funding_pnl_quote: Decimal
    fees_quote: Decimal
    slippage_quote: Decimal
    borrow_quote: Decimal
    basis_pnl_quote: Decimal
    max_drawdown_quote: Decimal
    pairs_opened: int
    liquidations: int | None
    max_hedge_gap_pct: Decimal | None
    unhedged_seconds: Decimal | None = None
    period_s: Decimal | None = None  # the replayed window's length, s

    @classmethod
    def of(cls, run: Any, period_s: float | None = None) -> RunSummary:
        """From a replay `RunResult` over a window of `period_s` seconds."""
        return cls(
            run.name,
            run.capital_quote,
            run.net_pnl_quote,
            run.funding_pnl_quote,
            run.fees_quote,
            run.slippage_quote,
            run.borrow_quote,
            run.basis_pnl_quote,
            run.max_drawdown_quote,
            run.pairs_opened,
            run.liquidations,
            run.max_hedge_gap_pct,
            run.unhedged_seconds,
            None if period_s is None else Decimal(str(period_s)),
        )

    @property
    def carry_quote(self) -> Decimal:
        """Funding net of trading and borrow costs (the numerator of carry capture)."""
        return self.funding_pnl_quote - self.fees_quote - self.slippage_quote - self.borrow_quote


@dataclass(frozen=True)
class ObjectiveWeights:
    """Penalty weights (dimensionless, applied to fractions). Defaults: a drawdown of 1 % of capital costs 0.05
    of capture, one liquidation 0.5, a token unhedged for 1 % of the window 0.05."""

    drawdown: Decimal = Decimal(5)
    liquidation: Decimal = Decimal("0.5")
    unhedged_time: Decimal = Decimal(5)


def carry_capture(run: RunSummary, oracle: RunSummary) -> Decimal | None:
    """The run's carry as a fraction of the oracle's over the same window; None when the oracle's carry is not
    positive (nothing was there to capture, so no ratio means anything).

    The one place capture is computed for sweeps; it is the replay report's own formula
    (`replay.results.carry_capture`, the `carry_capture` of every RunResult), so sweep and report always agree.
    """
    return report_capture(run.carry_quote, oracle.carry_quote)


def pooled_capture(pairs: list[tuple[RunSummary, RunSummary]]) -> Decimal | None:
    """Capture over several windows together: sum of the run's carry over the sum of the oracle's."""
    oracle = sum((o.carry_quote for _, o in pairs), _ZERO)
    if oracle <= 0:
        return None
    return sum((r.carry_quote for r, _ in pairs), _ZERO) / oracle


def penalty(run: RunSummary, weights: ObjectiveWeights) -> Decimal | None:
    """The risk penalty of a run (>= 0); None when liquidations, unhedged time or the window are unknown."""
    if run.liquidations is None or run.unhedged_seconds is None or not run.period_s:
        return None
    return (
        weights.drawdown * run.max_drawdown_quote / run.capital_quote
        + weights.liquidation * run.liquidations
        + weights.unhedged_time * run.unhedged_seconds / run.period_s
    )


def score(
    run: RunSummary, oracle: RunSummary, weights: ObjectiveWeights = ObjectiveWeights()
) -> tuple[Decimal | None, str]:
    """(score, why it is None). The sweep maximises the score; a None score fails the trial with the reason."""
    capture = carry_capture(run, oracle)
    if capture is None:
        return None, f"oracle carry {oracle.carry_quote:.2f} quote is not positive: capture is undefined in this window"
    pen = penalty(run, weights)
    if pen is None:
        return None, "liquidations, unhedged time or the window unknown: the run cannot be scored"
    return capture - pen, ""
