"""``terrasynth synthesize``: a thin shell over :func:`terrasynth.workflows.synthesize.synthesize`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from terrasynth.core.choices import ChangeLabel, Pairing, SynthesisLayout
from terrasynth.workflows.commands.options import (
    DeviceOption,
    ResourcesOption,
    SchedulerOption,
    parse_resources,
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
        SynthesisLayout,
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
        Pairing, typer.Option("--pairing", help="Pairs of consecutive dates, or first-last of each series.")
    ] = "consecutive",
    change: Annotated[
        ChangeLabel,
        typer.Option(
            "--change", help="LEVIR-CD pairs: any class change, or buildings only (built and demolished)."
        ),
    ] = "any",
    batch_size: Annotated[
        int, typer.Option("--batch-size", help="Series drawn together (with --scheduler: one shard).")
    ] = 4,
    device: DeviceOption = None,
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
    scheduler: SchedulerOption = None,
    resources: ResourcesOption = None,
) -> None:
    """Synthesize change pairs or series from single-date images with a Changen2 model (GPCM)."""
    from rich.console import Console

    from terrasynth.models.changen2 import DateAppearance
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
