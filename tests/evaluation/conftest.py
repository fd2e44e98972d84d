import importlib.util
from pathlib import Path

import pytest
import torch

DATA = Path(__file__).resolve().parents[1] / "data"


def load_generator(name: str):
    """The fixture generator module ``tests/data/<name>/data.py``."""
    spec = importlib.util.spec_from_file_location(f"generate_{name}", DATA / name / "data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def image_sets(tmp_path_factory):
    """Paths of the image-set fixtures (see tests/data/image_sets/data.py)."""
    return load_generator("image_sets").write_image_sets(tmp_path_factory.mktemp("image_sets"))


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One intra-op thread: on a small shared machine, spinning worker threads slow torch many-fold."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
