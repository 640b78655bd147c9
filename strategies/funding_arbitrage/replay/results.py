"""What a replay produced: frozen, typed results the runner fills and the report renders (no hummingbot).

Sign conventions (quote units, Decimal):
  * `funding_pnl_quote` > 0 is funding received; `fees_quote`, `slippage_quote`, `borrow_quote` > 0 are costs.
  * `basis_pnl_quote` is the price PnL of the legs measured at mid: every fill is valued at the mid price of
    its market at fill time, open positions at the final mid. For a hedged pair it is the basis/trading PnL.
  * `slippage_quote` of a fill is the distance between fill price and mid, signed so that a cost is positive:
    BUY (price − mid) × amount, SELL (mid − price) × amount.
With those, the accounting identity every run must satisfy is

    net = funding + basis − fees − slippage − borrow

Example: funding +12, basis −3 (the hedge drifted), fees 4, slippage 1, borrow 0 -> net +4.
`None` means *unknown / not modelled* and is reported as null / N/A, never as 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any

from ..core.venues import is_perp_connector, venue_name

RUN_NAMES: tuple[str, ...] = ("funding_arbitrage", "baseline", "passive_carry", "oracle")
SECONDS_PER_YEAR = 365 * 86400
DEFAULT_TOLERANCE_QUOTE = Decimal("0.01")
_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


class InvariantError(ValueError):
    """A run's PnL components do not add up to its net PnL (an accounting bug in whoever filled it)."""


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class PositionAction(StrEnum):
    OPEN = "OPEN"
    CLOSE = "CLOSE"
    NIL = "NIL"  # spot fills


class EventKind(StrEnum):
    """What the events table shows."""

    LEVERAGE_REDUCTION = "leverage_reduction"
    REDUCING = "reducing"  # risk state ACTIVE -> REDUCING
    HALT = "halt"
    RESUME = "resume"
    LIQUIDATION = "liquidation"
    IMBALANCE = "imbalance"  # one leg filled, the other not (yet)
    FAULT = "fault"  # injected or observed venue fault
    NOTE = "note"


def connector_label(connector: str) -> str:
    """`sim_binance_perpetual` -> `binance`; spot `binance` -> `binance-spot`."""
    label = venue_name(connector)
    return label if is_perp_connector(connector) else f"{label}-spot"


def pair_key(token: str, long_connector: str, short_connector: str) -> str:
    """Key of a hedged pair, long leg first: `BTC binance/bybit`, carry `BTC binance-spot/bybit`."""
    return f"{token} {connector_label(long_connector)}/{connector_label(short_connector)}"


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)


def _require_decimal(obj: object, *names: str, optional: bool = False) -> None:
    for name in names:
        value = getattr(obj, name)
        if value is None and optional:
            continue
        if not isinstance(value, Decimal):
            raise TypeError(f"{type(obj).__name__}.{name} ({value!r}) must be a Decimal (build it from a string)")


@dataclass(frozen=True, slots=True)
class Trade:
    """One fill. `mid_price`: the market's mid at fill time; `fee_quote`: the fee converted to quote."""

    ts: float
    token: str
    connector: str
    trading_pair: str
    side: Side
    amount_base: Decimal
    price: Decimal
    mid_price: Decimal
    fee_quote: Decimal
    position_action: PositionAction
    reason: str

    def __post_init__(self) -> None:
        _set(self, "side", Side(self.side))
        _set(self, "position_action", PositionAction(self.position_action))
        _require_decimal(self, "amount_base", "price", "mid_price", "fee_quote")
        if self.amount_base <= 0 or self.price <= 0 or self.mid_price <= 0:
            raise ValueError(
                f"Trade amount_base ({self.amount_base}), price ({self.price}) and mid_price "
                f"({self.mid_price}) must be positive"
            )

    @property
    def signed_base(self) -> Decimal:
        return self.amount_base if self.side is Side.BUY else -self.amount_base

    @property
    def slippage_quote(self) -> Decimal:
        """Cost of filling away from mid (negative when the fill was better than mid)."""
        return (self.price - self.mid_price) * self.signed_base


