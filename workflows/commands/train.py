"""``terrasynth train ...``: one command per model, each a thin shell over its training function
(:mod:`~terrasynth.workflows.train_metaearth`, :mod:`~terrasynth.workflows.train_changen2`,
:mod:`~terrasynth.workflows.train_detector`, and the bundled checkpoints' recipes)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import Field

from terrasynth.core.choices import CascadeCondition
from terrasynth.core.config import Config
from terrasynth.trainers.settings import Changen2Training, MetaEarthTraining, TrainSettings
from terrasynth.workflows.commands.options import (
    ChangeDatasetOption,
    ChangeRootOption,
    RestartOption,
    RunFolderOption,
)
from terrasynth.workflows.commands.settings_options import Flag, trainer_command

if TYPE_CHECKING:
    from terrasynth.datasets.cascade import CascadeLevels
    from terrasynth.datasets.sampled import SampledDataset

train_app = typer.Typer(help="Train MetaEarth cascade stages and the other models.", no_args_is_help=True)

CheckpointFolderOption = Annotated[Path, typer.Option("--out", help="Checkpoint folder to write.")]
WorkOption = Annotated[
    Path | None,
    typer.Option("--work", help="Training corpus and run (default: OUT.work); rerun to resume."),
]
"""The options of the bundled checkpoints' commands."""


class MetaEarthOptions(Config):
    """What ``train metaearth`` trains on: a corpus level, its condition and tiles."""

    corpus: Path = Field(description="corpus store written by `terrasynth ingest`")
    level: str = Field(
        description="level the stage generates, e.g. 16m; or 'all' / '16m,4m': one model for every stage"
    )
    condition: CascadeCondition = Field(
        "coarser", description="LR condition: 'coarser' (next coarser level) or 'degraded'"
    )
    condition_level: str | None = Field(None, description="LR resolution, e.g. 60m (default: next coarser)")
    first_stage: bool | None = Field(None, description="generate from noise (default: the coarsest level)")
    tile_size: int = Field(64, ge=4, description="training tile edge in pixels (a multiple of 4)")


@train_app.command("metaearth")
@trainer_command(("preset", "max_epochs", "batch_size"))
def metaearth(
    options: MetaEarthOptions,
    out: RunFolderOption,
    overwrite: RestartOption = False,
    *,
    settings: MetaEarthTraining,
) -> None:
    """Train one stage of the MetaEarth cascade on a corpus, or one model for every stage (--level all)."""
    from rich.console import Console

    from terrasynth.core.errors import ConfigError
    from terrasynth.datasets.corpus import NoValidTilesError
    from terrasynth.workflows.train_metaearth import corpus_cascade, corpus_stage, train_metaearth

    corpus, level, condition, tile_size = options.corpus, options.level, options.condition, options.tile_size
    several = level == "all" or "," in level
    if several and (options.first_stage or options.condition_level):
        raise typer.BadParameter(
            "one model of several stages refines each level from the next coarser one", param_hint="--level"
        )
    dataset: CascadeLevels | SampledDataset
    try:
        if several:
            dataset, is_first = corpus_cascade(corpus, level, condition=condition, chip=tile_size), False
        else:
            dataset, is_first = corpus_stage(
                corpus,
                level,
                first_stage=options.first_stage,
                condition=condition,
                condition_level=options.condition_level,
                chip=tile_size,
            )
    except NoValidTilesError:
        raise ConfigError(
            f"{corpus}: no {tile_size}-pixel tile of {level} is at least half valid (the level may be smaller "
            "than one tile): give a smaller --tile-size, or ingest a larger area"
        ) from None
    settings = settings.model_copy(update={"first_stage": is_first})
    model = train_metaearth(
        dataset, out, settings, data_name=f"corpus:{corpus.resolve()}:{level}", overwrite=overwrite
    )
    kind = "first stage (from noise)" if is_first else f"stage conditioned on the {condition} level"
    Console().print(
        f"trained a {settings.preset} {kind} at {level} on {len(dataset)} tiles: weights in {model}"
    )


class Changen2Options(Config):
    """What ``train changen2`` trains on: the tiles of a corpus level."""

    corpus: Annotated[Path, Flag(exists=True)] = Field(description="the corpus (Zarr store) to train on")
    level: str = Field("4m", description="the corpus level, e.g. 4m")
    tile_size: int = Field(256, ge=1, description="training tile side in pixels")
    min_valid_fraction: float = Field(
        0.5, ge=0, le=1, description="skip tiles with a smaller share of valid pixels"
    )


