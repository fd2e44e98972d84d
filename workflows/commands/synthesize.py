"""``terrasynth synthesize``: a thin shell over :func:`terrasynth.workflows.synthesize.synthesize`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from terrasynth.core.choices import ChangeLabel, Pairing, SynthesisLayout
from terrasynth.core.config import Config
from terrasynth.workflows.commands.options import (
    Compute,
)
from terrasynth.workflows.commands.settings_options import Flag, settings_command


class SynthesizeOptions(Config):
    """What ``terrasynth synthesize`` draws: the model, its sources, and the pairs or series it writes."""

    checkpoint: Annotated[Path, Flag(exists=True)] = Field(
        description="the model folder (a training run's RUN/model)"
    )
    source: Annotated[Path, Flag("--from", exists=True)] = Field(
        description="a corpus (Zarr store), a folder of images (PNG, JPEG, GeoTIFF), or of xView2 / OpenEarthMap "
        "images with their masks (for converted released models)"
    )
    out: Path = Field(description="the folder to write (must not exist, or be empty)")
    pairs: int = Field(16, description="change pairs to write")
    length: int = Field(2, description="dates per simulated series (the first is the source)")
    layout: SynthesisLayout = Field(
        "levir-cd",
        description="the layout: levir-cd (PNG pairs), second (semantic PNG pairs) or series (Zarr)",
    )
    size: int | None = Field(None, description="image side in pixels (default: the model's training tile)")
    seed: int = Field(0, description="seed of tiles, change events and noise")
    steps: int = Field(
        50, description="steps per date (DDIM; ancestral for learned-variance models, DiT: 250)"
    )
    margin: int = Field(1, description="pixels around each change redrawn with it")
    level: str | None = Field(None, description="corpus level (default: the model's resolution)")
    pairing: Pairing = Field(
        "consecutive", description="pairs of consecutive dates, or first-last of each series"
    )
    change: ChangeLabel = Field(
        "any", description="LEVIR-CD pairs: any class change, or buildings only (built and demolished)"
    )
    batch_size: int = Field(4, description="series drawn together (with --scheduler: one shard)")
    gsd: float | None = Field(
        None, ge=0.01, description="metres per pixel of the sources (default: the model's)"
    )
    exact_carry_over: bool = Field(
        False,
        description="keep unchanged areas bit-identical between dates (default: each date gets its own "
        "illumination, noise and sub-pixel registration, as real acquisitions do)",
    )
    buildings_only: bool = Field(
        False,
        description="with --change buildings: nothing but buildings changes (default: the rest of the land "
        "cover changes too, unlabelled, as between real acquisitions)",
    )


@settings_command()
def synthesize(
    options: SynthesizeOptions,
    compute: Compute,
) -> None:
    """Synthesize change pairs or series from single-date images with a Changen2 model (GPCM)."""
    from rich.console import Console

    from terrasynth.models.changen2 import DateAppearance
    from terrasynth.workflows.synthesize import synthesize as run

    o = options
    settings = o.model_dump(exclude={"checkpoint", "source", "out", "exact_carry_over", "buildings_only"})
    summary = run(
        o.checkpoint, o.source, o.out, appearance=DateAppearance.none() if o.exact_carry_over else None,
        other_change=not o.buildings_only, **compute.arguments(), **settings,
    )  # fmt: skip
    figures = summary.consistency
    Console().print(
        f"Wrote {summary.pairs} pairs ({summary.series} series of {summary.length} dates, {summary.size} px) "
        f"in the {summary.layout} layout to {summary.path} in {summary.seconds:.1f} s "
        f"({summary.pairs_per_second:.2f} pairs/s). Between dates, unchanged pixels differ by "
        f"{figures['unchanged']:.4f} on average and changed ones by {figures['changed']:.4f} "
        f"(ratio {figures['ratio']:.3f})."
    )
