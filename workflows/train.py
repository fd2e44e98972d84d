"""``terrasynth train ...``: one command per model, each a thin shell over its training function."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from terrasynth.workflows import cascade_checkpoint, changen2_checkpoint, changen2_cli, train_detector
from terrasynth.workflows.training_scale import (
    AcceleratorOption,
    DevicesOption,
    NumNodesOption,
    StrategyOption,
)

train_app = typer.Typer(help="Train MetaEarth cascade stages and the other models.", no_args_is_help=True)
train_app.command("detector")(train_detector.cli)
train_app.command("changen2")(changen2_cli.train)
train_app.command("metaearth-checkpoint")(cascade_checkpoint.cli)
train_app.command("changen2-checkpoint")(changen2_checkpoint.cli)


@train_app.command("metaearth")
def metaearth(
    corpus: Annotated[Path, typer.Option("--corpus", help="Corpus store written by `terrasynth ingest`.")],
    level: Annotated[
        str,
        typer.Option(
            "--level",
            help="Level the stage generates, e.g. 16m; or 'all' / '16m,4m': one model for every stage.",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Run folder (rerun the same command to resume).")],
    preset: Annotated[str, typer.Option("--preset", help="Model size: tiny (CPU), base or paper.")] = "tiny",
    condition: Annotated[
        str, typer.Option("--condition", help="LR condition: 'coarser' (next coarser level) or 'degraded'.")
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
    chip: Annotated[
        int, typer.Option("--chip", min=4, help="Training tile edge in pixels (a multiple of 4).")
    ] = 64,
    epochs: Annotated[int | None, typer.Option("--epochs", help="Training epochs.")] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Tiles per batch.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of weights, data order and noise.")] = None,
    accelerator: AcceleratorOption = None,
    devices: DevicesOption = None,
    num_nodes: NumNodesOption = None,
    strategy: StrategyOption = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML/TOML file of MetaEarthTraining settings.")
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Start over, removing a run in --out (else it is resumed).")
    ] = False,
) -> None:
    """Train one stage of the MetaEarth cascade on a corpus, or one model for every stage (--level all)."""
    from rich.console import Console

    from terrasynth.core.config import load_config
    from terrasynth.core.errors import ConfigError
    from terrasynth.datasets.corpus import NoValidTilesError
    from terrasynth.workflows.train_metaearth import (
        MetaEarthTraining,
        corpus_cascade,
        corpus_stage,
        train_metaearth,
    )

    if condition not in ("coarser", "degraded"):
        raise typer.BadParameter("use 'coarser' or 'degraded'", param_hint="--condition")
    several = level == "all" or "," in level
    if several and (first_stage or condition_level):
        raise typer.BadParameter(
            "one model of several stages refines each level from the next coarser one", param_hint="--level"
        )
    settings = load_config(
        MetaEarthTraining, config, preset=preset, max_epochs=epochs, batch_size=batch_size, seed=seed,
        accelerator=accelerator, devices=devices, num_nodes=num_nodes, strategy=strategy,
    )  # fmt: skip
    try:
        if several:
            dataset, is_first = corpus_cascade(corpus, level, condition=condition, chip=chip), False
        else:
            dataset, is_first = corpus_stage(
                corpus,
                level,
                first_stage=first_stage,
                condition=condition,
                condition_level=condition_level,
                chip=chip,
            )
    except NoValidTilesError:
        raise ConfigError(
            f"{corpus}: no {chip}-pixel tile of {level} is at least half valid (the level may be smaller than "
            "one tile): give a smaller --chip, or ingest a larger area"
        ) from None
    settings = settings.model_copy(update={"first_stage": is_first})
    model = train_metaearth(dataset, out, settings, overwrite=overwrite)
    kind = "first stage (from noise)" if is_first else f"stage conditioned on the {condition} level"
    Console().print(
        f"trained a {settings.preset} {kind} at {level} on {len(dataset)} tiles: weights in {model}"
    )
