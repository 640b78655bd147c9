"""The SQLite journal: versioned, migrated, refuses foreign and corrupt files untouched, keys funding per leg."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategies.funding_arbitrage.shell.journal import (
    APPLICATION,
    MIGRATIONS,
    SCHEMA_VERSION,
    Journal,
    JournalError,
)

D = Decimal


def test_a_new_journal_is_wal_at_the_current_version(tmp_path: Path) -> None:
    j = Journal(tmp_path / "sub" / "j.sqlite")
    assert j.schema_version == SCHEMA_VERSION == len(MIGRATIONS)
    assert j.get_meta("application") == APPLICATION
    assert j._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_v1_journal_is_migrated_to_the_current_version_keeping_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0])
    db.execute("INSERT INTO meta VALUES ('application', ?), ('schema_version', '1')", (APPLICATION,))
    db.execute("INSERT INTO pairs VALUES ('BTC-1-1', 'HEDGED', 'BTC', 5.0, '{\"pair_id\": \"BTC-1-1\"}')")
    db.execute(
        "INSERT INTO funding_payments VALUES ('binance_perpetual', 'BTC-USDT', 28800, '1.5', '0.0001', '[\"BTC-1-1\"]')"
    )
    db.execute("INSERT INTO totals VALUES ('fees_paid_quote', '2.25')")
    db.commit()
    db.close()

    j = Journal(path)

    assert j.schema_version == SCHEMA_VERSION
    assert j.load_pairs() == [{"pair_id": "BTC-1-1"}]
    [payment] = j.funding_payments()
    assert (payment.amount_quote, payment.source, payment.pair_ids) == (D("1.5"), "event", ("BTC-1-1",))
    assert j.totals() == {"fees_paid_quote": D("2.25")}
    j.record_funding_gap("okx_perpetual", "BTC-USDT", 1, 2, "no history", ["BTC-1-1"])  # a v2 table
    assert j.funding_gap_pairs() == {"BTC-1-1"}


@pytest.mark.parametrize("content", [b'{"version": 1, "pairs": []}', b"\x00" * 4096, b"SQLite format 3\x00junk"])
def test_a_corrupt_or_foreign_file_is_refused_and_left_untouched(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "j.sqlite"
    path.write_bytes(content)

    with pytest.raises(JournalError, match=str(path)):
        Journal(path)

    assert path.read_bytes() == content


def test_another_applications_sqlite_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "hummingbot.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE TradeFill (id INTEGER PRIMARY KEY, amount TEXT)")
    db.execute("INSERT INTO TradeFill VALUES (1, '3')")
    db.commit()
    db.close()
    before = path.read_bytes()

    with pytest.raises(JournalError, match="another application"):
        Journal(path)

    assert path.read_bytes() == before


def test_a_journal_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    Journal(path).set_meta("schema_version", str(SCHEMA_VERSION + 1))
    with pytest.raises(JournalError, match="newer than this code"):
        Journal(path)


def test_simultaneous_payments_on_two_venues_are_both_kept_and_a_repeat_is_not(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite")
    assert j.record_funding("binance_perpetual", "BTC-USDT", 28800, D("-1.2"), D("0.0001"), "event", ["p"])
    assert j.record_funding("bybit_perpetual", "BTC-USDT", 28800, D("2.5"), D("0.0002"), "event", ["p"])
    assert not j.record_funding("bybit_perpetual", "BTC-USDT", 28800, D("2.5"), D("0.0002"), "history", ["p"])

    assert [(p.connector, p.amount_quote) for p in j.funding_payments()] == [
        ("binance_perpetual", D("-1.2")),
        ("bybit_perpetual", D("2.5")),
    ]
    totals = j.totals()
    assert (totals["funding_received_quote"], totals["funding_paid_quote"], totals["funding_payments"]) == (
        D("2.5"),
        D("1.2"),
        D(2),
    )


def test_pairs_are_documents_with_transitions_and_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    j = Journal(path)
    j.put_pairs([("BTC-1-1", "OPENING", "BTC", 1.0, {"pair_id": "BTC-1-1", "x": D("0.5")}, None)])
    j.put_pairs([("BTC-1-1", "HEDGED", "BTC", 2.0, {"pair_id": "BTC-1-1", "x": D("1")}, None)])
    j.put_order("c1", "BTC-1-1", "placed", 1.0, {"client_order_id": "c1", "amount": D("0.01")})
    assert j.record_fill("c1", "t1", 1.5, "binance_perpetual", "BTC-USDT", "long", D("100"), D("0.01"), D("0.0004"))
    assert not j.record_fill("c1", "t1", 1.5, "binance_perpetual", "BTC-USDT", "long", D("100"), D("0.01"), D("0.0004"))
    j.close()

    again = Journal(path)

    assert again.load_pairs(states=["HEDGED"]) == [{"pair_id": "BTC-1-1", "x": "1"}]
    assert [t[1:3] for t in again.transitions("BTC-1-1")] == [(None, "OPENING"), ("OPENING", "HEDGED")]
    assert again.load_orders() == [{"client_order_id": "c1", "amount": "0.01"}]
    assert again.totals()["fills"] == D(1) and again.totals()["fees_paid_quote"] == D("0.0004")


def test_commands_are_acknowledged_once(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite")
    first = j.add_command(1.0, "pause", None, "test")
    j.add_command(2.0, "exit", "BTC-1-1", "test")
    j.ack_command(first, "done", 3.0, "entries paused")

    assert [(c.command, c.arg) for c in j.pending_commands()] == [("exit", "BTC-1-1")]
    assert [c.status for c in j.commands()] == ["done", "pending"]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["fees_paid_quote", "fills", "funding_received_quote"]),
            st.decimals(min_value=0, max_value=10**6, places=8),
        ),
        max_size=20,
    )
)
def test_totals_only_grow(tmp_path_factory: pytest.TempPathFactory, deltas: list[tuple[str, Decimal]]) -> None:
    j = Journal(tmp_path_factory.mktemp("t") / "j.sqlite")
    previous: dict[str, Decimal] = {}
    for name, delta in deltas:
        j.add_totals({name: delta})
        now = j.totals()
        assert all(now[k] >= v for k, v in previous.items())
        previous = now
    with pytest.raises(ValueError, match="only grow"):
        j.add_totals({"fees_paid_quote": D("-1")})
