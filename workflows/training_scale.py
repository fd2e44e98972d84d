"""The command-line options of where a training run runs, shared by every ``terrasynth train``
command: those of :class:`~terrasynth.trainers.settings.ScaleSettings` (None: the settings
file's, or the default)."""

from __future__ import annotations

from typing import Annotated

import typer

AcceleratorOption = Annotated[
    str | None, typer.Option("--accelerator", help="Lightning accelerator: auto, cpu, gpu, cuda, mps or tpu.")
]
DevicesOption = Annotated[
    str | None, typer.Option("--devices", help="Devices per node: auto, a count, or a list such as 0,1.")
]
NumNodesOption = Annotated[
    int | None, typer.Option("--num-nodes", min=1, help="Machines, each running --devices processes.")
]
StrategyOption = Annotated[
    str | None,
    typer.Option(
        "--strategy", help="Lightning strategy: auto (DDP on several devices), ddp, ddp_spawn, fsdp..."
    ),
]
"""The command-line options of :class:`ScaleSettings` (None: the settings file's, or the default)."""
