"""``terrasynth train ...``: one command per model, each a thin shell over its training function
(:mod:`~terrasynth.workflows.train_metaearth`, :mod:`~terrasynth.workflows.train_changen2`,
:mod:`~terrasynth.workflows.train_detector`, and the bundled checkpoints' recipes)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from terrasynth.core.choices import CascadeCondition
from terrasynth.trainers.settings import Changen2Training, MetaEarthTraining, TrainSettings
from terrasynth.workflows.commands.options import ChangeDatasetOption, ChangeRootOption, RunFolderOption
from terrasynth.workflows.commands.settings_options import trainer_command

train_app = typer.Typer(help="Train MetaEarth cascade stages and the other models.", no_args_is_help=True)

CheckpointFolderOption = Annotated[Path, typer.Option("--out", help="Checkpoint folder to write.")]
WorkOption = Annotated[
    Path | None,
    typer.Option("--work", help="Training corpus and run (default: OUT.work); rerun to resume."),
]
"""The options of the bundled checkpoints' commands."""


@trainer_command(train_app, "metaearth", MetaEarthTraining, ("preset", "max_epochs", "batch_size"))
def metaearth(
    corpus: Annotated[Path, typer.Option("--corpus", help="Corpus store written by `terrasynth ingest`.")],
    level: Annotated[
        str,
        typer.Option(
            "--level",
            help="Level the stage generates, e.g. 16m; or 'all' / '16m,4m': one model for every stage.",
        ),
    ],
    out: RunFolderOption,
    condition: Annotated[
        CascadeCondition,
        typer.Option("--condition", help="LR condition: 'coarser' (next coarser level) or 'degraded'."),
    ] = "coarser",
    condition_level: Annotated[
        str | None, typer.Option("--condition-level", help="LR resolution, e.g. 60m (default: next coarser).")
    ] = None,
    first_stage: Annotated[
        bool | None,
        typer.Option(
            "--first-stage/--no-first-stage", help="Generate from noise (default: the coarsest level)."
        ),
    ] = None,
    tile_size: Annotated[
        int, typer.Option("--tile-size", min=4, help="Training tile edge in pixels (a multiple of 4).")
    ] = 64,
    *,
    settings: MetaEarthTraining,
    overwrite: bool,
) -> None:
    """Train one stage of the MetaEarth cascade on a corpus, or one model for every stage (--level all)."""
    from rich.console import Console

    from terrasynth.core.errors import ConfigError
    from terrasynth.datasets.corpus import NoValidTilesError
    from terrasynth.workflows.train_metaearth import corpus_cascade, corpus_stage, train_metaearth

    several = level == "all" or "," in level
    if several and (first_stage or condition_level):
        raise typer.BadParameter(
            "one model of several stages refines each level from the next coarser one", param_hint="--level"
        )
    try:
        if several:
            dataset, is_first = corpus_cascade(corpus, level, condition=condition, chip=tile_size), False
        else:
            dataset, is_first = corpus_stage(
                corpus,
                level,
                first_stage=first_stage,
                condition=condition,
                condition_level=condition_level,
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


@trainer_command(
    train_app,
    "changen2",
    Changen2Training,
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
    corpus: Annotated[
        Path, typer.Option("--corpus", exists=True, help="The corpus (Zarr store) to train on.")
    ],
    out: RunFolderOption,
    level: Annotated[str, typer.Option("--level", help="The corpus level, e.g. 4m.")] = "4m",
    tile_size: Annotated[int, typer.Option("--tile-size", min=1, help="Training tile side in pixels.")] = 256,
    min_valid_fraction: Annotated[
        float,
        typer.Option(
            "--min-valid-fraction", min=0, max=1, help="Skip tiles with a smaller share of valid pixels."
        ),
    ] = 0.5,
    *,
    settings: Changen2Training,
    overwrite: bool,
) -> None:
    """Train a Changen2 RS-DiT on (image, mask) tiles of a corpus."""
    import time

    from rich.console import Console

    from terrasynth.core.errors import ConfigError
    from terrasynth.datasets.corpus import NoValidTilesError
    from terrasynth.workflows.train_changen2 import train_on_corpus

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


@trainer_command(
    train_app,
    "detector",
    TrainSettings,
    ("epochs", "batch_size", "learning_rate", "crop_size", "augment", "change_balance", "precision"),
)
def detector(
    dataset: ChangeDatasetOption,
    root: ChangeRootOption,
    out: RunFolderOption,
    split: Annotated[str, typer.Option("--split", help="Split to train on.")] = "train",
    val_split: Annotated[
        str, typer.Option("--val-split", help="Split for the validation loss (none if empty).")
    ] = "",
    encoder: Annotated[
        str, typer.Option("--encoder", help="timm encoder name (built without weights).")
    ] = "resnet18",
    encoder_weights: Annotated[
        Path | None,
        typer.Option("--encoder-weights", help="Local timm state dict for the encoder (.safetensors/.pth)."),
    ] = None,
    semantic: Annotated[
        bool, typer.Option("--semantic", help="Add SECOND semantic heads (6 classes per date).")
    ] = False,
    *,
    settings: TrainSettings,
    overwrite: bool,
) -> None:
    """Train the ChangeStar-style change detector on a change data set."""
    from rich.console import Console

    from terrasynth.datasets import open_change_dataset
    from terrasynth.workflows.train_detector import train_detector

    train = open_change_dataset(dataset, root, split)
    val = open_change_dataset(dataset, root, val_split) if val_split else None
    bands = train[0]["image"].shape[1]
    config = {"encoder": encoder, "in_channels": bands, "semantic_classes": 6 if semantic else 0}
    if bands != 3:  # ImageNet statistics (the default) for RGB; mid-grey otherwise
        config |= {"mean": (0.5,) * bands, "std": (0.25,) * bands}
    path = train_detector(
        train, out, config=config, settings=settings, encoder_weights=encoder_weights,
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
