"""The search space: which FundingArbSettings fields a sweep tunes, and their ranges, declared in YAML.

Adding a setting is one line in `space.yaml` (`name: {low: .., high: .., step: ..}`). Every name is checked
against `FundingArbSettings` (unknown names, non-numeric fields and bounds the field itself rejects are refused
with the name) before any replay runs. Values reach the strategy as `int` or `Decimal` built from text, never floats.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import optuna
import yaml
from pydantic import ValidationError

from ..core.config import FundingArbSettings, format_validation_error

DEFAULT_SPACE = Path(__file__).with_name("space.yaml")
_KEYS = {"low", "high", "step", "log", "places"}
_SCALAR = (str, int, float, bool)


class SpaceError(ValueError):
    """The search space declaration is unusable; the message names the setting and the value."""


@dataclass(frozen=True)
class Param:
    """One tuned setting. `kind` is "int" or "decimal" (from the FundingArbSettings annotation), or "choice" for a
    list of allowed values (`{choices: [a, b]}`, e.g. a Literal or bool setting)."""

    name: str
    kind: str
    low: Decimal
    high: Decimal
    step: Decimal | None = None
    log: bool = False
    places: int | None = None
    choices: tuple[str | int | float | bool, ...] = ()

    def distribution(self) -> optuna.distributions.BaseDistribution:
        """The Optuna distribution this parameter is sampled from."""
        if self.kind == "choice":
            return optuna.distributions.CategoricalDistribution(self.choices)
        if self.kind == "int":
            return optuna.distributions.IntDistribution(
                int(self.low), int(self.high), log=self.log, step=1 if self.log else int(self.step or 1)
            )
        if self.log:
            return optuna.distributions.FloatDistribution(float(self.low), float(self.high), log=True)
        return optuna.distributions.FloatDistribution(float(self.low), float(self.high), step=float(self.step or 0))

    def value(self, sampled: Any) -> Any:
        """The setting's value for a sampled number (a float on the step grid is snapped to exact decimal text)."""
        if self.kind == "choice":
            return sampled
        if self.kind == "int":
            return int(sampled)
        if self.log:
            return Decimal(str(round(float(sampled), self.places or 0)))
        assert self.step is not None
        steps = ((Decimal(str(sampled)) - self.low) / self.step).to_integral_value()
        return min(max(self.low + steps * self.step, self.low), self.high)

    def on_grid(self, value: Any) -> Any | None:
        """The sampled form (what `value()` maps back to exactly `value`) of a setting's value, or None when the value
        is not one this parameter can take (outside the bounds or off the step grid). Used to try the base config
        itself as a fold's first trial."""
        if self.kind == "choice":
            return value if value in self.choices else None
        try:
            number = Decimal(str(value))
        except (InvalidOperation, ValueError):
            return None
        if not self.low <= number <= self.high:
            return None
        step = self.step if self.step is not None else (Decimal(1) if self.kind == "int" else None)
        if self.log or step is None:
            return None
        if (number - self.low) % step != 0:
            return None
        return int(number) if self.kind == "int" else float(number)


@dataclass(frozen=True)
class SearchSpace:
    params: tuple[Param, ...]

    def base_params(self, config: dict[str, Any]) -> dict[str, Any] | None:
        """The base config's own values as a trial's params (every tuned setting on its grid), or None when one of
        them is not on the space's grid: then the base cannot be tried as it is."""
        fields = FundingArbSettings.model_fields
        out = {}
        for p in self.params:
            sampled = p.on_grid(config.get(p.name, fields[p.name].default))
            if sampled is None:
                return None
            out[p.name] = sampled
        return out

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def distributions(self) -> dict[str, optuna.distributions.BaseDistribution]:
        return {p.name: p.distribution() for p in self.params}

    def settings_of(self, sampled: dict[str, Any]) -> dict[str, Any]:
        """Setting values for Optuna's sampled params (names of this space only)."""
        by_name = {p.name: p for p in self.params}
        return {name: by_name[name].value(v) for name, v in sampled.items() if name in by_name}


