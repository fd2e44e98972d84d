"""Sliced Wasserstein distance between Laplacian-pyramid patches (Karras et al., ProGAN, 2018).

Each image's Laplacian pyramid (kornia) is cut into random 7 x 7 patches per scale, from full size
down to 16 pixels. Per scale, each set's patch descriptors are normalised per band, projected on
random unit directions, sorted, and compared: the SWD is the mean absolute difference of the sorted
projections (x 1e3, as ProGAN reports it). Needs no trained weights. The projection step is a few
lines written here: no well-kept library we depend on ships it.
"""

from __future__ import annotations

import math

import torch
from kornia.geometry.transform import build_laplacian_pyramid

PATCH = 7
MIN_SCALE = 16


def pyramid_scales(size: int) -> list[int]:
    """Edge lengths (pixels) of the pyramid levels of a ``size``-pixel image, down to 16."""
    if size < MIN_SCALE:
        raise ValueError(f"images of {size} px are too small for a Laplacian pyramid (need {MIN_SCALE}+)")
    return [size >> k for k in range(int(math.log2(size / MIN_SCALE)) + 1)]


def laplacian_patches(
    images: torch.Tensor, *, patches_per_image: int = 128, generator: torch.Generator | None = None
) -> dict[int, torch.Tensor]:
    """Random patch descriptors per pyramid scale.

    Args:
        images: ``(N, C, H, W)`` float images (any scale: descriptors are normalised later).
        patches_per_image: 7 x 7 patches drawn per image and scale.

    Returns:
        ``{scale: (N * patches_per_image, C * 49)}``, scale = level edge in pixels (min of H, W).
    """
    images = images.float()
    scales = pyramid_scales(min(images.shape[-2:]))
    levels = build_laplacian_pyramid(images, max_level=len(scales))
    offsets = torch.arange(PATCH)
    out = {}
    for scale, level in zip(scales, levels, strict=True):
        n, c, h, w = level.shape
        count = n * patches_per_image
        index = torch.arange(n).repeat_interleave(patches_per_image)
        y = torch.randint(0, h - PATCH + 1, (count,), generator=generator)
        x = torch.randint(0, w - PATCH + 1, (count,), generator=generator)
        rows = (y[:, None] + offsets)[:, :, None]  # (count, 7, 1)
        cols = (x[:, None] + offsets)[:, None, :]  # (count, 1, 7)
        patches = level.permute(0, 2, 3, 1)[index[:, None, None], rows, cols]  # (count, 7, 7, C)
        out[scale] = patches.permute(0, 3, 1, 2).reshape(count, c * PATCH * PATCH)
    return out


def _normalise(descriptors: torch.Tensor, bands: int) -> torch.Tensor:
    """Zero mean and unit standard deviation per band over all patches and positions."""
    x = descriptors.double().reshape(len(descriptors), bands, -1)
    mean = x.mean(dim=(0, 2), keepdim=True)
    std = x.std(dim=(0, 2), keepdim=True).clamp_min(1e-12)
    return ((x - mean) / std).reshape(len(descriptors), -1)


def sliced_wasserstein(
    a: torch.Tensor,
    b: torch.Tensor,
    *,
    bands: int,
    directions: int = 128,
    repeats: int = 4,
    generator: torch.Generator | None = None,
) -> float:
    """SWD (x 1e3) between two descriptor sets ``(N, bands * 49)`` and ``(M, bands * 49)``.

    The larger set is randomly subsampled to the size of the smaller one.
    """
    a, b = _normalise(a, bands), _normalise(b, bands)
    count = min(len(a), len(b))
    a = a[torch.randperm(len(a), generator=generator)[:count]]
    b = b[torch.randperm(len(b), generator=generator)[:count]]
    results = []
    for _ in range(repeats):
        axes = torch.randn(a.shape[1], directions, generator=generator, dtype=torch.float64)
        axes /= axes.norm(dim=0, keepdim=True)
        projected_a = (a @ axes).sort(dim=0).values
        projected_b = (b @ axes).sort(dim=0).values
        results.append((projected_a - projected_b).abs().mean())
    return float(torch.stack(results).mean()) * 1e3
