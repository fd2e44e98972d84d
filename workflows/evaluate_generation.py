"""Generated against real imagery: FID/KID (with the local Inception weights), sliced Wasserstein
and seam scores, per level and land-cover class, saved as netCDF and printed as tables."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated

from typer import Option

from terrasynth.workflows.devices import DEVICE_HELP


def evaluate_generation(
    real: str | Path,
    generated: Sequence[str | Path],
    *,
    names: Sequence[str] | None = None,
    inception_weights: str | Path | None = None,
    encoder=None,
    encoder_name: str = "",
    tile_size: int = 256,
    rgb_bands: Sequence[str | int] | None = None,
    window_stride: int | None = None,
    window_offset: int = 0,
    batch_size: int = 32,
    seed: int = 0,
    device: str | None = None,
    on_tiles: Callable[[int], None] | None = None,
):
    """Score each generated set against the real one; returns one Dataset along ``model``.

    Args:
        real: a folder of PNG/GeoTIFF files or a Zarr corpus (see
            :func:`~terrasynth.evaluation.image_sets.open_image_set`).
        generated: one or more such sets.
        names: the ``model`` coordinate per generated set (default: the folder names).
        inception_weights: the local ``pt_inception-2015-12-05-6726825d.pth`` for FID/KID
            (SHA-256 checked); without it and without ``encoder``, only SWD and seams run.
        encoder: your own feature encoder instead (uint8 RGB batches in, ``(N, D)`` out).
        encoder_name: recorded with the results when ``encoder`` is given.
        tile_size: tile edge in pixels (at least 16, and at most the images' size).
        rgb_bands: the red, green and blue bands of multiband reflectance (shown through
            :func:`terrasynth.core.display.to_display`).
        window_stride, window_offset: the generator's window stride (at least 2) and first cut
            (pixels), for the seam scores.
        batch_size, seed, device: tiles per encoder batch, random seed, torch device (default: a
            GPU when there is one).
        on_tiles: progress callback, called with the number of tiles done.
    """
    from terrasynth.core.errors import ConfigError
    from terrasynth.evaluation.generation import check_tiling, compare_image_sets, tile_count
    from terrasynth.evaluation.image_sets import open_image_set
    from terrasynth.evaluation.inception import inception_encoder
    from terrasynth.workflows.devices import torch_device

    names = list(names) if names else [Path(p).name for p in generated]
    if len(names) != len(generated) or len(set(names)) != len(names):
        raise ConfigError(f"give one distinct name per generated set (got {names})")
    check_tiling(tile_size, window_stride)
    device = str(torch_device(device))
    sets = {path: open_image_set(path, rgb_bands=rgb_bands) for path in [real, *generated]}
    for path, canvases in sets.items():
        if not tile_count(canvases, tile_size):
            side = max(min(canvas.shape) for canvas in canvases)
            raise ConfigError(
                f"{path} holds no whole {tile_size} px tile: its images are at most {side} px on their "
                f"short side; give a --tile-size of at most {side}"
            )
    if inception_weights is not None:
        if encoder is not None:
            raise ConfigError("give either the Inception weights or your own encoder, not both")
        encoder, encoder_name = inception_encoder(inception_weights), "inception-v3-fid"
    results = compare_image_sets(
        sets[real],
        {name: sets[path] for name, path in zip(names, generated, strict=True)},
        encoder=encoder, encoder_name=encoder_name, tile_size=tile_size, batch_size=batch_size,
        window_stride=window_stride, window_offset=window_offset, seed=seed, device=device, on_tiles=on_tiles,
    )  # fmt: skip
    results.attrs |= {
        "real": str(real),
        "generated": [str(p) for p in generated],
        "display": "terrasynth.core.display",
    }
    return results


def cli(
    real: Annotated[
        Path, Option("--real", help="Real images: folder of PNG/GeoTIFF files or a Zarr corpus.")
    ],
    generated: Annotated[
        list[Path],
        Option("--generated", help="Generated images, same forms; repeat to compare several sets."),
    ],
    out: Annotated[Path, Option("--out", help="Results file (.nc).")],
    overwrite: Annotated[bool, Option("--overwrite", help="Replace an existing --out file.")] = False,
    name: Annotated[
        list[str] | None, Option("--name", help="A name per generated set (default: folder name).")
    ] = None,
    inception: Annotated[
        Path | None,
        Option(
            "--inception",
            help="Local pt_inception-2015-12-05-6726825d.pth for FID/KID (else SWD and seams only).",
        ),
    ] = None,
    tile_size: Annotated[int, Option("--tile-size", min=16, help="Tile edge in pixels.")] = 256,
    rgb_bands: Annotated[
        str, Option("--rgb-bands", help="Red,green,blue band names or indices, e.g. B4,B3,B2.")
    ] = "",
    window_stride: Annotated[
        int,
        Option(
            "--window-stride",
            min=0,
            help="Generator window stride in pixels, 2 or more (enables seam scores).",
        ),
    ] = 0,
    window_offset: Annotated[
        int, Option("--window-offset", min=0, help="Pixel of the first window cut.")
    ] = 0,
    batch_size: Annotated[int, Option("--batch-size", min=1, help="Tiles per batch.")] = 32,
    seed: Annotated[int, Option("--seed", help="Random seed (patches, SWD directions, KID subsets).")] = 0,
    device: Annotated[str | None, Option("--device", help=DEVICE_HELP)] = None,
) -> None:
    """Compare generated imagery with real imagery (FID, KID, SWD, seams; per level and class)."""
    from rich.console import Console
    from rich.progress import Progress

    from terrasynth.core.outputs import check_output
    from terrasynth.evaluation.generation import tile_count
    from terrasynth.evaluation.image_sets import open_image_set
    from terrasynth.evaluation.inception import check_inception_weights
    from terrasynth.evaluation.results import print_results, save_results

    console = Console()
    check_output(out, overwrite=overwrite)
    if inception is not None:
        check_inception_weights(inception)  # fail before any image is read
    else:
        console.print("No --inception weights: FID and KID are skipped (SWD and seams need none).")
    bands = [b.strip() for b in rgb_bands.split(",")] if rgb_bands else None
    total = sum(tile_count(open_image_set(p, rgb_bands=bands), tile_size) for p in [real, *generated])
    with Progress(transient=True) as progress:
        task = progress.add_task("tiles", total=total)
        results = evaluate_generation(
            real, generated, names=name or None, inception_weights=inception, tile_size=tile_size,
            rgb_bands=bands, window_stride=window_stride or None,
            window_offset=window_offset, batch_size=batch_size, seed=seed, device=device,
            on_tiles=lambda n: progress.advance(task, n),
        )  # fmt: skip
    save_results(results, out)
    print_results(results)
    tiles = results["tiles"].sel(level="all", landcover="all")
    console.print(
        f"{int(tiles.sel(set='real').max())} real and {int(tiles.sel(set='generated').sum())} generated tiles "
        f"in {len(generated)} set(s); wrote {out}"
    )
