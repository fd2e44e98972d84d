"""``terrasynth convert ...``: released weights into terrasynth model folders."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import Field

from terrasynth.core.choices import ReleasedMask
from terrasynth.core.config import Config
from terrasynth.workflows.commands.settings_options import Flag, settings_command

convert_app = typer.Typer(
    help="Convert released weights into terrasynth model folders.", no_args_is_help=True
)


class Changen2Conversion(Config):
    """The released RS-DiT weights ``convert changen2`` reads, and the model folder it writes."""

    weights: Annotated[Path, Flag(exists=True, dir_okay=False)] = Field(
        description="the released RS-DiT file"
    )
    autoencoder: Annotated[Path, Flag(exists=True, file_okay=False)] = Field(
        description="local folder of Stable Diffusion's VAE (diffusers AutoencoderKL, safetensors)"
    )
    mask: ReleasedMask = Field(
        description="the masks the weights were trained on: xview2 buildings or oem classes"
    )
    out: Path = Field(description="the model folder to write (must not exist, or be empty)")
    gsd: float | None = Field(None, ge=0.01, description="metres per pixel of the images (default 0.5)")


@convert_app.command("changen2")
@settings_command(config=False)  # every option but --gsd is required
def changen2(options: Changen2Conversion) -> None:
    """Convert a released Changen2 RS-DiT checkpoint into a model folder for terrasynth synthesize."""
    from rich.console import Console

    from terrasynth.workflows.convert_changen2 import convert_changen2

    o = options
    done = convert_changen2(o.weights, o.autoencoder, o.mask, o.out, gsd=o.gsd)
    Console().print(
        f"Converted RS-DiT {done.architecture} ({done.parameters / 1e6:.1f}M parameters, {done.mask} masks) "
        f"from the {done.weights!r} weights of {o.weights}; the model is in {done.path}"
    )
