"""Benchmark: one state save (run on demand, not by pytest).

    .venv/bin/python bench/bench_state_save.py [--pairs 5] [--orders 10] [--saves 500]

Builds a store like the sample config's replay holds (5 hedged pairs with their lifecycle books, 10 filled orders),
then times `PairStore.save` (the state file alone) and `JournaledPairStore.save` (the replay's store: the changed
record to the journal in one transaction, then the state file) with one record changed before each save, as a
funding settlement does. Prints process CPU (user + system: the fsync is system time) and wall per save, in ms.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from strategies.funding_arbitrage.core import lifecycle as lc
from strategies.funding_arbitrage.core.orders import OrderStatus, TrackedOrder
from strategies.funding_arbitrage.shell.journal import Journal
from strategies.funding_arbitrage.shell.journal_store import JournaledPairStore
from strategies.funding_arbitrage.shell.state import Leg, PairRecord, PairState, PairStore, encode_book


def _record(i: int) -> PairRecord:
    amount = Decimal("0.0058") * (i + 1)
    book = lc.PairBook(
        lc.LifecycleState.HEDGED,
        lc.LegSide.LONG,
        amount,
        lc.LifecycleParams(Decimal("0.0001"), Decimal("0.001")),
        lc.LegBook(amount),
        lc.LegBook(amount),
        followed_base=amount,
    )
    return PairRecord(
        pair_id=f"TOK{i}-1751647500-{i}",
        token=f"TOK{i}",
        long=Leg("sim_binance", f"TOK{i}-USDT", "spot", "long", amount, amount * 108000, Decimal("0.6264")),
        short=Leg("sim_bybit_perpetual", f"TOK{i}-USDT", "perp", "short", -amount, amount * 108010, Decimal("0.35")),
        state=PairState.HEDGED,
        opened_ts=1751647500.0,
        updated_ts=1751648100.0,
        funding_received_quote=Decimal("1.234567"),
        book=encode_book(book),
        entry_edge_pct=Decimal("0.41"),
        first_fill_ts=1751647800.0,
    )


def _order(i: int) -> TrackedOrder:
    return TrackedOrder(
        f"sim-ORDER{i:04d}",
        f"TOK{i // 2}-1751647500-{i // 2}",
        lc.LegSide.LONG if i % 2 == 0 else lc.LegSide.SHORT,
        lc.OrderIntent.OPEN,
        "sim_binance",
        f"TOK{i // 2}-USDT",
        Decimal("0.0058"),
        1751647800.0,
        OrderStatus.FILLED,
        Decimal("0.0058"),
        (f"sim_binance-{i}-t1",),
        1751648100.0,
    )


def _time(store: PairStore, saves: int) -> tuple[float, float]:
    record = next(iter(store.records.values()))
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(saves):
        record.funding_received_quote += Decimal("0.01")  # one record changes, as at a funding settlement
        store.save()
    return (time.process_time() - cpu0) / saves * 1e3, (time.perf_counter() - wall0) / saves * 1e3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--orders", type=int, default=10)
    parser.add_argument("--saves", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        plain = PairStore(Path(tmp) / "plain.json")
        journaled = JournaledPairStore(Path(tmp) / "state.json", Journal(Path(tmp) / "j.sqlite"))
        for store in (plain, journaled):
            store.records = {r.pair_id: r for r in map(_record, range(args.pairs))}
            store.orders = {o.client_order_id: o for o in map(_order, range(args.orders))}
            store.save()
        size = (Path(tmp) / "plain.json").stat().st_size
        print(f"{args.pairs} pairs, {args.orders} orders, state file {size} bytes, {args.saves} saves each")
        for name, store in (("PairStore.save (state file)", plain), ("JournaledPairStore.save", journaled)):
            cpu_ms, wall_ms = _time(store, args.saves)
            print(f"  {name:<30} CPU {cpu_ms:6.3f} ms   wall {wall_ms:6.3f} ms  per save")


if __name__ == "__main__":
    main()
