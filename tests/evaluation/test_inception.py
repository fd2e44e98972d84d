import pytest
import torch

from terrasynth.core.errors import WeightsError
from terrasynth.evaluation import inception
from terrasynth.evaluation.feature_distance import encode, feature_distances


@pytest.fixture(scope="module")
def random_inception_file(tmp_path_factory):
    """A state dict of the FID Inception-v3 with random weights, built without any download:
    torch-fidelity's constructor is given no weights to load (patched out), then saved."""
    from torch_fidelity import feature_extractor_inceptionv3 as fidelity

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fidelity, "load_state_dict_from_url", lambda *args, **kwargs: {})
        patch.setattr(fidelity.FeatureExtractorInceptionV3, "load_state_dict", lambda self, state: None)
        torch.manual_seed(0)
        network = fidelity.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    path = tmp_path_factory.mktemp("weights") / inception.INCEPTION_FILE
    torch.save(network.state_dict(), path)
    return path


def test_missing_weights_name_the_file_and_where_to_get_it(tmp_path):
    for given in (None, tmp_path / "nowhere.pth", tmp_path):
        with pytest.raises(WeightsError) as error:
            inception.check_inception_weights(given)
        message = str(error.value)
        assert inception.INCEPTION_FILE in message and inception.INCEPTION_URL in message
        assert "\n" not in message


def test_wrong_file_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / inception.INCEPTION_FILE
    path.write_bytes(b"not the inception weights")
    with pytest.raises(WeightsError, match=r"is not pt_inception-2015-12-05-6726825d\.pth \(sha256 "):
        inception.inception_encoder(path)


def test_the_documented_digest_prefix_is_part_of_the_file_name():
    assert inception.INCEPTION_FILE.endswith(f"-{inception.INCEPTION_SHA256[:8]}.pth")


def test_a_file_with_the_expected_digest_passes(random_inception_file, monkeypatch):
    monkeypatch.setattr(inception, "INCEPTION_SHA256", inception.sha256_of(random_inception_file))
    assert inception.check_inception_weights(random_inception_file.parent) == random_inception_file


def test_fid_through_the_real_inception_path(random_inception_file):
    # the hash check is bypassed explicitly: the file holds random weights made above
    network = inception.inception_encoder(random_inception_file, check_hash=False)
    generator = torch.Generator().manual_seed(0)
    real = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8, generator=generator)
    other = torch.randint(0, 128, (2, 3, 32, 32), dtype=torch.uint8, generator=generator)
    features_real = encode(network, [real])
    features_other = encode(network, [other])
    assert features_real.shape == (2, 2048) and torch.isfinite(features_real).all()
    same = feature_distances(features_real, features_real, kid_subsets=2)["fid"]
    different = feature_distances(features_real, features_other, kid_subsets=2)["fid"]
    assert abs(same) < 1e-3 * different and different > 0


def test_weights_of_another_network_are_refused(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"weight": torch.zeros(2)}, path)
    with pytest.raises(WeightsError, match="does not fit the FID Inception-v3"):
        inception.inception_encoder(path, check_hash=False)
