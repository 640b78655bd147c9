"""JournaledPairStore: the journal is the source, the JSON state file an export; a pre-journal file is imported once."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from strategies.funding_arbitrage.shell.journal import Journal
from strategies.funding_arbitrage.shell.journal_store import JournaledPairStore
from strategies.funding_arbitrage.shell.state import Leg, PairRecord, PairState, PairStore


def _record(pair_id: str = "BTC-1-1", state: PairState = PairState.HEDGED) -> PairRecord:
    return PairRecord(
        pair_id=pair_id,
        token="BTC",
        state=state,
        opened_ts=1.0,
        updated_ts=2.0,
        long=Leg(
            "bybit_perpetual", "BTC-USDT", "perp", "long", Decimal("0.01"), Decimal("800"), target_base=Decimal("0.01")
        ),
        short=Leg(
            "binance_perpetual",
            "BTC-USDT",
            "perp",
            "short",
            Decimal("-0.01"),
            Decimal("801"),
            target_base=Decimal("0.01"),
        ),
        funding_received_quote=Decimal("0.25"),
    )


def test_a_pre_journal_state_file_is_imported_once_and_then_only_exported(tmp_path: Path) -> None:
    legacy = PairStore(tmp_path / "state.json")
    legacy.add(_record())
    legacy.save()

    store = JournaledPairStore(tmp_path / "state.json", Journal(tmp_path / "j.sqlite"))
    [loaded] = store.load()

    assert loaded.pair_id == "BTC-1-1" and loaded.funding_received_quote == Decimal("0.25")
    assert [d["pair_id"] for d in store.journal.load_pairs()] == ["BTC-1-1"]

    (tmp_path / "state.json").write_text(json.dumps({"version": 2, "seq": 0, "pairs": [], "orders": []}))
    again = JournaledPairStore(tmp_path / "state.json", Journal(tmp_path / "j.sqlite"))
    assert [r.pair_id for r in again.load()] == ["BTC-1-1"]  # the journal wins over an edited export


def test_changes_are_journaled_with_transitions_and_exported(tmp_path: Path) -> None:
    store = JournaledPairStore(tmp_path / "state.json", Journal(tmp_path / "j.sqlite"))
    store.load()
    record = _record(state=PairState.OPENING)
    store.add(record)
    store.save()
    record.transition(PairState.HEDGED, 3.0)
    store.save()
    store.save()  # nothing changed: no new row

    assert [t[1:3] for t in store.journal.transitions("BTC-1-1")] == [(None, "OPENING"), ("OPENING", "HEDGED")]
    exported = json.loads((tmp_path / "state.json").read_text())
    assert [p["state"] for p in exported["pairs"]] == ["HEDGED"]
