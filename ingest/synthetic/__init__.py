"""The synthetic world: a seeded procedural Earth, the embedded default source.

Nothing here touches the network: land cover, Sentinel-2-like imagery and change over time are
computed from position and seed alone (see :mod:`~terrasynth.ingest.synthetic.world`). Names are
loaded on first use, so importing the package stays light.
"""

import importlib

_EXPORTS = {
    "world": ["Rendering", "SyntheticWorld"],
    "source": ["SyntheticSource"],
    "change_benchmark": ["build_change_benchmark", "second_classes"],
    "preview": ["Preview", "preview_grid", "render_preview"],
    "render": ["true_colour"],
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'terrasynth.ingest.synthetic' has no attribute {name!r}")
    return getattr(importlib.import_module(f"terrasynth.ingest.synthetic.{_MODULE_OF[name]}"), name)


def __dir__():
    return __all__
