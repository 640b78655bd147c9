"""Maintenance margin by notional bracket; liquidation estimates for one perp leg.

Source: Binance USDⓈ-M leverage brackets, `../shared/data/venues/binance_usdm_leverage_brackets_2026-09.csv`
relative to the project root (read in place, never copied). Maintenance margin of a position, in quote:

    MM(notional) = notional × MMR − cum       (MMR, cum of the bracket that contains the notional)

`cum` keeps MM continuous across brackets (cum_k = cum_{k-1} + min_k × (MMR_k − MMR_{k-1})); `load` checks it.

Which table a market uses (`MarginBrackets.resolve`), explicitly:
  * Binance (`binance_perpetual`, `sim_binance_perpetual`): its own symbol `<TOKEN><QUOTE>`, source "binance".
  * any other venue, or a Binance quote missing from the table: Binance's `<TOKEN>USDT` table as a proxy,
    source "proxy:binance". Other venues' brackets are alike in shape, not identical: a hint, not their rule.
  * neither present (e.g. Hyperliquid's `kPEPE`): None. The liquidation price is then *unknown*; callers
    report N/A and alert, never "safe".

Liquidation model (isolated margin; Binance's isolated formula with TMM = UPNL = 0). A position of signed
`amount` (base; negative = short) entered at `entry` with `margin` (quote) is liquidated at the mark price P
where its equity meets maintenance margin:

    margin + amount × (P − entry) = MM(|amount| × P)
    =>  P = (amount × entry − margin − cum) / (amount − |amount| × MMR)        (per bracket)

The bracket is the one containing the notional *at P*. Equity − MM is strictly monotone in P (MMR < 1), so
exactly one bracket is consistent (two at a boundary, giving the same P). In cross-margin mode the whole
account backs the position, so this isolated estimate is the conservative (nearer) one.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from pathlib import Path

from .venues import venue_name

BRACKETS_RELPATH = Path("../shared/data/venues/binance_usdm_leverage_brackets_2026-09.csv")
SOURCE_BINANCE = "binance"
SOURCE_PROXY = "proxy:binance"
PROXY_QUOTE = "USDT"
_COLUMNS = (
    "symbol",
    "binance_symbol",
    "tier",
    "min_notional",
    "max_notional",
    "maint_margin_rate",
    "max_leverage",
    "cum",
)
_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
_CUM_TOLERANCE_QUOTE = Decimal("0.01")


class MarginDataError(ValueError):
    """The bracket file is missing or malformed; names the file and row. The operator must fix the data."""


CHECKOUT_ROOT = Path(__file__).resolve().parents[3]


def default_brackets_path(project_root: Path) -> Path:
    """The shared bracket table beside the project at `project_root`."""
    return (project_root / BRACKETS_RELPATH).resolve()


def locate_brackets(*project_roots: Path) -> Path:
    """The first existing shared table beside any of `project_roots` (e.g. the run home, then this checkout).

    Raises:
        MarginDataError: none exists; lists every path tried.
    """
    tried = [default_brackets_path(r) for r in (*project_roots, CHECKOUT_ROOT)]
    for path in tried:
        if path.is_file():
            return path
    paths = ", ".join(map(str, dict.fromkeys(tried)))
    raise MarginDataError(f"margin bracket table not found; tried {paths}")


@dataclass(frozen=True)
class Bracket:
    """One notional tier, for notional in [min_notional_quote, max_notional_quote]."""

    tier: int
    min_notional_quote: Decimal
    max_notional_quote: Decimal
    maint_margin_rate: Decimal  # fraction: 0.004 = 0.4 %
    max_leverage: Decimal
    cum_quote: Decimal

    def contains(self, notional_quote: Decimal) -> bool:
        return self.min_notional_quote <= notional_quote <= self.max_notional_quote


@dataclass(frozen=True)
class BracketTable:
    """Tiers of one symbol, ascending; `source` is "binance" (the venue's own) or "proxy:binance"."""

    symbol: str
    tiers: tuple[Bracket, ...]
    source: str = SOURCE_BINANCE

    def bracket_for(self, notional_quote: Decimal) -> Bracket:
        """The tier containing |notional| (quote); beyond the last tier, the last tier."""
        n = abs(notional_quote)
        for b in self.tiers:  # a plain loop: this runs for every leg on every tick
            if n <= b.max_notional_quote:
                return b
        return self.tiers[-1]

    def maintenance_margin(self, notional_quote: Decimal) -> Decimal:
        """MM (quote) = |notional| × MMR − cum. Example BTCUSDT: 500 000 × 0.005 − 300 = 2 200."""
        b = self.bracket_for(notional_quote)
        return abs(notional_quote) * b.maint_margin_rate - b.cum_quote

    def as_proxy(self) -> BracketTable:
        return BracketTable(self.symbol, self.tiers, SOURCE_PROXY)


class MarginBrackets:
    """Bracket tables keyed by Binance symbol (`BTCUSDT`)."""

    def __init__(self, tables: dict[str, BracketTable], path: Path | None = None) -> None:
        self._tables = dict(tables)
        self.path = path

    @classmethod
    def load(cls, csv_path: Path) -> MarginBrackets:
        """Read the bracket CSV.

        Raises:
            MarginDataError: unreadable file, missing column, malformed value or non-contiguous tiers,
                naming `<file>:<line>` (or the file and symbol for cross-row problems).
        """
        rows: dict[str, list[Bracket]] = {}
        try:
            with open(csv_path, newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh)
                missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
                if missing:
                    raise MarginDataError(f"{csv_path}: missing column(s) {missing}")
                for line, row in enumerate(reader, start=2):
                    symbol, bracket = _parse_row(row, f"{csv_path}:{line}")
                    rows.setdefault(symbol, []).append(bracket)
        except OSError as e:
            raise MarginDataError(f"{csv_path}: cannot read the bracket file: {e}") from e
        return cls({s: _build_table(s, tiers, csv_path) for s, tiers in rows.items()}, Path(csv_path))

    def __len__(self) -> int:
        return len(self._tables)

    def table(self, symbol: str) -> BracketTable | None:
        return self._tables.get(symbol)

    def maintenance_margin(self, symbol: str, notional_quote: Decimal) -> Decimal | None:
        """MM (quote) of `symbol` (Binance spelling) at `notional_quote`; None if the symbol is unknown."""
        t = self._tables.get(symbol)
        return t.maintenance_margin(notional_quote) if t else None

    def resolve(self, connector: str, token: str, quote_asset: str) -> BracketTable | None:
        """The table for a market by the rule in the module docstring; None = unknown."""
        if venue_name(connector) == "binance":
            own = self._tables.get(f"{token}{quote_asset}")
            if own is not None:
                return own
        proxy = self._tables.get(f"{token}{PROXY_QUOTE}")
        return proxy.as_proxy() if proxy is not None else None


def _dec(row: dict[str, str], col: str, where: str) -> Decimal:
    raw = (row.get(col) or "").strip()
    try:
        value = Decimal(raw)
    except InvalidOperation as e:
        raise MarginDataError(f"{where}: {col} ({raw!r}) is not a number") from e
    if not value.is_finite():
        raise MarginDataError(f"{where}: {col} ({raw!r}) must be finite")
    return value


def _parse_row(row: dict[str, str], where: str) -> tuple[str, Bracket]:
    symbol = (row.get("binance_symbol") or "").strip()
    if not symbol:
        raise MarginDataError(f"{where}: binance_symbol is empty")
    tier = _dec(row, "tier", where)
    if tier != tier.to_integral_value() or tier < 1:
        raise MarginDataError(f"{where}: tier ({tier}) must be a positive integer")
    b = Bracket(
        int(tier),
        _dec(row, "min_notional", where),
        _dec(row, "max_notional", where),
        _dec(row, "maint_margin_rate", where),
        _dec(row, "max_leverage", where),
        _dec(row, "cum", where),
    )
    if not _ZERO <= b.min_notional_quote < b.max_notional_quote:
        raise MarginDataError(
            f"{where}: min_notional ({b.min_notional_quote}) must be >= 0 and below "
            f"max_notional ({b.max_notional_quote})"
        )
    if not _ZERO <= b.maint_margin_rate < 1:
        raise MarginDataError(f"{where}: maint_margin_rate ({b.maint_margin_rate}) must be in [0, 1)")
    if b.cum_quote < 0 or b.max_leverage < 1:
        raise MarginDataError(f"{where}: cum ({b.cum_quote}) must be >= 0 and max_leverage ({b.max_leverage}) >= 1")
    return symbol, b


def _build_table(symbol: str, tiers: list[Bracket], path: Path) -> BracketTable:
    tiers = sorted(tiers, key=lambda b: b.tier)
    for i, b in enumerate(tiers):
        if b.tier != i + 1:
            raise MarginDataError(f"{path}: {symbol} tier {b.tier} out of sequence (expected {i + 1})")
        if i == 0:
            if b.min_notional_quote != 0 or b.cum_quote != 0:
                raise MarginDataError(
                    f"{path}: {symbol} tier 1 min_notional ({b.min_notional_quote}) and cum ({b.cum_quote}) must be 0"
                )
            continue
        prev = tiers[i - 1]
        if b.min_notional_quote != prev.max_notional_quote:
            raise MarginDataError(
                f"{path}: {symbol} tier {b.tier} min_notional ({b.min_notional_quote}) "
                f"must equal tier {prev.tier} max_notional ({prev.max_notional_quote})"
            )
        expected = prev.cum_quote + b.min_notional_quote * (b.maint_margin_rate - prev.maint_margin_rate)
        if abs(expected - b.cum_quote) > _CUM_TOLERANCE_QUOTE:
            raise MarginDataError(
                f"{path}: {symbol} tier {b.tier} cum ({b.cum_quote}) must be {expected} "
                "to keep maintenance margin continuous"
            )
    return BracketTable(symbol, tuple(tiers))


def estimate_liquidation_price(
    amount_signed: Decimal, entry_price: Decimal, wallet_margin_quote: Decimal, table: BracketTable | None
) -> Decimal | None:
    """Mark price (quote per base) at which an isolated position is liquidated; None if `table` is None.

    Returns 0 for a long whose margin covers the whole loss down to price 0 (it cannot be liquidated).

    Worked example (BTCUSDT tier 1: MMR 0.004, cum 0): long 0.1 BTC at 60 000 with 10x (margin 600):
        P = (0.1 × 60 000 − 600 − 0) / (0.1 − 0.1 × 0.004) = 5 400 / 0.0996 = 54 216.87
        (notional at P = 5 421.69, inside tier 1: consistent). As a short:
        P = (−6 000 − 600) / (−0.1 − 0.0004) = 65 737.05.

    Raises:
        ValueError: amount is zero or the entry price is not positive.
    """
    if table is None:
        return None
    if amount_signed == 0 or entry_price <= 0:
        raise ValueError(f"amount_signed ({amount_signed}) must be non-zero and entry_price ({entry_price}) positive")
    q = abs(amount_signed)
    for b in table.tiers:
        price = (amount_signed * entry_price - wallet_margin_quote - b.cum_quote) / (
            amount_signed - q * b.maint_margin_rate
        )
        if price <= 0:  # only a long: equity stays above MM all the way down to price 0
            return _ZERO
        if b.contains(q * price) or b is table.tiers[-1]:
            return price
    raise AssertionError("unreachable: the last tier always answers")  # pragma: no cover


def liquidation_distance_pct(mark_price: Decimal, liq_price: Decimal, *, is_long: bool) -> Decimal:
    """How far (in % of mark) the mark may move against the position before liquidation.

    Negative when the mark is already beyond the liquidation price. Example: long, mark 60 000, liquidation
    54 216.87 -> 9.64 %.

    Raises:
        ValueError: mark price not positive.
    """
    if mark_price <= 0:
        raise ValueError(f"mark_price ({mark_price}) must be positive")
    gap = mark_price - liq_price if is_long else liq_price - mark_price
    return gap / mark_price * _HUNDRED


def margin_ratio(maintenance_quote: Decimal | None, equity_quote: Decimal) -> Decimal | None:
    """Maintenance margin / equity (fraction; >= 1 means liquidation).

    None if the maintenance margin is unknown; Decimal('Infinity') if equity <= 0 (past liquidation).
    """
    if maintenance_quote is None:
        return None
    if equity_quote <= 0:
        return Decimal("Infinity")
    return maintenance_quote / equity_quote


def isolated_margin_quote(amount_base: Decimal, entry_price: Decimal, leverage: Decimal) -> Decimal:
    """Margin (quote) an isolated position holds at `leverage`: |amount| × entry / leverage.

    This is what the venue holds at every size, not only at the largest: an isolated position's margin grows by
    fill notional / leverage, is re-set to |amount| × entry / L when the leverage changes, and is released pro rata
    when the position is reduced (Binance/Bybit isolated; the simulated perps, `sim/positions.py`). The entry price
    does not change on a reduction, so |amount| × entry / L stays exact. Example: 0.1 BTC at 60 000, 10x -> 600.

    Raises:
        ValueError: leverage not positive.
    """
    if leverage <= 0:
        raise ValueError(f"leverage ({leverage}) must be positive")
    return abs(amount_base) * entry_price / leverage


def margin_after_reduction(margin_quote: Decimal, amount_before_base: Decimal, amount_after_base: Decimal) -> Decimal:
    """The isolated margin (quote) left after reducing from `amount_before_base` to `amount_after_base`: released
    pro rata (margin × |after| / |before|). Example: 600 on 0.1 BTC, cut to 0.065 -> 390.

    Raises:
        ValueError: the amounts are not a reduction of a non-zero position.
    """
    before, after = abs(amount_before_base), abs(amount_after_base)
    if before == 0 or after > before:
        raise ValueError(f"not a reduction: {amount_before_base} -> {amount_after_base}")
    return margin_quote * after / before


def max_amount_for_distance(
    amount_signed: Decimal,
    entry_price: Decimal,
    margin_quote: Decimal,
    mark_price: Decimal,
    min_distance_pct: Decimal,
    table: BracketTable,
) -> Decimal:
    """Largest |amount| (base, <= |amount_signed|) to keep so the rest liquidates >= `min_distance_pct` from mark.

    What a venue does when part of an isolated position is closed: the rest keeps its entry price and margin per
    unit (`margin_after_reduction`). Per unit kept, equity at the target price P_t (mark × (1 − d) for a long,
    mark × (1 + d) for a short) is u = margin / |amount| + s × (P_t − entry), s = ±1, the same for any size; the
    rest q is safe at P_t while q × u >= MM(q × P_t) = q × P_t × MMR − cum. MM per unit of notional grows with the
    notional, so the safe sizes are [0, q*], and per bracket q* = cum / (P_t × MMR − u) (all q when u >=
    P_t × MMR). Within the first bracket (cum 0) a cut never helps: the answer is all or nothing. It helps only
    when the rest falls into a lower bracket (large positions).
    Example (BTCUSDT tier 1): short 1 BTC at 60 000, 1x (margin 60 000), mark 110 000, d = 15 %: P_t = 126 500,
        u = 60 000 − 66 500 < 0 -> 0 (nothing can be kept; close it).
    """
    q = abs(amount_signed)
    if q == 0 or mark_price <= 0:
        return _ZERO
    d = min_distance_pct / _HUNDRED
    target = mark_price * (1 - d) if amount_signed > 0 else mark_price * (1 + d)
    if target <= 0:
        return _ZERO
    per_unit = margin_quote / q + (target - entry_price if amount_signed > 0 else entry_price - target)
    best = _ZERO
    for b in table.tiers:
        lo = b.min_notional_quote / target
        hi = None if b is table.tiers[-1] else b.max_notional_quote / target
        shortfall = target * b.maint_margin_rate - per_unit  # MM per unit minus equity per unit, before cum
        if shortfall <= 0:
            bound = q if hi is None else min(hi, q)
        else:
            bound = min(b.cum_quote / shortfall, q) if hi is None else min(b.cum_quote / shortfall, hi, q)
        if bound >= lo and bound > best:
            best = bound
    return best


def reduce_fraction_for_distance(
    amount_signed: Decimal,
    entry_price: Decimal,
    margin_quote: Decimal,
    mark_price: Decimal,
    min_distance_pct: Decimal,
    table: BracketTable,
    lot_size_base: Decimal | None = None,
) -> Decimal:
    """Smallest fraction (0..1] of a position to close so the rest liquidates >= `min_distance_pct` from mark.

    The rest keeps its entry and its margin pro rata (`max_amount_for_distance`); its amount is floored to the lot
    and at least one lot is closed. 1 = close everything: the usual answer, since within one bracket the rest
    liquidates at the same price as the whole (only lower leverage, i.e. more margin, or closing helps).
    Example: short 1 BTC at 60 000, 1x, mark 110 000, 15 % -> 1.
    """
    q = abs(amount_signed)
    keep = max_amount_for_distance(amount_signed, entry_price, margin_quote, mark_price, min_distance_pct, table)
    if lot_size_base:
        keep = (keep / lot_size_base).to_integral_value(rounding=ROUND_FLOOR) * lot_size_base
    cut = q - keep
    if lot_size_base:
        cut = min(max(cut, lot_size_base), q)
    return cut / q
