import pytest


@pytest.fixture(scope="session")
def make_masks(generators):
    """The fixture generator tests/data/changen2/make_masks.py as a module."""
    return generators("changen2", "make_masks.py")


@pytest.fixture(scope="session")
def make_samples(generators):
    """The fixture generator tests/data/changen2/make_samples.py as a module."""
    return generators("changen2", "make_samples.py")
