"""Pseudo-masks for unlabelled single-date images: an unsupervised segmentation that stands in for
the semantic mask when an image has no labels (Changen2 then simulates changes on it as on a
labelled one, with :func:`~terrasynth.models.changen2.transition_kernels.uniform_transitions`).

The method: k-means over per-pixel colour and texture features, then connected-component cleanup.

1. Features, each standardised over the image: every band; the local standard deviation of every
   band in a ``texture_window`` x ``texture_window`` box (texture, weighted by
   ``texture_weight``); the Sobel gradient magnitude of the band mean (edges, same weight).
2. k-means with k-means++ seeding, fitted on a random sample of pixels, then every pixel is
   assigned to its nearest centre. Clusters are numbered 1..k from darkest to brightest, so the
   numbering does not depend on the seeding order.
3. Components of ``small_area`` pixels or fewer (8-connected) take the class of the nearest pixel
   outside them: no speckle, and every remaining region is large enough to be an object.
"""

from __future__ import annotations

import kornia
import numpy as np
import torch
from scipy import ndimage

from terrasynth.core.errors import ConfigError
from terrasynth.models.changen2.components import EIGHT_CONNECTED, SMALL_AREA


def pseudo_mask(
    image: torch.Tensor,
    classes: int = 8,
    *,
    generator: torch.Generator | None = None,
    texture_window: int = 7,
    texture_weight: float = 0.5,
    iterations: int = 20,
    sample: int = 65536,
    small_area: int = SMALL_AREA,
) -> torch.Tensor:
    """Segment a (C, H, W) image into ``classes`` pseudo-classes.

    Args:
        image: (C, H, W) float image, any band count and value range.
        classes: number of clusters k.
        generator: the source of randomness (pixel sample and seeding); same state, same mask.
        texture_window: side in pixels of the box the local standard deviation is taken over.
        texture_weight: weight of the texture and edge features against the bands.
        iterations: k-means (Lloyd) iterations.
        sample: pixels the centres are fitted on.
        small_area: components of this many pixels or fewer are merged into their surroundings.

    Returns:
        (H, W) int64 class codes 1..classes (0 is never used), on the CPU.
    """
    if image.ndim != 3 or not image.is_floating_point():
        raise ConfigError(
            f"pseudo-masks need a (C, H, W) float image, got {image.dtype} {tuple(image.shape)}"
        )
    if classes < 1:
        raise ConfigError(f"pseudo-masks need classes >= 1, got {classes}")
    features = _features(image.detach().float().cpu(), texture_window, texture_weight)
    points = features.flatten(1).T  # (H * W, F)
    chosen = torch.randperm(len(points), generator=generator)[:sample]
    centres = _kmeans(points[chosen], classes, iterations, generator)
    nearest = torch.cat([torch.cdist(chunk, centres).argmin(1) for chunk in points.split(262144)])
    brightness = centres[:, : image.shape[0]].sum(1)
    rank = torch.empty(classes, dtype=torch.long)
    rank[brightness.argsort()] = torch.arange(1, classes + 1)
    labels = rank[nearest].reshape(image.shape[1:]).numpy()
    return torch.from_numpy(_merge_small_components(labels, small_area))


def _features(image: torch.Tensor, window: int, weight: float) -> torch.Tensor:
    """(F, H, W) standardised features: bands, local band standard deviations, gradient magnitude."""
    batch = image[None]
    mean = kornia.filters.box_blur(batch, (window, window), border_type="reflect")
    square = kornia.filters.box_blur(batch.square(), (window, window), border_type="reflect")
    texture = (square - mean.square()).clamp_min(0).sqrt()[0]
    edges = kornia.filters.sobel(batch.mean(1, keepdim=True))[0]
    features = torch.cat([image, texture, edges])
    features = (features - features.mean((1, 2), keepdim=True)) / (features.std((1, 2), keepdim=True) + 1e-6)
    features[image.shape[0] :] *= weight
    return features


def _kmeans(points: torch.Tensor, k: int, iterations: int, generator: torch.Generator | None) -> torch.Tensor:
    """(k, F) centres: k-means++ seeding, then Lloyd iterations (an empty cluster keeps its centre).

    Written by hand: torch has no k-means, and scikit-learn is not a dependency of the models.
    """
    centres = points[torch.randint(len(points), (1,), generator=generator)]
    for _ in range(1, k):
        distance = torch.cdist(points, centres).min(1).values.square()
        weights = distance if distance.sum() > 0 else torch.ones_like(distance)
        centres = torch.cat([centres, points[torch.multinomial(weights, 1, generator=generator)]])
    for _ in range(iterations):
        assignment = torch.cdist(points, centres).argmin(1)
        sums = torch.zeros_like(centres).index_add_(0, assignment, points)
        counts = torch.bincount(assignment, minlength=k)[:, None]
        centres = torch.where(counts > 0, sums / counts.clamp_min(1), centres)
    return centres


def _merge_small_components(labels: np.ndarray, small_area: int) -> np.ndarray:
    """``labels`` with every component of ``small_area`` pixels or fewer given the class of the
    nearest pixel outside all such components."""
    small = np.zeros(labels.shape, bool)
    for label in np.unique(labels):
        components, _ = ndimage.label(labels == label, structure=EIGHT_CONNECTED)
        sizes = np.bincount(components.ravel())
        small |= (components > 0) & (sizes[components] <= small_area)
    if not small.any() or small.all():
        return labels.astype(np.int64)
    _, (rows, cols) = ndimage.distance_transform_edt(small, return_indices=True)
    return labels[rows, cols].astype(np.int64)
