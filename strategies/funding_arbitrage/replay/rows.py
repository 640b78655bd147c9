"""Pairs-table rows of the simulated runs, from the run's own fills (the ledger) and its position records.

Row identity: net = funding + basis − fees − slippage, with basis = Σ −signed_base × mid over the row's fills plus
what is still open at the final mid (the run-level rule of `results.basis_pnl_from_trades`, per row).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from .results import PairRow, Trade, pair_key

_ZERO = Decimal(0)
LIQUIDATION = "liquidation"


def _costs(trades: list[Trade]) -> tuple[Decimal, Decimal, Decimal, dict[tuple[str, str], Decimal]]:
    """fees, slippage, basis at fill mids, and the open amount per market left by `trades`."""
    fees = sum((t.fee_quote for t in trades), _ZERO)
    slippage = sum((t.slippage_quote for t in trades), _ZERO)
    basis = sum((-t.signed_base * t.mid_price for t in trades), _ZERO)
    open_base: dict[tuple[str, str], Decimal] = {}
    for t in trades:
        key = (t.connector, t.trading_pair)
        open_base[key] = open_base.get(key, _ZERO) + t.signed_base
    return fees, slippage, basis, open_base


def strategy_pair_row(record: Any, ledger: Any, order_ids: Iterable[str] | None = None) -> PairRow:
    """One hedged pair of the strategy's store: its own fills, funding as the strategy attributed it. `order_ids`:
    the pair's client order ids from the order tracker (None: the record's own `orders` map)."""
    trades = ledger.trades_of(set(order_ids) if order_ids is not None else set(record.orders))
    fees, slippage, basis, _ = _costs(trades)
    for leg in record.legs():
        mid = ledger.mid(leg.connector, leg.trading_pair)
        if leg.filled_base and mid is not None:
            basis += leg.filled_base * mid
    net = record.funding_received_quote + basis - fees - slippage
    return PairRow(
        pair_key(record.token, record.long.connector, record.short.connector),
        record.token,
        record.opened_ts,
        record.closed_ts,
        record.funding_received_quote,
        fees,
        slippage,
        basis,
        net,
        record.close_reason,
    )


def baseline_pair_rows(history: list[Any], ledger: Any, end_ts: float) -> list[PairRow]:
    """Every position the baseline opened: its orders' fills plus any liquidation of its legs while it was held.

    A position a venue liquidated flat is closed at its last liquidation with reason `liquidation`; one still
    holding base at the end is open (marked at the final mid).
    """
    rows = []
    for pos in history:
        pair = f"{pos.token}-{ledger.quote}"
        until = pos.closed_ts if pos.closed_ts is not None else end_ts
        legs = {(pos.long_connector, pair), (pos.short_connector, pair)}
        liquidations = [
            t
            for t in ledger.trades
            if t.reason == LIQUIDATION and (t.connector, t.trading_pair) in legs and pos.opened_ts <= t.ts <= until
        ]
        trades = ledger.trades_of(set(pos.orders)) + liquidations
        fees, slippage, basis, open_base = _costs(trades)
        for (connector, trading_pair), amount in open_base.items():
            mid = ledger.mid(connector, trading_pair)
            if amount and mid is not None:
                basis += amount * mid
        closed_ts, reason = pos.closed_ts, pos.close_reason
        if closed_ts is None and liquidations and not any(open_base.values()):
            closed_ts, reason = max(t.ts for t in liquidations), LIQUIDATION
        elif closed_ts is None:
            reason = None
        net = pos.funding + basis - fees - slippage
        rows.append(
            PairRow(
                pair_key(pos.token, pos.long_connector, pos.short_connector),
                pos.token,
                pos.opened_ts,
                closed_ts,
                pos.funding,
                fees,
                slippage,
                basis,
                net,
                reason,
            )
        )
    return rows
