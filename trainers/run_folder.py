"""A training run's folder: its record, Lightning checkpoints that survive a kill, resuming from
them, and the final weights.

Every trainer's run folder holds ``training.json`` (the validated settings and what the data
implied, echoed for provenance) and ``checkpoints/last.ckpt`` (the full training state, to
resume exactly), beside its logs and, once training has finished, its model folder ``model/``:
the weights, with the ``training.json`` of what they were trained on and for how many epochs.

A rerun with the same folder resumes from its last checkpoint. It is refused in one line when its
settings or data differ from the record's (more epochs extend the run), or when the checkpoint is
damaged or holds another model; ``overwrite`` (``--overwrite``) starts the run over.

A checkpoint is written under a temporary name beside its final one (``.last.ckpt.partial``),
flushed to disk and renamed over it, so a kill at any moment leaves the previous checkpoint or the
new one, never half of one; a rerun first removes what a kill left behind. Ctrl-C stops training
with the last checkpoint intact and raises ``KeyboardInterrupt`` (the CLI's exit status 130).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from collections.abc import Callable
from pathlib import Path

import lightning as L
import torch
from lightning.fabric.plugins import TorchCheckpointIO

from terrasynth.core.config import differing_keys
from terrasynth.core.errors import ConfigError, WeightsError
from terrasynth.core.outputs import atomic_path
from terrasynth.models.pretrained import RECORD_NAME

LAST_CHECKPOINT = Path("checkpoints", "last.ckpt")
"""Every run's training state, relative to its folder."""
RUN_FILES = (
    RECORD_NAME, "checkpoints", "logs", "samples", "model", ".model.partial",
)  # fmt: skip
"""What the trainers write in a run folder (and all that ``overwrite`` removes: the folder may hold more)."""
START_OVER = "rerun with --overwrite to start the run over"


def first_process() -> bool:
    """Whether this is the run's first process (global rank 0), also before Lightning has set the
    ranks: processes started by Lightning, ``torchrun`` or SLURM carry their rank in the
    environment, and the first process of a node other than the first its ``NODE_RANK``."""
    from lightning.fabric.utilities.rank_zero import rank_zero_only

    return rank_zero_only.rank == 0 and os.environ.get("NODE_RANK", "0") == "0"  # type: ignore[attr-defined]  # an attribute Lightning sets on the function


def remove_partials(out_dir: Path) -> None:
    """Remove the temporary files a killed run left in ``out_dir`` or its subfolders (one level)."""
    for leftover in [*out_dir.glob(".*.partial"), *out_dir.glob("*/.*.partial")]:
        if leftover.is_file():
            leftover.unlink()


def start_run(
    out_dir: Path,
    record: dict,
    module: torch.nn.Module,
    *,
    epochs: str,
    overwrite: bool = False,
) -> Path | None:
    """Create the run folder with ``training.json`` (``record``: settings and data), or check a
    rerun against it; returns the checkpoint to resume ``module`` from (``out_dir/checkpoints/last.ckpt``;
    None: start afresh).

    Every setting of a rerun must be the same but the number of epochs (the key ``epochs`` of the
    flattened record, e.g. ``settings.max_epochs``), which may grow to extend the run; the
    checkpoint must be whole and hold ``module``'s weights. ``overwrite`` first removes a run there.
    Only the first process writes (Lightning starts the other processes of its node once it has;
    those of other nodes only read the record once it is there).
    """
    first = first_process()
    if overwrite and first:
        for name in RUN_FILES:
            path = out_dir / name
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    record_path = out_dir / RECORD_NAME
    if record_path.exists() and not overwrite:  # (other processes may still see the run to remove)
        _check_rerun(record_path, record, epochs)
    checkpoint = out_dir / LAST_CHECKPOINT
    resume = _resumable(checkpoint, module) if checkpoint.is_file() and not overwrite else None
    if first:
        out_dir.mkdir(parents=True, exist_ok=True)
        remove_partials(out_dir)
        write_record(record_path, record)
    return resume


def write_record(path: Path, record: dict) -> None:
    """Write ``record`` to ``path`` as indented JSON, atomically: every ``training.json`` (of a run
    folder, a model folder, a bundled checkpoint) is written so."""
    with atomic_path(path) as partial:
        partial.write_text(json.dumps(record, indent=2) + "\n")


