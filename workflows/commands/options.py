"""The options several ``terrasynth`` commands share, each declared once as an ``Annotated`` alias
(the command gives the default at its parameter) or a settings model (:class:`Compute`), so that
one concept has one name and one help.

An option whose meaning differs between commands (``--out``, ``--seed``, ``--gsd``, ``--steps``...)
stays declared in its command, where its help says what it means there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import Field

from terrasynth.core.choices import ChangeDataset
from terrasynth.core.config import Config
from terrasynth.workflows.devices import DEVICE_HELP

OverwriteOption = Annotated[
    bool,
    typer.Option("--overwrite", help="Replace an existing --out, with what an earlier run wrote beside it."),
]
"""Of the commands that refuse to write over an earlier output."""

RestartOption = Annotated[
    bool,
    typer.Option(
        "--overwrite", help="Start over, removing what an earlier run left in --out (else it is resumed)."
    ),
]
"""Of the commands that resume an earlier run at ``--out`` (ingest and the trainers)."""

InceptionOption = Annotated[
    Path | None,
    typer.Option(
        "--inception",
        help="Local pt_inception-2015-12-05-6726825d.pth for FID/KID (else SWD and seams only).",
    ),
]


class Compute(Config):
    """Where an inference command's work runs: the torch device, and optionally Dask pieces."""

    device: str | None = Field(None, description=DEVICE_HELP)
    scheduler: str | None = Field(
        None,
        description="Work in pieces, resumably (rerun to resume): 'local' (a Dask cluster on this machine), "
        "'threads' (this process) or a Dask scheduler address such as tcp://host:8786. Default: one process.",
    )
    resources: str | None = Field(
        None, description="Dask worker resources each piece of --scheduler work needs, e.g. GPU=1."
    )

    def arguments(self) -> dict:
        """The pipeline's keyword arguments ``device``, ``scheduler`` and ``resources`` (parsed)."""
        return {
            "device": self.device,
            "scheduler": self.scheduler,
            "resources": parse_resources(self.resources),
        }


def parse_resources(text: str | None) -> dict[str, float] | None:
    """Dask worker resources from ``--resources "GPU=1,MEMORY=8e9"``."""
    from terrasynth.core.errors import ConfigError

    if not text:
        return None
    try:
        return {name.strip(): float(amount) for name, amount in (item.split("=") for item in text.split(","))}
    except ValueError:
        raise ConfigError(f"--resources {text!r} must be NAME=AMOUNT pairs, e.g. GPU=1") from None


ChangeDatasetOption = Annotated[
    ChangeDataset, typer.Option("--dataset", help="Layout of the change data set.")
]
ChangeRootOption = Annotated[
    Path, typer.Option("--root", help="The data set's folder (holding train/, test/, ...).")
]

RunFolderOption = Annotated[
    Path,
    typer.Option(
        "--out",
        help="Run folder: checkpoints/last.ckpt, then the model folder model/ (rerun the same command "
        "to resume).",
    ),
]
"""The trainers' output (:mod:`terrasynth.trainers.run_folder`)."""
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="YAML/TOML file of settings by field name (e.g. batch_size): the options above (a trainer's "
        "settings take more); given options win.",
    ),
]
"""Of the commands made by :func:`~terrasynth.workflows.commands.settings_options.settings_command`."""
