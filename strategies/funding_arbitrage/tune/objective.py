"""What a sweep maximises: carry capture, penalised for drawdown, liquidations and hedge gap.

    carry_quote(run)  = funding - fees - slippage - borrow            (basis PnL is never counted as skill)
    carry capture     = carry_quote(funding_arbitrage) / carry_quote(oracle)   (None when the oracle earned <= 0)
    score             = capture - drawdown_weight * max_drawdown / capital
                                - liquidation_weight * liquidations
                                - hedge_gap_weight * max_hedge_gap_pct / 100

Example: capture 0.42, drawdown 150 on 10,000, no liquidation, hedge gap 2 %:
    0.42 - 5 * 0.015 - 0 - 1 * 0.02 = 0.325.
Unknown figures are not zero: a run with unknown liquidations or hedge gap cannot be scored (None).
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

    @classmethod
    def of(cls, run: Any) -> RunSummary:
        """From a replay `RunResult`."""
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
        )

    @property
    def carry_quote(self) -> Decimal:
        """Funding net of trading and borrow costs (the numerator of carry capture)."""
        return self.funding_pnl_quote - self.fees_quote - self.slippage_quote - self.borrow_quote


@dataclass(frozen=True)
class ObjectiveWeights:
    """Penalty weights (dimensionless, applied to fractions). Defaults: a drawdown of 1 % of capital costs 0.05
    of capture, one liquidation 0.5, a 10 % hedge gap 0.1."""

    drawdown: Decimal = Decimal(5)
    liquidation: Decimal = Decimal("0.5")
    hedge_gap: Decimal = Decimal(1)


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
    """The risk penalty of a run (>= 0); None when liquidations or hedge gap are unknown."""
    if run.liquidations is None or run.max_hedge_gap_pct is None:
        return None
    return (
        weights.drawdown * run.max_drawdown_quote / run.capital_quote
        + weights.liquidation * run.liquidations
        + weights.hedge_gap * run.max_hedge_gap_pct / 100
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
        return None, "liquidations or hedge gap unknown: the run cannot be scored"
    return capture - pen, ""
