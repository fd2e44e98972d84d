"""Fixture data for the dataset tests, written by the generators under ``tests/data/<name>/``."""

import pytest

from terrasynth.core import Level


@pytest.fixture(scope="session")
def corpus_data(generators):
    return generators("corpus")


@pytest.fixture(scope="session")
def corpus(tmp_path_factory, corpus_data):
    """One region (UTM 32N) at 60, 16 and 4 m, 32-pixel tiles, filled by the ramp source."""
    return corpus_data.build_corpus(tmp_path_factory.mktemp("corpus") / "corpus.zarr")


@pytest.fixture(scope="session")
def synthetic_corpus(tmp_path_factory, corpus_data):
    """The same region and levels filled by the synthetic world (seed 0, June 2021)."""
    from terrasynth.ingest.synthetic import SyntheticSource

    path = tmp_path_factory.mktemp("synthetic") / "corpus.zarr"
    return corpus_data.build_corpus(path, source=SyntheticSource(seed=0, date="2021-06-01"))


@pytest.fixture(scope="session")
def two_region_corpus(tmp_path_factory, corpus_data):
    """Two regions (UTM 32N and 33N) at 60 and 16 m."""
    return corpus_data.build_corpus(
        tmp_path_factory.mktemp("corpus2") / "corpus.zarr",
        aoi=corpus_data.TWO_ZONES,
        levels=(Level(60.0), Level(16.0)),
    )


@pytest.fixture
def levircd(generators, tmp_path):
    """A LEVIR-CD root: train 2, val 1, test 1 pairs of 64 x 64 pixels."""
    return generators("levircd").write_levircd(tmp_path / "LEVIR-CD")


@pytest.fixture
def s2looking(generators, tmp_path):
    """An S2Looking root: train 2, val 1, test 1 pairs of 64 x 64 pixels."""
    return generators("s2looking").write_s2looking(tmp_path / "S2Looking")


@pytest.fixture
def second(generators, tmp_path):
    """A SECOND root (train 2, test 1 pairs of 64 x 64) and each pair's (value at t1, value at t2)."""
    root = tmp_path / "SECOND"
    return root, generators("second").write_second(root)


@pytest.fixture
def change_series_store(generators, tmp_path):
    """A Zarr change series: 2 series of 3 dates, 32 x 32 pixels, uint8 RGB."""
    return generators("change_series").write_change_series(tmp_path / "series.zarr")
