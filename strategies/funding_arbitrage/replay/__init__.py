"""`funding-arb replay`: pure pieces (results, oracle, baseline rules, report writer); no hummingbot import.

The runner (`runner.py`, owned by the lead) drives the strategy and the baseline on simulated venues, builds
one `RunResult` per run with `build_run_result`, the oracle with `run_oracle`, and writes the files with
`write_report`.
"""
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
    apr_pct,
    basis_pnl_from_trades,
    build_run_result,
    check_invariant,
    max_drawdown_quote,
    pair_key,
)

__all__ = [
    "RUN_NAMES", "BaselineConfig", "BaselineEnter", "BaselineExit", "BaselineHeld", "BaselineRules",
    "EquityPoint", "EventKind", "ExitReason", "FundingObs", "InvariantError", "MarginPoint", "OracleCosts",
    "PairRow", "PositionAction", "ReplayReport", "RoundTripCost", "RunEvent", "RunResult", "Side", "Trade",
    "apr_pct", "basis_pnl_from_trades", "build_run_result", "candidate_pairs", "check_invariant",
    "funding_diff_24h", "max_drawdown_quote", "pair_key", "plan_coin", "run_oracle", "taker_round_trip",
    "upstream_interval_s", "write_report",
]
