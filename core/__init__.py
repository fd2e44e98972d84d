"""Shared vocabulary: levels, grids, areas of interest, land-cover tables, the corpus format, the change
data formats and their writers, errors, config.

Imports no torch and no Earth Engine. Names are loaded on first use, so that importing one small
module (the errors, say) does not pull in xarray and dask.
"""

from terrasynth.core.lazy import lazy_exports

_EXPORTS = {
    "aoi": ["AreaOfInterest", "Region", "metres_per_degree", "utm_zone"],
    "change_data": [
        "IMAGE_SUFFIXES", "LEVIR_CD", "S2LOOKING", "SECOND", "SECOND_CLASSES", "SECOND_PALETTE", "ChangeLayout",
        "change_series", "image_size", "read_image", "read_png", "second_from_rgb", "second_to_rgb", "write_png",
    ],
    "change_writers": ["ChangeSeriesWriter", "LevirCDWriter", "SecondWriter"],
    "config": ["Config", "load_config", "read_config_file", "validate_config"],
    "corpus": [
        "corpus_levels", "corpus_regions", "corpus_template", "dataset_grid", "mark_complete", "mark_incomplete",
        "open_corpus", "reflectance", "validate_corpus",
    ],
    "corpus_check": ["BadTile", "find_bad_tiles"],
    "display": ["BRIGHTNESS", "from_display", "to_display"],
    "errors": [
        "AOIError", "ConfigError", "CorpusError", "GridError", "SourceError", "TerrasynthError", "WeightsError",
    ],
    "outputs": ["atomic_path", "check_free_space", "check_output", "format_bytes"],
    "grid": ["Bounds", "GridSpec", "aligned_grids", "snap_window"],
    "landcover": [
        "BUILDING", "DYNAMIC_WORLD", "WORLDCOVER", "WORLDCOVER_TO_DYNAMIC_WORLD", "ClassTable", "has_buildings",
        "remap", "with_buildings",
    ],
    "seeds": ["key_seed"],
    "stac": ["write_stac_collection"],
    "levels": ["DEFAULT_LADDER", "Level", "common_pitch", "parse_levels"],
}  # fmt: skip
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
