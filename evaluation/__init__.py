"""Generative metrics, change metrics, and results as xarray Datasets.

Never imports Earth Engine or ``terrasynth.ingest``/``workflows``. Names load on first use, so that
importing this package stays cheap (torch is imported only by the modules that need it).
"""

from terrasynth.core.lazy import lazy_exports

_EXPORTS = {
    "binary_change": ["BINARY_METRICS", "BinaryChangeMetrics", "binary_scores"],
    "change_detection": ["ChangeModel", "SlidingWindowDetector", "evaluate_change_detection"],
    "change_report": ["change_report_paths", "write_change_report"],
    "condition": ["CONDITION_METRICS", "area_average", "bicubic_upsample", "condition_error"],
    "feature_distance": ["as_encoder", "encode", "feature_distances"],
    "figures": ["canvas_figure", "levels_figure", "pairs_figure", "reflectance_picture"],
    "generation": ["DISTANCE_METRICS", "compare_image_sets", "tile_count"],
    "image_sets": ["Canvas", "Tile", "iter_tiles", "open_image_set", "select_rgb", "to_uint8"],
    "inception": [
        "INCEPTION_FILE", "INCEPTION_SHA256", "INCEPTION_URL", "check_inception_weights", "inception_encoder",
    ],
    "plots": [
        "outcome_map", "plot_canvas_windows", "plot_examples", "plot_f1_histogram", "plot_image_grid",
        "plot_precision_recall",
    ],
    "report": ["demo_report"],
    "results": [
        "load_results", "open_results", "print_results", "results_markdown", "results_table", "save_results",
    ],
    "seams": ["SEAM_AXES", "SEAM_METRICS", "cut_positions", "gradient_profile", "grid_period", "seam_scores"],
    "semantic_change": [
        "SEMANTIC_METRICS", "VARIANTS", "SemanticChangeMetrics", "confusion", "from_to_map", "second_maps",
        "second_scores",
    ],
    "sliced_wasserstein": ["laplacian_patches", "pyramid_scales", "sliced_wasserstein"],
}  # fmt: skip
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
