import numpy as np
import pytest

from terrasynth.core.errors import ConfigError
from terrasynth.models.metaearth import Cascade

from .conftest import micro_stage


@pytest.fixture
def cascade(first_stage):
    return Cascade([first_stage, micro_stage(seed=1, gsd=4.0, condition_gsd=16.0)])


def test_from_noise_with_land_cover_through_every_stage(cascade):
    landcover = np.full((12, 12), 10, dtype=np.uint8)
    landcover[:, 6:] = 80
    seen = {}
    final = cascade.generate(
        (40, 36), landcover=landcover, landcover_gsd=16 * 40 / 12 / 4, steps=2,
        progress=lambda plan, n: seen.setdefault(plan.index, []).append(n),
    )  # fmt: skip
    assert final.shape == (3, 40, 36) and ((final >= 0) & (final <= 1)).all()
    plans = cascade.plan((40, 36), steps=2)
    assert [p.shape for p in plans] == [(10, 9), (40, 36)] and [p.condition_gsd for p in plans] == [
        None,
        16.0,
    ]
    assert sum(seen[0]) == pytest.approx(plans[0].windows) and sum(seen[1]) == pytest.approx(plans[1].windows)
    other = cascade.generate(
        (40, 36), landcover=np.full((12, 12), 50, np.uint8), landcover_gsd=16 * 40 / 12 / 4, steps=2
    )
    assert not np.allclose(final, other)


def test_starting_from_a_real_low_resolution_image(cascade):
    real = np.random.default_rng(1).random((3, 9, 7)).astype(np.float32) * 0.3  # a 10 m image
    final = cascade.generate(start=1, condition=real, condition_gsd=10.0, steps=2)
    assert final.shape == (3, 22, 17)  # its footprint at 4 m: 90 m x 70 m
    plan = cascade.plan(start=1, condition_shape=real.shape, condition_gsd=10.0, origin_m=(400.0, 800.0))
    assert plan[0].condition_gsd == 10.0 and plan[0].origin == (-200, 100)


def test_invalid_cascades_are_config_errors(first_stage, cascade):
    with pytest.raises(ConfigError, match="coarse to fine"):
        Cascade([micro_stage(gsd=4.0), micro_stage(gsd=16.0, condition_gsd=60.0)])
    with pytest.raises(ConfigError, match="first stage"):
        Cascade([first_stage, first_stage])
    with pytest.raises(ConfigError, match="size"):
        cascade.generate(steps=1)
    with pytest.raises(ConfigError, match="start from a later stage"):
        cascade.generate(condition=np.zeros((3, 4, 4), np.float32), steps=1)


def test_one_model_of_two_level_pairs_runs_both_stages():
    model = micro_stage(gsd=4.0, condition_gsd=16.0, pairs=[[16, 64], [4, 16]])
    cascade = Cascade([model])
    assert cascade.pairs == [(16.0, 64.0), (4.0, 16.0)] and cascade.stages == [model, model]
    assert cascade.start_for(60.0) == 0 and cascade.start_for(10.0) == 1 and cascade.stop_for(16.0) == 0
    real = np.random.default_rng(2).random((3, 4, 5)).astype(np.float32) * 0.3  # a 64 m image
    plans = cascade.plan(condition_shape=real.shape, condition_gsd=64.0, steps=1)
    assert [(p.gsd, p.condition_gsd, p.shape) for p in plans] == [
        (16.0, 64.0, (16, 20)),
        (4.0, 16.0, (64, 80)),
    ]
    only_16m = cascade.generate(condition=real, condition_gsd=64.0, stop=0, steps=1, noise="field")
    assert only_16m.shape == (3, 16, 20)
    with pytest.raises(ConfigError, match="no stage generates 8 m"):
        cascade.stop_for(8.0)
