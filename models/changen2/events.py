"""Change events on semantic masks (Changen2, Sec. 3.2): object addition, object removal and class
transition. Each takes an (H, W) integer mask and a :class:`numpy.random.Generator` and returns a
new mask; the input is never modified. Components of ``small_area`` pixels or fewer are never
selected, moved, removed or relabelled.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from terrasynth.models.changen2.components import SMALL_AREA, find_components
from terrasynth.models.changen2.transition_kernels import TransitionKernel

MAX_TRIES = 50
"""Random placements tried per added object before giving it up (Changen2)."""


def object_classes_of(mask: np.ndarray, object_classes: Iterable[int] | None) -> np.ndarray:
    """The classes that form objects: ``object_classes``, or every class present but 0 when ``None``."""
    if object_classes is None:
        present = np.unique(mask)
        return present[present != 0]
    return np.asarray(sorted(set(object_classes)), dtype=mask.dtype)


def add_objects(
    mask: np.ndarray,
    count: int,
    rng: np.random.Generator,
    *,
    object_classes: Iterable[int] | None = None,
    ground: Iterable[int] | None = None,
    small_area: int = SMALL_AREA,
    max_tries: int = MAX_TRIES,
) -> np.ndarray:
    """Copy the shapes of ``count`` random objects to random free places.

    An object is a component of one of ``object_classes``; a place is free when none of its
    pixels belongs to an object class (objects never overlap) and, when ``ground`` names classes,
    every pixel is of one of them (a new building stands on grass or bare soil, not on water or a
    road). Each copy keeps its source's class and is tried at up to ``max_tries`` random offsets
    inside the image, then given up.
    """
    classes = object_classes_of(mask, object_classes)
    objects = find_components(mask, classes, small_area=small_area)
    out = mask.copy()
    occupied = np.isin(mask, classes)
    if ground is not None:
        occupied |= ~np.isin(mask, list(ground))
    height, width = mask.shape
    for index in rng.choice(len(objects), size=min(count, len(objects)), replace=False):
        source = objects[index]
        rows, cols = source.rows - source.rows.min(), source.cols - source.cols.min()
        for _ in range(max_tries):
            top = rng.integers(0, height - rows.max())
            left = rng.integers(0, width - cols.max())
            if not occupied[rows + top, cols + left].any():
                out[rows + top, cols + left] = source.label
                occupied[rows + top, cols + left] = True
                break
    return out


def remove_objects(
    mask: np.ndarray,
    count: int,
    rng: np.random.Generator,
    *,
    object_classes: Iterable[int] | None = None,
    fill: int = 0,
    small_area: int = SMALL_AREA,
) -> np.ndarray:
    """Clear ``count`` random objects (components of ``object_classes``) to the class ``fill``."""
    objects = find_components(mask, object_classes_of(mask, object_classes), small_area=small_area)
    out = mask.copy()
    for index in rng.choice(len(objects), size=min(count, len(objects)), replace=False):
        out[objects[index].rows, objects[index].cols] = fill
    return out


def transition(
    mask: np.ndarray,
    kernel: TransitionKernel,
    p: float,
    rng: np.random.Generator,
    *,
    small_area: int = SMALL_AREA,
) -> np.ndarray:
    """Relabel each component of a class named by ``kernel``, with probability ``p``, to a class
    drawn uniformly from the ones the kernel allows it to become."""
    out = mask.copy()
    for component in find_components(mask, kernel, small_area=small_area):
        if rng.random() < p:
            targets = kernel[component.label]
            out[component.rows, component.cols] = targets[rng.integers(len(targets))]
    return out