@dataclass(frozen=True, slots=True)
class PairRow:
    """One hedged position from open to close. `closed_ts` None: still open at the end (net marked at mid)."""

    pair_key: str
    token: str
    opened_ts: float
    closed_ts: float | None
    funding_quote: Decimal
    fees_quote: Decimal
    slippage_quote: Decimal
    basis_quote: Decimal
    net_quote: Decimal
    close_reason: str | None
    borrow_quote: Decimal = _ZERO

    def __post_init__(self) -> None:
        _require_decimal(
            self, "funding_quote", "fees_quote", "slippage_quote", "basis_quote", "net_quote", "borrow_quote"
        )


SWITCH_REASON = "switch"  # close reason of a pair the strategy closed for a better one (core/switching.py)


def pair_carry(row: PairRow) -> Decimal:
    """funding − fees − slippage − borrow of one pair (its basis left out, as in the run's carry)."""
    return row.funding_quote - row.fees_quote - row.slippage_quote - row.borrow_quote


@dataclass(frozen=True, slots=True)
class SwitchGain:
    """One switch (`replay/switches.py`): the pair closed, the pair entered for it (None: none before the end) and
    the realised gain against holding the closed pair (None: not computable)."""

    ts: float
    token: str
    closed_pair: str
    opened_pair: str | None
    realised_gain_quote: Decimal | None


@dataclass(frozen=True, slots=True)
class EquityPoint:
    ts: float
    equity_quote: Decimal


@dataclass(frozen=True, slots=True)
class MarginPoint:
    """Margin of one perp leg, as `margin.py` computes it. None: unknown.

    `margin_ratio` = maintenance margin / equity (fraction; >= 1 liquidates; may be Decimal('Infinity')).
    `liquidation_distance_pct` = adverse move to the liquidation price, in % of mark (negative: beyond it).
    """

    ts: float
    connector: str
    token: str
    margin_ratio: Decimal | None
    liquidation_distance_pct: Decimal | None

    def __post_init__(self) -> None:
        _require_decimal(self, "margin_ratio", "liquidation_distance_pct", optional=True)


@dataclass(frozen=True, slots=True)
class UtilisationPoint:
    """Capital at work at `ts`: deployed notional (per token the larger of its long and short legs, at mid,
    summed over tokens) ÷ the run's capital, as a fraction (0.4 = 40 %)."""

    ts: float
    ratio: Decimal

    def __post_init__(self) -> None:
        _require_decimal(self, "ratio")


@dataclass(frozen=True, slots=True)
class RunEvent:
    ts: float
    kind: EventKind
    detail: str

    def __post_init__(self) -> None:
        _set(self, "kind", EventKind(self.kind))


