import importlib.util
from pathlib import Path

import pytest
import torch

DATA = Path(__file__).resolve().parents[2] / "data"


def load_generator(name: str):
    """The fixture generator module ``tests/data/<name>/data.py``."""
    spec = importlib.util.spec_from_file_location(f"generate_{name}", DATA / name / "data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def change_pairs():
    """The synthetic change pair Dataset class (tests/data/change_pairs/data.py)."""
    return load_generator("change_pairs").ChangePairs


@pytest.fixture(scope="session")
def change_benchmarks(tmp_path_factory):
    """LEVIR-CD, S2Looking and SECOND fixture folders (tests/data/{levircd,s2looking,second}/data.py)."""
    root = tmp_path_factory.mktemp("benchmarks")
    load_generator("levircd").write_levircd(root / "LEVIR-CD")
    load_generator("s2looking").write_s2looking(root / "S2Looking")
    load_generator("second").write_second(root / "SECOND")
    return {"levir-cd": root / "LEVIR-CD", "s2looking": root / "S2Looking", "second": root / "SECOND"}


@pytest.fixture(scope="session")
def image_sets(tmp_path_factory):
    """Paths of the image-set fixtures (tests/data/image_sets/data.py)."""
    return load_generator("image_sets").write_image_sets(tmp_path_factory.mktemp("image_sets"))


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One intra-op thread: on a small shared machine, spinning worker threads slow torch many-fold."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
