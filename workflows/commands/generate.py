"""``terrasynth generate``: a thin shell over :func:`terrasynth.workflows.generate.generate`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from terrasynth.core.choices import NoiseMode, Solver
from terrasynth.workflows.commands.options import (
    DeviceOption,
    OverwriteOption,
    ResourcesOption,
    SchedulerOption,
    parse_resources,
)


def parse_size(text: str | None) -> tuple[int, int] | None:
    from terrasynth.core.errors import ConfigError

    if text is None:
        return None
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ConfigError(f"--size {text!r} must be WIDTHxHEIGHT in pixels, e.g. 4096x4096") from None
    return height, width


def generate(
    checkpoint: Annotated[
        list[Path],
        typer.Option(
            "--checkpoint",
            help="A stage's model folder (a training run's RUN/model); repeat, coarse to fine.",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="The GeoTIFF to write (uint16 reflectance x 1e4).")],
    size: Annotated[
        str | None,
        typer.Option("--size", help="Output WIDTHxHEIGHT in pixels; default: the --from footprint."),
    ] = None,
    from_path: Annotated[
        Path | None,
        typer.Option(
            "--from",
            exists=True,
            dir_okay=False,
            help="Low-resolution GeoTIFF to start from (georeferences the output).",
        ),
    ] = None,
    from_gsd: Annotated[
        float | None,
        typer.Option("--from-gsd", help="Metres per pixel of --from (default: from its transform)."),
    ] = None,
    from_scale: Annotated[
        float | None,
        typer.Option(
            "--from-scale",
            help="Stored value x this = reflectance (default: its scale, or 1e-4 for integers).",
        ),
    ] = None,
    landcover: Annotated[
        Path | None,
        typer.Option(
            "--landcover",
            exists=True,
            dir_okay=False,
            help="GeoTIFF of land-cover codes for a first stage (georeferences the output without --from).",
        ),
    ] = None,
    gsd: Annotated[
        float | None,
        typer.Option("--gsd", help="Resolution to stop at, metres per pixel (default: the finest stage's)."),
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of all noise; the same seed gives the same canvas.")
    ] = 0,
    noise: Annotated[
        NoiseMode,
        typer.Option(
            "--noise",
            help="shared (MetaEarth; needs --from or --landcover), independent, field (keyed by ground "
            "position) or average.",
        ),
    ] = "shared",
    solver: Annotated[
        Solver | None,
        typer.Option(
            "--solver",
            help="dpm++ (DPM-Solver++, the same quality in fewer steps) or ddim (default: dpm++; ddim with "
            "--noise average or --eta above 0).",
        ),
    ] = None,
    steps: Annotated[
        int | None,
        typer.Option(
            "--steps", min=1, help="Sampling steps per window (default: 10 with dpm++, 50 with ddim)."
        ),
    ] = None,
    eta: Annotated[float, typer.Option("--eta", help="DDIM noise: 0 is deterministic, 1 is DDPM.")] = 0.0,
    strength: Annotated[
        float,
        typer.Option("--strength", help="1: from pure noise; below 1: from the noised upsampled condition."),
    ] = 1.0,
    window: Annotated[
        int | None, typer.Option("--window", help="Window side in pixels (default: the training tile).")
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Windows per denoiser call.")] = 8,
    device: DeviceOption = None,
    overwrite: OverwriteOption = False,
    scheduler: SchedulerOption = None,
    block: Annotated[
        int | None,
        typer.Option(
            "--block",
            min=1,
            help="With --scheduler: the canvas in blocks of this many window strides (default 16; average "
            "noise: 4 x steps), kept in its store canvas.zarr beside --out.",
        ),
    ] = None,
    resources: ResourcesOption = None,
) -> None:
    """Generate a seamless canvas of any size with a MetaEarth cascade."""
    from rich.console import Console

    from terrasynth.workflows.generate import generate as run

    summary = run(
        checkpoint, out, size=parse_size(size), from_path=from_path, from_gsd=from_gsd, from_scale=from_scale,
        landcover=landcover, gsd=gsd, seed=seed, noise=noise, steps=steps, eta=eta, strength=strength, window=window,
        batch_size=batch_size, solver=solver, device=device, overwrite=overwrite, scheduler=scheduler, block=block,
        resources=parse_resources(resources),
    )  # fmt: skip
    bands, rows, cols = summary.shape
    blocks = (
        f"; {summary.blocks} blocks computed ({summary.resumed} from an earlier run) on {summary.runner}"
        if scheduler
        else ""
    )
    Console().print(
        f"Wrote {summary.path}: {cols} x {rows} px, {bands} bands at {summary.gsd:g} m"
        f"{f', {summary.crs}' if summary.crs else ' (not georeferenced)'}; stages {summary.stages}; "
        f"{summary.seconds:.1f} s ({summary.megapixels_per_second:.3f} MP/s){blocks}."
    )
