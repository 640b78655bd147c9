"""`Leg.leverage`: the leverage a perp leg was opened / last confirmed at, persisted with the record (journal and
state file); an older document without it still loads (None: the restart falls back to cost / margin)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from strategies.funding_arbitrage.shell.journal import Journal
from strategies.funding_arbitrage.shell.journal_store import JournaledPairStore
from strategies.funding_arbitrage.shell.state import Leg, PairRecord, PairState, PairStore


def _record() -> PairRecord:
    return PairRecord(
        pair_id="BTC-1-1",
        token="BTC",
        state=PairState.HEDGED,
        opened_ts=1.0,
        updated_ts=2.0,
        long=Leg("bybit_perpetual", "BTC-USDT", "perp", "long", Decimal("0.01"), Decimal("800"), leverage=3),
        short=Leg("binance_perpetual", "BTC-USDT", "perp", "short", Decimal("-0.01"), Decimal("801"), leverage=5),
    )


def test_a_leg_leverage_round_trips_and_an_older_document_without_it_loads_as_unknown(tmp_path: Path) -> None:
    store = JournaledPairStore(tmp_path / "state.json", Journal(tmp_path / "j.sqlite"))
    store.load()
    store.add(_record())
    store.save()
    [loaded] = JournaledPairStore(tmp_path / "state.json", Journal(tmp_path / "j.sqlite")).load()
    assert (loaded.long.leverage, loaded.short.leverage) == (3, 5)

    doc = json.loads((tmp_path / "state.json").read_text())  # a state file written before the field existed
    for side in ("long", "short"):
        del doc["pairs"][0][side]["leverage"]
    (tmp_path / "old.json").write_text(json.dumps(doc))
    [old] = PairStore(tmp_path / "old.json").load()
    assert (old.long.leverage, old.short.leverage) == (None, None)
