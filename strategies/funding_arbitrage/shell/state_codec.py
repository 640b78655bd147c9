"""JSON encoding and decoding of the persisted records (`PairRecord`, `Leg`), generic over their dataclass fields.

Both directions read the classes' fields (`dataclasses.fields`, with their type hints) once per class, so a field
added to a record is saved and loaded without touching this module; a field whose type it cannot decode fails at the
first load with `TypeError` naming it (the round-trip test generates every field, so that happens in the tests).

Encoding uses the C JSON encoder (`json.dumps` without `indent`; an `indent` forces the pure-Python encoder, ~10x
slower): a dataclass becomes {field: value} through the encoder's `default` hook, a Decimal its text (exact), an enum
its value, a set a sorted list. `doc_text(record)` is one compact line with sorted keys: the same bytes as
`json.dumps(dataclasses.asdict(record), sort_keys=True, separators=(",", ":"))` with those conversions. The journal
writes every document with `doc_text` (`journal._dumps`), so a pair's document is the same in both places.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Callable, Mapping
from decimal import Decimal
from enum import Enum
from typing import Any, Union

Converter = Callable[[Any], Any]

_NAMES: dict[type, tuple[str, ...]] = {}  # dataclass -> its field names, in declaration order


def field_names(cls: type) -> tuple[str, ...]:
    """The names of `cls`'s dataclass fields (computed once per class)."""
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def to_json(obj: Any) -> Any:
    """JSON `default` hook: a dataclass as {field: value} over every field, Decimal as text, enum by value, a set as
    a sorted list. Raises TypeError for anything else (as json does)."""
    cls = type(obj)
    if cls is Decimal:
        return str(obj)
    names = _NAMES.get(cls)
    if names is not None:
        return {name: getattr(obj, name) for name in names}
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {name: getattr(obj, name) for name in field_names(cls)}
    raise TypeError(f"cannot encode {cls.__name__} in a state document")


_ENCODE = json.JSONEncoder(default=to_json, sort_keys=True, separators=(",", ":")).encode


def doc_text(obj: Any) -> str:
    """`obj` (a record, or a dict of plain values) as one compact JSON line, keys sorted (the C encoder)."""
    return _ENCODE(obj)


def array_text(lines: list[str]) -> str:
    """A JSON array with one element per line (readable, diffable), `[]` when empty."""
    return "[\n" + ",\n".join(lines) + "\n]" if lines else "[]"


# --- decoding ---------------------------------------------------------------------------------------------------
def _checked(kind: type | tuple[type, ...], convert: Converter) -> Converter:
    def check(value: Any) -> Any:
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _tuple(kind)):
            raise TypeError(f"expected {_names(kind)}, found {type(value).__name__}")
        return convert(value)

    return check


def _tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _names(kind: type | tuple[type, ...]) -> str:
    return " or ".join(k.__name__ for k in _tuple(kind))


_SCALARS: dict[Any, Converter] = {
    Decimal: _checked((str, int), Decimal),  # written as text; an int is exact too; a float is refused
    float: _checked((int, float), float),
    int: _checked(int, int),
    bool: _checked(bool, bool),
    str: _checked(str, str),
    Any: lambda value: value,
}


class RecordDecoder:
    """Builds a dataclass from its JSON document, field by field from the type hints (plan made on first use).

    `required`: fields whose absence means a corrupt document (KeyError); any other missing field takes its
    dataclass default, so a document written before a field existed still loads. `special`: converters for types
    that need more than their constructor (e.g. renamed enum values of older files, nested record decoders).
    """

    def __init__(self, cls: type, required: frozenset[str], special: Mapping[Any, Converter] | None = None) -> None:
        self.cls = cls
        self.required = required
        self.special: dict[Any, Converter] = dict(special or {})
        self._plan: tuple[tuple[str, Converter, dataclasses.Field[Any]], ...] | None = None

    def __call__(self, doc: Any) -> Any:
        """Raises KeyError (a required field is missing), ValueError or TypeError naming the field and value."""
        if not isinstance(doc, dict):
            raise TypeError(f"{self.cls.__name__}: expected an object, found {type(doc).__name__}")
        plan = self._plan if self._plan is not None else self._make_plan()
        kwargs: dict[str, Any] = {}
        for name, convert, spec in plan:
            if name not in doc:
                if name in self.required:
                    raise KeyError(f"{self.cls.__name__}.{name}")
                kwargs[name] = _default(spec)
                continue
            value = doc[name]
            try:
                kwargs[name] = convert(value)
            except (KeyError, ValueError, TypeError, ArithmeticError) as e:
                raise ValueError(f"{self.cls.__name__}.{name} ({value!r}): {e}") from e
        return self.cls(**kwargs)

    def _make_plan(self) -> tuple[tuple[str, Converter, dataclasses.Field[Any]], ...]:
        hints = typing.get_type_hints(self.cls)
        plan = tuple(
            (f.name, self._converter(hints[f.name], f.name), f) for f in dataclasses.fields(self.cls) if f.init
        )
        self._plan = plan
        return plan

    def _converter(self, hint: Any, name: str) -> Converter:
        if hint in self.special:
            return self.special[hint]
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if origin in (Union, types.UnionType):
            inner = [a for a in args if a is not type(None)]
            if len(inner) == 1 and len(args) == 2:
                convert = self._converter(inner[0], name)
                return lambda value: None if value is None else convert(value)
        elif hint in _SCALARS:
            return _SCALARS[hint]
        elif isinstance(hint, type) and issubclass(hint, Enum):
            return hint
        elif dataclasses.is_dataclass(hint) and isinstance(hint, type):
            required = frozenset(
                f.name
                for f in dataclasses.fields(hint)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            )
            return RecordDecoder(hint, required, self.special)
        elif hint is dict or origin is dict:
            return _checked(dict, dict)
        elif origin in (list, set, frozenset) and len(args) == 1:
            item = self._converter(args[0], name)
            make: Callable[[Any], Any] = origin
            return _checked(list, lambda values: make(item(v) for v in values))
        elif origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            item = self._converter(args[0], name)
            return _checked(list, lambda values: tuple(item(v) for v in values))
        raise TypeError(f"{self.cls.__name__}.{name}: no state-file decoder for the type {hint!r}")


def _default(spec: dataclasses.Field[Any]) -> Any:
    if spec.default is not dataclasses.MISSING:
        return spec.default
    if spec.default_factory is not dataclasses.MISSING:
        return spec.default_factory()
    raise KeyError(spec.name)  # a field without a default is always required
