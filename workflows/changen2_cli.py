"""The Changen2 commands: ``terrasynth train changen2`` and ``terrasynth synthesize``, thin shells over
:func:`terrasynth.workflows.train_changen2.train_on_corpus` and
:func:`terrasynth.workflows.synthesize.synthesize` (imported when a command runs, so that
``terrasynth --help`` stays fast)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from terrasynth.workflows.devices import DEVICE_HELP
from terrasynth.workflows.training_scale import (
    AcceleratorOption,
    DevicesOption,
    NumNodesOption,
    StrategyOption,
)


def train(
    corpus: Annotated[
        Path, typer.Option("--corpus", exists=True, help="The corpus (Zarr store) to train on.")
    ],
    out: Annotated[Path, typer.Option("--out", help="The run folder (rerun the same command to resume).")],
    level: Annotated[str, typer.Option("--level", help="The corpus level, e.g. 4m.")] = "4m",
    preset: Annotated[
        str | None, typer.Option("--preset", help="RS-DiT size: tiny (pixel space, CPU), S, B, L or XL.")
    ] = None,
    mask: Annotated[
        str | None,
        typer.Option(
            "--mask",
            help="landcover (WorldCover classes), buildings (WorldCover built-up) or pseudo (k-means of the image).",
        ),
    ] = None,
    tile_size: Annotated[int, typer.Option("--tile-size", min=1, help="Training tile side in pixels.")] = 256,
    epochs: Annotated[int | None, typer.Option("--epochs", help="Training epochs.")] = None,
    steps_per_epoch: Annotated[
        int | None, typer.Option("--steps-per-epoch", help="Optimizer steps per epoch (default: one pass).")
    ] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Tiles per batch.")] = None,
    learning_rate: Annotated[
        float | None, typer.Option("--learning-rate", help="AdamW learning rate.")
    ] = None,
    autoencoder: Annotated[
        Path | None,
        typer.Option(
            "--autoencoder", help="Local folder of a diffusers AutoencoderKL: train in its latent space."
        ),
    ] = None,
    min_valid_fraction: Annotated[
        float,
        typer.Option(
            "--min-valid-fraction", min=0, max=1, help="Skip tiles with a smaller share of valid pixels."
        ),
    ] = 0.5,
    sample_steps: Annotated[
        int | None,
        typer.Option("--sample-steps", help="DDIM steps of the quick-look samples drawn every epoch."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed of the weights, data order and noise.")
    ] = None,
    accelerator: AcceleratorOption = None,
    devices: DevicesOption = None,
    num_nodes: NumNodesOption = None,
    strategy: StrategyOption = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML/TOML file of Changen2Training settings.")
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Start over, removing a run in --out (else it is resumed).")
    ] = False,
) -> None:
    """Train a Changen2 RS-DiT on (image, mask) tiles of a corpus."""
    import time

    from rich.console import Console

    from terrasynth.core.config import load_config
    from terrasynth.core.errors import ConfigError
    from terrasynth.datasets.corpus import NoValidTilesError
    from terrasynth.workflows.train_changen2 import Changen2Training, train_on_corpus

    settings = load_config(
        Changen2Training, config, preset=preset, mask=mask, max_epochs=epochs, steps_per_epoch=steps_per_epoch,
        batch_size=batch_size, learning_rate=learning_rate, sample_steps=sample_steps, seed=seed,
        autoencoder=str(autoencoder) if autoencoder else None, accelerator=accelerator, devices=devices,
        num_nodes=num_nodes, strategy=strategy,
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


def synthesize(
    checkpoint: Annotated[
        Path, typer.Option("--checkpoint", exists=True, help="The model folder (a training run's RUN/model).")
    ],
    source: Annotated[
        Path,
        typer.Option(
            "--from",
            exists=True,
            help="A corpus (Zarr store), a folder of images (PNG, JPEG, GeoTIFF), or of xView2 / OpenEarthMap "
            "images with their masks (for converted released models).",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="The folder to write (must not exist, or be empty).")],
    pairs: Annotated[int, typer.Option("--pairs", help="Change pairs to write.")] = 16,
    length: Annotated[
        int, typer.Option("--length", help="Dates per simulated series (the first is the source).")
    ] = 2,
    layout: Annotated[
        str,
        typer.Option("--layout", help="levir-cd (PNG pairs), second (semantic PNG pairs) or series (Zarr)."),
    ] = "levir-cd",
    size: Annotated[
        int | None, typer.Option("--size", help="Image side in pixels (default: the model's training tile).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of tiles, change events and noise.")] = 0,
    steps: Annotated[
        int,
        typer.Option(
            "--steps", help="Steps per date (DDIM; ancestral for learned-variance models, DiT: 250)."
        ),
    ] = 50,
    margin: Annotated[int, typer.Option("--margin", help="Pixels around each change redrawn with it.")] = 1,
    level: Annotated[
        str | None, typer.Option("--level", help="Corpus level (default: the model's resolution).")
    ] = None,
    pairing: Annotated[
        str, typer.Option("--pairing", help="Pairs of consecutive dates, or first-last of each series.")
    ] = "consecutive",
    change: Annotated[
        str,
        typer.Option(
            "--change", help="LEVIR-CD pairs: any class change, or buildings only (built and demolished)."
        ),
    ] = "any",
    batch_size: Annotated[int, typer.Option("--batch-size", help="Series drawn together.")] = 4,
    device: Annotated[str | None, typer.Option("--device", help=DEVICE_HELP)] = None,
    gsd: Annotated[
        float | None,
        typer.Option("--gsd", min=0.01, help="Metres per pixel of the sources (default: the model's)."),
    ] = None,
    exact_carry_over: Annotated[
        bool,
        typer.Option(
            "--exact-carry-over",
            help="Keep unchanged areas bit-identical between dates (default: each date gets its own "
            "illumination, noise and sub-pixel registration, as real acquisitions do).",
        ),
    ] = False,
    buildings_only: Annotated[
        bool,
        typer.Option(
            "--buildings-only",
            help="With --change buildings: nothing but buildings changes (default: the rest of the land "
            "cover changes too, unlabelled, as between real acquisitions).",
        ),
    ] = False,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Draw the series in shards, resumably (rerun to resume): 'local' (a Dask cluster on this "
            "machine), 'threads' (this process) or a Dask scheduler address such as tcp://host:8786. "
            "Default: one process.",
        ),
    ] = None,
    resources: Annotated[
        str | None, typer.Option("--resources", help="Dask worker resources each shard needs, e.g. GPU=1.")
    ] = None,
) -> None:
    """Synthesize change pairs or series from single-date images with a Changen2 model (GPCM)."""
    from rich.console import Console

    from terrasynth.models.changen2 import DateAppearance
    from terrasynth.workflows.generate import parse_resources
    from terrasynth.workflows.synthesize import synthesize as run

    summary = run(
        checkpoint, source, out, pairs=pairs, length=length, layout=layout, size=size, seed=seed, steps=steps,
        margin=margin, level=level, pairing=pairing, change=change, batch_size=batch_size, device=device,
        gsd=gsd, appearance=DateAppearance.none() if exact_carry_over else None, other_change=not buildings_only,
        scheduler=scheduler, resources=parse_resources(resources),
    )  # fmt: skip
    figures = summary.consistency
    Console().print(
        f"Wrote {summary.pairs} pairs ({summary.series} series of {summary.length} dates, {summary.size} px) "
        f"in the {summary.layout} layout to {summary.path} in {summary.seconds:.1f} s "
        f"({summary.pairs_per_second:.2f} pairs/s). Between dates, unchanged pixels differ by "
        f"{figures['unchanged']:.4f} on average and changed ones by {figures['changed']:.4f} "
        f"(ratio {figures['ratio']:.3f})."
    )
