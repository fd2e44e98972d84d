"""Shared by every test folder: the fixture generators under ``tests/data/``, one torch thread,
Ctrl-C as a terminal sends it, and learning one batch by heart."""

import ast
import importlib.util
import signal
import time
from functools import cache
from pathlib import Path

import pytest
import torch

DATA = Path(__file__).resolve().parent / "data"


@cache
def load_generator(name: str, script: str = "data.py"):
    """The fixture generator script ``tests/data/<name>/<script>`` as a module."""
    path = DATA / name / script
    spec = importlib.util.spec_from_file_location(f"terrasynth_fixture_{name}_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session", autouse=True)
def ctrl_c_interrupts():
    """SIGINT raises KeyboardInterrupt here and in the commands the tests start, as in a terminal,
    even when the suite runs as a shell's background job (``nohup ... &``), which inherits SIGINT
    ignored: the Ctrl-C tests would then see nothing happen."""
    signal.signal(signal.SIGINT, signal.default_int_handler)


def imports_crossing(folder: Path, forbidden: tuple[str, ...]) -> set[str]:
    """``"file.py: module"`` for every import of a ``forbidden`` module (prefix) by a module of ``folder``."""
    crossing = set()
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            names += [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            crossing |= {f"{path.name}: {name}" for name in names if name.startswith(forbidden)}
    return crossing


@pytest.fixture(scope="session")
def import_rule():
    """:func:`imports_crossing`: ``import_rule(folder, ("terrasynth.models",))`` lists the crossings."""
    return imports_crossing


@pytest.fixture(scope="session")
def generators():
    """:func:`load_generator`: ``generators("levircd")`` is ``tests/data/levircd/data.py`` as a
    module, ``generators("changen2", "make_samples.py")`` another script of a folder."""
    return load_generator


@pytest.fixture(scope="session")
def change_pairs(generators):
    """The synthetic change pair Dataset class (tests/data/change_pairs/data.py)."""
    return generators("change_pairs").ChangePairs


@pytest.fixture(scope="session")
def image_sets(generators, tmp_path_factory):
    """Paths of the image-set fixtures (tests/data/image_sets/data.py)."""
    return generators("image_sets").write_image_sets(tmp_path_factory.mktemp("image_sets"))


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One intra-op thread: on a small shared machine, spinning worker threads slow torch many-fold."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def learn_by_heart():
    """Runs ``steps`` optimizer steps on ``loss()`` (one fixed batch) and returns its first and last
    values (the last one computed before the last step), printing them with the time taken."""

    def learn(loss, optimizer: torch.optim.Optimizer, steps: int) -> tuple[float, float]:
        began = time.perf_counter()
        first = loss().item()
        for _ in range(steps):
            optimizer.zero_grad()
            value = loss()
            value.backward()
            optimizer.step()
        print(f"loss {first:.3f} -> {value.item():.4f} in {time.perf_counter() - began:.1f} s")
        return first, value.item()

    return learn