@dataclass(frozen=True)
class RunResult:
    """Everything one run (`funding_arbitrage`, `baseline` or `oracle`) produced; series sorted by time."""

    name: str
    capital_quote: Decimal
    net_pnl_quote: Decimal
    funding_pnl_quote: Decimal
    fees_quote: Decimal
    slippage_quote: Decimal
    borrow_quote: Decimal
    basis_pnl_quote: Decimal
    max_drawdown_quote: Decimal
    apr_pct: Decimal | None
    pairs_opened: int
    liquidations: int | None
    max_hedge_gap_pct: Decimal | None
    unhedged_seconds: Decimal | None
    equity: tuple[EquityPoint, ...] = ()
    trades: tuple[Trade, ...] = ()
    pairs: tuple[PairRow, ...] = ()
    margin: tuple[MarginPoint, ...] = ()
    events: tuple[RunEvent, ...] = ()
    notes: tuple[str, ...] = ()
    utilisation: tuple[UtilisationPoint, ...] = ()
    carry_capture: Decimal | None = None
    trades_modelled: bool = True
    halted: bool = False
    switch_gains: tuple[SwitchGain, ...] = ()

    def __post_init__(self) -> None:
        if self.name not in RUN_NAMES:
            raise ValueError(f"RunResult.name ({self.name!r}) must be one of {RUN_NAMES}")
        _require_decimal(
            self,
            "capital_quote",
            "net_pnl_quote",
            "funding_pnl_quote",
            "fees_quote",
            "slippage_quote",
            "borrow_quote",
            "basis_pnl_quote",
            "max_drawdown_quote",
        )
        _require_decimal(self, "apr_pct", "max_hedge_gap_pct", "unhedged_seconds", "carry_capture", optional=True)
        if self.capital_quote <= 0:
            raise ValueError(f"RunResult.capital_quote ({self.capital_quote}) must be positive")
        for name in ("equity", "trades", "pairs", "margin", "events", "notes", "utilisation", "switch_gains"):
            _set(self, name, tuple(getattr(self, name)))
        ts = [p.ts for p in self.equity]
        if ts != sorted(ts):
            raise ValueError(f"RunResult({self.name}).equity must be sorted by ts")

    @property
    def carry_quote(self) -> Decimal:
        """Funding net of costs, the product's skill: funding − fees − slippage − borrow (basis left out)."""
        return self.funding_pnl_quote - self.fees_quote - self.slippage_quote - self.borrow_quote

    @property
    def pairs_lost_to_fees(self) -> int:
        """Closed pairs whose funding did not pay their own fees, slippage and borrow (a switched-out pair by its own
        figures); a pair still open at the end is still earning and is not counted."""
        return sum(1 for r in self.pairs if r.closed_ts is not None and pair_carry(r) < 0)

    @property
    def switches(self) -> int:
        """Pairs closed for a better one."""
        return sum(1 for r in self.pairs if r.close_reason == SWITCH_REASON)

    @property
    def switch_gain_quote(self) -> Decimal | None:
        """Realised gain of all switches; None when one is not computable (0 with no switch)."""
        gains = [g.realised_gain_quote for g in self.switch_gains]
        return None if any(g is None for g in gains) else sum((g for g in gains if g is not None), _ZERO)

    def sorted_pairs(self) -> list[PairRow]:
        return sorted(self.pairs, key=lambda r: (r.opened_ts, r.pair_key, r.closed_ts is None, r.closed_ts or 0))

    def sorted_events(self) -> list[RunEvent]:
        return sorted(self.events, key=lambda e: (e.ts, e.kind.value, e.detail))

    def invariant_gap_quote(self) -> Decimal:
        """net − (funding + basis − fees − slippage − borrow); 0 when the books balance."""
        return self.net_pnl_quote - components_sum(
            self.funding_pnl_quote, self.basis_pnl_quote, self.fees_quote, self.slippage_quote, self.borrow_quote
        )


def carry_capture(carry_quote: Decimal, oracle_carry_quote: Decimal | None) -> Decimal | None:
    """carry ÷ the oracle's carry (a ratio, 1 = all of it); None (N/A) when the oracle's carry is unknown or <= 0.

    Example: carry 69.07 against the oracle's 138.14 -> 0.5.
    """
    if oracle_carry_quote is None or oracle_carry_quote <= 0:
        return None
    return carry_quote / oracle_carry_quote


def with_carry_capture(runs: Mapping[str, RunResult]) -> dict[str, RunResult]:
    """Every run with `carry_capture` against the oracle in `runs` (None for all when the oracle did not run)."""
    oracle = runs.get("oracle")
    reference = None if oracle is None else oracle.carry_quote
    return {name: replace(run, carry_capture=carry_capture(run.carry_quote, reference)) for name, run in runs.items()}


def components_sum(funding: Decimal, basis: Decimal, fees: Decimal, slippage: Decimal, borrow: Decimal) -> Decimal:
    """funding + basis − fees − slippage − borrow."""
    return funding + basis - fees - slippage - borrow