@train_app.command("changen2")
@trainer_command(
    (
        "preset",
        "mask",
        "max_epochs",
        "steps_per_epoch",
        "batch_size",
        "learning_rate",
        "autoencoder",
        "sample_steps",
    ),
)
def changen2(
    options: Changen2Options,
    out: RunFolderOption,
    overwrite: RestartOption = False,
    *,
    settings: Changen2Training,
) -> None:
    """Train a Changen2 RS-DiT on (image, mask) tiles of a corpus."""
    import time

    from rich.console import Console

    from terrasynth.core.errors import ConfigError
    from terrasynth.datasets.corpus import NoValidTilesError
    from terrasynth.workflows.train_changen2 import train_on_corpus

    corpus, level, tile_size, min_valid_fraction = (
        options.corpus, options.level, options.tile_size, options.min_valid_fraction
    )  # fmt: skip
    began = time.perf_counter()
    try:
        model_dir = train_on_corpus(
            corpus, level, out, settings, tile_size=tile_size, min_valid_fraction=min_valid_fraction,
            overwrite=overwrite,
        )  # fmt: skip
    except NoValidTilesError:
        raise ConfigError(
            f"{corpus}: no {tile_size}-pixel tile of {level} has a valid share of at least {min_valid_fraction} "
            "(the level may be smaller than one tile): give a smaller --tile-size or --min-valid-fraction, or "
            "ingest a larger area"
        ) from None
    Console().print(
        f"Trained a {settings.preset} RS-DiT on {settings.mask} masks of {corpus} ({level}, {tile_size} px "
        f"tiles) for {settings.max_epochs} epochs in {time.perf_counter() - began:.1f} s; the model is in {model_dir}"
    )


class DetectorOptions(Config):
    """The splits ``train detector`` trains and validates on, and the detector's encoder."""

    split: str = Field("train", description="split to train on")
    val_split: str = Field("", description="split for the validation loss (none if empty)")
    encoder: str = Field("resnet18", description="the timm encoder's name (built without weights)")
    encoder_weights: Path | None = Field(
        None, description="local timm state dict for the encoder (.safetensors/.pth)"
    )
    semantic: bool = Field(False, description="add SECOND semantic heads (6 classes per date)")


@train_app.command("detector")
@trainer_command(
    (
        "epochs",
        "batch_size",
        "learning_rate",
        "crop_size",
        "augment",
        "change_balance",
        "ema_decay",
        "precision",
    ),
)
def detector(
    dataset: ChangeDatasetOption,
    root: ChangeRootOption,
    out: RunFolderOption,
    options: DetectorOptions,
    overwrite: RestartOption = False,
    *,
    settings: TrainSettings,
) -> None:
    """Train the ChangeStar-style change detector on a change data set."""
    from rich.console import Console

    from terrasynth.datasets import open_change_dataset
    from terrasynth.workflows.train_detector import train_detector

    split, val_split = options.split, options.val_split
    train = open_change_dataset(dataset, root, split)
    val = open_change_dataset(dataset, root, val_split) if val_split else None
    bands = train[0]["image"].shape[1]
    config = {
        "encoder": options.encoder,
        "in_channels": bands,
        "semantic_classes": 6 if options.semantic else 0,
    }
    if bands != 3:  # ImageNet statistics (the default) for RGB; mid-grey otherwise
        config |= {"mean": (0.5,) * bands, "std": (0.25,) * bands}
    path = train_detector(
        train, out, config=config, settings=settings, encoder_weights=options.encoder_weights,
        val_dataset=val, data_name=f"{dataset}:{root.resolve()}:{split}", overwrite=overwrite,
    )  # fmt: skip
    Console().print(f"Trained on {len(train)} pairs for {settings.epochs} epochs: {path}")


def _add_bundled_recipe(name: str, recipe: str, summary: str) -> None:
    """Add ``train NAME-checkpoint``: train the bundled checkpoint ``checkpoints/NAME`` from scratch
    by the fixed recipe of :mod:`terrasynth.workflows.RECIPE` (its ``train_checkpoint``)."""

    def train_bundled(
        out: CheckpointFolderOption = Path("checkpoints", name), work: WorkOption = None
    ) -> None:
        import importlib

        from terrasynth.workflows.bundled import say_trained

        train_checkpoint = importlib.import_module(f"terrasynth.workflows.{recipe}").train_checkpoint
        say_trained(train_checkpoint(out, work=work, progress=True))

    train_app.command(f"{name}-checkpoint", help=summary)(train_bundled)


_add_bundled_recipe(
    "metaearth",
    "cascade_checkpoint",
    "Train the bundled MetaEarth checkpoint from scratch (one model of the 60 -> 16 -> 4 m cascade).",
)
_add_bundled_recipe(
    "changen2",
    "changen2_checkpoint",
    "Train the bundled Changen2 checkpoint from scratch (1 m imagery from land cover and buildings).",
)
