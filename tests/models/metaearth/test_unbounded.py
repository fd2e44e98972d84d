import multiprocessing
import os

import numpy as np
import pytest
import torch

from terrasynth.core.errors import ConfigError
from terrasynth.models.diffusion import DiffusionSampler
from terrasynth.models.metaearth import MetaEarthDenoiser, NoiseField, UnboundedGenerator, WindowNoise
from terrasynth.models.metaearth.denoiser import resample_onto

from .conftest import micro_stage

LOW = np.random.default_rng(0).random((3, 12, 14)).astype(np.float32) * 0.4  # 16 m reflectance


def canvas(generator, height=40, width=44, **kwargs):
    bands = list(generator.bands(height, width, **kwargs))
    tops = [band.top for band in bands]
    assert tops == sorted(tops) and bands[0].top == kwargs.get("rows", (0,))[0]
    return np.concatenate([band.data for band in bands], axis=1)


def test_paper_scheme_is_deterministic_and_uses_the_same_noise_in_every_window(upscaler, monkeypatch):
    starts = []
    original = WindowNoise.__call__

    def spy(self, positions, step=-1):
        noise = original(self, positions, step)
        starts.append(noise)
        return noise

    monkeypatch.setattr(WindowNoise, "__call__", spy)
    generator = UnboundedGenerator(upscaler, steps=2, noise="shared", batch_size=4)
    first = canvas(generator, condition=LOW)
    assert first.shape == (3, 40, 44) and np.isfinite(first).all()
    assert all(torch.equal(n, starts[0][0]) for batch in starts for n in batch)
    assert np.array_equal(first, canvas(generator, condition=LOW))
    assert not np.array_equal(
        first, canvas(generator, condition=LOW[:, ::-1].copy())
    )  # the condition matters


def test_noise_modes_give_different_canvases(upscaler):
    results = {
        mode: canvas(UnboundedGenerator(upscaler, steps=2, noise=mode), condition=LOW)
        for mode in ("shared", "independent", "field", "average")
    }
    modes = list(results)
    for i, a in enumerate(modes):
        for b in modes[i + 1 :]:
            assert not np.allclose(results[a], results[b]), (a, b)


def test_progress_counts_every_window(upscaler):
    for mode in ("field", "average"):
        generator = UnboundedGenerator(upscaler, steps=2, noise=mode, batch_size=3)
        done = []
        canvas(generator, condition=LOW, progress=done.append)
        assert (
            sum(done) == pytest.approx(generator.windows_needed(40, 44))
            and generator.windows_needed(40, 44) == 4 * 5
        )


def test_averaged_mode_makes_any_part_of_the_canvas_exactly(upscaler):
    generator = UnboundedGenerator(upscaler, steps=3, eta=0.5, noise="average", batch_size=5)
    whole = canvas(generator, 56, 20, condition=LOW)
    part = canvas(generator, 56, 20, condition=LOW, rows=(33, 41))
    assert np.array_equal(part, whole[:, 33:41])


def test_bad_requests_are_config_errors(upscaler, first_stage):
    with pytest.raises(ConfigError, match="noise mode"):
        UnboundedGenerator(upscaler, noise="perlin")
    with pytest.raises(ConfigError, match="multiple of"):
        UnboundedGenerator(upscaler, window=18)
    with pytest.raises(ConfigError, match="low-resolution"):
        canvas(UnboundedGenerator(upscaler, steps=1))
    with pytest.raises(ConfigError, match="bands"):
        canvas(UnboundedGenerator(upscaler, steps=1), condition=LOW[:2])
    with pytest.raises(ConfigError, match="rows"):
        canvas(UnboundedGenerator(first_stage, steps=1), rows=(10, 50))


def test_strength_below_one_starts_from_the_noised_upsampled_condition(upscaler, monkeypatch):
    starts = []
    original = DiffusionSampler.sample

    def spy(self, denoiser, x_T, **kwargs):
        starts.append((x_T, kwargs))
        return original(self, denoiser, x_T, **kwargs)

    monkeypatch.setattr(DiffusionSampler, "sample", spy)
    canvas(UnboundedGenerator(upscaler, steps=10, strength=0.3), condition=LOW)
    noise = WindowNoise("shared", 0, 3, upscaler.config.window)([(0, 0)])
    for x_T, conditions in starts:
        upsampled = resample_onto(
            conditions["condition"], conditions["condition_box"], x_T.shape[-2:], "bicubic"
        )
        t = torch.full((len(x_T),), 299)
        torch.testing.assert_close(x_T, upscaler.schedule.add_noise(upsampled, noise.expand_as(x_T), t))


def test_shared_noise_from_noise_alone_is_refused_because_every_window_would_be_the_same(first_stage):
    generator = UnboundedGenerator(first_stage, steps=1, noise="shared")
    with pytest.raises(ConfigError, match="repeats one window"):
        canvas(generator)
    # land cover tells the windows apart: MetaEarth's shared noise then draws each its own content
    landcover = np.random.default_rng(0).choice([10, 30, 50, 80], (10, 11))
    result = canvas(generator, landcover=landcover, landcover_gsd=64.0)
    stride = generator.grid(40, 44).stride
    assert not np.allclose(result[:, :, 4 : 4 + stride], result[:, :, 4 + stride : 4 + 2 * stride])


