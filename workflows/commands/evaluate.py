"""``terrasynth evaluate ...``: thin shells over
:func:`terrasynth.workflows.evaluate_generation.evaluate_generation` and
:func:`terrasynth.workflows.evaluate_change.compare_checkpoints`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from terrasynth.workflows.commands.options import (
    ChangeDatasetOption,
    ChangeRootOption,
    DeviceOption,
    InceptionOption,
    OverwriteOption,
)

evaluate_app = typer.Typer(help="Evaluate generated imagery and change detectors.", no_args_is_help=True)


@evaluate_app.command("generation")
def generation(
    real: Annotated[
        Path, typer.Option("--real", help="Real images: folder of PNG/GeoTIFF files or a Zarr corpus.")
    ],
    generated: Annotated[
        list[Path],
        typer.Option("--generated", help="Generated images, same forms; repeat to compare several sets."),
    ],
    out: Annotated[Path, typer.Option("--out", help="Results file (.nc).")],
    overwrite: OverwriteOption = False,
    name: Annotated[
        list[str] | None, typer.Option("--name", help="A name per generated set (default: folder name).")
    ] = None,
    inception: InceptionOption = None,
    tile_size: Annotated[int, typer.Option("--tile-size", min=16, help="Tile edge in pixels.")] = 256,
    rgb_bands: Annotated[
        str, typer.Option("--rgb-bands", help="Red,green,blue band names or indices, e.g. B4,B3,B2.")
    ] = "",
    window_stride: Annotated[
        int,
        typer.Option(
            "--window-stride",
            min=0,
            help="Generator window stride in pixels, 2 or more (enables seam scores, each level's "
            "matched to the pixel grid of the next coarser level or --condition).",
        ),
    ] = 0,
    window_offset: Annotated[
        int, typer.Option("--window-offset", min=0, help="Pixel of the first window cut.")
    ] = 0,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Tiles per batch.")] = 32,
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed (patches, SWD directions, KID subsets).")
    ] = 0,
    device: DeviceOption = None,
    condition: Annotated[
        Path | None,
        typer.Option(
            "--condition",
            exists=True,
            dir_okay=False,
            help="Low-resolution GeoTIFF the canvases came from: adds a 'bicubic' model and each canvas' "
            "error against it, averaged back down onto its pixels.",
        ),
    ] = None,
) -> None:
    """Compare generated imagery with real imagery (FID, KID, SWD, seams; per level and class)."""
    from rich.console import Console
    from rich.progress import Progress

    from terrasynth.core.outputs import check_output
    from terrasynth.evaluation.generation import tile_count
    from terrasynth.evaluation.image_sets import open_image_set
    from terrasynth.evaluation.inception import check_inception_weights
    from terrasynth.evaluation.results import print_results, save_results
    from terrasynth.workflows.evaluate_generation import evaluate_generation

    console = Console()
    check_output(out, overwrite=overwrite)
    if inception is not None:
        check_inception_weights(inception)  # fail before any image is read
    else:
        console.print("No --inception weights: FID and KID are skipped (SWD and seams need none).")
    bands = [b.strip() for b in rgb_bands.split(",")] if rgb_bands else None
    sets = [real, *generated, *(generated if condition else [])]  # the bicubic baseline mirrors them
    total = sum(tile_count(open_image_set(p, rgb_bands=bands), tile_size) for p in sets)
    with Progress(transient=True) as progress:
        task = progress.add_task("tiles", total=total)
        results = evaluate_generation(
            real, generated, names=name or None, inception_weights=inception, tile_size=tile_size,
            rgb_bands=bands, window_stride=window_stride or None,
            window_offset=window_offset, batch_size=batch_size, seed=seed, device=device, condition=condition,
            on_tiles=lambda n: progress.advance(task, n),
        )  # fmt: skip
    save_results(results, out)
    print_results(results)
    tiles = results["tiles"].sel(level="all", landcover="all")
    console.print(
        f"{int(tiles.sel(set='real').max())} real and {int(tiles.sel(set='generated').sum())} generated tiles "
        f"in {len(generated)} set(s); wrote {out}"
    )


@evaluate_app.command("change")
def change(
    dataset: ChangeDatasetOption,
    root: ChangeRootOption,
    checkpoint: Annotated[
        list[Path],
        typer.Option(
            "--checkpoint",
            help="Detector model folder (RUN/model); repeat to compare (zero-shot, supervised).",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Results file (.nc); figures are written beside it.")],
    name: Annotated[
        list[str] | None,
        typer.Option("--name", help="A name per checkpoint (default: its folder name, or its run's)."),
    ] = None,
    split: Annotated[str, typer.Option("--split", help="Split to evaluate.")] = "test",
    window: Annotated[int, typer.Option("--window", min=1, help="Sliding-window edge in pixels.")] = 512,
    overlap: Annotated[
        float, typer.Option("--overlap", min=0.0, help="Overlap of neighbouring windows, in [0, 1).")
    ] = 0.25,
    threshold: Annotated[
        float, typer.Option("--threshold", min=0.0, max=1.0, help="Change probability counted as change.")
    ] = 0.5,
    device: DeviceOption = None,
    examples: Annotated[
        int, typer.Option("--examples", min=0, help="Image pairs shown in the example figure.")
    ] = 4,
    overwrite: OverwriteOption = False,
) -> None:
    """Evaluate change detectors on LEVIR-CD, S2Looking, SECOND or a LEVIR-layout folder."""
    from rich.console import Console
    from rich.progress import Progress

    from terrasynth.core.errors import ConfigError
    from terrasynth.datasets import open_change_dataset
    from terrasynth.evaluation.results import print_results
    from terrasynth.workflows.evaluate_change import checkpoint_name, compare_checkpoints

    names = list(name or []) or [checkpoint_name(c) for c in checkpoint]
    if len(names) != len(checkpoint) or len(set(names)) != len(names):
        raise ConfigError(f"give one distinct --name per --checkpoint (got names {names})")
    data = open_change_dataset(dataset, root, split)
    with Progress(transient=True) as progress:
        task = progress.add_task("evaluating", total=len(data) * len(checkpoint))
        results = compare_checkpoints(
            data, dict(zip(names, checkpoint, strict=True)), dataset_name=dataset, split=split,
            window=window, overlap=overlap, threshold=threshold, device=device, out=out, overwrite=overwrite,
            examples=examples, on_image=lambda: progress.advance(task),
        )  # fmt: skip
    print_results(results, gap=len(names) == 2)
    Console().print(f"{len(data)} image pairs, {len(names)} model(s); wrote {out} and its figures")
