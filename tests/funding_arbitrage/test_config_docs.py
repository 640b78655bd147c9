"""docs/configuration.md has a row for every field, and states the range of every bounded field as the code
enforces it."""

from __future__ import annotations

from pathlib import Path

import annotated_types as at

from strategies.funding_arbitrage.core.config import GUARD_UPPER_BOUNDS, FundingArbSettings

DOC = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()


def _rows() -> dict[str, str]:
    rows = {}
    for line in DOC.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            for name in cells[0].replace("`", "").split(","):
                rows[name.strip()] = cells[1]
    return rows


def test_every_field_bounded_in_code_has_its_range_in_the_docs() -> None:
    rows = _rows()
    for name, field in FundingArbSettings.model_fields.items():
        limits = [m for m in field.metadata if isinstance(m, (at.Ge, at.Gt, at.Le, at.Lt))]
        if not limits:
            continue
        assert name in rows, f"{name} is bounded in config.py but has no row in docs/configuration.md"
        for m in limits:
            value = getattr(m, type(m).__name__.lower())
            assert str(value) in rows[name], f"{name}: docs say {rows[name]}, code has {m}"


def test_every_guard_upper_bound_is_in_the_docs() -> None:
    rows = _rows()
    for name, limit in GUARD_UPPER_BOUNDS.items():
        assert name in rows and str(limit) in rows[name], name


def test_every_field_has_a_row_in_the_docs() -> None:
    """A row names the field itself or its keys (`leverage.<connector>`)."""
    documented = {name.split(".", 1)[0] for name in _rows()}
    missing = [name for name in FundingArbSettings.model_fields if name not in documented]
    assert not missing, f"fields without a row in docs/configuration.md: {missing}"
