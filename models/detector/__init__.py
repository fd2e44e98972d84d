"""The change detector: a ChangeStar-style bitemporal model (saved with diffusers'
``save_pretrained`` / ``from_pretrained``), its losses and sliding-window inference."""

from terrasynth.models.detector.augment import random_crop, random_dihedral
from terrasynth.models.detector.changestar import ChangeDetector, read_state_dict
from terrasynth.models.detector.losses import balanced_positive_weight, change_loss, semantic_loss
from terrasynth.models.detector.sliding_window import blend_weight, sliding_window_predict, window_starts

__all__ = [
    "ChangeDetector",
    "balanced_positive_weight",
    "blend_weight",
    "change_loss",
    "random_crop",
    "random_dihedral",
    "read_state_dict",
    "semantic_loss",
    "sliding_window_predict",
    "window_starts",
]
