"""Configuration files (YAML or TOML) loaded into validated pydantic models.

Every workflow's settings are a :class:`Config` subclass: unknown keys are rejected, and the
validated values are echoed into outputs for provenance with :meth:`Config.echo`.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from terrasynth.core.errors import ConfigError


class Config(BaseModel):
    """Base of all terrasynth settings: strict about unknown keys, immutable once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def echo(self) -> dict:
        """The validated settings as plain JSON-ready values, for provenance attributes."""
        return json.loads(self.model_dump_json())


C = TypeVar("C", bound=Config)

Precision = Literal["32-true", "16-mixed", "bf16-mixed", "16-true", "bf16-true", "64-true"]
"""Numeric precisions of training, by Lightning's names (``Trainer(precision=...)``)."""


def differing_keys(new: dict, old: dict) -> list[str]:
    """The keys whose values differ between two recorded jobs or settings, sorted (a key missing
    from one side differs); empty when they are the same, so that a rerun may resume."""
    return sorted(key for key in new.keys() | old.keys() if new.get(key) != old.get(key))


def read_config_file(path: str | Path) -> dict:
    """The mapping stored in a ``.yaml``/``.yml`` or ``.toml`` file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    text = path.read_text()
    try:
        if path.suffix.lower() == ".toml":
            data = tomllib.loads(text)
        elif path.suffix.lower() in {".yaml", ".yml"}:
            data = yaml.safe_load(text)
        else:
            raise ConfigError(f"config file {path} must end in .yaml, .yml or .toml")
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as error:
        raise ConfigError(f"config file {path} cannot be parsed: {' '.join(str(error).split())}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of settings, got {type(data).__name__}")
    return data


def validate_config(
    model: type[C], data: dict, *, origin: str = "config", names: dict[str, str] | None = None
) -> C:
    """``data`` validated as ``model``; the first problem becomes a one-line :class:`ConfigError`
    that says where the value came from: ``origin`` and its key, or the name ``names`` gives the
    key (a command-line option, say)."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        key = str(first["loc"][0]) if first["loc"] else ""
        where = (names or {}).get(key) or f"{origin}: {where}"
        more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
        raise ConfigError(f"{where}: {first['msg']}{more}") from None


def load_config(model: type[C], path: str | Path | None = None, **overrides) -> C:
    """Settings from a file (optional) with keyword overrides on top (``None`` values are ignored)."""
    data = read_config_file(path) if path is not None else {}
    data.update({key: value for key, value in overrides.items() if value is not None})
    return validate_config(model, data, origin=str(path) if path is not None else "settings")
