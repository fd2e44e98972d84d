"""Changen2 (Zheng et al., TPAMI 2024): change event simulation on semantic masks, the
resolution-scalable diffusion transformer RS-DiT, the mask-conditioned model built on it, GPCM
synthesis of the images of every date, and pseudo-masks for unlabelled images.

Names are loaded on first use, so that the event simulation (numpy and scipy only) does not pull
in torch.
"""

import importlib

_EXPORTS = {
    "components": ["Component", "find_components"],
    "contour": ["change_mask", "class_boundaries", "next_time_contour"],
    "events": ["add_objects", "remove_objects", "transition"],
    "gpcm": ["GPCM", "consistency"],
    "mask_encoding": ["MASK_KINDS", "MaskEncoding"],
    "model": ["Changen2Model", "build_changen2"],
    "pseudo_masks": ["pseudo_mask"],
    "rsdit": ["PRESETS", "RSDiT", "RSDiTConfig", "build_rsdit", "rsdit_config"],
    "rsdit_weights": ["load_rsdit", "read_state_dict", "save_rsdit"],
    "sequence": [
        "BUILDING_EVENTS", "OPENEARTHMAP_EVENTS", "SECOND_EVENTS", "WORLDCOVER_EVENTS", "ChangeEvents",
        "ChangeSequence", "pseudo_mask_events", "simulate_changes",
    ],
    "transition_kernels": [
        "OPENEARTHMAP_TRANSITIONS", "SECOND_TRANSITIONS", "WORLDCOVER_TRANSITIONS", "uniform_transitions",
    ],
}  # fmt: skip
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'terrasynth.models.changen2' has no attribute {name!r}")
    return getattr(importlib.import_module(f"terrasynth.models.changen2.{_MODULE_OF[name]}"), name)


def __dir__():
    return __all__
