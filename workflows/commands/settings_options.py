"""Trainer commands whose settings options are made from the settings' own pydantic fields, so that
each setting is declared once (its type, default, bounds and description) and reaches the trainer
the same way from the command line as from a ``--config`` file.

Typer builds a command from a function's signature; :func:`trainer_command` gives it one: the
command's own options (its data, its output folder), then one option per chosen settings field,
then ``--config`` and ``--overwrite``. The function receives the validated ``settings`` (the file's
values, the given options on top, the settings' defaults for the rest) and ``overwrite``.
"""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import typer

from terrasynth.core.config import C, read_config_file, validate_config
from terrasynth.workflows.commands.options import ConfigOption, RestartOption

SCALE_FIELDS = ("accelerator", "devices", "num_nodes", "strategy", "seed")
"""The settings every trainer takes on its command line (where and how reproducibly it trains)."""

FLAGS = {"max_epochs": "--epochs"}
"""Settings whose option is not named after the field (one name per concept across the trainers)."""


def flag(field: str) -> str:
    """The command-line option of a settings field, e.g. ``--num-nodes`` for ``num_nodes``."""
    return FLAGS.get(field, "--" + field.replace("_", "-"))


def _option_type(annotation: Any) -> Any:
    """What typer parses a field's value as: the field's type without None; text where the field
    takes several types (pydantic converts it, e.g. ``devices``: ``2`` or ``0,1``)."""
    kinds = [kind for kind in get_args(annotation) if kind is not type(None)]
    if get_origin(annotation) not in (Union, types.UnionType):
        return annotation
    return kinds[0] if len(kinds) == 1 else str


def _parameter(model: type[C], field: str) -> inspect.Parameter:
    """A keyword parameter of typer type ``Annotated[T | None, typer.Option(...)] = None`` for ``field``."""
    info = model.model_fields[field]
    kind = _option_type(info.annotation)
    description = info.description or field.replace("_", " ")
    names = [f"{flag(field)}/--no-{flag(field)[2:]}"] if kind is bool else [flag(field)]
    default = "" if info.default is None else f" (default: {info.default})"
    help = f"{description[0].upper()}{description[1:]}{default}."
    option = typer.Option(*names, help=help, show_default=False)
    return inspect.Parameter(
        field, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[kind | None, option]
    )


def trainer_command(
    app: typer.Typer, name: str, model: type[C], fields: tuple[str, ...]
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register the decorated function as ``app``'s command ``name``, taking ``model``'s ``fields``
    and :data:`SCALE_FIELDS` as options, and ``--config`` and ``--overwrite``.

    The function declares its own options and two more parameters, ``settings`` (a ``model``) and
    ``overwrite``, which the command fills.
    """
    shared = [
        _parameter(model, field) for field in (*fields, *SCALE_FIELDS)
    ] + [
        inspect.Parameter("config", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=ConfigOption),
        inspect.Parameter("overwrite", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=RestartOption),
    ]  # fmt: skip

    def register(function: Callable[..., None]) -> Callable[..., None]:
        own = [
            parameter
            for parameter in inspect.signature(function, eval_str=True).parameters.values()
            if parameter.name not in ("settings", "overwrite")
        ]

        @functools.wraps(function)
        def command(**options: Any) -> None:
            config: Path | None = options.pop("config")
            given = {field: options.pop(field) for field in (*fields, *SCALE_FIELDS)}
            settings = _settings(model, config, {k: v for k, v in given.items() if v is not None})
            function(settings=settings, overwrite=options.pop("overwrite"), **options)

        parameters = [*own, *shared]
        command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        command.__annotations__ = {parameter.name: parameter.annotation for parameter in parameters}
        app.command(name)(command)
        return command

    return register


def _settings(model: type[C], config: Path | None, given: dict[str, Any]) -> C:
    """``model`` validated from the ``--config`` file with the given options on top; a bad value is
    one line naming the option, or the file and key."""
    data = (read_config_file(config) if config is not None else {}) | given
    return validate_config(
        model,
        data,
        origin=str(config) if config is not None else "options",
        names={f: flag(f) for f in given},
    )
