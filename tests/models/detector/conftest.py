import importlib.util
from pathlib import Path

import pytest
import torch

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(scope="session")
def change_pairs():
    """The synthetic change pair Dataset class of tests/data/change_pairs/data.py."""
    spec = importlib.util.spec_from_file_location("generate_change_pairs", DATA / "change_pairs" / "data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ChangePairs


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One intra-op thread: on a small shared machine, spinning worker threads slow torch many-fold."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
