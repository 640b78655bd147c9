"""The state file: every field of every record and order round-trips; older files load; corrupt files are refused.

The records are generated from the dataclasses' own fields and type hints, so a field added to `PairRecord`, `Leg`
or `TrackedOrder` is generated (and must round-trip) without editing this test.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
import types
import typing
from dataclasses import asdict, dataclass
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, Optional, Union

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategies.funding_arbitrage.core.lifecycle import LegSide, OrderIntent
from strategies.funding_arbitrage.core.orders import TrackedOrder
from strategies.funding_arbitrage.shell.journal import Journal, _dumps
from strategies.funding_arbitrage.shell.journal_store import JournaledPairStore
from strategies.funding_arbitrage.shell.state import Leg, PairRecord, PairState, PairStore, StateError, record_text
from strategies.funding_arbitrage.shell.state_codec import RecordDecoder, doc_text

_JSON_LEAVES = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=6)
)
_JSON = st.recursive(
    _JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


def _values(hint: Any) -> st.SearchStrategy[Any]:
    """Values of a field's type as the state file must keep them (generic: new fields are generated too)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType) and type(None) in args:
        (inner,) = [a for a in args if a is not type(None)]
        return st.none() | _values(inner)
    if hint is Decimal:
        return st.decimals(allow_nan=False, allow_infinity=False)
    if hint is float:
        return st.floats(allow_nan=False, allow_infinity=False)
    if hint is str:
        return st.text(max_size=10)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return st.sampled_from(list(hint))
    if dataclasses.is_dataclass(hint):
        return _instances(hint)
    if hint is dict or origin is dict:
        return st.dictionaries(st.text(max_size=8), _JSON, max_size=4)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return st.lists(_values(args[0]), max_size=3).map(tuple)
    return st.from_type(hint)


def _instances(cls: Any, **fixed: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    hints = typing.get_type_hints(cls)
    fields = {f.name: _values(hints[f.name]) for f in dataclasses.fields(cls) if f.init}
    return st.builds(cls, **{**fields, **fixed})


_RECORDS = st.lists(_instances(PairRecord), max_size=4, unique_by=lambda r: r.pair_id)
_ORDERS = st.lists(_instances(TrackedOrder), max_size=4, unique_by=lambda o: o.client_order_id)


def _store(path: Path, records: list[PairRecord], orders: list[TrackedOrder], seq: int) -> PairStore:
    store = PairStore(path)
    store.records = {r.pair_id: r for r in records}
    store.orders = {o.client_order_id: o for o in orders}
    store._seq = seq
    return store


@settings(max_examples=150, deadline=None)
@given(records=_RECORDS, orders=_ORDERS, seq=st.integers(min_value=0, max_value=10**9))
def test_every_field_of_random_records_and_orders_round_trips_through_the_state_file(
    records: list[PairRecord], orders: list[TrackedOrder], seq: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "state.json"
        saved = _store(path, records, orders, seq)
        saved.save()

        loaded = PairStore(path)
        loaded.load()

        assert loaded.records == saved.records
        assert loaded.orders == saved.orders
        assert loaded._seq == seq


@settings(max_examples=40, deadline=None)
@given(records=_RECORDS)
def test_every_field_of_random_records_round_trips_through_the_journal(records: list[PairRecord]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = JournaledPairStore(Path(tmp) / "state.json", Journal(Path(tmp) / "j.sqlite"))
        store.load()
        for r in records:
            store.add(r)
        store.save()

        again = JournaledPairStore(Path(tmp) / "state.json", Journal(Path(tmp) / "j.sqlite"))
        again.load()

        assert again.records == store.records


@settings(max_examples=150, deadline=None)
@given(record=_instances(PairRecord))
def test_a_record_document_is_the_bytes_the_journal_stored_before(record: PairRecord) -> None:
    """Same data in the journal: the fast encoder writes what asdict + the journal's encoder wrote."""
    assert record_text(record) == _dumps(asdict(record))


def _leg(side: str, filled: str) -> Leg:
    return Leg("sim_binance_perpetual", "BTC-USDT", "perp", side, Decimal(filled), Decimal("600.5"), Decimal("0.3"))


def _record(pair_id: str = "BTC-1-1", state: PairState = PairState.HEDGED) -> PairRecord:
    return PairRecord(
        pair_id,
        "BTC",
        _leg("long", "0.01"),
        _leg("short", "-0.01"),
        state,
        1.5,
        2.5,
        Decimal("0.25"),
        book={"state": "HEDGED", "held": ["0.01", "0.01"], "retry_at_ts": None},
        entry_edge_pct=Decimal("0.4"),
    )


def test_a_file_in_the_previous_indented_layout_still_loads(tmp_path: Path) -> None:
    """Files written before this layout: json.dumps(..., indent=1, sort_keys=True) of asdict(record)."""
    record = _record()
    order = TrackedOrder(
        "c1", "BTC-1-1", LegSide.LONG, OrderIntent.OPEN, "sim_binance", "BTC-USDT", Decimal("0.01"), 1.0
    )
    payload = {"version": 2, "seq": 7, "pairs": [asdict(record)], "orders": [order.to_dict()]}
    path = tmp_path / "state.json"
    path.write_text(
        json.dumps(payload, default=lambda o: str(o) if isinstance(o, Decimal) else o.value, indent=1, sort_keys=True)
    )

    store = PairStore(path)

    assert store.load() == [record]
    assert store.orders == {"c1": order} and store._seq == 7


def test_a_version_1_file_loads_with_its_retired_states_mapped_and_new_fields_defaulted(tmp_path: Path) -> None:
    doc = json.loads(record_text(_record()))
    doc["state"] = "FAILED"
    for field in ("margin_quote",):
        del doc["long"][field], doc["short"][field]
    for field in ("book", "entry_edge_pct", "first_fill_ts", "close_reason", "closed_ts"):
        del doc[field]
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"version": 1, "pairs": [doc]}, indent=1))

    [loaded] = PairStore(path).load()

    assert loaded.state is PairState.UNWINDING
    assert loaded.long.margin_quote == Decimal(0) and loaded.book == {} and loaded.entry_edge_pct is None


