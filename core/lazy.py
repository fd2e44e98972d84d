"""Package namespaces whose names are imported on first use (PEP 562), so that importing one
light module of a package does not pull in torch, dask or Earth Engine through its ``__init__``."""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_exports(package: str, exports: dict[str, list[str]]) -> tuple[Callable, Callable, list[str]]:
    """``__getattr__``, ``__dir__`` and ``__all__`` for ``package``, whose ``exports`` map each of
    its modules to the names it offers: ``__getattr__, __dir__, __all__ = lazy_exports(__name__, {...})``."""
    module_of = {name: module for module, names in exports.items() for name in names}
    names = sorted(module_of)

    def __getattr__(name: str):
        if name not in module_of:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module_of[name]}"), name)

    def __dir__() -> list[str]:
        return names

    return __getattr__, __dir__, names