def check_invariant(result: RunResult, tolerance_quote: Decimal = DEFAULT_TOLERANCE_QUOTE) -> None:
    """Raises:
    InvariantError: |net − components| exceeds `tolerance_quote`, for the run or any of its pair rows.
    """
    gap = result.invariant_gap_quote()
    if abs(gap) > tolerance_quote:
        raise InvariantError(
            f"run {result.name}: net {result.net_pnl_quote} != funding {result.funding_pnl_quote} + basis "
            f"{result.basis_pnl_quote} - fees {result.fees_quote} - slippage {result.slippage_quote} - "
            f"borrow {result.borrow_quote} (gap {gap}, tolerance {tolerance_quote})"
        )
    for row in result.pairs:
        row_gap = row.net_quote - components_sum(
            row.funding_quote, row.basis_quote, row.fees_quote, row.slippage_quote, row.borrow_quote
        )
        if abs(row_gap) > tolerance_quote:
            raise InvariantError(
                f"run {result.name}, pair {row.pair_key} opened {row.opened_ts}: net "
                f"{row.net_quote} differs from its components by {row_gap}"
            )


def max_drawdown_quote(equity: Iterable[EquityPoint]) -> Decimal:
    """Largest fall from a running peak, as a positive amount (0 for a never-falling curve).

    Example: 100, 110, 95, 120, 118 -> 15 (110 -> 95).
    """
    peak: Decimal | None = None
    worst = _ZERO
    for point in equity:
        peak = point.equity_quote if peak is None else max(peak, point.equity_quote)
        worst = max(worst, peak - point.equity_quote)
    return worst


def apr_pct(net_pnl_quote: Decimal, capital_quote: Decimal, period_s: float) -> Decimal | None:
    """Simple (not compounded) annual return, %: net / capital × 365 d / period × 100; None if period <= 0.

    Example: +50 on 10 000 over 73 days -> 0.5 % × 5 = 2.5 %.
    """
    if period_s <= 0:
        return None
    return net_pnl_quote / capital_quote * Decimal(SECONDS_PER_YEAR) / Decimal(str(period_s)) * _HUNDRED


def fees_from_trades(trades: Iterable[Trade]) -> Decimal:
    return sum((t.fee_quote for t in trades), _ZERO)


def slippage_from_trades(trades: Iterable[Trade]) -> Decimal:
    return sum((t.slippage_quote for t in trades), _ZERO)


def basis_pnl_from_trades(trades: Iterable[Trade], final_mids: Mapping[tuple[str, str], Decimal]) -> Decimal:
    """Price PnL of all legs at mid: Σ −signed_base × mid over fills, plus open positions at the final mid.

    `final_mids` maps (connector, trading_pair) to the mid at the end of the run; needed only for markets with
    a position left open. Example: buy 1 @ mid 100, sell 1 @ mid 103 on another venue, both closed later at
    mids 110 and 112: (−100 + 110) + (103 − 112) = +1.

    Raises:
        ValueError: a position is open at the end and its market has no final mid.
    """
    cash = _ZERO
    position: dict[tuple[str, str], Decimal] = {}
    for t in trades:
        cash -= t.signed_base * t.mid_price
        key = (t.connector, t.trading_pair)
        position[key] = position.get(key, _ZERO) + t.signed_base
    for key in sorted(position):
        amount = position[key]
        if amount == 0:
            continue
        if key not in final_mids:
            raise ValueError(
                f"position of {amount} on {key[0]} {key[1]} is open at the end but final_mids has no mid for it"
            )
        cash += amount * final_mids[key]
    return cash


