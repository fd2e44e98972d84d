import importlib.util
from pathlib import Path

import pytest

_DATA = Path(__file__).resolve().parents[2] / "data" / "changen2"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"changen2_{name}", _DATA / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def make_masks():
    """The fixture generator tests/data/changen2/make_masks.py as a module."""
    return _load("make_masks")


@pytest.fixture(scope="session")
def make_samples():
    """The fixture generator tests/data/changen2/make_samples.py as a module."""
    return _load("make_samples")