def test_dpm_solver_is_the_default_where_windows_step_on_their_own(upscaler):
    default = UnboundedGenerator(upscaler).sampler
    assert (default.solver, default.steps) == ("dpm++", 10)
    for options in ({"noise": "average"}, {"noise": "field", "eta": 0.5}):
        sampler = UnboundedGenerator(upscaler, **options).sampler
        assert (sampler.solver, sampler.steps) == ("ddim", 50)
    with pytest.raises(ConfigError, match=r"average noise steps the canvas in lockstep.*ddim"):
        UnboundedGenerator(upscaler, noise="average", solver="dpm++")


@pytest.mark.parametrize("mode", ["shared", "independent", "field"])
def test_dpm_solver_gives_the_same_canvas_for_the_same_seed_whole_or_in_parts(upscaler, mode):
    def generator(solver="dpm++"):
        return UnboundedGenerator(upscaler, steps=3, noise=mode, seed=4, batch_size=3, solver=solver)

    whole = canvas(generator(), condition=LOW)
    assert np.array_equal(whole, canvas(generator(), condition=LOW))
    assert np.array_equal(canvas(generator(), condition=LOW, rows=(13, 29)), whole[:, 13:29])
    assert not np.allclose(whole, canvas(generator("ddim"), condition=LOW))


def test_strength_below_one_needs_a_condition(upscaler, first_stage):
    with pytest.raises(ConfigError, match="generates from noise"):
        UnboundedGenerator(first_stage, strength=0.5)


def test_averaged_strips_start_from_the_noised_condition_and_any_part_is_exact(upscaler, monkeypatch):
    starts = []
    original = DiffusionSampler.start

    def spy(self, noise, image=None):
        starts.append(image)
        return original(self, noise, image)

    monkeypatch.setattr(DiffusionSampler, "start", spy)
    generator = UnboundedGenerator(upscaler, steps=10, strength=0.3, noise="average", batch_size=5)
    whole = canvas(generator, 56, 20, condition=LOW)
    # strip i holds canvas rows [8 i, 8 i + 8) over the padded width: the whole condition, in model
    # space, sampled bicubically on them (the condition is 16 m, the canvas 4 m: 1/4 pixel each)
    stride, width = generator.grid(56, 20).stride, generator.grid(56, 20).padded_shape[1]
    model_space = torch.from_numpy(upscaler.scaling.to_model(LOW))[None]
    assert len(starts) == generator.grid(56, 20).rows + 1
    for i, image in enumerate(starts):
        box = torch.tensor([[i * stride / 4, 0, (i + 1) * stride / 4, width / 4]])
        torch.testing.assert_close(image, resample_onto(model_space, box, (stride, width), "bicubic"))
    assert not np.allclose(
        whole, canvas(UnboundedGenerator(upscaler, steps=10, noise="average"), 56, 20, condition=LOW)
    )
    part = canvas(generator, 56, 20, condition=LOW, rows=(33, 41))
    assert np.array_equal(part, whole[:, 33:41])


def generate_half(model_dir, rows, queue):
    """One part of the canvas, in a process of its own with an unrelated global random state and
    its own thread count (1 or 2), as parts made on other machines would have."""
    torch.manual_seed(os.getpid())
    torch.set_num_threads(1 + rows[0] % 2)
    stage = MetaEarthDenoiser.from_pretrained(model_dir)
    generator = UnboundedGenerator(stage, steps=2, eta=1.0, noise="field", seed=5, batch_size=4)
    bands = generator.bands(40, 44, condition=LOW, origin=(1000, -64), rows=rows)
    queue.put((rows, np.concatenate([band.data for band in bands], axis=1)))


def test_field_canvas_made_in_two_halves_by_two_processes_equals_one_run(upscaler, tmp_path):
    upscaler.save_pretrained(tmp_path)
    # forked, so that the children need not import torch again (slow on a busy machine)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    halves = [
        context.Process(target=generate_half, args=(tmp_path, rows, queue)) for rows in [(0, 21), (21, 40)]
    ]
    for process in halves:
        process.start()
    parts = dict(queue.get(timeout=300) for _ in halves)
    for process in halves:
        process.join(timeout=60)
        assert process.exitcode == 0
    joined = np.concatenate([parts[(0, 21)], parts[(21, 40)]], axis=1)
    generator = UnboundedGenerator(upscaler, steps=2, eta=1.0, noise="field", seed=5, batch_size=4)
    whole = canvas(generator, condition=LOW, origin=(1000, -64))
    # Not bit-equal: another thread count or another alignment of the loaded weights changes the
    # summation order of float32 convolutions (2e-5 seen in reflectance after two steps). Wrong
    # noise, a wrong window or a wrong origin would differ by O(0.1), so 5e-4 (25 times what was seen)
    # still tells them apart.
    np.testing.assert_allclose(joined, whole, rtol=0, atol=5e-4)
    # the field is keyed by ground position: another origin is another canvas
    assert np.abs(whole - canvas(generator, condition=LOW, origin=(0, 0))).max() > 1e-2


