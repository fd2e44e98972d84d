"""The model space of a diffusion run: the reflectance range mapped onto the model's [-1, 1]."""

from __future__ import annotations

from collections.abc import Sized

import numpy as np
from torch.utils.data import Dataset

from terrasynth.models.diffusion import ReflectanceScaling
from terrasynth.trainers.settings import DiffusionTraining


def model_scaling(settings: DiffusionTraining, dataset: Dataset, samples: int = 64) -> ReflectanceScaling:
    """The run's model space: ``settings.reflectance_range``, fitted per band on the ``image`` of up
    to ``samples`` samples spread evenly over ``dataset`` when it is ``"per-band"``. Pixels a
    sample marks not ``valid`` (gaps, outside the area) are left out of the fit."""
    if settings.reflectance_range != "per-band":
        return ReflectanceScaling(*settings.reflectance_range)
    assert isinstance(dataset, Sized)  # a map-style data set
    picks = np.unique(np.linspace(0, len(dataset) - 1, min(samples, len(dataset))).round().astype(int))
    images = np.stack([_observed(dataset[int(i)]) for i in picks])
    return ReflectanceScaling.fit(images)


def _observed(sample: dict) -> np.ndarray:
    """The sample's image (C, H, W) float32, NaN where the sample has ``valid`` False."""
    image = np.asarray(sample["image"], dtype=np.float32).copy()
    if "valid" in sample:
        image[:, ~np.asarray(sample["valid"], dtype=bool)] = np.nan
    return image
