"""The settings of every trainer: pydantic models validated from a YAML/TOML file
(``--config``, :func:`terrasynth.core.config.load_config`) and command-line options alike, and
echoed into the run's ``training.json``.

:class:`ScaleSettings` says where a run trains (Lightning's accelerator, devices per node, number
of nodes and strategy). Each of the ``num_nodes`` machines runs ``devices`` processes (one per
GPU); start the same command on every node with Lightning's environment (``MASTER_ADDR``,
``MASTER_PORT``, ``NODE_RANK``), under SLURM, or with ``torchrun``. Only the first process writes
the run folder's files. :class:`DiffusionTraining` adds what the diffusion trainers share;
:class:`MetaEarthTraining`, :class:`Changen2Training` and :class:`TrainSettings` (the change
detector) are the three trainers' settings.

This module imports neither torch nor Lightning (the CLI reads it at start-up).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator, model_validator

from terrasynth.core.choices import MetaEarthPreset, RSDiTPreset, TrainingMask
from terrasynth.core.config import Config, Precision
from terrasynth.core.errors import ConfigError

if TYPE_CHECKING:
    from terrasynth.models.changen2 import MaskEncoding
    from terrasynth.models.diffusion import NoiseSchedule

SHARDED = ("fsdp", "deepspeed")
"""Prefixes of Lightning's strategies that shard the weights across processes."""


def refuse_sharding(strategy: str, why: str) -> None:
    """Refuse a sharded ``strategy`` in one line ending with ``why`` the weights must stay whole."""
    if strategy.startswith(SHARDED):
        raise ValueError(f"strategy {strategy!r} shards the weights across processes, and {why}")


Accelerator = Literal["auto", "cpu", "gpu", "cuda", "mps", "tpu"]
"""Lightning's accelerators by name."""


class ScaleSettings(Config):
    """The processes a run trains on (Lightning ``Trainer`` arguments of the same names)."""

    accelerator: Accelerator = Field("auto", description="Lightning's accelerator")
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


class DiffusionTraining(ScaleSettings):
    """Settings shared by every diffusion training run."""

    schedule: Literal["linear", "scaled_linear"] = "scaled_linear"
    beta_start: float = Field(
        0.0015,
        gt=0,
        lt=1,
        description="the first step's beta (MetaEarth: 0.0015; DDPM: 1e-4): the least noise the model is "
        "trained on has std sqrt(beta_start), in the model's [-1, 1] units",
    )
    beta_end: float = Field(
        0.0155, gt=0, lt=1, description="the last step's beta (MetaEarth: 0.0155; DDPM: 0.02)"
    )
    reflectance_range: tuple[float, float] | Literal["per-band"] = Field(
        "per-band",
        description="reflectance mapped onto the model's [-1, 1]: (low, high) for every band, or "
        "'per-band': each band's 0.5 and 99.5 % quantiles over the training samples",
    )
    max_epochs: int = Field(30, ge=1, description="epochs to train (a rerun may raise it to extend the run)")
    steps_per_epoch: int | None = Field(None, ge=1, description="optimizer steps per epoch; default one pass")
    batch_size: int = Field(8, ge=1, description="training samples per step and device")
    accumulate: int = Field(1, ge=1, description="batches per optimizer step")
    learning_rate: float = Field(1e-4, gt=0, description="AdamW learning rate")
    weight_decay: float = Field(0.01, ge=0)
    prediction: Literal["epsilon", "sample", "v_prediction"] = Field(
        "epsilon",
        description="what the model predicts: the noise (MetaEarth, Changen2), the clean image or the velocity",
    )
    p2_k: float = Field(1.0, gt=0)
    p2_gamma: float = Field(1.0, ge=0)
    snr_gamma: float | None = Field(
        None, gt=0, description="Min-SNR-gamma loss weighting (e.g. 5) instead of P2; None: P2"
    )
    ema_decay: float = Field(0.999, gt=0, lt=1)
    seed: int = Field(0, description="seed of the weights, the data order and every other draw")
    sample_every_n_epochs: int = Field(1, ge=1)
    sample_steps: int = Field(25, ge=1, description="DDIM steps of the quick-look samples drawn every epoch")
    samples: int = Field(4, ge=1)
    rgb_bands: tuple[int, int, int] = Field((2, 1, 0), description="bands shown as red, green, blue")
    num_workers: int = Field(0, ge=0)
    precision: Precision | None = Field(
        None, description="Lightning precision; default bf16-mixed on GPUs, else 32-true"
    )

    @model_validator(mode="after")
    def _rising_betas(self) -> DiffusionTraining:
        if not self.beta_start < self.beta_end:
            raise ValueError(f"beta_start ({self.beta_start}) must be below beta_end ({self.beta_end})")
        return self

    def noise_schedule(self) -> NoiseSchedule:
        """The forward process these settings train."""
        from terrasynth.models.diffusion import NoiseSchedule

        return NoiseSchedule(self.schedule, self.beta_start, self.beta_end, prediction_type=self.prediction)

    @field_validator("strategy")
    @classmethod
    def _whole_weights(cls, strategy: str) -> str:
        refuse_sharding(strategy, "the EMA weights (Lightning's WeightAveraging) need them whole: use ddp")
        return strategy


