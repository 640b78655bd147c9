"""shell/execution.py with a recording strategy: pre-submit position checks, fills counted once, restart state."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from hummingbot.core.data_type.common import OrderType, PositionAction, TradeType

from strategies.funding_arbitrage.core import lifecycle as lc
from strategies.funding_arbitrage.core.orders import OrderStatus
from strategies.funding_arbitrage.shell.execution import LegExecutor
from strategies.funding_arbitrage.shell.state import Leg, PairRecord, PairState, PairStore

D = Decimal
PARAMS = lc.LifecycleParams(D("0.001"), D("0.001"))


class Strategy:
    def __init__(self) -> None:
        self.orders: list[tuple[str, str, Decimal, Any, dict[str, Any]]] = []
        self.connectors: dict[str, Any] = {}
        self.current_timestamp = 0.0
        self._ids = 0

    def _id(self) -> str:
        self._ids += 1
        return f"o{self._ids}"

    def buy(self, connector: str, pair: str, amount: Decimal, order_type: Any, **kw: Any) -> str:
        self.orders.append(("buy", connector, amount, order_type, kw))
        return self._id()

    def sell(self, connector: str, pair: str, amount: Decimal, order_type: Any, **kw: Any) -> str:
        self.orders.append(("sell", connector, amount, order_type, kw))
        return self._id()

    def cancel(self, connector: str, pair: str, order_id: str) -> None:
        self.orders.append(("cancel", connector, D(0), None, {"id": order_id}))


def _hedged(tmp_path: Path, long_connector: str = "okx_perpetual") -> tuple[LegExecutor, Strategy, PairRecord]:
    strategy = Strategy()
    store = PairStore(tmp_path / "state.json")
    ex = LegExecutor(strategy, store, lambda ts, kind, detail: None)
    record = PairRecord(
        "BTC-1",
        "BTC",
        Leg(long_connector, "BTC-USDT", "perp", "long", target_base=D("0.01")),
        Leg("bybit_perpetual", "BTC-USDT", "perp", "short", target_base=D("0.01")),
        PairState.OPENING,
        0,
        0,
    )
    ex.open_pair(record, 0, PARAMS, lc.LegSide.LONG)
    ex.on_fill("o1", "t1", TradeType.BUY, D("60000"), D("0.01"), D("0"), 1)
    ex.on_fill("o2", "t2", TradeType.SELL, D("60000"), D("0.01"), D("0"), 2)
    assert record.state is PairState.HEDGED
    strategy.orders.clear()
    return ex, strategy, record


def test_close_on_a_connector_without_reduce_only_waits_while_its_position_is_unknown(tmp_path: Path) -> None:
    ex, strategy, record = _hedged(tmp_path)
    ex.hooks.venue_amount = lambda connector, pair: None if connector == "okx_perpetual" else D("-0.01")

    ex.close_pair(record, 10, "max_holding")

    assert [(o[0], o[1]) for o in strategy.orders] == [("buy", "bybit_perpetual")]  # only the known leg
    assert record.state is PairState.UNWINDING


def test_close_is_capped_at_what_the_venue_holds_and_never_flips(tmp_path: Path) -> None:
    ex, strategy, record = _hedged(tmp_path)
    venue = {"okx_perpetual": D("0.004"), "bybit_perpetual": D("-0.01")}
    ex.hooks.venue_amount = lambda connector, pair: venue[connector]

    ex.close_pair(record, 10, "max_holding")

    sells = [o for o in strategy.orders if o[0] == "sell"]
    assert [(o[1], o[2], o[4]["position_action"]) for o in sells] == [
        ("okx_perpetual", D("0.004"), PositionAction.CLOSE)
    ]
    assert record.long.filled_base == D("0.004")  # the record adopted the venue


def test_a_fill_learnt_twice_is_counted_once(tmp_path: Path) -> None:
    ex, _, record = _hedged(tmp_path, "binance_perpetual")
    ex.close_pair(record, 10, "max_holding")
    close_long = next(o for o in ex.tracker.open_orders(record.pair_id, lc.LegSide.LONG))

    for _ in range(2):  # the event, then the venue's trade history
        ex.on_fill(close_long.client_order_id, "t9", TradeType.SELL, D("60000"), D("0.01"), D("0"), 11)

    assert record.long.filled_base == 0 and ex.tracker.get(close_long.client_order_id).filled_base == D("0.01")


def test_orders_working_at_a_restart_are_unknown_until_the_venue_answers(tmp_path: Path) -> None:
    ex, strategy, record = _hedged(tmp_path, "binance_perpetual")
    ex.close_pair(record, 10, "max_holding")

    store = PairStore(tmp_path / "state.json")
    store.load()
    restarted = LegExecutor(strategy, store, lambda ts, kind, detail: None)
    unknown = restarted.restart_unknown(100)

    assert {o.status for o in unknown} == {OrderStatus.UNKNOWN} and len(unknown) == 2
    book = restarted.book(store.records["BTC-1"])
    assert book.unknown == {lc.LegSide.LONG, lc.LegSide.SHORT}
    assert OrderType.MARKET in {o[3] for o in strategy.orders}


def test_a_version_1_state_file_is_read_and_its_pairs_keep_their_lifecycle(tmp_path: Path) -> None:
    import json

    leg = {"connector": "binance_perpetual", "trading_pair": "BTC-USDT", "kind": "perp", "side": "long",
           "filled_base": "0.01", "cost_quote": "600", "fees_quote": "0.3", "target_base": "0.01"}
    short = {**leg, "connector": "bybit_perpetual", "side": "short", "filled_base": "-0.01"}
    pair = {"pair_id": "BTC-1", "token": "BTC", "long": leg, "short": short, "state": "FAILED", "opened_ts": 0,
            "updated_ts": 0, "funding_received_quote": "0", "orders": {"x": "long"}}
    (tmp_path / "state.json").write_text(json.dumps({"version": 1, "seq": 1, "pairs": [pair]}))
    store = PairStore(tmp_path / "state.json")
    store.load()
    strategy = Strategy()
    ex = LegExecutor(strategy, store, lambda ts, kind, detail: None)
    record = store.records["BTC-1"]

    ex.send(record, lc.Tick(5), 5)  # FAILED no longer rests: the close is retried from what the legs hold

    assert record.state is PairState.UNWINDING
    assert sorted((o[0], o[1], o[2]) for o in strategy.orders) == [("buy", "bybit_perpetual", D("0.01")),
                                                                   ("sell", "binance_perpetual", D("0.01"))]
