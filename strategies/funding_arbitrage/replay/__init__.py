"""`funding-arb replay`: pure pieces (results, oracle, baseline rules, report writer); no hummingbot import.

The runner (`runner.py`, owned by the lead) drives the strategy and the baseline on simulated venues, builds
one `RunResult` per run with `build_run_result`, the oracle with `run_oracle`, and writes the files with
`write_report`.
"""

from .allocation import ExposureCaps, allocate_with_foresight, passive_notional_quote
from .baseline import (
    BaselineConfig,
    BaselineEnter,
    BaselineExit,
    BaselineHeld,
    BaselineRules,
    ExitReason,
    FundingObs,
    funding_diff_24h,
    upstream_interval_s,
)
from .oracle import OracleCosts, RoundTripCost, candidate_pairs, plan_coin, run_oracle, taker_round_trip
from .passive import run_passive_carry
from .report import write_report
from .results import (
    RUN_NAMES,
    EquityPoint,
    EventKind,
    InvariantError,
    MarginPoint,
    PairRow,
    PositionAction,
    ReplayReport,
    RunEvent,
    RunResult,
    Side,
    Trade,
    UtilisationPoint,
    apr_pct,
    basis_pnl_from_trades,
    build_run_result,
    carry_capture,
    check_invariant,
    max_drawdown_quote,
    pair_key,
    with_carry_capture,
)

__all__ = [
    "RUN_NAMES",
    "BaselineConfig",
    "BaselineEnter",
    "BaselineExit",
    "BaselineHeld",
    "BaselineRules",
    "EquityPoint",
    "EventKind",
    "ExitReason",
    "ExposureCaps",
    "FundingObs",
    "InvariantError",
    "MarginPoint",
    "OracleCosts",
    "PairRow",
    "PositionAction",
    "ReplayReport",
    "RoundTripCost",
    "RunEvent",
    "RunResult",
    "Side",
    "Trade",
    "UtilisationPoint",
    "allocate_with_foresight",
    "apr_pct",
    "basis_pnl_from_trades",
    "build_run_result",
    "candidate_pairs",
    "carry_capture",
    "check_invariant",
    "funding_diff_24h",
    "max_drawdown_quote",
    "pair_key",
    "passive_notional_quote",
    "plan_coin",
    "run_oracle",
    "run_passive_carry",
    "taker_round_trip",
    "upstream_interval_s",
    "with_carry_capture",
    "write_report",
]
