"""`passive_carry`: what a user would pick instead of the strategy. Long spot / short perp on every coin, opened at
the start and closed at the end, computed from the same funding data and cost model as the oracle.

Model (docs/replay.md):
  * Every coin gets the same notional per leg, `allocation.passive_notional_quote` (the strategy's capital,
    caps and leverage), split equally over every (spot venue, perp venue) combination: no foresight, no
    venue picking.
  * Funding: each perp settlement in [start, end] of rate r pays the short r × its notional (the oracle's rule).
  * Costs: every leg pays its own venue's taker fee on entry and on exit. Slippage and borrow are not modelled
    (0, stated in the notes), as for the oracle; prices are not modelled, so basis is 0 and nothing liquidates.
Example: one coin, 800 per leg, spot 0.1 %, perp 0.05 %, two settlements at 0.01 % -> funding 0.16, fees
2 × 800 × (0.001 + 0.0005) = 2.40, net −2.24.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from .allocation import ExposureCaps, passive_notional_quote
from .results import EquityPoint, PairRow, RunResult, UtilisationPoint, apr_pct, max_drawdown_quote, pair_key

Settlement = tuple[int, Decimal]
_ZERO = Decimal(0)
_TWO = Decimal(2)


def run_passive_carry(
    settlements: Mapping[tuple[str, str], Sequence[Settlement]],
    *,
    perp_connectors: Sequence[str],
    spot_connectors: Sequence[str],
    taker_fee: Mapping[str, Decimal],
    caps: ExposureCaps,
    start_ts: int,
    end_ts: int,
    sample_s: int = 3600,
) -> RunResult:
    """The passive carry run over every coin in `settlements` ((perp connector, coin) -> [(ts, rate)]).

    Raises:
        ValueError: no spot or no perp venue, end before start, or a venue without a taker fee.
    """
    if not spot_connectors or not perp_connectors:
        raise ValueError(
            f"passive_carry needs a spot venue and a perp venue (spot {list(spot_connectors)}, "
            f"perp {list(perp_connectors)})"
        )
    if end_ts < start_ts:
        raise ValueError(f"end_ts ({end_ts}) must not be before start_ts ({start_ts})")
    missing = [c for c in [*spot_connectors, *perp_connectors] if c not in taker_fee]
    if missing:
        raise ValueError(f"taker_fee has no fee for {missing}")
    coins = sorted({coin for _, coin in settlements})
    per_coin = passive_notional_quote(caps, len(coins))
    legs = [(s, p) for s in sorted(spot_connectors) for p in sorted(perp_connectors)]
    leg_notional = per_coin / len(legs)
    rows: list[PairRow] = []
    flows: list[tuple[int, Decimal]] = []
    for coin in coins:
        for spot, perp in legs:
            row, row_flows = _hold(
                coin, spot, perp, settlements.get((perp, coin), ()), leg_notional, taker_fee, start_ts, end_ts
            )
            rows.append(row)
            flows += row_flows
    return _result(rows, flows, caps, per_coin, coins, start_ts, end_ts, sample_s)


def _hold(
    coin: str,
    spot: str,
    perp: str,
    series: Sequence[Settlement],
    notional_quote: Decimal,
    taker_fee: Mapping[str, Decimal],
    start_ts: int,
    end_ts: int,
) -> tuple[PairRow, list[tuple[int, Decimal]]]:
    """One (spot, perp) carry held from start to end: its row and dated cash flows."""
    half_fees = notional_quote * (taker_fee[spot] + taker_fee[perp])
    flows = [(start_ts, -half_fees)]
    funding = _ZERO
    for ts, rate in series:
        if start_ts <= ts <= end_ts:
            funding += rate * notional_quote
            flows.append((ts, rate * notional_quote))
    flows.append((end_ts, -half_fees))
    fees = _TWO * half_fees
    row = PairRow(
        pair_key(coin, spot, perp), coin, start_ts, end_ts, funding, fees, _ZERO, _ZERO, funding - fees, "end_of_period"
    )
    return row, flows


def _result(
    rows: list[PairRow],
    flows: list[tuple[int, Decimal]],
    caps: ExposureCaps,
    per_coin: Decimal,
    coins: list[str],
    start_ts: int,
    end_ts: int,
    sample_s: int,
) -> RunResult:
    by_ts: dict[int, Decimal] = {}
    for ts, amount in flows:
        by_ts[ts] = by_ts.get(ts, _ZERO) + amount
    equity, points = caps.capital_quote, []
    for ts in sorted(by_ts):
        equity += by_ts[ts]
        points.append(EquityPoint(float(ts), equity))
    funding = sum((r.funding_quote for r in rows), _ZERO)
    fees = sum((r.fees_quote for r in rows), _ZERO)
    net = funding - fees
    deployed = per_coin * len(coins) / caps.capital_quote
    times = [*list(range(start_ts, end_ts, max(sample_s, 1))), end_ts]
    notes = (
        (
            f"Computed from the funding data, not executed: long spot / short perp on every coin from start to end, "
            f"{per_coin} quote per leg and coin, split equally over every spot and perp venue."
        ),
        "Every leg pays its venue's taker fee on entry and on exit; slippage and borrow are not modelled (0).",
        (
            "Prices are not modelled: basis is 0, nothing is liquidated and the hedge is always exact (those figures "
            "are N/A)."
        ),
    )
    return RunResult(
        name="passive_carry",
        capital_quote=caps.capital_quote,
        net_pnl_quote=net,
        funding_pnl_quote=funding,
        fees_quote=fees,
        slippage_quote=_ZERO,
        borrow_quote=_ZERO,
        basis_pnl_quote=_ZERO,
        max_drawdown_quote=max_drawdown_quote(points),
        apr_pct=apr_pct(net, caps.capital_quote, end_ts - start_ts),
        pairs_opened=len(rows),
        liquidations=None,
        max_hedge_gap_pct=None,
        unhedged_seconds=None,
        equity=tuple(points),
        pairs=tuple(rows),
        notes=notes,
        trades_modelled=False,
        utilisation=tuple(UtilisationPoint(float(ts), deployed) for ts in times),
    )
