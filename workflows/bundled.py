"""The checkpoints bundled with terrasynth (``checkpoints/metaearth``, ``checkpoints/changen2``):
where they live, and how the command that trains one records and publishes it."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from terrasynth.core.outputs import atomic_path

BUNDLED = Path(__file__).resolve().parents[1] / "checkpoints"
"""The bundled checkpoints (``metaearth/``, ``changen2/``), each with the ``training.json`` of
the command that trained it."""


def work_folder(out: Path, work: str | Path | None) -> Path:
    """Where a checkpoint's training corpus and run go: ``work``, or ``out`` + ``.work`` beside it."""
    return Path(work) if work is not None else out.with_name(out.name + ".work")


@contextmanager
def training_record(command: str, **fields) -> Iterator[dict]:
    """The ``training.json`` record of a checkpoint command: ``fields`` and, once the block ends,
    the software version, the date, the wall-clock and CPU seconds and the torch threads."""
    import torch

    from terrasynth import __version__

    record = {"command": command, "software_version": __version__, **fields}
    began, cpu = time.perf_counter(), time.process_time()
    yield record
    record |= {
        "trained": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - began),
        "cpu_seconds": round(time.process_time() - cpu),
        "threads": torch.get_num_threads(),
    }


def publish(
    model: Path, out: Path, record: dict, copy: Callable[[Path, Path], object] = shutil.copytree
) -> Path:
    """Write the trained ``model`` folder (by ``copy(model, folder)``) into ``out``, which is
    replaced only once the new folder is complete, with its ``training.json`` (what the trainer
    recorded: data, samples, epochs) extended by ``record``."""
    from terrasynth.models.pretrained import RECORD_NAME
    from terrasynth.trainers.run_folder import write_record

    trained = json.loads((model / RECORD_NAME).read_text())
    with atomic_path(out) as partial:
        copy(model, partial)
        write_record(partial / RECORD_NAME, trained | record)
    return out


def train_bundled(
    command: str,
    out: str | Path,
    work: str | Path | None,
    fields: dict,
    train: Callable[[Path, dict], Path],
    copy: Callable[[Path, Path], object] = shutil.copytree,
) -> Path:
    """Train a bundled checkpoint and publish it to ``out``: ``train(work, record)`` trains in the
    folder ``work`` (default: ``out`` + ``.work`` beside it; a rerun with the same folder resumes) and
    returns the trained model folder, adding what it measured to ``record``, the ``training.json`` of
    ``command`` with ``fields`` (see :func:`training_record`). ``out`` is replaced only once the new
    checkpoint is complete (:func:`publish`, by ``copy``)."""
    out = Path(out)
    with training_record(command, **fields) as record:
        model = train(work_folder(out, work), record)
    return publish(model, out, record, copy=copy)


def say_trained(path: Path) -> None:
    """Print what a checkpoint command trained, from the checkpoint's ``training.json``."""
    from rich.console import Console

    record = json.loads((path / "training.json").read_text())
    Console().print(
        f"trained {record['optimizer_steps']} steps in {record['seconds']} s ({record['cpu_seconds']} s of CPU): "
        f"weights in {path}"
    )
