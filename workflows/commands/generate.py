"""``terrasynth generate``: a thin shell over :func:`terrasynth.workflows.generate.generate`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from terrasynth.core.choices import NoiseMode, Solver
from terrasynth.core.config import Config
from terrasynth.workflows.commands.options import (
    Compute,
    OverwriteOption,
)
from terrasynth.workflows.commands.settings_options import Flag, settings_command


def parse_size(text: str | None) -> tuple[int, int] | None:
    from terrasynth.core.errors import ConfigError

    if text is None:
        return None
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ConfigError(f"--size {text!r} must be WIDTHxHEIGHT in pixels, e.g. 4096x4096") from None
    return height, width


class GenerateOptions(Config):
    """What ``terrasynth generate`` draws: the cascade, the canvas it starts from, and the sampling."""

    checkpoint: list[Path] = Field(
        description="a stage's model folder (a training run's RUN/model); repeat, coarse to fine"
    )
    out: Path = Field(description="the GeoTIFF to write (uint16 reflectance x 1e4)")
    size: str | None = Field(None, description="output WIDTHxHEIGHT in pixels; default: the --from footprint")
    from_path: Annotated[Path | None, Flag("--from", exists=True, dir_okay=False)] = Field(
        None, description="low-resolution GeoTIFF to start from (georeferences the output)"
    )
    from_gsd: float | None = Field(
        None, description="metres per pixel of --from (default: from its transform)"
    )
    from_scale: float | None = Field(
        None, description="stored value x this = reflectance (default: its scale, or 1e-4 for integers)"
    )
    landcover: Annotated[Path | None, Flag(exists=True, dir_okay=False)] = Field(
        None,
        description="GeoTIFF of land-cover codes for a first stage (georeferences the output without --from)",
    )
    gsd: float | None = Field(
        None, description="resolution to stop at, metres per pixel (default: the finest stage's)"
    )
    seed: int = Field(0, description="seed of all noise; the same seed gives the same canvas")
    noise: NoiseMode = Field(
        "shared",
        description="shared (MetaEarth; needs --from or --landcover), independent, field (keyed by ground "
        "position) or average",
    )
    solver: Solver | None = Field(
        None,
        description="the sampler: dpm++ (DPM-Solver++, the same quality in fewer steps) or ddim (default: "
        "dpm++; ddim with --noise average or --eta above 0)",
    )
    steps: int | None = Field(
        None, ge=1, description="sampling steps per window (default: 10 with dpm++, 50 with ddim)"
    )
    eta: float = Field(0.0, description="DDIM noise: 0 is deterministic, 1 is DDPM")
    strength: float = Field(
        1.0, description="1: from pure noise; below 1: from the noised upsampled condition"
    )
    keep_layout: bool = Field(
        False,
        description="windows of the stages that refine an image, averaged onto their condition's pixels, "
        "give the condition back (back-projection): only the finer detail is the model's (not with --noise average)",
    )
    window: int | None = Field(None, description="window side in pixels (default: the training tile)")
    batch_size: int = Field(8, description="windows per denoiser call")
    block: int | None = Field(
        None,
        ge=1,
        description="with --scheduler: the canvas in blocks of this many window strides (default 16; average "
        "noise: 4 x steps), kept in its store canvas.zarr beside --out",
    )


@settings_command()
def generate(
    options: GenerateOptions,
    compute: Compute,
    overwrite: OverwriteOption = False,
) -> None:
    """Generate a seamless canvas of any size with a MetaEarth cascade."""
    from rich.console import Console

    from terrasynth.workflows.generate import generate as run

    settings = options.model_dump(exclude={"checkpoint", "out", "size"})
    summary = run(
        options.checkpoint, options.out, size=parse_size(options.size), overwrite=overwrite, **compute.arguments(),
        **settings,
    )  # fmt: skip
    bands, rows, cols = summary.shape
    blocks = (
        f"; {summary.blocks} blocks computed ({summary.resumed} from an earlier run) on {summary.runner}"
        if compute.scheduler
        else ""
    )
    Console().print(
        f"Wrote {summary.path}: {cols} x {rows} px, {bands} bands at {summary.gsd:g} m"
        f"{f', {summary.crs}' if summary.crs else ' (not georeferenced)'}; stages {summary.stages}; "
        f"{summary.seconds:.1f} s ({summary.megapixels_per_second:.3f} MP/s){blocks}."
    )
