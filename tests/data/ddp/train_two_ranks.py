"""Train one of the three models on two CPU processes (DDP over gloo), as a user's script does.

    python tests/data/ddp/train_two_ranks.py {metaearth,changen2,detector} RUN_DIR REPORT_DIR

Lightning's ``ddp`` strategy starts this script again as the second process (``LOCAL_RANK=1``).
Every process writes to ``REPORT_DIR`` (never to the run folder) ``rank<N>.json``: its rank, the
world size, and every file-system change it made under ``RUN_DIR`` (seen by an audit hook: files
opened for writing, renames, folders made, files and trees removed), and ``rank<N>.pt``: the
model's final weights (the EMA weights of the diffusion models).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import lightning as L
import torch

DATA = Path(__file__).resolve().parents[1]
WRITING_EVENTS = {"os.rename", "os.mkdir", "os.remove", "os.rmdir", "shutil.rmtree", "shutil.move"}


def fixture(name: str, script: str = "data.py"):
    spec = importlib.util.spec_from_file_location(f"fixture_{name}", DATA / name / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def watch_writes(root: Path) -> list[list[str]]:
    """Record ``[event, path]`` of every change under ``root`` made from Python in this process."""
    changes: list[list[str]] = []
    root = str(root.resolve())

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = args
            writing = (mode is not None and any(c in mode for c in "wax+")) or (
                mode is None and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
            )
        else:
            path, writing = (args[0] if args else None), event in WRITING_EVENTS
        if writing and isinstance(path, str | os.PathLike) and os.path.abspath(path).startswith(root):
            changes.append([event, os.path.relpath(os.path.abspath(path), root)])

    sys.addaudithook(hook)
    return changes


class FinalWeights(L.Callback):
    """Saves this process' weights once training has ended (after the EMA weights are copied in)."""

    def __init__(self, report: Path, changes: list):
        self.report, self.changes = report, changes

    def on_train_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.rank, self.world_size = trainer.global_rank, trainer.world_size
        self.weights = {k: v.detach().clone() for k, v in module.state_dict().items()}

    def write(self) -> None:
        torch.save(self.weights, self.report / f"rank{self.rank}.pt")
        record = {"rank": self.rank, "world_size": self.world_size, "changes": self.changes}
        (self.report / f"rank{self.rank}.json").write_text(json.dumps(record))


def train(kind: str, out: Path, callback: FinalWeights) -> None:
    scale = {"accelerator": "cpu", "devices": 2, "strategy": "ddp"}
    if kind == "metaearth":
        from terrasynth.workflows.train_metaearth import MetaEarthTraining, train_metaearth

        settings = MetaEarthTraining(
            max_epochs=1, steps_per_epoch=2, batch_size=2, learning_rate=1e-3, ema_decay=0.5,
            sample_steps=2, samples=2, **scale,
        )  # fmt: skip
        train_metaearth(fixture("cascade_samples").CascadeSamples(), out, settings, callbacks=[callback])
    elif kind == "changen2":
        from terrasynth.workflows.train_changen2 import Changen2Training, train_changen2

        settings = Changen2Training(
            max_epochs=1, steps_per_epoch=2, batch_size=2, learning_rate=1e-3, ema_decay=0.5,
            sample_steps=1, samples=2, **scale,
        )  # fmt: skip
        tiles = fixture("changen2", "make_samples.py").MaskedTiles(count=4, size=16)
        train_changen2(tiles, out, settings, callbacks=[callback])
    else:
        from terrasynth.workflows.train_detector import TrainSettings, train_detector

        settings = TrainSettings(epochs=1, batch_size=2, crop_size=32, learning_rate=1e-3, **scale)
        config = {"encoder": "test_efficientnet", "decoder_channels": 8}
        pairs = fixture("change_pairs").ChangePairs(count=4, size=32)
        train_detector(
            pairs,
            out,
            config=config,
            settings=settings,
            val_dataset=pairs,
            progress=False,
            callbacks=[callback],
        )


if __name__ == "__main__":
    torch.set_num_threads(1)
    kind, out, report = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    callback = FinalWeights(report, watch_writes(out))
    train(kind, out, callback)
    callback.write()