@torch.no_grad()
def test_averaged_wavefront_equals_averaging_the_whole_canvas_at_every_step():
    # a weak schedule keeps the untrained model's outputs mostly within the reflectance range
    weak = {"kind": "linear", "beta_start": 1e-5, "beta_end": 1e-4, "num_train_timesteps": 1000}
    stage = micro_stage(gsd=16.0, condition_gsd=None, schedule=weak)
    generator = UnboundedGenerator(stage, steps=3, eta=1.0, noise="average", seed=2, batch_size=4)
    result = canvas(generator, 44, 30, origin=(7, 9))
    # the reference: the whole padded canvas held at once, every window evaluated at every step
    grid = generator.grid(44, 30)
    height, width = grid.padded_shape
    field = NoiseField(2, 3)
    x = field.region(7, 9, height, width)[None]
    for step, t in enumerate(generator.sampler.timesteps):
        total, count = torch.zeros_like(x), torch.zeros_like(x)
        for row, col in grid.windows():
            rows, cols = slice(row * 8, row * 8 + 16), slice(col * 8, col * 8 + 16)
            total[..., rows, cols] += stage(x[..., rows, cols], torch.tensor([t]), gsd=16.0)
            count[..., rows, cols] += 1
        x = generator.sampler.step(
            total / count, t, x, noise=field.region(7, 9, height, width, step=step)[None]
        )
    expected = stage.scaling.to_reflectance(x[0, :, :44, :30]).numpy()
    assert ((expected > 0) & (expected < 1)).mean() > 0.3  # most values are not clipped away
    np.testing.assert_allclose(result, expected, atol=1e-4)  # batches of 4 vs 1: float rounding only


@pytest.mark.parametrize("mode", ["field", "average"])
def test_the_condition_is_encoded_once_per_window_batch_not_once_per_step(upscaler, mode):
    """The encoder's features depend on neither the step nor the noisy image, so a sampling run
    computes them once (4 steps here would otherwise run the encoder 4 times per batch)."""
    denoised, encoded = [], []  # windows per call

    def count(into):
        return lambda _, args, __: into.append(args[0].shape[0])

    hooks = [
        upscaler.encoder.register_forward_hook(count(encoded)),
        upscaler.unet.register_forward_hook(count(denoised)),
    ]
    try:
        canvas(UnboundedGenerator(upscaler, steps=4, noise=mode, batch_size=4), condition=LOW)
    finally:
        for hook in hooks:
            hook.remove()
    assert sum(denoised) > 0 and sum(encoded) * 4 == sum(denoised)


def test_features_encoded_once_give_the_prediction_of_encoding_at_every_step(upscaler):
    torch.manual_seed(0)
    x_t, t = torch.randn(2, 3, 16, 16), torch.tensor([10, 500])
    condition = torch.randn(2, 3, 7, 7)
    box = torch.tensor([[1.0, 1.5, 5.0, 5.5], [0.5, 0.0, 4.5, 4.0]])
    conditions = {"gsd": 4.0, "condition": condition, "condition_gsd": 16.0, "condition_box": box}
    with torch.no_grad():
        features = upscaler.encode_condition(condition, 16.0, box, (16, 16))
        # the same operations on the same tensors in one process: equal to float32 rounding at most
        torch.testing.assert_close(
            upscaler(x_t, t, condition_features=features, **conditions), upscaler(x_t, t, **conditions)
        )


def _condition_error(image: np.ndarray) -> float:
    """RMSE of a 40 x 44 px canvas at 4 m, averaged onto its 16 m pixels, against ``LOW``."""
    blocks = image.reshape(3, 10, 4, 11, 4).mean(axis=(2, 4))
    return float(np.sqrt(((blocks - LOW[:, :10, :11]) ** 2).mean()))


@pytest.mark.parametrize("mode", ["field", "shared"])
def test_keeping_the_layout_makes_the_canvas_follow_its_condition(upscaler, mode):
    drifting = canvas(UnboundedGenerator(upscaler, steps=2, noise=mode), condition=LOW)
    kept = UnboundedGenerator(upscaler, steps=2, noise=mode, keep_layout=True)
    following = canvas(kept, condition=LOW)
    # An untrained stage ignores its condition; its detail, finer than 16 m, still leaks into the
    # 16 m means, so the error halves (0.42-0.46 of it for these seeds and modes) rather than vanishing.
    assert _condition_error(following) < 0.6 * _condition_error(drifting)
    assert np.array_equal(canvas(kept, condition=LOW, rows=(13, 29)), following[:, 13:29])


def test_keeping_the_layout_needs_a_condition_and_windows(upscaler, first_stage):
    with pytest.raises(ConfigError, match="takes it from the condition"):
        UnboundedGenerator(first_stage, keep_layout=True)
    with pytest.raises(ConfigError, match="average noise steps the canvas in strips"):
        UnboundedGenerator(upscaler, noise="average", keep_layout=True)
