"""Commands whose options are made from pydantic settings fields, so that each option is declared once
(its type, default, bounds, choices and description) and reaches the command the same way from the
command line as from a ``--config`` file.

Typer builds a command from a function's signature; :func:`settings_command` gives it one: in the
function's order, its own typer options and, for each settings model it takes (a parameter annotated
with a :class:`~terrasynth.core.config.Config` subclass), one option per field; then ``--config``.
The function receives each model validated: the given options on top of the file's values, the
model's defaults for the rest. A field without a default is a required option (the data or output a
command works on).
"""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import typer
from pydantic.fields import FieldInfo

from terrasynth.core.config import C, Config, read_config_file, validate_config
from terrasynth.workflows.commands.options import ConfigOption

SCALE_FIELDS = ("accelerator", "devices", "num_nodes", "strategy", "seed")
"""The settings every trainer takes on its command line (where and how reproducibly it trains)."""

FLAGS = {"max_epochs": "--epochs"}
"""Settings whose option is not named after the field (one name per concept across the trainers)."""


class Flag:
    """A settings field's option where it is not ``--field-name`` (``Flag("--from")``), or where typer
    checks its path (``Flag(exists=True, dir_okay=False)``): metadata of the field's ``Annotated`` type."""

    def __init__(self, name: str | None = None, **checks: bool) -> None:
        self.name, self.checks = name, checks


def flag(field: str, info: FieldInfo | None = None) -> str:
    """The command-line option of a settings field, e.g. ``--num-nodes`` for ``num_nodes``."""
    named = next((item.name for item in (info.metadata if info else []) if isinstance(item, Flag)), None)
    return named or FLAGS.get(field, "--" + field.replace("_", "-"))


def _option_type(annotation: Any) -> Any:
    """What typer parses a field's value as: the field's type without None; text where the field
    takes several types (pydantic converts it, e.g. ``devices``: ``2`` or ``0,1``)."""
    kinds = [kind for kind in get_args(annotation) if kind is not type(None)]
    if get_origin(annotation) not in (Union, types.UnionType):
        return annotation
    return kinds[0] if len(kinds) == 1 else str


def _help(field: str, info: FieldInfo) -> str:
    """The field's description as a sentence, with its default where it has one; a description
    that is already a sentence (ends in a full stop) and shows no default is the help as written."""
    description = info.description or field.replace("_", " ")
    if info.is_required() or info.default in (None, ""):
        default = ""
        if description.endswith("."):
            return description
    else:
        default = f" (default: {info.default})"
    return f"{description[0].upper()}{description[1:]}{default}."


def _parameter(model: type[Config], field: str) -> inspect.Parameter:
    """A keyword parameter of typer type ``Annotated[T | None, typer.Option(...)] = None`` for ``field``
    (None: not given), or ``Annotated[T, typer.Option(...)]`` for a required field."""
    info = model.model_fields[field]
    kind = _option_type(info.annotation)
    name = flag(field, info)
    checks: dict[str, Any] = next((item.checks for item in info.metadata if isinstance(item, Flag)), {})
    names = [f"{name}/--no-{name[2:]}"] if kind is bool else [name]
    option = typer.Option(*names, help=_help(field, info), show_default=False, **checks)
    keyword = inspect.Parameter.KEYWORD_ONLY
    if info.is_required():
        return inspect.Parameter(field, keyword, annotation=Annotated[kind, option])
    return inspect.Parameter(field, keyword, default=None, annotation=Annotated[kind | None, option])


def _is_settings(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, Config)


def settings_command(
    fields: Mapping[str, tuple[str, ...]] | None = None, *, config: bool = True
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """The decorated function as a typer command (to register with ``app.command(name)``).

    Each parameter of the function annotated with a :class:`~terrasynth.core.config.Config`
    subclass takes that model's fields as options (all of them, or ``fields[parameter]``) and
    receives the validated model; the other parameters are the function's own typer options.
    ``--config FILE`` (YAML or TOML; unless ``config`` is false) gives any field of the models by its name.
    """

    def register(function: Callable[..., None]) -> Callable[..., None]:
        declared = inspect.signature(function, eval_str=True).parameters.values()
        models = {p.name: p.annotation for p in declared if _is_settings(p.annotation)}
        chosen = {p: (fields or {}).get(p, tuple(model.model_fields)) for p, model in models.items()}
        parameters = []
        for parameter in declared:  # in the function's order, each model's options in its place
            if parameter.name in models:
                model = models[parameter.name]
                parameters += [_parameter(model, field) for field in chosen[parameter.name]]
            else:
                parameters.append(parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY))
        if config:
            parameters.append(
                inspect.Parameter(
                    "config", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=ConfigOption
                )
            )
        signature = inspect.Signature(parameters)

        @functools.wraps(function)
        def command(**options: Any) -> None:
            bound = signature.bind(**options)
            bound.apply_defaults()
            values = dict(bound.arguments)
            path: Path | None = values.pop("config", None)
            file = read_config_file(path) if path is not None else {}
            settings = {
                p: _settings(model, path, _keys_of(p, models, file), {f: values.pop(f) for f in chosen[p]})
                for p, model in models.items()
            }
            function(**values, **settings)

        command.__signature__ = signature  # type: ignore[attr-defined]
        command.__annotations__ = {parameter.name: parameter.annotation for parameter in parameters}
        return command

    return register


def trainer_command(fields: tuple[str, ...]) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """:func:`settings_command` whose ``settings`` parameter takes ``fields`` and :data:`SCALE_FIELDS`
    as options (a trainer's settings have more fields than options: the rest come from ``--config``)."""
    return settings_command({"settings": (*fields, *SCALE_FIELDS)})


def _keys_of(parameter: str, models: dict[str, type[Config]], file: dict) -> dict:
    """The ``--config`` file's values for ``parameter``'s model: the keys that are its fields, and
    (for the last model) the keys no model has, which it refuses."""
    last = parameter == list(models)[-1]
    return {
        key: value
        for key, value in file.items()
        if key in models[parameter].model_fields
        or (last and not any(key in model.model_fields for model in models.values()))
    }


def _settings(model: type[C], config: Path | None, file: dict, options: dict[str, Any]) -> C:
    """``model`` validated from the ``--config`` file's values with the given options on top; a bad
    value is one line naming the option, or the file and key."""
    given = {field: value for field, value in options.items() if value not in (None, [], ())}
    return validate_config(
        model,
        file | given,
        origin=str(config) if config is not None else "options",
        names={field: flag(field, model.model_fields[field]) for field in given},
    )
