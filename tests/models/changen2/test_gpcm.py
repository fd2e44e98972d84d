import ctypes
import sys

import numpy as np
import pytest
import torch

from terrasynth.core.errors import ConfigError
from terrasynth.models.changen2 import GPCM, MaskEncoding, build_changen2, consistency, simulate_changes
from terrasynth.models.diffusion import DiffusionSampler

LANDCOVER = MaskEncoding.for_kind("landcover")


@pytest.fixture(scope="module")
def model():
    """A tiny pixel-space model trained at 64 px, with random weights (a fresh one draws zeros)."""
    torch.manual_seed(0)
    model = build_changen2("tiny", LANDCOVER, 4, tile_size=64)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in model.rsdit.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.05)
    return model.eval()


def _inputs(make_samples, size=128, count=2, length=3, seed=0):
    tiles = make_samples.MaskedTiles(count, size)
    image = torch.stack([tiles[i]["image"] for i in range(count)])
    sequences = [
        simulate_changes(tiles[i]["landcover"].numpy(), length, LANDCOVER.change_events(), seed + i, gsd=4.0)
        for i in range(count)
    ]
    return image, sequences


def _noise(gpcm, count, size, seed=0):
    return torch.randn(count, *gpcm.noise_shape(size, size), generator=torch.Generator().manual_seed(seed))


def test_unchanged_areas_differ_far_less_than_changed_ones(model, make_samples):
    image, sequences = _inputs(make_samples)
    gpcm = GPCM(model, steps=3)
    series = gpcm(image, sequences, _noise(gpcm, 2, 128))
    assert series.shape == (2, 3, 4, 128, 128) and torch.equal(series[:, 0], image)
    changes = torch.from_numpy(np.stack([s.changes for s in sequences]))
    figures = consistency(series, changes)
    # the same dates drawn each from its own noise, without blending: every pixel changes
    sampler = DiffusionSampler(model.schedule, 3)
    independent = [image]
    for date in range(1, 3):
        masks = torch.from_numpy(np.stack([s.masks[date] for s in sequences]))
        drawn = sampler.sample(model, _noise(gpcm, 2, 128, seed=date), mask=LANDCOVER.encode(masks))
        independent.append(model.from_latent(drawn))
    without = consistency(torch.stack(independent, dim=1), changes)
    print(f"unchanged/changed: GPCM {figures['ratio']:.3f}, independent dates {without['ratio']:.3f}")
    assert figures["changed"] > 0.1 and figures["ratio"] < 0.1 and without["ratio"] > 0.5
    # outside the redrawn region (the change and a one-pixel margin), dates are equal
    redrawn = torch.nn.functional.max_pool2d(changes[:, 1:].float(), 3, 1, 1).bool()
    kept = ~redrawn[:, :, None].expand(-1, -1, 4, -1, -1)
    assert torch.equal(series[:, 1:][kept], series[:, :-1][kept])


def test_a_margin_widens_the_redrawn_region(model, make_samples):
    image, sequences = _inputs(make_samples, size=64, count=1, length=2)
    gpcm = GPCM(model, steps=2, margin=3)
    series = gpcm(image, sequences, _noise(gpcm, 1, 64))
    redrawn = torch.from_numpy(sequences[0].changes[1])
    ring = torch.nn.functional.max_pool2d(redrawn[None].float(), 7, 1, 3)[0].bool() & ~redrawn
    assert (series[0, 1] - series[0, 0]).abs().sum(0)[ring].gt(0).float().mean() > 0.5


def test_synthesis_is_deterministic_per_noise(model, make_samples):
    image, sequences = _inputs(make_samples, size=64)
    gpcm = GPCM(model, steps=2)
    first = gpcm(image, sequences, _noise(gpcm, 2, 64, seed=5))
    assert torch.equal(first, gpcm(image, sequences, _noise(gpcm, 2, 64, seed=5)))
    assert not torch.equal(first, gpcm(image, sequences, _noise(gpcm, 2, 64, seed=6)))
    with pytest.raises(ConfigError, match="initial noise"):
        gpcm(image, sequences, _noise(gpcm, 2, 32))


def _memory_kib(key: str) -> int:
    """A memory figure of this process from /proc/self/status (``VmRSS:``, ``VmHWM:``), KiB."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(key))


def _peak_memory_mib(run) -> float:
    """Peak resident memory (MiB) that ``run()`` added: free heap memory is returned to the system
    first (so that reused memory counts), then the kernel's high-water mark is reset and read."""
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/clear_refs", "w") as file:
        file.write("5")
    before = _memory_kib("VmRSS:")
    run()
    return (_memory_kib("VmHWM:") - before) / 1024


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the Linux high-water mark")
def test_1024_pixels_from_a_model_trained_at_64_with_memory_linear_in_pixels(model, make_samples):
    peaks = {}
    for size in (256, 512, 1024):
        image, sequences = _inputs(make_samples, size=size, count=1, length=2)
        gpcm = GPCM(model, steps=1)
        noise = _noise(gpcm, 1, size)
        result = {}
        peaks[size] = _peak_memory_mib(lambda: result.update(series=gpcm(image, sequences, noise)))  # noqa: B023
    print(f"peak MiB by size: {peaks}")
    assert result["series"].shape == (1, 2, 4, 1024, 1024) and torch.isfinite(result["series"]).all()
    # 4 x the pixels: linear memory gives about 4 x, attention over the whole grid would give 16 x
    assert peaks[512] < 8 * peaks[256] and peaks[1024] < 8 * peaks[512]
