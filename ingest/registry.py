"""The sources by command-line name, imported only when asked for.

Lazy imports keep ``ee`` out of every process that does not read Earth Engine, and let a build
without one of the sources still use the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from terrasynth.core.errors import ConfigError, SourceError

if TYPE_CHECKING:
    from terrasynth.ingest.source import Source

SOURCES = {
    "earthengine": "terrasynth.ingest.earthengine:EarthEngineSource",
    "local": "terrasynth.ingest.local:LocalSource",
    "synthetic": "terrasynth.ingest.synthetic:SyntheticSource",
}
"""Source name -> ``module:class`` of its implementation."""


def source_class(name: str) -> type[Source]:
    """The class of the source called ``name``."""
    if name not in SOURCES:
        raise ConfigError(f"unknown source {name!r}: choose one of {', '.join(SOURCES)}")
    module_name, class_name = SOURCES[name].split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise
        raise SourceError(
            f"the {name} source is not part of this installation ({module_name} is missing)"
        ) from None
    return getattr(module, class_name)


def make_source(name: str, **options) -> Source:
    """The source called ``name``, built with ``options`` (its constructor's keyword arguments)."""
    return source_class(name)(**options)
