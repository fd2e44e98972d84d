"""The change detector: a ChangeStar-style bitemporal model, its losses, sliding-window inference
and safetensors checkpoints."""

from terrasynth.models.detector.augment import random_crop, random_dihedral
from terrasynth.models.detector.changestar import ChangeDetector, DetectorConfig, read_state_dict
from terrasynth.models.detector.checkpoint import checkpoint_paths, load_detector, save_detector
from terrasynth.models.detector.losses import change_loss, semantic_loss
from terrasynth.models.detector.sliding_window import blend_weight, sliding_window_predict, window_starts

__all__ = [
    "ChangeDetector",
    "DetectorConfig",
    "blend_weight",
    "change_loss",
    "checkpoint_paths",
    "load_detector",
    "random_crop",
    "random_dihedral",
    "read_state_dict",
    "save_detector",
    "semantic_loss",
    "sliding_window_predict",
    "window_starts",
]