def _check_rerun(record_path: Path, record: dict, epochs: str) -> None:
    """Refuse ``record`` unless it equals the one in ``record_path`` but for more ``epochs``."""
    try:
        old = _flatten(json.loads(record_path.read_text()))
    except ValueError:
        raise ConfigError(f"{record_path} is not a run record (JSON): {START_OVER}") from None
    new = _flatten(json.loads(json.dumps(record)))
    changed = {key: (old.get(key), new.get(key)) for key in differing_keys(new, old)}
    before, after = changed.get(epochs, (None, None))
    if isinstance(before, int) and isinstance(after, int) and after > before:
        del changed[epochs]  # more epochs: Lightning continues the run to the new count
    if changed:
        differences = "; ".join(
            f"{key} {_shown(a)} -> {_shown(b)}" for key, (a, b) in sorted(changed.items())
        )
        raise ConfigError(
            f"{record_path.parent} holds a run with other settings or data ({differences}; only the epochs "
            f"may grow): use another folder, or {START_OVER}"
        )


def _flatten(record: dict, prefix: str = "") -> dict:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``."""
    flat: dict = {}
    for key, value in record.items():
        if isinstance(value, dict):
            flat |= _flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _shown(value) -> str:
    """A recorded value in a message, cut to 60 characters."""
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _resumable(checkpoint: Path, module: torch.nn.Module) -> Path:
    """``checkpoint`` if it holds a state of ``module``'s weights; a damaged one or one of another
    model is refused. Reads the file as a memory map (cheap)."""
    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True, mmap=True)["state_dict"]
    except OSError:
        raise
    except Exception as error:  # damaged bytes fail in many ways: zip, pickle, end of file, keys
        raise WeightsError(
            f"{checkpoint} is damaged ({type(error).__name__}; a kill or a full disk?): {START_OVER}"
        ) from None
    expected = module.state_dict()
    differ = sorted(
        name
        for name in expected.keys() | state.keys()
        if name not in state or name not in expected or state[name].shape != expected[name].shape
    )
    if differ:
        raise WeightsError(
            f"{checkpoint} holds another model ({len(differ)} weights differ, first {differ[0]}): "
            f"use another folder, or {START_OVER}"
        )
    return checkpoint


class RunCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint reader and writer for a run folder: writes are atomic (see the module)."""

    def save_checkpoint(self, checkpoint: dict, path, storage_options=None) -> None:
        with atomic_path(path) as partial, open(partial, "wb") as file:
            torch.save(checkpoint, file)
            file.flush()
            os.fsync(file.fileno())


def fit_run(trainer: L.Trainer, module: L.LightningModule, resume: Path | None, **data) -> None:
    """``trainer.fit(module, **data)``, resuming from the checkpoint ``resume`` (see
    :func:`start_run`) unless it is None.

    The checkpoint is read with torch's safe unpickler (tensors and plain containers only).
    Raises ``KeyboardInterrupt`` when training was interrupted (Lightning shuts down and exits
    with status 1 instead).
    """
    on_interrupt = signal.getsignal(signal.SIGINT)
    try:
        trainer.fit(module, **data, ckpt_path=resume, weights_only=True)
    except SystemExit:
        if not trainer.interrupted:
            raise
        signal.signal(signal.SIGINT, on_interrupt)  # Lightning ignores Ctrl-C from its shutdown on
        raise KeyboardInterrupt from None


def export_model(trainer: L.Trainer, out_dir: Path, save: Callable[[Path], object], record: dict) -> Path:
    """``save(folder)`` into ``out_dir/.model.partial`` with ``record`` (what the model was trained
    on: ``trained_on``, ``samples``, ``settings``) and the epochs trained as its ``training.json``,
    renamed to ``out_dir/model`` once written (on the first rank only); returns ``out_dir/model``."""
    model_dir = out_dir / "model"
    if trainer.is_global_zero:
        with atomic_path(model_dir) as partial:
            save(partial)
            write_record(partial / RECORD_NAME, record | {"epochs": trainer.current_epoch})
    return model_dir
