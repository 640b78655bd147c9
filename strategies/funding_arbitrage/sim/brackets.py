"""Maintenance-margin brackets and the liquidation arithmetic of the simulated perps (no hummingbot import).

Source: `../shared/data/venues/binance_usdm_leverage_brackets_2026-09.csv` (Binance `/fapi/v1/leverageBracket`).
Every simulated perp venue uses Binance's brackets for the coin (`<COIN>USDT`): no other venue's tiers are in the data.

Maintenance margin of a position with notional N (quote) = N x mmr - cum, with (mmr, cum) of the bracket whose
[min_notional, max_notional) holds N. A position is liquidated when margin + unrealised PnL <= maintenance margin
(isolated-style, per position).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from .data import DataError, default_data_dir

BRACKETS_FILE = "venues/binance_usdm_leverage_brackets_2026-09.csv"
_COLUMNS = ("binance_symbol", "tier", "min_notional", "max_notional", "maint_margin_rate", "max_leverage", "cum")


@dataclass(frozen=True)
class Bracket:
    tier: int
    min_notional: Decimal
    max_notional: Decimal
    maint_margin_rate: Decimal
    max_leverage: int
    cum: Decimal


@dataclass(frozen=True)
class MaintenanceBrackets:
    """The notional tiers of one symbol, lowest tier first."""

    symbol: str
    brackets: tuple[Bracket, ...]

    def bracket_for(self, notional: Decimal) -> Bracket:
        """The tier holding `notional` (the last tier for anything beyond the table)."""
        for b in self.brackets:
            if b.min_notional <= notional < b.max_notional:
                return b
        return self.brackets[-1]

    def maintenance_margin(self, notional: Decimal) -> Decimal:
        """notional x mmr - cum. Example (BTCUSDT tier 2: mmr 0.005, cum 300): 400000 -> 1700."""
        b = self.bracket_for(abs(notional))
        return abs(notional) * b.maint_margin_rate - b.cum

    @property
    def max_leverage(self) -> int:
        return self.brackets[0].max_leverage

    def liquidation_price(self, amount: Decimal, entry_price: Decimal, margin: Decimal) -> Decimal | None:
        """Mark price at which margin + amount x (P - entry) = |amount| x P x mmr - cum; None if never (P <= 0).

        Solved per tier, P = (amount x entry - margin - cum) / (amount - |amount| x mmr), keeping the tier whose
        notional range holds |amount| x P. Example: long 0.1 BTC at 100000 with margin 200 (50x), tier 1 (mmr 0.004,
        cum 0): P = (10000 - 200) / (0.1 - 0.0004) = 98393.57...
        """
        if amount == 0:
            return None
        candidates = []
        for b in self.brackets:
            denominator = amount - abs(amount) * b.maint_margin_rate
            if denominator == 0:
                continue
            price = (amount * entry_price - margin - b.cum) / denominator
            notional = abs(amount) * price
            last = b is self.brackets[-1]
            if price > 0 and b.min_notional <= notional and (notional < b.max_notional or last):
                candidates.append(price)
        if not candidates:
            return None
        return max(candidates) if amount > 0 else min(candidates)

    def is_liquidatable(self, amount: Decimal, entry_price: Decimal, margin: Decimal, mark_price: Decimal) -> bool:
        """margin + uPnL <= maintenance margin at `mark_price`."""
        if amount == 0:
            return False
        equity = margin + amount * (mark_price - entry_price)
        return equity <= self.maintenance_margin(abs(amount) * mark_price)


def default_brackets_path() -> Path:
    return default_data_dir() / BRACKETS_FILE


def load_brackets(path: Path, symbols: Iterable[str]) -> dict[str, MaintenanceBrackets]:
    """Brackets for `symbols` (Binance names such as BTCUSDT). Raises DataError naming file, column and row."""
    wanted = set(symbols)
    rows: dict[str, list[Bracket]] = {s: [] for s in wanted}
    try:
        with open(path, newline="") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise DataError(f"{path}: missing column(s) {', '.join(missing)}")
            for line, row in enumerate(reader, start=2):
                if row["binance_symbol"] in wanted:
                    rows[row["binance_symbol"]].append(_bracket(path, line, row))
    except OSError as e:
        raise DataError(f"{path}: cannot be read: {e}") from e
    absent = sorted(s for s, r in rows.items() if not r)
    if absent:
        raise DataError(f"{path}: no maintenance-margin brackets for {', '.join(absent)}")
    return {s: MaintenanceBrackets(s, tuple(sorted(r, key=lambda b: b.min_notional))) for s, r in rows.items()}


def _bracket(path: Path, line: int, row: dict[str, str]) -> Bracket:
    values: dict[str, Decimal] = {}
    for column in _COLUMNS[1:]:
        try:
            value = Decimal(row[column])
        except (InvalidOperation, TypeError):
            raise DataError(f"{path}: column '{column}' row {line}: not a number: {row[column]!r}") from None
        if not value.is_finite() or value < 0:
            raise DataError(f"{path}: column '{column}' row {line}: must be a finite, non-negative number: {value}")
        values[column] = value
    return Bracket(
        int(values["tier"]),
        values["min_notional"],
        values["max_notional"],
        values["maint_margin_rate"],
        int(values["max_leverage"]),
        values["cum"],
    )
