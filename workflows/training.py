"""What every diffusion training run shares: settings, data order, the Lightning trainer, the run
folder and its final weights.

A run folder holds::

    training.json   the validated settings and what the data implied (echoed for provenance)
    checkpoints/    last.ckpt: the full training state, to resume exactly
    samples/        PNG quick-looks drawn with the EMA weights every few epochs
    logs/           TensorBoard logs (losses, sample images)
    model/          the final EMA weights: a model folder (the model's ``save_pretrained``)

Resuming is exact at epoch boundaries: data order, noise and timesteps are all drawn from
generators seeded by (seed, epoch, batch), and checkpoints are written at the end of every epoch.

On several devices or nodes (:class:`~terrasynth.workflows.training_scale.ScaleSettings`), each
process trains on its own share of every epoch (:class:`EpochSampler`), and only the first writes
the run folder. Validation, which draws the quick-look samples, runs on the first process only:
the others step through the same batch without drawing, so that every process makes the same
calls into the strategy's wrapped model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import lightning as L
import numpy as np
import torch
from PIL import Image
from pydantic import Field, field_validator
from torch.utils.data import DataLoader, Dataset, Sampler, Subset

from terrasynth.core.config import Precision
from terrasynth.core.errors import ConfigError
from terrasynth.core.outputs import atomic_path
from terrasynth.core.seeds import key_seed
from terrasynth.models.diffusion import ReflectanceScaling
from terrasynth.workflows.run_folder import RunCheckpointIO, fit_run
from terrasynth.workflows.training_scale import SHARDED, ScaleSettings

LAST_CHECKPOINT = Path("checkpoints", "last.ckpt")
"""The run's training state, relative to its folder."""


class TrainingSettings(ScaleSettings):
    """Settings shared by every diffusion training run."""

    schedule: Literal["linear", "scaled_linear"] = "scaled_linear"
    reflectance_range: tuple[float, float] | Literal["per-band"] = Field(
        "per-band",
        description="reflectance mapped onto the model's [-1, 1]: (low, high) for every band, or "
        "'per-band': each band's 0.5 and 99.5 % quantiles over the training samples",
    )
    max_epochs: int = Field(30, ge=1)
    steps_per_epoch: int | None = Field(None, ge=1, description="optimizer steps per epoch; default one pass")
    batch_size: int = Field(8, ge=1)
    accumulate: int = Field(1, ge=1, description="batches per optimizer step")
    learning_rate: float = Field(1e-4, gt=0, description="AdamW")
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
    seed: int = 0
    sample_every_n_epochs: int = Field(1, ge=1)
    sample_steps: int = Field(25, ge=1)
    samples: int = Field(4, ge=1)
    rgb_bands: tuple[int, int, int] = Field((2, 1, 0), description="bands shown as red, green, blue")
    num_workers: int = Field(0, ge=0)
    precision: Precision | None = Field(
        None, description="Lightning precision; default bf16-mixed on GPUs, else 32-true"
    )

    @field_validator("strategy")
    @classmethod
    def _whole_weights(cls, strategy: str) -> str:
        if strategy.startswith(SHARDED):
            raise ValueError(
                f"strategy {strategy!r} shards the weights across processes, and the EMA weights "
                "(Lightning's WeightAveraging) need them whole: use ddp"
            )
        return strategy


def model_scaling(settings: TrainingSettings, dataset: Dataset, samples: int = 64) -> ReflectanceScaling:
    """The run's model space: ``settings.reflectance_range``, fitted per band on the ``image`` of up
    to ``samples`` samples spread evenly over ``dataset`` when it is ``"per-band"``. Pixels a
    sample marks not ``valid`` (gaps, outside the area) are left out of the fit."""
    if settings.reflectance_range != "per-band":
        return ReflectanceScaling(*settings.reflectance_range)
    picks = np.unique(np.linspace(0, len(dataset) - 1, min(samples, len(dataset))).round().astype(int))
    images = np.stack([_observed(dataset[int(i)]) for i in picks])
    return ReflectanceScaling.fit(images)


