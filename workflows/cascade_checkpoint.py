"""The bundled MetaEarth checkpoint: one model for both stages of the 60 -> 16 -> 4 m cascade,
trained from scratch on a synthetic world the demo does not draw, by one command::

    uv run terrasynth train metaearth-checkpoint --out checkpoints/metaearth

(about an hour on two CPU cores; rerun the same command with the same ``--work`` to resume).

The recipe departs from the paper where a small model trained briefly on a CPU needs it, and its
config records how: the model predicts the clean image (``sample``) as a residual over the
bicubic upsampling of its condition (a model that learned nothing reproduces bicubic
upsampling), with Min-SNR-5 weighting; one model learns both level pairs, told their
resolutions (MetaEarth's self-cascade, one resolution-guided model).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from terrasynth.workflows.bundled import train_bundled

WORLD = {"seed": 1000, "centre": (9.42, 45.62), "area": 8000.0, "date": "2021-06-01", "levels": "60,16,4"}
"""The training world: a square of ``area`` metres of the synthetic world (seed, date) at 60, 16
and 4 m. The demo draws worlds seeded by its ``--seed`` around another centre."""

CHIP = 32
"""Training tile edge, pixels (also the default generation window)."""

TRAINING: dict[str, Any] = {
    "preset": "tiny", "prediction": "sample", "residual": True, "snr_gamma": 5.0, "p2_gamma": 0.0,
    "max_epochs": 16, "steps_per_epoch": 250, "batch_size": 16, "learning_rate": 1e-3, "seed": 0,
    "sample_every_n_epochs": 8,
}  # fmt: skip
"""The :class:`~terrasynth.trainers.settings.MetaEarthTraining` settings: 4000 steps of 16 tiles."""

WEIGHTS = "diffusion_pytorch_model.safetensors"


def training_world(path: Path, progress: bool = False) -> Path:
    """Ingest (or resume) :data:`WORLD` into the corpus at ``path``."""
    from terrasynth.core import AreaOfInterest
    from terrasynth.ingest.synthetic import SyntheticSource
    from terrasynth.workflows.ingest import run_ingest

    source = SyntheticSource(seed=WORLD["seed"], date=WORLD["date"])
    run_ingest(
        source,
        AreaOfInterest.square(WORLD["centre"], WORLD["area"]),
        path,
        levels=WORLD["levels"],
        tile_size=64,
        scheduler="threads",
        progress=progress,
    )
    return path


def train_checkpoint(out: str | Path, *, work: str | Path | None = None, progress: bool = False) -> Path:
    """Train the bundled checkpoint from scratch and write it to ``out``: the model
    (``config.json`` + safetensors in float16, loadable by ``terrasynth generate``) and
    ``training.json`` (world, settings, steps, seconds). ``out`` and ``work`` are those of
    :func:`~terrasynth.workflows.bundled.train_bundled`; ``progress`` shows the ingest's progress
    bars (training always shows its own).
    """
    from terrasynth.workflows.train_metaearth import corpus_cascade, train_metaearth

    def train(work: Path, record: dict) -> Path:
        dataset = corpus_cascade(training_world(work / "world.zarr", progress), "all", chip=CHIP)
        model = train_metaearth(dataset, work / "run", **TRAINING)
        record |= {
            "optimizer_steps": TRAINING["max_epochs"] * TRAINING["steps_per_epoch"],
            "tiles": len(dataset),
        }
        return model

    fields = {"world": WORLD, "chip": CHIP, "settings": TRAINING}
    return train_bundled("terrasynth train metaearth-checkpoint", out, work, fields, train, copy=write_half)


def write_half(model: Path, out: Path) -> None:
    """Copy a model folder (``config.json`` + safetensors) into ``out`` with its weights in float16:
    half the size, and ``from_pretrained`` loads them into the float32 model as before."""
    import torch
    from safetensors.torch import load_file, save_file

    out.mkdir(parents=True)
    shutil.copy2(model / "config.json", out / "config.json")
    weights = load_file(model / WEIGHTS)
    save_file({k: v.to(torch.float16) for k, v in weights.items()}, out / WEIGHTS, metadata={"format": "pt"})
