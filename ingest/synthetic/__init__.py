"""The synthetic world: a seeded procedural Earth, the embedded default source.

Nothing here touches the network: land cover, Sentinel-2-like imagery and change over time are
computed from position and seed alone (see :mod:`~terrasynth.ingest.synthetic.world`). Names are
loaded on first use, so importing the package stays light.
"""

from terrasynth.core.lazy import lazy_exports

_EXPORTS = {
    "world": ["Rendering", "SyntheticWorld"],
    "source": ["SyntheticSource"],
    "change_benchmark": ["build_change_benchmark"],
    "preview": ["Preview", "preview_grid", "render_preview"],
    "render": ["true_colour"],
    "places": ["town_edges"],
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
