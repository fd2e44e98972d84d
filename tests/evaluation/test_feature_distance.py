import numpy as np
import pytest
import torch
from scipy import linalg

from terrasynth.evaluation.feature_distance import encode, feature_distances


def frechet(mu1, s1, mu2, s2) -> float:
    """The closed-form Frechet distance between N(mu1, s1) and N(mu2, s2)."""
    root = linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * root))


def test_fid_of_gaussian_features_equals_the_closed_form():
    rng = np.random.default_rng(0)
    dim = 4
    mu1, mu2 = np.zeros(dim), np.array([1.0, -0.5, 0.25, 2.0])
    a1, a2 = rng.normal(size=(dim, dim)), rng.normal(size=(dim, dim))
    s1, s2 = a1 @ a1.T + np.eye(dim), a2 @ a2.T + 0.5 * np.eye(dim)
    x = rng.multivariate_normal(mu1, s1, size=20000)
    y = rng.multivariate_normal(mu2, s2, size=20000)
    fid = feature_distances(torch.from_numpy(x), torch.from_numpy(y), kid_subsets=5, kid_subset_size=500)[
        "fid"
    ]
    # exactly the formula on the samples' moments ...
    sample = frechet(x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False))
    assert fid == pytest.approx(sample, rel=1e-6)
    # ... and, within sampling error, the distance between the Gaussians they were drawn from
    assert fid == pytest.approx(frechet(mu1, s1, mu2, s2), rel=0.03)


def test_kid_is_near_zero_for_one_distribution_and_grows_with_a_shift():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(400, 8)), rng.normal(size=(400, 8))
    same = feature_distances(torch.from_numpy(x), torch.from_numpy(y), kid_subsets=20, kid_subset_size=200)
    shifted = feature_distances(
        torch.from_numpy(x), torch.from_numpy(y + 1), kid_subsets=20, kid_subset_size=200
    )
    assert abs(same["kid_mean"]) < 0.05 < shifted["kid_mean"]
    again = feature_distances(
        torch.from_numpy(x), torch.from_numpy(y + 1), kid_subsets=20, kid_subset_size=200
    )
    assert again == shifted  # seeded subsets


def test_too_few_vectors_give_nan():
    result = feature_distances(torch.zeros(1, 3), torch.ones(5, 3))
    assert all(np.isnan(v) for v in result.values())


def test_any_encoder_module_or_callable():
    images = torch.arange(2 * 3 * 4 * 4, dtype=torch.uint8).reshape(2, 3, 4, 4)
    from_callable = encode(lambda x: x.float().mean((2, 3)), [images, images])
    from_module = encode(torch.nn.Flatten(), [images])
    assert from_callable.shape == (4, 3) and from_callable.dtype == torch.float64
    assert from_module.shape == (2, 48)
    with pytest.raises(TypeError, match=r"nn\.Module or a callable"):
        encode(42, [images])
