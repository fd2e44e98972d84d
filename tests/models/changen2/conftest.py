import importlib.util
from pathlib import Path

import pytest

_SCRIPT = Path(__file__).resolve().parents[2] / "data" / "changen2" / "make_masks.py"


@pytest.fixture(scope="session")
def make_masks():
    """The fixture generator tests/data/changen2/make_masks.py as a module."""
    spec = importlib.util.spec_from_file_location("changen2_make_masks", _SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
