"""GPCM synthesis with a Changen2 model: change pairs per second at 256 and 1024 pixels, peak memory
against resolution (256 to 1024), and how far unchanged areas are kept between dates, in one run.

A pair is a series of two dates: the source image and one drawn date (``steps`` denoiser calls).
On a CPU the model is the ``tiny`` preset in pixel space with a few steps, and peak memory is the
process' resident high-water mark (reset before each size, after handing free heap memory back
to the system); on a CUDA device the S and B presets run in the latent space of an
AutoencoderKL shaped like Stable Diffusion's (random weights: speed and memory only, no
download), with peak GPU memory. Every model is trained at 256 pixels (its global attention
blocks span at most that extent). ``memory_per_pixel_1024_vs_256`` is 1.0 for memory linear in
pixels (attention over the whole grid would approach 16).

    uv run python benchmarks/run.py --only changen2_synthesis [--quick]
"""

from __future__ import annotations

import ctypes
import sys
import time

import numpy as np
import torch

from terrasynth.models.changen2 import GPCM, MaskEncoding, build_changen2, consistency, simulate_changes
from terrasynth.models.diffusion import DiffusionSampler

SIZES = (256, 512, 768, 1024)
ENCODING = MaskEncoding.for_kind("landcover")


def _landcover(size: int, seed: int = 0) -> np.ndarray:
    """A WorldCover-like mask: Voronoi patches of five classes with built-up blocks (objects to change)."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, size, (max(8, size // 16), 2))
    rows, cols = np.mgrid[:size, :size]
    nearest = np.zeros((size, size), np.int64)
    best = np.full((size, size), np.inf)
    for index, (r, c) in enumerate(centres):
        distance = (rows - r) ** 2 + (cols - c) ** 2
        nearest = np.where(distance < best, index, nearest)
        best = np.minimum(distance, best)
    codes = np.array([10, 30, 40, 60, 80])[rng.integers(0, 5, len(centres))]
    mask = codes[nearest]
    for _ in range(size // 16):
        h, w = rng.integers(10, 24, 2)
        top, left = rng.integers(0, size - h), rng.integers(0, size - w)
        mask[top : top + h, left : left + w] = 250  # building footprints
    return mask


def _models(cuda: bool) -> dict:
    """Name -> a Changen2 model with random weights (a fresh one would draw zeros)."""
    torch.manual_seed(0)
    if not cuda:
        models = {"tiny (pixels)": build_changen2("tiny", ENCODING, 4, tile_size=256)}
    else:
        from diffusers import AutoencoderKL

        autoencoder = AutoencoderKL(
            in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(128, 256, 512, 512),
            down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
            layers_per_block=2,
        )  # fmt: skip
        models = {
            f"{preset} (latent)": build_changen2(preset, ENCODING, 3, autoencoder=autoencoder, tile_size=256)
            for preset in ("S", "B")
        }
    for model in models.values():
        with torch.no_grad():
            for parameter in model.rsdit.parameters():
                parameter.copy_(torch.randn_like(parameter) * 0.02)
    return models


def _inputs(size: int, channels: int, device, length: int = 2, seed: int = 0):
    mask = _landcover(size, seed)
    sequence = simulate_changes(mask, length, ENCODING.change_events(), seed, gsd=1.0)
    image = torch.rand(1, channels, size, size, generator=torch.Generator().manual_seed(seed)) * 0.3
    return image.to(device), [sequence]


class _PeakMemory:
    """Peak memory (MiB) added while the block runs: GPU memory on CUDA, else resident memory."""

    def __init__(self, cuda: bool):
        self.cuda, self.mib = cuda, 0.0

    def __enter__(self):
        if self.cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.before = torch.cuda.memory_allocated()
        else:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
            with open("/proc/self/clear_refs", "w") as file:
                file.write("5")
            self.before = _status_kib("VmRSS:") * 1024
        return self

    def __exit__(self, *_):
        if self.cuda:
            torch.cuda.synchronize()
            peak = torch.cuda.max_memory_allocated()
        else:
            peak = _status_kib("VmHWM:") * 1024
        self.mib = (peak - self.before) / 2**20


def _status_kib(key: str) -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(key))


def _time(call, cuda: bool) -> float:
    began = time.perf_counter()
    call()
    if cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - began


def synthesis(quick: bool) -> dict:
    """Pairs per second at 256 and 1024 px, and peak memory at each size, for each model."""
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    steps = (2 if quick else 4) if not cuda else 50
    figures = {"steps": steps, "device": torch.cuda.get_device_name() if cuda else "cpu"}
    for name, model in _models(cuda).items():
        model = model.to(device).eval()
        gpcm = GPCM(model, steps=steps, autocast_dtype=torch.bfloat16 if cuda else None)
        peak, seconds = {}, {}
        for size in SIZES:
            image, sequences = _inputs(size, model.channels, device)
            noise = torch.randn(1, *gpcm.noise_shape(size, size), device=device)
            if size == SIZES[0]:
                gpcm(image, sequences, noise)  # warm-up
            with _PeakMemory(cuda) as memory:
                seconds[size] = _time(lambda: gpcm(image, sequences, noise), cuda)  # noqa: B023
            peak[size] = memory.mib
        figures[name] = {
            "pairs_per_second": {str(s): round(1 / seconds[s], 4) for s in (256, 1024)},
            "seconds_per_step": {str(s): round(seconds[s] / steps, 4) for s in (256, 1024)},
            "peak_memory_mib": {str(s): round(m, 1) for s, m in peak.items()},
            "memory_per_pixel_1024_vs_256": round(peak[1024] / peak[256] / 16, 2),
            "time_per_pixel_1024_vs_256": round(seconds[1024] / seconds[256] / 16, 2),
        }
        model.cpu()
    return figures


def kept_areas(quick: bool) -> dict:
    """Mean |difference| between dates in unchanged vs changed pixels (reflectance), GPCM against
    drawing every date independently (own noise, no blending), with the tiny model at 256 px."""
    model = _models(False)["tiny (pixels)"].eval()
    steps = 2 if quick else 4
    image, sequences = _inputs(256, 4, "cpu", length=3)
    changes = torch.from_numpy(sequences[0].changes)[None]
    gpcm = GPCM(model, steps=steps)
    noise = torch.randn(1, *gpcm.noise_shape(256, 256), generator=torch.Generator().manual_seed(1))
    kept = consistency(gpcm(image, sequences, noise), changes)
    sampler, dates = DiffusionSampler.for_model(model, steps), [image]
    with torch.no_grad():
        for date in (1, 2):
            condition = ENCODING.encode(torch.from_numpy(sequences[0].masks[date])[None])
            drawn = sampler.sample(model, torch.randn_like(noise), mask=condition)
            dates.append(model.from_latent(drawn))
    independent = consistency(torch.stack(dates, dim=1), changes)
    share = changes[:, 1:].float().mean().item()
    return {
        "changed_share_of_pixels": round(share, 3),
        "gpcm": {k: round(kept[k], 4) for k in ("unchanged", "changed", "ratio")},
        "independent_dates": {k: round(independent[k], 4) for k in ("unchanged", "changed", "ratio")},
    }


def run(quick: bool) -> dict:
    if not sys.platform.startswith("linux") and not torch.cuda.is_available():
        raise RuntimeError("peak memory on the CPU is read from Linux's /proc")
    return {**synthesis(quick), "consistency_tiny_256": kept_areas(quick)}