def _observed(sample: dict) -> np.ndarray:
    """The sample's image (C, H, W) float32, NaN where the sample has ``valid`` False."""
    image = np.asarray(sample["image"], dtype=np.float32).copy()
    if "valid" in sample:
        image[:, ~np.asarray(sample["valid"], dtype=bool)] = np.nan
    return image


def warmup_ema(decay: float):
    """An exponential moving average whose decay warms up as diffusers' ``EMAModel`` does:
    ``min(decay, (1 + n) / (10 + n))`` after ``n`` updates, so the average of a short run is not
    dominated by the initial weights (0.999 ** 60 would keep 94 % of them). Lightning's
    ``EMAWeightAveraging`` has no warm-up; its ``WeightAveraging`` takes this as ``avg_fn``."""

    def average(averaged: torch.Tensor, current: torch.Tensor, num_averaged: torch.Tensor) -> torch.Tensor:
        updates = float(num_averaged)
        weight = min(decay, (1.0 + updates) / (10.0 + updates))
        return weight * averaged + (1.0 - weight) * current

    return average


class KeyedRandomness:
    """Mixin for a LightningModule with ``settings.seed``: generators that depend only on
    (seed, rank, key), so a resumed run draws what the first would have."""

    def keyed_generator(self, *key) -> torch.Generator:
        return torch.Generator(self.device).manual_seed(key_seed(self.settings.seed, self.global_rank, *key))


class EpochSampler(Sampler[int]):
    """One rank's share of an epoch: a permutation seeded by (seed, epoch), repeated to fill it.

    Seeding by epoch (not a running generator) makes the order of a resumed run the same as an
    uninterrupted one's; Lightning calls :meth:`set_epoch`.
    """

    def __init__(self, size: int, length: int, seed: int, rank: int, world_size: int):
        self.size, self.length, self.seed, self.rank, self.world_size = size, length, seed, rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        total = self.length * self.world_size
        order = torch.cat(
            [torch.randperm(self.size, generator=generator) for _ in range(math.ceil(total / self.size))]
        )
        return iter(order[:total][self.rank :: self.world_size].tolist())

    def __len__(self) -> int:
        return self.length


class TrainingData(L.LightningDataModule):
    """A map-style dataset served in :class:`EpochSampler` order, and its first samples for quick-looks."""

    def __init__(
        self, dataset: Dataset, settings: TrainingSettings, collate: Callable[[Sequence[dict]], dict]
    ):
        super().__init__()
        self.dataset, self.settings, self.collate = dataset, settings, collate

    def train_dataloader(self) -> DataLoader:
        s, trainer = self.settings, self.trainer
        per_rank = s.batch_size * s.accumulate * (s.steps_per_epoch or 0)
        if not per_rank:  # one pass over the data per epoch
            per_rank = len(self.dataset) // (s.batch_size * trainer.world_size) * s.batch_size
        if not per_rank:
            raise ConfigError(
                f"{len(self.dataset)} samples do not fill one batch of {s.batch_size} on each of "
                f"{trainer.world_size} devices: lower batch_size or set steps_per_epoch"
            )
        sampler = EpochSampler(len(self.dataset), per_rank, s.seed, trainer.global_rank, trainer.world_size)
        return DataLoader(
            self.dataset, s.batch_size, sampler=sampler, num_workers=s.num_workers, drop_last=True,
            collate_fn=self.collate, persistent_workers=s.num_workers > 0,
        )  # fmt: skip

    def val_dataloader(self) -> DataLoader:
        shown = Subset(self.dataset, range(min(self.settings.samples, len(self.dataset))))
        return DataLoader(shown, self.settings.samples, collate_fn=self.collate)


def stack_keys(samples: Sequence[dict], keys: Sequence[str]) -> dict:
    """The tensors under ``keys`` stacked across ``samples``; other keys (torchgeo's ``crs``/``bounds``) are dropped."""
    return {k: torch.stack([torch.as_tensor(s[k]) for s in samples]) for k in keys if k in samples[0]}


