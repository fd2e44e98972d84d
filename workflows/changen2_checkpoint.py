"""The bundled Changen2 checkpoint: a pixel-space RS-DiT that draws 1 m imagery from land cover
with building footprints, trained from scratch on town edges of a synthetic world the demo does
not draw, by one command::

    uv run terrasynth train changen2-checkpoint --out checkpoints/changen2

(rerun the same command with the same ``--work`` to resume).

The recipe departs from Changen2 where a small model trained briefly on a CPU needs it, and the
model's config records how: it predicts the clean image (``sample``) rather than the noise, which
at this scale draws roofs where a noise-predicting model drew coloured speckle, and it works in
pixel space on 4 x 4 pixel tokens with the mask embedded at the token grid.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from terrasynth.workflows.bundled import train_bundled

WORLD: dict[str, Any] = {
    "seed": 1000,
    "centre": (9.42, 45.62),
    "towns": 4,
    "side": 640.0,
    "level": "1m",
    "date": "2021-06-01",
}
"""The training world: squares of ``side`` metres on the edges of its ``towns`` largest towns near
``centre`` (:func:`~terrasynth.ingest.synthetic.town_edges`), at 1 m. The demo draws worlds
seeded by its ``--seed`` (its benchmark the next seed)."""

TILE = 64
"""Training tile edge, pixels."""

TRAINING: dict[str, Any] = {
    "preset": "tiny", "mask": "landcover", "prediction": "sample", "max_epochs": 8, "steps_per_epoch": 500,
    "batch_size": 16, "learning_rate": 1e-3, "seed": 0, "sample_every_n_epochs": 4,
}  # fmt: skip
"""The :class:`~terrasynth.trainers.settings.Changen2Training` settings: 4000 steps of 16 tiles."""


def training_world(path: Path, progress: bool = False) -> Path:
    """Ingest (or resume) :data:`WORLD` into the corpus at ``path``."""
    from terrasynth.ingest.synthetic import SyntheticSource, town_edges
    from terrasynth.workflows.ingest import run_ingest

    area = town_edges(
        WORLD["seed"], WORLD["centre"], count=WORLD["towns"], side=WORLD["side"], date=WORLD["date"]
    )
    source = SyntheticSource(seed=WORLD["seed"], date=WORLD["date"])
    run_ingest(
        source, area, path, levels=WORLD["level"], tile_size=128, scheduler="threads", progress=progress
    )
    return path


def train_checkpoint(out: str | Path, *, work: str | Path | None = None, progress: bool = False) -> Path:
    """Train the bundled checkpoint from scratch and write it to ``out``: the model folder
    (``model_index.json`` + ``rsdit/``, loadable by ``terrasynth synthesize``) and ``training.json`` (world,
    settings, steps, seconds). ``out`` and ``work`` are those of
    :func:`~terrasynth.workflows.bundled.train_bundled`; ``progress`` shows the ingest's progress
    bars (training always shows its own).
    """
    from terrasynth.workflows.train_changen2 import train_on_corpus

    def train(work: Path, record: dict) -> Path:
        corpus = training_world(work / "world.zarr", progress)
        model = train_on_corpus(corpus, WORLD["level"], work / "run", tile_size=TILE, **TRAINING)
        record["optimizer_steps"] = TRAINING["max_epochs"] * TRAINING["steps_per_epoch"]
        return model

    fields = {"world": WORLD, "tile": TILE, "settings": TRAINING}
    return train_bundled("terrasynth train changen2-checkpoint", out, work, fields, train)
