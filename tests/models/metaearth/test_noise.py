import torch

from terrasynth.models.metaearth import NoiseField, WindowNoise, keyed_normal


def test_keyed_noise_depends_only_on_its_key():
    assert torch.equal(keyed_normal((3, 4), 1, "a"), keyed_normal((3, 4), 1, "a"))
    assert not torch.equal(keyed_normal((3, 4), 1, "a"), keyed_normal((3, 4), 2, "a"))


def test_field_is_one_image_over_the_ground_grid():
    field = NoiseField(seed=7, channels=2, block=16)
    big = field.region(-20, 30, 50, 40)
    assert big.shape == (2, 50, 40)
    torch.testing.assert_close(field.region(-5, 41, 12, 9), big[:, 15:27, 11:20], rtol=0, atol=0)
    assert not torch.equal(field.region(-20, 30, 50, 40, step=0), big)  # each step its own field
    assert abs(big.mean()) < 0.1 and abs(big.std() - 1) < 0.1


def test_window_noise_modes():
    positions = [(0, 0), (0, 8), (8, 0)]
    shared = WindowNoise("shared", 0, 3, 16)(positions)
    assert all(torch.equal(shared[0], n) for n in shared)
    independent = WindowNoise("independent", 0, 3, 16)(positions)
    assert not torch.equal(independent[0], independent[1])
    field = WindowNoise("field", 0, 3, 16)(positions)
    assert torch.equal(field[0][:, :, 8:], field[1][:, :, :8])  # overlapping windows agree where they overlap
    assert torch.equal(field[0][:, 8:], field[2][:, :8])
