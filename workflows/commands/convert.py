"""``terrasynth convert ...``: released weights into terrasynth model folders."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from terrasynth.core.choices import ReleasedMask

convert_app = typer.Typer(
    help="Convert released weights into terrasynth model folders.", no_args_is_help=True
)


@convert_app.command("changen2")
def changen2(
    weights: Annotated[
        Path, typer.Option("--weights", exists=True, dir_okay=False, help="The released RS-DiT file.")
    ],
    autoencoder: Annotated[
        Path,
        typer.Option(
            "--autoencoder",
            exists=True,
            file_okay=False,
            help="Local folder of Stable Diffusion's VAE (diffusers AutoencoderKL, safetensors).",
        ),
    ],
    mask: Annotated[
        ReleasedMask,
        typer.Option(
            "--mask", help="The masks the weights were trained on: xview2 buildings or oem classes."
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", help="The model folder to write (must not exist, or be empty).")
    ],
    gsd: Annotated[
        float | None,
        typer.Option("--gsd", min=0.01, help="Metres per pixel of the images (default 0.5)."),
    ] = None,
) -> None:
    """Convert a released Changen2 RS-DiT checkpoint into a model folder for terrasynth synthesize."""
    from rich.console import Console

    from terrasynth.workflows.convert_changen2 import convert_changen2

    done = convert_changen2(weights, autoencoder, mask, out, gsd=gsd)
    Console().print(
        f"Converted RS-DiT {done.architecture} ({done.parameters / 1e6:.1f}M parameters, {done.mask} masks) "
        f"from the {done.weights!r} weights of {weights}; the model is in {done.path}"
    )
