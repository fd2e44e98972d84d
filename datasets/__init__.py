"""torchgeo datasets over corpora, samplers, degradations, and the change benchmarks.

Names are loaded on first use, so that importing one small module does not pull in torch and
torchgeo.

Corpora (torchgeo ``GeoDataset``s, indexed by ``[xmin:xmax, ymin:ymax, tmin:tmax]`` slices in
metres of the region's UTM CRS):

- :class:`CorpusDataset`: one level of one region.
- :class:`CascadePairs`: a level's tiles with their low-resolution condition (from the next coarser
  level, or made by :class:`SecondOrderDegradation`).
- :class:`CorpusRegions` + :class:`RegionSampler`: every region, each in its own CRS, sampled in
  proportion to valid area.
- :class:`SampledDataset`: a map-style view over the queries of one sampler (for trainers that
  shuffle integer indices).
- :func:`random_sampler`, :func:`grid_sampler`, :data:`RandomPatchSampler`,
  :data:`GriddedPatchSampler`: torchgeo's samplers under one name on torchgeo 0.8 and 0.10.

Change data (``NonGeoDataset``s of bitemporal pairs): :class:`LEVIRCDFolder`,
:class:`S2LookingFolder`, :class:`SECONDFolder`, :class:`ChangeSeriesPairs`,
:func:`open_change_set` for the synthetic change sets terrasynth writes, and
:func:`open_change_dataset` to open any of them by name.
"""

import importlib

_EXPORTS = {
    "cascade": ["CascadePairs", "condition_shape", "resample_footprint"],
    "change_benchmarks": ["CHANGE_DATASETS", "open_change_dataset"],
    "change_folder": ["ChangeFolder"],
    "change_series": ["ChangeSeriesPairs", "open_change_set"],
    "corpus": ["CorpusDataset"],
    "corpus_regions": ["CorpusRegions"],
    "degradation": ["BlurSettings", "DegradationSettings", "NoiseSettings", "ResizeSettings", "SecondOrderDegradation"],
    "level_reader": ["LevelReader"],
    "levircd": ["LEVIRCDFolder"],
    "s2looking": ["S2LookingFolder"],
    "sampled": ["SampledDataset"],
    "samplers": ["GriddedPatchSampler", "RandomPatchSampler", "RegionSampler", "grid_sampler", "random_sampler"],
    "second": ["SECONDFolder", "from_to_classes", "from_to_values"],
}  # fmt: skip
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'terrasynth.datasets' has no attribute {name!r}")
    return getattr(importlib.import_module(f"terrasynth.datasets.{_MODULE_OF[name]}"), name)


def __dir__():
    return __all__
