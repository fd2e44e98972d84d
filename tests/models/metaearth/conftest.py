import pytest
import torch

from terrasynth.models.metaearth import build_denoiser

MICRO = {
    "block_out_channels": (16, 32),
    "attention_levels": (False, True),
    "norm_num_groups": 8,
    "encoder_features": 8,
    "encoder_blocks": 1,
    "encoder_growth": 8,
    "window": 16,
}
WORLDCOVER_CODES = [10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100]


def micro_stage(seed: int = 0, **stage):
    """A randomly initialised, very small stage (a few thousand parameters' worth of speed)."""
    torch.manual_seed(seed)
    return build_denoiser("tiny", **{"channels": 3, **MICRO, **stage}).eval()


@pytest.fixture
def upscaler():
    return micro_stage(gsd=4.0, condition_gsd=16.0)


@pytest.fixture
def first_stage():
    return micro_stage(gsd=16.0, condition_gsd=None, landcover_codes=WORLDCOVER_CODES)
