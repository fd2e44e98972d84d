"""Changen2 (Zheng et al., TPAMI 2024): change event simulation on semantic masks, the
resolution-scalable diffusion transformer RS-DiT, the mask-conditioned model built on it, GPCM
synthesis of the images of every date, and pseudo-masks for unlabelled images.

Names are loaded on first use, so that the event simulation (numpy and scipy only) does not pull
in torch.
"""

from terrasynth.core.lazy import lazy_exports

_EXPORTS = {
    "appearance": ["DateAppearance", "vary_dates"],
    "components": ["Component", "find_components"],
    "contour": ["change_mask", "class_boundaries", "next_time_contour"],
    "events": ["add_objects", "remove_objects", "transition"],
    "gpcm": ["GPCM", "consistency"],
    "mask_encoding": ["MASK_KINDS", "MaskEncoding"],
    "model": ["Changen2Model", "build_changen2"],
    "pseudo_masks": ["pseudo_mask"],
    "rsdit": ["PRESETS", "RSDiT", "build_rsdit", "rsdit_config"],
    "rsdit_weights": ["read_rsdit", "read_state_dict"],
    "sequence": [
        "BUILDING_EVENTS", "OPENEARTHMAP_EVENTS", "SECOND_EVENTS", "WORLDCOVER_EVENTS", "ChangeEvents",
        "ChangeSequence", "pseudo_mask_events", "simulate_changes",
    ],
    "transition_kernels": [
        "OPENEARTHMAP_TRANSITIONS", "SECOND_TRANSITIONS", "WORLDCOVER_TRANSITIONS", "uniform_transitions",
    ],
}  # fmt: skip
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
