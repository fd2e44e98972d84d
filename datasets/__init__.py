"""torchgeo datasets over corpora, samplers, degradations, and the change benchmarks.

Names are loaded on first use, so that importing one small module does not pull in torch and
torchgeo.

Corpora (torchgeo ``GeoDataset``s, indexed by ``[xmin:xmax, ymin:ymax, tmin:tmax]`` slices in
metres of the region's UTM CRS):

- :class:`CorpusDataset`: one level of one region.
- :class:`CascadePairs`: a level's tiles with their low-resolution condition (from the next coarser
  level, or left to the training loop to degrade with :func:`degrade_condition`);
  :class:`CascadeLevels`: several level pairs as one dataset, for one model of every stage.
- :class:`CorpusRegions` + :class:`RegionSampler`: every region, each in its own CRS, sampled in
  proportion to valid area.
- :class:`SampledDataset`: a map-style view over the queries of one sampler (for trainers that
  shuffle integer indices); :func:`corpus_tiles`: every tile of a level as one, and
  :class:`MaskedSamples`: its samples with the mask a Changen2 model draws from (:func:`sample_mask`).
- :func:`random_sampler`, :func:`grid_sampler`, :data:`RandomPatchSampler`,
  :data:`GriddedPatchSampler`: torchgeo's samplers under one name on torchgeo 0.8 and 0.10.

Change data (``NonGeoDataset``s of bitemporal pairs): :class:`LEVIRCDFolder`,
:class:`S2LookingFolder`, :class:`SECONDFolder`, :class:`ChangeSeriesPairs`,
:func:`open_change_set` for the synthetic change sets terrasynth writes, and
:func:`open_change_dataset` to open any of them by name.

Labelled single-date images in the xView2 and OpenEarthMap folder layouts, as tiles with their
masks (the sources of change synthesis with the released Changen2 weights): :class:`LabelledImageTiles`;
unlabelled images (PNG, JPEG, GeoTIFF) as tiles with k-means pseudo-masks: :class:`ImageFolderTiles`;
pictures in a Changen2 model's values and back: :func:`from_picture`, :func:`to_picture`,
:class:`ModelValueTiles`; the change labels of a model's masks: :func:`building_mask`,
:func:`second_labels`.
"""

from terrasynth.core.lazy import lazy_exports

_EXPORTS = {
    "cascade": ["CascadeLevels", "CascadePairs", "condition_shape"],
    "change_benchmarks": ["CHANGE_DATASETS", "open_change_dataset"],
    "change_folder": ["ChangeFolder"],
    "change_labels": ["BUILDING_CODES", "OPENEARTHMAP_SECOND", "building_mask", "second_labels"],
    "change_series": ["ChangeSeriesPairs", "open_change_set"],
    "corpus": ["CorpusDataset"],
    "corpus_regions": ["CorpusRegions"],
    "degradation": [
        "BlurSettings", "DegradationSettings", "NoiseSettings", "ResizeSettings", "SecondOrderDegradation",
        "degrade_condition",
    ],
    "image_folder_tiles": ["ImageFolderTiles", "image_files"],
    "labelled_folders": ["LABELLED_LAYOUTS", "LabelledImageTiles", "labelled_images"],
    "level_reader": ["LevelReader"],
    "levircd": ["LEVIRCDFolder"],
    "masked_samples": ["MaskedSamples", "corpus_tiles", "sample_mask"],
    "pictures": ["ModelValueTiles", "from_picture", "to_picture"],
    "s2looking": ["S2LookingFolder"],
    "sampled": ["SampledDataset"],
    "samplers": ["GriddedPatchSampler", "RandomPatchSampler", "RegionSampler", "grid_sampler", "random_sampler"],
    "second": ["SECONDFolder", "from_to_classes", "from_to_values"],
}  # fmt: skip
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
