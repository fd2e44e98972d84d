"""A training run's folder: Lightning checkpoints that survive a kill, and resuming from them.

A checkpoint is written under a temporary name beside its final one (``.last.ckpt.partial``),
flushed to disk and renamed over it, so a kill at any moment leaves the previous checkpoint or the
new one, never half of one; a rerun first removes what a kill left behind. Ctrl-C stops training
with the last checkpoint intact and raises ``KeyboardInterrupt`` (the CLI's exit status 130).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import lightning as L
import torch
from lightning.fabric.plugins import TorchCheckpointIO


def partial_path(path: Path) -> Path:
    """Where ``path`` is written before it is renamed into place (hidden, removed by a rerun)."""
    return path.with_name(f".{path.name}.partial")


def remove_partials(out_dir: Path) -> None:
    """Remove the temporary files a killed run left in ``out_dir`` or its subfolders (one level)."""
    for leftover in [*out_dir.glob(".*.partial"), *out_dir.glob("*/.*.partial")]:
        if leftover.is_file():
            leftover.unlink()


class RunCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint reader and writer for a run folder: writes are atomic (see the module)."""

    def save_checkpoint(self, checkpoint: dict, path, storage_options=None) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = partial_path(path)
        with open(partial, "wb") as file:
            torch.save(checkpoint, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, path)


def fit_run(trainer: L.Trainer, module: L.LightningModule, checkpoint: Path, **data) -> None:
    """``trainer.fit(module, **data)``, resuming from ``checkpoint`` when it exists.

    The checkpoint is read with torch's safe unpickler (tensors and plain containers only).
    Raises ``KeyboardInterrupt`` when training was interrupted (Lightning shuts down and exits
    with status 1 instead).
    """
    resume = checkpoint if checkpoint.is_file() else None
    on_interrupt = signal.getsignal(signal.SIGINT)
    try:
        trainer.fit(module, **data, ckpt_path=resume, weights_only=True)
    except SystemExit:
        if not trainer.interrupted:
            raise
        signal.signal(signal.SIGINT, on_interrupt)  # Lightning ignores Ctrl-C from its shutdown on
        raise KeyboardInterrupt from None