class MetaEarthTraining(DiffusionTraining):
    """Settings of one MetaEarth stage's training run (echoed into ``training.json``)."""

    preset: MetaEarthPreset = Field("tiny", description="model size: tiny (CPU), base or paper")
    first_stage: bool = Field(
        False, description="generate from noise (and land cover), not from the condition"
    )
    landcover: bool | None = Field(
        None, description="feed land cover to the model; default: first stages only"
    )
    landcover_dropout: float = Field(
        0.1, ge=0, le=1, description="share of samples trained without land cover"
    )
    learning_rate: float = Field(
        1e-4, gt=0, description="AdamW learning rate; MetaEarth used 2e-6 for its 600M model"
    )
    residual: bool = Field(
        False,
        description="predict the image minus the bicubic upsampling of its condition (later stages; "
        "not in the paper: a model that outputs zero reproduces bicubic upsampling)",
    )


class Changen2Training(DiffusionTraining):
    """Settings of a Changen2 training run (echoed into ``training.json``)."""

    preset: RSDiTPreset = Field("tiny", description="RS-DiT size: tiny (pixel space, CPU), S, B, L or XL")
    mask: TrainingMask = Field(
        "landcover",
        description="landcover (WorldCover classes), buildings (WorldCover built-up) or pseudo (k-means of the "
        "image)",
    )
    boundary: bool = Field(True, description="append the class-boundary channel to the mask condition")
    pseudo_classes: int = Field(8, ge=2, description="classes of pseudo-masks")
    autoencoder: str | None = Field(
        None, description="local folder of a diffusers AutoencoderKL: train in its latent space"
    )
    p2_gamma: float = Field(0.0, ge=0)
    objective: Literal["simple", "hybrid"] = Field(
        "simple",
        description="simple: the schedule's MSE; hybrid: DiT's schedule, learned variance, MSE + VLB",
    )
    vlb_weight: float = Field(0.001, gt=0, description="lambda of the hybrid objective's VLB term")

    def encoding(self) -> MaskEncoding:
        from terrasynth.models.changen2 import MaskEncoding

        return MaskEncoding.for_kind(self.mask, boundary=self.boundary, pseudo_classes=self.pseudo_classes)

    def noise_schedule(self) -> NoiseSchedule:
        """DiT's schedule for the hybrid objective, else the configured one."""
        from terrasynth.models.diffusion import NoiseSchedule

        if self.objective == "hybrid":
            if self.prediction != "epsilon":
                raise ConfigError(
                    "the hybrid objective trains a noise-predicting model: set prediction: epsilon"
                )
            return NoiseSchedule.dit()
        return super().noise_schedule()


class TrainSettings(ScaleSettings):
    """How to train the change detector (the architecture is the
    :class:`~terrasynth.models.detector.ChangeDetector` config); ``--config FILE`` (YAML or TOML) holds these keys."""

    epochs: int = Field(
        10, ge=1, description="passes over the data set (a rerun may raise it to extend the run)"
    )
    batch_size: int = Field(8, ge=1, description="samples per step (per device)")
    learning_rate: float = Field(1e-4, gt=0, description="AdamW learning rate")
    schedule: Literal["constant", "cosine"] = Field(
        "constant", description="learning rate: constant, or cosine decay to 0 over the run"
    )
    weight_decay: float = Field(1e-4, ge=0, description="AdamW")
    crop_size: int = Field(
        512,
        ge=0,
        description="random crop edge in pixels (0: none; a batch's samples must then match in size)",
    )
    augment: bool = Field(
        True, description="random quarter turns, mirror images and date swaps of training samples"
    )
    dice_weight: float = Field(1.0, ge=0, description="weight of the Dice term next to binary cross-entropy")
    change_balance: float = Field(
        0.0,
        ge=0,
        le=1,
        description="binary cross-entropy weight of changed pixels: ((1 - p) / p) ** change_balance, p the "
        "training set's changed share (0: unweighted, 0.5: its square root, 1: balanced)",
    )
    semantic_weight: float = Field(1.0, ge=0, description="weight of the per-date semantic cross-entropy")
    ema_decay: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="save an exponential moving average of the weights and BatchNorm statistics (decay warmed "
        "up as diffusers' EMAModel does) rather than the last weights; None: the last weights",
    )
    num_workers: int = Field(0, ge=0, description="DataLoader worker processes")
    seed: int = Field(0, description="seeds weights, shuffling and crops")
    precision: Precision = Field("32-true", description="Lightning's numeric precision")

    @model_validator(mode="after")
    def _whole_weights_for_the_average(self) -> TrainSettings:
        if self.ema_decay is not None:
            refuse_sharding(
                self.strategy,
                "ema_decay (Lightning's WeightAveraging) needs them whole: use ddp, or leave ema_decay out",
            )
        return self
