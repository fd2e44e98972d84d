"""FID and KID between two image sets, on the features of any encoder.

Features are computed once per image (the FID Inception-v3 of :mod:`.inception`, or any encoder
you give: an ``nn.Module`` or a callable ``images -> (N, D)``); the distances are torchmetrics'
``FrechetInceptionDistance`` and ``KernelInceptionDistance`` fed with those features, so that
subsets (per level, per land-cover class) need no second pass through the encoder.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable

import torch
from torch import nn


class _Forward(nn.Module):
    """An encoder given as a plain callable, wrapped as a module."""

    def __init__(self, function: Callable[[torch.Tensor], torch.Tensor]):
        super().__init__()
        self.function = function

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.function(images)


class _Precomputed(nn.Module):
    """Hands precomputed ``(N, D)`` features to a torchmetrics metric unchanged."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


def as_encoder(encoder: nn.Module | Callable[[torch.Tensor], torch.Tensor]) -> nn.Module:
    """An ``nn.Module`` for an encoder given as a module or as a callable ``images -> (N, D)``."""
    if isinstance(encoder, nn.Module):
        return encoder
    if callable(encoder):
        return _Forward(encoder)
    raise TypeError(f"an encoder must be an nn.Module or a callable, got {type(encoder).__name__}")


@torch.no_grad()
def encode(encoder, batches: Iterable[torch.Tensor], *, device: str | torch.device = "cpu") -> torch.Tensor:
    """``(N, D)`` float64 features of every image in ``batches`` (each ``(n, C, H, W)``), on the CPU."""
    module = as_encoder(encoder).to(device).eval()
    parts = [module(batch.to(device)).flatten(1).double().cpu() for batch in batches]
    if not parts:
        raise ValueError("no images to encode")
    return torch.cat(parts)


def feature_distances(
    real: torch.Tensor,
    generated: torch.Tensor,
    *,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    kid_degree: int = 3,
    seed: int = 0,
) -> dict[str, float]:
    """FID and KID (mean and std over random subsets) between two ``(N, D)`` feature sets.

    Needs two or more vectors on each side (NaN otherwise). KID subsets hold
    ``min(kid_subset_size, N_real, N_generated)`` vectors, drawn with ``seed``.
    """
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.kid import KernelInceptionDistance

    if min(len(real), len(generated)) < 2:
        return {"fid": math.nan, "kid_mean": math.nan, "kid_std": math.nan}
    width = real.shape[1]
    fid = FrechetInceptionDistance(feature=_Precomputed(width))
    fid.update(real.double(), real=True)
    fid.update(generated.double(), real=False)
    size = min(kid_subset_size, len(real), len(generated))
    with warnings.catch_warnings():  # its note on keeping all features applies to images, not these
        warnings.filterwarnings("ignore", message=".*will save all extracted features.*")
        kid = KernelInceptionDistance(
            feature=_Precomputed(width), subsets=kid_subsets, subset_size=size, degree=kid_degree
        )
    kid.update(real.double(), real=True)
    kid.update(generated.double(), real=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        kid_mean, kid_std = kid.compute()
    return {"fid": float(fid.compute()), "kid_mean": float(kid_mean), "kid_std": float(kid_std)}
