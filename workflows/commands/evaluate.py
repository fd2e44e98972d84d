"""``terrasynth evaluate ...``: thin shells over
:func:`terrasynth.workflows.evaluate_generation.evaluate_generation` and
:func:`terrasynth.workflows.evaluate_change.compare_checkpoints`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import Field

from terrasynth.core.config import Config
from terrasynth.workflows.commands.options import (
    ChangeDatasetOption,
    ChangeRootOption,
    InceptionOption,
    OverwriteOption,
)
from terrasynth.workflows.commands.settings_options import Flag, settings_command
from terrasynth.workflows.devices import DEVICE_HELP

evaluate_app = typer.Typer(help="Evaluate generated imagery and change detectors.", no_args_is_help=True)


class GenerationOptions(Config):
    """What ``evaluate generation`` compares, and how it tiles and scores the images."""

    real: Path = Field(description="real images: folder of PNG/GeoTIFF files or a Zarr corpus")
    generated: list[Path] = Field(description="generated images, same forms; repeat to compare several sets")
    out: Path = Field(description="results file (.nc)")
    name: list[str] | None = Field(None, description="a name per generated set (default: folder name)")
    tile_size: int = Field(256, ge=16, description="tile edge in pixels")
    rgb_bands: str | None = Field(None, description="red,green,blue band names or indices, e.g. B4,B3,B2")
    window_stride: int = Field(
        0,
        ge=0,
        description="generator window stride in pixels, 2 or more (enables seam scores, each level's matched "
        "to the pixel grid of the next coarser level or --condition)",
    )
    window_offset: int = Field(0, ge=0, description="pixel of the first window cut")
    batch_size: int = Field(32, ge=1, description="tiles per batch")
    seed: int = Field(0, description="random seed (patches, SWD directions, KID subsets)")
    device: str | None = Field(None, description=DEVICE_HELP)
    condition: Annotated[Path | None, Flag(exists=True, dir_okay=False)] = Field(
        None,
        description="low-resolution GeoTIFF the canvases came from: adds a 'bicubic' model and each canvas' "
        "error against it, averaged back down onto its pixels",
    )
    real_under_canvases: bool = Field(
        False,
        description="score each level against the real pixels under its generated GeoTIFFs only (the same "
        "ground, where the real set covers more)",
    )


@evaluate_app.command("generation")
@settings_command()
def generation(
    options: GenerationOptions, overwrite: OverwriteOption = False, inception: InceptionOption = None
) -> None:
    """Compare generated imagery with real imagery (FID, KID, SWD, seams; per level and class)."""
    from rich.console import Console
    from rich.progress import Progress

    from terrasynth.core.outputs import check_output
    from terrasynth.evaluation.generation import tile_count
    from terrasynth.evaluation.inception import check_inception_weights
    from terrasynth.evaluation.results import print_results, save_results
    from terrasynth.workflows.evaluate_generation import evaluate_generation, open_sets

    o = options
    real, generated, out, tile_size, condition = o.real, o.generated, o.out, o.tile_size, o.condition
    console = Console()
    check_output(out, overwrite=overwrite)
    if inception is not None:
        check_inception_weights(inception)  # fail before any image is read
    else:
        console.print("No --inception weights: FID and KID are skipped (SWD and seams need none).")
    bands = [b.strip() for b in o.rgb_bands.split(",")] if o.rgb_bands else None
    sets = open_sets(
        real, generated, rgb_bands=bands, condition=condition, real_under_canvases=o.real_under_canvases
    )
    # the bicubic baseline mirrors the generated sets
    total = sum(tile_count(sets[p], tile_size) for p in [real, *generated, *(generated if condition else [])])
    with Progress(transient=True) as progress:
        task = progress.add_task("tiles", total=total)
        results = evaluate_generation(
            real, generated, names=o.name or None, inception_weights=inception, tile_size=tile_size,
            rgb_bands=bands, window_stride=o.window_stride or None, window_offset=o.window_offset,
            batch_size=o.batch_size, seed=o.seed, device=o.device, condition=condition,
            real_under_canvases=o.real_under_canvases, on_tiles=lambda n: progress.advance(task, n),
        )  # fmt: skip
    save_results(results, out)
    print_results(results)
    tiles = results["tiles"].sel(level="all", landcover="all")
    console.print(
        f"{int(tiles.sel(set='real').max())} real and {int(tiles.sel(set='generated').sum())} generated tiles "
        f"in {len(generated)} set(s); wrote {out}"
    )


class ChangeOptions(Config):
    """The detectors ``evaluate change`` compares, and how it runs them over each image pair."""

    checkpoint: list[Path] = Field(
        description="detector model folder (RUN/model); repeat to compare (zero-shot, supervised)"
    )
    out: Path = Field(description="results file (.nc); figures are written beside it")
    name: list[str] | None = Field(
        None, description="a name per checkpoint (default: its folder name, or its run's)"
    )
    split: str = Field("test", description="split to evaluate")
    window: int = Field(512, ge=1, description="sliding-window edge in pixels")
    overlap: float = Field(0.25, ge=0.0, description="overlap of neighbouring windows, in [0, 1)")
    threshold: float = Field(0.5, ge=0.0, le=1.0, description="change probability counted as change")
    device: str | None = Field(None, description=DEVICE_HELP)
    examples: int = Field(4, ge=0, description="image pairs shown in the example figure")


@evaluate_app.command("change")
@settings_command()
def change(
    dataset: ChangeDatasetOption,
    root: ChangeRootOption,
    options: ChangeOptions,
    overwrite: OverwriteOption = False,
) -> None:
    """Evaluate change detectors on LEVIR-CD, S2Looking, SECOND or a LEVIR-layout folder."""
    from rich.console import Console
    from rich.progress import Progress

    from terrasynth.core.errors import ConfigError
    from terrasynth.datasets import open_change_dataset
    from terrasynth.evaluation.results import print_results
    from terrasynth.workflows.evaluate_change import checkpoint_name, compare_checkpoints

    o, checkpoint, split, out = options, options.checkpoint, options.split, options.out
    names = list(o.name or []) or [checkpoint_name(c) for c in checkpoint]
    if len(names) != len(checkpoint) or len(set(names)) != len(names):
        raise ConfigError(f"give one distinct --name per --checkpoint (got names {names})")
    data = open_change_dataset(dataset, root, split)
    with Progress(transient=True) as progress:
        task = progress.add_task("evaluating", total=len(data) * len(checkpoint))
        results = compare_checkpoints(
            data, dict(zip(names, checkpoint, strict=True)), dataset_name=dataset, split=split,
            window=o.window, overlap=o.overlap, threshold=o.threshold, device=o.device, out=out,
            overwrite=overwrite, examples=o.examples, on_image=lambda: progress.advance(task),
        )  # fmt: skip
    print_results(results, gap=len(names) == 2)
    Console().print(f"{len(data)} image pairs, {len(names)} model(s); wrote {out} and its figures")