def build_run_result(
    name: str,
    *,
    capital_quote: Decimal,
    equity: Sequence[tuple[float, Decimal]],
    trades: Sequence[Trade],
    funding_pnl_quote: Decimal,
    borrow_quote: Decimal,
    final_mids: Mapping[tuple[str, str], Decimal],
    period_s: float,
    pairs_opened: int,
    liquidations: int | None,
    max_hedge_gap_pct: Decimal | None,
    unhedged_seconds: Decimal | None,
    pairs: Sequence[PairRow] = (),
    margin: Sequence[MarginPoint] = (),
    events: Sequence[RunEvent] = (),
    notes: Sequence[str] = (),
    utilisation: Sequence[tuple[float, Decimal]] = (),
    halted: bool = False,
    tolerance_quote: Decimal | None = DEFAULT_TOLERANCE_QUOTE,
) -> RunResult:
    """A strategy run's result from what the runner recorded; fees, slippage and basis come from the fills.

    net = last equity − capital (equity marked at mid, i.e. before exit costs of open positions).

    Raises:
        InvariantError: the recorded equity does not match funding + basis − fees − slippage − borrow within
            `tolerance_quote` (pass None to skip the check).
        ValueError: empty equity series, or an open position without a final mid.
    """
    if not equity:
        raise ValueError(f"run {name}: equity series is empty; record at least the starting capital")
    points = tuple(EquityPoint(ts, eq) for ts, eq in sorted(equity, key=lambda p: p[0]))
    ordered = tuple(sorted(trades, key=trade_sort_key))
    net = points[-1].equity_quote - capital_quote
    result = RunResult(
        name=name,
        capital_quote=capital_quote,
        net_pnl_quote=net,
        funding_pnl_quote=funding_pnl_quote,
        fees_quote=fees_from_trades(ordered),
        slippage_quote=slippage_from_trades(ordered),
        borrow_quote=borrow_quote,
        basis_pnl_quote=basis_pnl_from_trades(ordered, final_mids),
        max_drawdown_quote=max_drawdown_quote(points),
        apr_pct=apr_pct(net, capital_quote, period_s),
        pairs_opened=pairs_opened,
        liquidations=liquidations,
        max_hedge_gap_pct=max_hedge_gap_pct,
        unhedged_seconds=unhedged_seconds,
        equity=points,
        trades=ordered,
        pairs=tuple(sorted(pairs, key=lambda r: (r.opened_ts, r.pair_key))),
        margin=tuple(sorted(margin, key=lambda m: (m.ts, m.connector, m.token))),
        events=tuple(sorted(events, key=lambda e: (e.ts, e.kind.value, e.detail))),
        notes=tuple(notes),
        utilisation=tuple(UtilisationPoint(ts, r) for ts, r in sorted(utilisation, key=lambda p: p[0])),
        halted=halted,
    )
    if tolerance_quote is not None:
        check_invariant(result, tolerance_quote)
    return result


def trade_sort_key(t: Trade) -> tuple[Any, ...]:
    return (t.ts, t.token, t.connector, t.trading_pair, t.side.value, t.amount_base, t.price, t.reason)


@dataclass(frozen=True)
class ReplayReport:
    """The whole replay. `data` keys: dir, venues, coins, spot_venues, approximations (list of sentences);
    `period`: start and end as ISO-8601 UTC; `config`: strategy settings used (secrets are dropped on output);
    `runs` may lack a run that was not executed (reported as null)."""

    data: Mapping[str, Any]
    period: Mapping[str, str]
    runs: Mapping[str, RunResult]
    sim_seconds: Decimal | float
    wall_seconds: Decimal | float
    config: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key in ("start", "end"):
            if key not in self.period:
                raise ValueError(f"ReplayReport.period ({dict(self.period)}) must have {key!r}")
        for key, run in self.runs.items():
            if key != run.name:
                raise ValueError(f"ReplayReport.runs[{key!r}] holds a run named {run.name!r}")
        for name in ("sim_seconds", "wall_seconds"):
            value = getattr(self, name)
            _set(self, name, value if isinstance(value, Decimal) else Decimal(str(value)))