def test_the_file_holds_one_record_or_order_per_line_keys_sorted(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    store = _store(path, [_record("BTC-1-2"), _record("BTC-1-1")], [], 3)
    store.save()

    lines = path.read_text().splitlines()
    record_lines = [line.rstrip(",") for line in lines if line.startswith('{"book"')]

    assert [json.loads(line)["pair_id"] for line in record_lines] == ["BTC-1-1", "BTC-1-2"]
    assert all(list(json.loads(line)) == sorted(json.loads(line)) for line in record_lines)
    assert json.loads(path.read_text())["version"] == PairStore.VERSION


@pytest.mark.parametrize(
    ("mutate", "named"),
    [
        (lambda text: text[: len(text) // 2], None),  # torn
        (lambda text: "[]", None),  # not an object
        (lambda text: text.replace('"funding_received_quote":"0.25",', ""), "funding_received_quote"),
        (lambda text: text.replace('"cost_quote":"600.5"', '"cost_quote":"abc"', 1), "cost_quote"),
        (lambda text: text.replace('"cost_quote":"600.5"', '"cost_quote":600.5', 1), "cost_quote"),
        (lambda text: text.replace('"opened_ts":1.5', '"opened_ts":"soon"'), "opened_ts"),
        (lambda text: text.replace('"state":"HEDGED","token"', '"state":"BOGUS","token"'), "state"),
        (lambda text: text.replace('"long":{', '"long":"x","_":{', 1), "long"),
    ],
)
def test_a_corrupt_file_raises_state_error_naming_the_file_and_field(
    tmp_path: Path, mutate: Any, named: Optional[str]
) -> None:
    path = tmp_path / "state.json"
    _store(path, [_record()], [], 1).save()
    text = path.read_text()
    broken = mutate(text)
    assert broken != text
    path.write_text(broken)

    with pytest.raises(StateError) as raised:
        PairStore(path).load()

    assert str(path) in str(raised.value)
    if named is not None:
        assert named in str(raised.value)
    assert path.read_text() == broken  # left untouched


@dataclass
class _LegWithANewField(Leg):
    venue_note: Optional[str] = None
    last_mark_quote: Optional[Decimal] = None
    tags: tuple[str, ...] = ()


def test_a_field_added_to_a_record_is_saved_and_loaded_without_touching_the_codec() -> None:
    leg = _LegWithANewField(
        "sim_bybit_perpetual", "ETH-USDT", "perp", "short", venue_note="x", last_mark_quote=Decimal("1.5"), tags=("a",)
    )
    decode = RecordDecoder(_LegWithANewField, frozenset({"connector"}))

    assert decode(json.loads(doc_text(leg))) == leg


@dataclass
class _Unsupported:
    when: complex


def test_a_field_type_the_codec_cannot_decode_is_refused_naming_the_field() -> None:
    with pytest.raises(TypeError, match=r"_Unsupported\.when"):
        RecordDecoder(_Unsupported, frozenset())({"when": [1, 2]})
