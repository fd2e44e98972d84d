"""``terrasynth demo``: a thin shell over :func:`terrasynth.workflows.demo.run_demo`."""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from terrasynth.core.config import Config
from terrasynth.workflows.commands.options import InceptionOption
from terrasynth.workflows.commands.settings_options import settings_command
from terrasynth.workflows.demo import SCALES

if TYPE_CHECKING:  # the choices are SCALES' names, which mypy cannot read
    Scale = str
else:
    Scale = Literal[tuple(SCALES)]


class DemoOptions(Config):
    """Where ``terrasynth demo`` writes, its world and size, and whether it trains its own models."""

    out: Path = Field(Path("demo-out"), description="folder for everything the demo writes")
    seed: int = Field(0, description="the synthetic world and every random draw")
    scale: Scale = Field("small", description="the size: small (~10 min on 2 CPU cores) or medium (GPU)")
    from_scratch: bool = Field(
        False,
        description="train the MetaEarth and Changen2 models in the run instead of using the bundled checkpoints",
    )


@settings_command()
def demo(options: DemoOptions, inception: InceptionOption = None) -> None:
    """Run the whole system on the synthetic world and write a report (no network, no credentials)."""
    from rich.console import Console

    from terrasynth.workflows.demo import run_demo

    console = Console()

    def on_step(name: str, number: int, total: int) -> None:
        console.rule(f"[bold]{number}/{total} {name}")

    with _quiet_lightning():
        run = run_demo(
            options.out, seed=options.seed, scale=options.scale, inception_weights=inception,
            from_scratch=options.from_scratch, on_step=on_step, progress=True,
        )  # fmt: skip
    f1 = run.results["change"]["scores"].sel(metric="f1").squeeze(drop=True)
    console.print(
        f"demo finished in {sum(run.steps.values()):.0f} s: zero-shot F1 {float(f1.sel(model='zero-shot')):.3f}, "
        f"supervised F1 {float(f1.sel(model='supervised')):.3f}; report: {run.report}"
    )


@contextlib.contextmanager
def _quiet_lightning() -> Iterator[None]:
    """Leave out Lightning's start-up notes (accelerators, tips) and its warnings about the demo's
    deliberately tiny runs (no validation loader, fewer batches than a logging interval, a
    deprecation inside Lightning itself), which would bury the steps' progress."""
    import lightning.pytorch  # noqa: F401  (its import sets the level this overrides)

    logger = logging.getLogger("lightning.pytorch")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            for message in (".*no `val_dataloader`", ".*smaller than the logging interval", ".*LeafSpec"):
                warnings.filterwarnings("ignore", message=message)
            yield
    finally:
        logger.setLevel(level)
