"""The building blocks: integer hashing, value noise, lattice fields and sample placement."""

import numpy as np
from affine import Affine
from rasterio.windows import Window

from terrasynth.core import GridSpec
from terrasynth.ingest.synthetic.hashing import draws, hash_ints, stream, uniform
from terrasynth.ingest.synthetic.lattice import interpolate_fields
from terrasynth.ingest.synthetic.noise import fbm_on_axes, value_noise, value_noise_on_axes
from terrasynth.ingest.synthetic.sampling import Sampling, mean_of_blocks, mode_of_blocks


def test_hash_is_splitmix64():
    # The first two outputs of the reference splitmix64 generator seeded with 0: hash_ints(key)
    # with no values is its finaliser applied to key + 0x9E3779B97F4A7C15.
    assert int(hash_ints(0)) == 0xE220A8397B1DCDAF
    assert int(hash_ints(0x9E3779B97F4A7C15)) == 0x6E789E6AA1B965F4
    assert stream(0, "a") != stream(1, "a") != stream(0, "b")
    values = uniform(stream(1, "x"), np.arange(-500, 500), 3)
    assert values.min() >= 0.0 and values.max() < 1.0 and abs(values.mean() - 0.5) < 0.05
    parts = draws(hash_ints(1, np.arange(1000)), 6)
    assert len(parts) == 6 and all(p.min() > 0.0 and p.max() < 1.0 for p in parts)


def test_value_noise_is_continuous_and_agrees_on_axes_and_points():
    x = np.arange(0.0, 500.0, 3.7) + 400_000.0
    y = np.arange(0.0, 300.0, 2.9) + 5_000_000.0
    on_axes = value_noise_on_axes(x, y, 50.0, 99)
    at_points = value_noise(x[None, :], y[:, None], 50.0, 99)
    assert np.array_equal(on_axes, at_points)
    assert on_axes.min() >= -1.0 and on_axes.max() <= 1.0
    assert np.abs(np.diff(on_axes, axis=1)).max() < 0.5  # smooth at 3.7 m steps of a 50 m cell
    # Sparse axes (far apart samples) pick their nodes differently, with the same result.
    sparse = value_noise_on_axes(x[::40], y[::30], 5.0, 99)
    assert np.array_equal(sparse, value_noise_on_axes(x, y, 5.0, 99)[::30, ::40])


def test_lattice_fields_agree_whichever_nodes_are_evaluated():
    def fields(nx, ny):
        return {"f": fbm_on_axes(nx, ny, 300.0, 3, 5)}

    x = np.arange(0.0, 2000.0, 4.0) + 2.0
    y = -(np.arange(0.0, 1000.0, 4.0) + 2.0)
    dense = interpolate_fields(fields, 16.0, x, y)["f"]
    assert np.array_equal(interpolate_fields(fields, 16.0, x[::97], y[::61])["f"], dense[::61, ::97])
    assert np.array_equal(interpolate_fields(fields, 16.0, x[100:140], y[7:9])["f"], dense[7:9, 100:140])


def test_samples_of_coarse_pixels_are_the_fine_pixel_centres():
    coarse = GridSpec("EPSG:32632", Affine(60.0, 0, 480.0, 0, -60.0, 960.0), (2, 3))
    fine = GridSpec("EPSG:32632", Affine(4.0, 0, 480.0, 0, -4.0, 960.0), (30, 45))
    plan = Sampling.of(coarse)
    assert (plan.factor, plan.pitch) == (15, 4.0)
    x, y = plan.axes(Window(0, 0, 3, 2))
    fx, fy = fine.coords()
    assert np.array_equal(x, fx) and np.array_equal(y, fy)
    assert Sampling.of(GridSpec("EPSG:32632", Affine(10.0, 0, 0, 0, -10.0, 0), (1, 1))).factor == 3


def test_block_reductions():
    samples = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 9.0]])
    assert mean_of_blocks(samples, 2).tolist() == [[4, 6]]  # 3.5 rounds half up, 5.75 to 6
    codes = np.array([[10, 10, 30, 40], [30, 30, 40, 30]], np.uint8)
    assert mode_of_blocks(codes, 2).tolist() == [[10, 30]]  # ties go to the lower code
