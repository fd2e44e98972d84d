"""Where a training run runs, shared by every trainer: Lightning's accelerator, devices per node,
number of nodes and strategy, from a settings file or the command line alike.

Each of the ``num_nodes`` machines runs ``devices`` processes (one per GPU); start the same
command on every node with Lightning's environment (``MASTER_ADDR``, ``MASTER_PORT``,
``NODE_RANK``), under SLURM, or with ``torchrun``. Only the first process writes the run folder's
files (``training.json``, checkpoints, quick-looks, the exported model).
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field, field_validator

from terrasynth.core.config import Config

SHARDED = ("fsdp", "deepspeed")
"""Prefixes of Lightning's strategies that shard the weights across processes."""


Accelerator = Literal["auto", "cpu", "gpu", "cuda", "mps", "tpu"]
"""Lightning's accelerators by name."""


class ScaleSettings(Config):
    """The processes a run trains on (Lightning ``Trainer`` arguments of the same names)."""

    accelerator: Accelerator = "auto"
    devices: int | str = Field(
        "auto", description="Lightning's: devices per node as a count, 'auto', or a list such as '0,1'"
    )
    num_nodes: int = Field(1, ge=1, description="machines, each running `devices` processes")
    strategy: str = Field(
        "auto",
        description="Lightning's strategy by name: auto (DDP on several devices), ddp, ddp_spawn, fsdp, "
        "deepspeed...",
    )

    @field_validator("devices")
    @classmethod
    def _count(cls, devices: int | str) -> int | str:
        """``"2"`` (from a command line) is the count 2, recorded as such."""
        return int(devices) if isinstance(devices, str) and devices.strip().isdigit() else devices

    @field_validator("strategy")
    @classmethod
    def _known(cls, strategy: str) -> str:
        from lightning.pytorch.strategies import StrategyRegistry

        known = ["auto", *StrategyRegistry.available_strategies()]
        if strategy not in known:
            raise ValueError(f"unknown strategy {strategy!r}: use one of {', '.join(sorted(known))}")
        return strategy

    def trainer_options(self) -> dict:
        """The ``lightning.Trainer`` keyword arguments of these settings."""
        return {
            "accelerator": self.accelerator,
            "devices": self.devices,
            "num_nodes": self.num_nodes,
            "strategy": self.strategy,
        }


def first_process() -> bool:
    """Whether this is the run's first process (global rank 0), also before Lightning has set the
    ranks: processes started by Lightning, ``torchrun`` or SLURM carry their rank in the
    environment, and the first process of a node other than the first its ``NODE_RANK``."""
    from lightning.fabric.utilities.rank_zero import rank_zero_only

    return rank_zero_only.rank == 0 and os.environ.get("NODE_RANK", "0") == "0"