def stored(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings as stored in a study (JSON): Decimals as exact text, everything else as is."""
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in settings.items()}


def restored(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings read back from a study: text of a Decimal field becomes a Decimal again (other values as stored)."""
    fields = FundingArbSettings.model_fields
    return {
        k: Decimal(v) if isinstance(v, str) and k in fields and fields[k].annotation is Decimal else v
        for k, v in settings.items()
    }


def load_space(path: Path) -> SearchSpace:
    """Read and validate a space file against FundingArbSettings.

    Raises:
        SpaceError: unreadable file, unknown setting, non-numeric setting, bad bounds, or a bound the setting
            itself rejects. Cross-field rules depend on the combination: each trial's config is checked before it runs.
    """
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError as e:
        raise SpaceError(f"search space file {path} does not exist") from e
    except yaml.YAMLError as e:
        raise SpaceError(f"search space file {path} is not valid YAML: {e}") from e
    if not isinstance(raw, dict) or not raw:
        raise SpaceError(
            f"search space file {path} must map setting names to {{low, high, step}}; it is empty or not a mapping"
        )
    params = tuple(_param(str(name), spec) for name, spec in raw.items())
    for p in params:
        for value in p.choices or (
            (int(p.low) if p.kind == "int" else p.low),
            (int(p.high) if p.kind == "int" else p.high),
        ):
            _check_value(p.name, value)
    return SearchSpace(params)


def _param(name: str, spec: Any) -> Param:
    fields = FundingArbSettings.model_fields
    if name not in fields:
        close = difflib.get_close_matches(name, list(fields), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise SpaceError(
            f"search space: unknown setting {name!r}{hint}: not a field of FundingArbSettings (core/config.py)"
        )
    if isinstance(spec, dict) and "choices" in spec:
        return _choice(name, spec)
    annotation = fields[name].annotation
    kind = "int" if annotation is int else "decimal" if annotation is Decimal else None
    if kind is None:
        raise SpaceError(
            f"search space: setting {name!r} ({annotation}) is not numeric: give its values as {{choices: [...]}}"
        )
    if not isinstance(spec, dict) or not {"low", "high"} <= set(spec) or set(spec) - _KEYS:
        raise SpaceError(f"search space: {name} ({spec!r}) must be {{low: L, high: H, step: S}} (keys {sorted(_KEYS)})")
    low, high = _number(name, "low", spec["low"]), _number(name, "high", spec["high"])
    step = _number(name, "step", spec["step"]) if "step" in spec else None
    log = bool(spec.get("log", False))
    places = spec.get("places")
    if not low < high:
        raise SpaceError(f"search space: {name} low ({low}) must be below high ({high})")
    if kind == "int" and (low != low.to_integral_value() or high != high.to_integral_value()):
        raise SpaceError(f"search space: {name} is an integer setting; low ({low}) and high ({high}) must be whole")
    if kind == "decimal" and not log and (step is None or step <= 0):
        raise SpaceError(f"search space: {name} ({spec!r}) needs a positive step (or log: true with places)")
    if log and (low <= 0 or (kind == "decimal" and not isinstance(places, int))):
        raise SpaceError(f"search space: {name} log range needs low > 0 ({low}) and integer places ({places!r})")
    if step is not None and kind == "int" and (step <= 0 or step != step.to_integral_value()):
        raise SpaceError(f"search space: {name} step ({step}) must be a positive whole number")
    return Param(name, kind, low, high, step, log, places)


def _choice(name: str, spec: dict[str, Any]) -> Param:
    choices = spec["choices"]
    if (
        set(spec) != {"choices"}
        or not isinstance(choices, list)
        or len(choices) < 2
        or not all(isinstance(c, _SCALAR) for c in choices)
        or len(set(choices)) != len(choices)
    ):
        raise SpaceError(
            f"search space: {name} ({spec!r}) must be {{choices: [a, b, ...]}} with two or more distinct plain values"
        )
    return Param(name, "choice", Decimal(0), Decimal(0), choices=tuple(choices))


def _number(name: str, key: str, value: Any) -> Decimal:
    try:
        if isinstance(value, bool):
            raise InvalidOperation
        number = Decimal(str(value))
    except (InvalidOperation, ValueError) as e:
        raise SpaceError(f"search space: {name}.{key} ({value!r}) is not a number") from e
    if not number.is_finite():
        raise SpaceError(f"search space: {name}.{key} ({value!r}) must be finite")
    return number


def _check_value(name: str, value: Any) -> None:
    """A bound or choice the setting's own validator rejects (e.g. a negative horizon) is refused up front."""
    try:
        FundingArbSettings.model_validate({name: value})
    except ValidationError as e:
        own = [line for line in format_validation_error(e) if line.startswith(name)]
        if own:
            raise SpaceError(f"search space: {name} bound {value} is refused by the setting: {own[0]}") from e