def fit(
    module: L.LightningModule,
    data: TrainingData,
    out_dir: Path,
    settings: TrainingSettings,
    resume: Path | None,
    callbacks: Sequence[L.Callback] = (),
) -> L.Trainer:
    """Train ``module`` with EMA weights where ``settings`` say (by default on every GPU found, DDP
    with more than one, bf16 mixed precision; else the CPU), checkpointing every epoch into
    ``out_dir/checkpoints/last.ckpt``, and resuming from ``resume`` (see
    :func:`~terrasynth.workflows.run_folder.start_run`) unless it is None.

    When it returns, the module holds the EMA weights (in every process).
    """
    gpu = settings.accelerator in ("gpu", "cuda") or (
        settings.accelerator == "auto" and torch.cuda.is_available()
    )
    trainer = L.Trainer(
        default_root_dir=out_dir,
        max_epochs=settings.max_epochs,
        **settings.trainer_options(),
        precision=settings.precision or ("bf16-mixed" if gpu else "32-true"),
        accumulate_grad_batches=settings.accumulate,
        use_distributed_sampler=False,  # EpochSampler splits the data across ranks itself
        check_val_every_n_epoch=settings.sample_every_n_epochs,
        num_sanity_val_steps=0,
        log_every_n_steps=1,
        logger=L.pytorch.loggers.TensorBoardLogger(out_dir, name="logs", version=""),
        plugins=[RunCheckpointIO()],
        callbacks=[
            L.pytorch.callbacks.WeightAveraging(avg_fn=warmup_ema(settings.ema_decay), use_buffers=False),
            L.pytorch.callbacks.ModelCheckpoint(  # overwritten at the end of every epoch
                dirpath=out_dir / LAST_CHECKPOINT.parent,
                filename=LAST_CHECKPOINT.stem,
                enable_version_counter=False,
                save_on_train_epoch_end=True,
            ),
            L.pytorch.callbacks.RichProgressBar(),
            *callbacks,
        ],
    )
    fit_run(trainer, module, resume, datamodule=data)
    return trainer


def export_model(trainer: L.Trainer, out_dir: Path, save: Callable[[Path], object]) -> Path:
    """``save(folder)`` into ``out_dir/.model.partial``, renamed to ``out_dir/model`` once written
    (on the first rank only); returns ``out_dir/model``."""
    model_dir = out_dir / "model"
    if trainer.is_global_zero:
        with atomic_path(model_dir) as partial:
            save(partial)
    return model_dir


def save_quicklook(module: L.LightningModule, picture: np.ndarray, batch_idx: int) -> None:
    """Write an RGB quick-look to ``samples/`` of the run folder and to TensorBoard (called by
    the first process only, see the module docstring)."""
    path = module.out_dir / "samples" / f"epoch{module.current_epoch:04d}_batch{batch_idx}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(picture).save(path)
    if isinstance(module.logger, L.pytorch.loggers.TensorBoardLogger):
        module.logger.experiment.add_image(
            f"samples/{batch_idx}", picture, module.global_step, dataformats="HWC"
        )


def quicklook(columns: Sequence[torch.Tensor], rgb_bands: Sequence[int]) -> np.ndarray:
    """A uint8 RGB grid: one row per sample, one column per batch of reflectance (each upsampled to the largest)."""
    size = max(c.shape[-1] for c in columns)
    tiles = []
    for column in columns:
        bands = [b if b < column.shape[1] else 0 for b in rgb_bands]
        picture = torch.nn.functional.interpolate(column[:, bands].float(), size=(size, size), mode="nearest")
        tiles.append(picture)
    grid = torch.cat([torch.cat(list(t), dim=-2) for t in tiles], dim=-1)  # (3, rows * size, columns * size)
    stretched = (grid / 0.3).clamp(0, 1) * 255  # reflectance 0-0.3 spans the display range
    return stretched.round().byte().permute(1, 2, 0).cpu().numpy()
