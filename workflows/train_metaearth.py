"""Train one stage of the MetaEarth cascade with Lightning, from any dataset of cascade samples.

A cascade sample is a dict (the contract with ``terrasynth.datasets``): ``image`` float32
(C, H, W) high-resolution reflectance, ``condition`` float32 (C, h, w) low-resolution reflectance
of the same footprint, ``gsd`` and ``condition_gsd`` float32 scalars (metres per pixel),
``landcover`` int64 (H, W) WorldCover codes, ``valid`` bool (H, W); other keys are ignored.

An output folder holds everything about one run::

    training.json   the validated settings and the stage (resolutions, bands)
    checkpoints/    last.ckpt: the full training state, to resume exactly
    samples/        PNG quick-looks drawn with the EMA weights every few epochs
    logs/           TensorBoard logs (losses, sample images)
    model/          the final EMA weights: diffusion_pytorch_model.safetensors + config.json

Resuming is exact at epoch boundaries: data order, noise and timesteps are all drawn from
generators seeded by (seed, epoch, batch), and checkpoints are written at the end of every epoch.
Set ``steps_per_epoch`` to checkpoint more often on a large dataset.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import lightning as L
import numpy as np
import torch
from PIL import Image
from pydantic import Field
from torch.utils.data import DataLoader, Dataset, Sampler, Subset

from terrasynth.core.config import Config
from terrasynth.core.errors import ConfigError
from terrasynth.core.landcover import WORLDCOVER
from terrasynth.models.diffusion import DiffusionSampler, NoiseSchedule, ReflectanceScaling, epsilon_loss
from terrasynth.models.metaearth import PRESETS, MetaEarthDenoiser, build_denoiser, key_seed


class MetaEarthTraining(Config):
    """Settings of one stage's training run (echoed into ``training.json``)."""

    preset: Literal["tiny", "base", "paper"] = "tiny"
    first_stage: bool = Field(
        False, description="generate from noise (and land cover), not from the condition"
    )
    landcover: bool | None = Field(
        None, description="feed land cover to the model; default: first stages only"
    )
    landcover_dropout: float = Field(
        0.1, ge=0, le=1, description="share of samples trained without land cover"
    )
    schedule: Literal["linear", "scaled_linear"] = "scaled_linear"
    reflectance_range: tuple[float, float] = (0.0, 1.0)
    max_epochs: int = Field(30, ge=1)
    steps_per_epoch: int | None = Field(None, ge=1, description="optimizer steps per epoch; default one pass")
    batch_size: int = Field(8, ge=1)
    accumulate: int = Field(1, ge=1, description="batches per optimizer step")
    learning_rate: float = Field(1e-4, gt=0, description="AdamW; MetaEarth used 2e-6 for its 600M model")
    weight_decay: float = Field(0.01, ge=0)
    p2_k: float = Field(1.0, gt=0)
    p2_gamma: float = Field(1.0, ge=0)
    ema_decay: float = Field(0.999, gt=0, lt=1)
    seed: int = 0
    sample_every_n_epochs: int = Field(1, ge=1)
    sample_steps: int = Field(25, ge=1)
    samples: int = Field(4, ge=1)
    rgb_bands: tuple[int, int, int] = Field((2, 1, 0), description="bands shown as red, green, blue")
    num_workers: int = Field(0, ge=0)
    precision: str | None = Field(
        None, description="Lightning precision; default bf16-mixed on GPUs, else 32"
    )
    devices: int | str = "auto"


class MetaEarthModule(L.LightningModule):
    """One stage's denoiser with its training objective and periodic samples."""

    def __init__(self, denoiser: MetaEarthDenoiser, settings: MetaEarthTraining, out_dir: Path):
        super().__init__()
        self.denoiser, self.settings, self.out_dir = denoiser, settings, out_dir

    def _conditions(self, batch: dict, landcover_dropout: torch.Generator | None = None) -> dict:
        """The denoiser's conditions; land cover is dropped from random samples when given a generator."""
        scaling, model = self.denoiser.scaling, self.denoiser
        conditions = {"gsd": batch["gsd"]}
        if model.conditioned:
            conditions |= {
                "condition": scaling.to_model(batch["condition"]),
                "condition_gsd": batch["condition_gsd"],
            }
        if model.uses_landcover:
            landcover = batch["landcover"]
            if landcover_dropout is not None:
                keep = torch.rand(landcover.shape[0], device=landcover.device, generator=landcover_dropout)
                landcover = landcover * (keep >= self.settings.landcover_dropout).view(-1, 1, 1)
            conditions["landcover"] = landcover
        return conditions

    def _generator(self, *key) -> torch.Generator:
        """Randomness that depends only on (seed, rank, key), so a resumed run draws what the first would have."""
        return torch.Generator(self.device).manual_seed(key_seed(self.settings.seed, self.global_rank, *key))

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        generator = self._generator("train", self.current_epoch, batch_idx)
        loss = epsilon_loss(
            self.denoiser,
            self.denoiser.scaling.to_model(batch["image"]),
            self.denoiser.schedule,
            valid=batch.get("valid"),
            p2_k=self.settings.p2_k,
            p2_gamma=self.settings.p2_gamma,
            generator=generator,
            **self._conditions(batch, generator),
        )
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        """Samples drawn with the EMA weights (the averaging callback swaps them in for validation)."""
        generator = self._generator("samples", batch_idx)
        image = batch["image"]
        conditions = self._conditions(batch)
        sampler = DiffusionSampler(self.denoiser.schedule, self.settings.sample_steps)
        noise = torch.randn(image.shape, device=image.device, generator=generator)
        samples = self.denoiser.scaling.to_reflectance(
            sampler.sample(self.denoiser, noise, generator=generator, **conditions)
        )
        columns = [batch["condition"]] if self.denoiser.conditioned else []
        picture = _quicklook([*columns, samples, image], self.settings.rgb_bands)
        path = self.out_dir / "samples" / f"epoch{self.current_epoch:04d}_batch{batch_idx}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(picture).save(path)
        if isinstance(self.logger, L.pytorch.loggers.TensorBoardLogger):
            self.logger.experiment.add_image(
                f"samples/{batch_idx}", picture, self.global_step, dataformats="HWC"
            )

    def configure_optimizers(self):
        return torch.optim.AdamW(
            self.denoiser.parameters(),
            lr=self.settings.learning_rate,
            weight_decay=self.settings.weight_decay,
        )


class _EpochSampler(Sampler[int]):
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


class _CascadeData(L.LightningDataModule):
    def __init__(self, dataset: Dataset, settings: MetaEarthTraining):
        super().__init__()
        self.dataset, self.settings = dataset, settings

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
        sampler = _EpochSampler(len(self.dataset), per_rank, s.seed, trainer.global_rank, trainer.world_size)
        return DataLoader(
            self.dataset, s.batch_size, sampler=sampler, num_workers=s.num_workers, drop_last=True,
            collate_fn=_collate, persistent_workers=s.num_workers > 0,
        )  # fmt: skip

    def val_dataloader(self) -> DataLoader:
        shown = Subset(self.dataset, range(min(self.settings.samples, len(self.dataset))))
        return DataLoader(shown, self.settings.samples, collate_fn=_collate)


def _collate(samples: Sequence[dict]) -> dict:
    """Stacks the tensors of cascade samples; torchgeo's ``crs``/``bounds`` and other keys are dropped."""
    keys = ("image", "condition", "gsd", "condition_gsd", "landcover", "valid")
    return {k: torch.stack([torch.as_tensor(s[k]) for s in samples]) for k in keys if k in samples[0]}


def train_metaearth(
    dataset: Dataset,
    out_dir: str | Path,
    settings: MetaEarthTraining | None = None,
    *,
    callbacks: Sequence[L.Callback] = (),
    **overrides,
) -> Path:
    """Trains one stage of the cascade and returns the folder of its final (EMA) weights.

    Runs on every GPU it finds (DDP with more than one, bf16 mixed precision), else on the CPU.
    Resumes from ``out_dir/checkpoints/last.ckpt`` when a run with the same settings stopped.

    Args:
        dataset: a map-style dataset of cascade samples (see the module docstring).
        out_dir: the run's folder.
        settings: the run's settings; ``overrides`` replace single fields.
        callbacks: extra Lightning callbacks.

    Returns:
        ``out_dir/model``, loadable with ``MetaEarthDenoiser.from_pretrained(path, use_safetensors=True)``.
    """
    settings = MetaEarthTraining.model_validate({**(settings.echo() if settings else {}), **overrides})
    out_dir = Path(out_dir)
    stage = _describe_stage(dataset, settings)
    record = {"settings": settings.echo(), "stage": stage}
    record_path = out_dir / "training.json"
    if record_path.exists() and json.loads(record_path.read_text()) != record:
        raise ConfigError(
            f"{out_dir} holds a run with other settings or data: use another folder to start afresh"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    record_path.write_text(json.dumps(record, indent=2))

    torch.manual_seed(settings.seed)  # the initial weights
    module = MetaEarthModule(build_denoiser(settings.preset, **stage), settings, out_dir)
    gpus = torch.cuda.device_count()
    trainer = L.Trainer(
        default_root_dir=out_dir,
        max_epochs=settings.max_epochs,
        accelerator="gpu" if gpus else "cpu",
        devices=settings.devices,
        strategy="ddp" if gpus > 1 else "auto",
        precision=settings.precision or ("bf16-mixed" if gpus else "32-true"),
        accumulate_grad_batches=settings.accumulate,
        use_distributed_sampler=False,  # _EpochSampler splits the data across ranks itself
        check_val_every_n_epoch=settings.sample_every_n_epochs,
        num_sanity_val_steps=0,
        log_every_n_steps=1,
        logger=L.pytorch.loggers.TensorBoardLogger(out_dir, name="logs", version=""),
        callbacks=[
            L.pytorch.callbacks.EMAWeightAveraging(decay=settings.ema_decay, use_buffers=False),
            L.pytorch.callbacks.ModelCheckpoint(  # overwritten at the end of every epoch
                dirpath=out_dir / "checkpoints",
                filename="last",
                enable_version_counter=False,
                save_on_train_epoch_end=True,
            ),
            L.pytorch.callbacks.RichProgressBar(),
            *callbacks,
        ],
    )
    last = out_dir / "checkpoints" / "last.ckpt"
    # weights_only: the checkpoint is read with torch's safe unpickler (tensors and plain containers)
    trainer.fit(
        module,
        datamodule=_CascadeData(dataset, settings),
        ckpt_path=last if last.exists() else None,
        weights_only=True,
    )
    model_dir = out_dir / "model"
    if trainer.is_global_zero:  # the EMA weights, copied into the module when training ended
        partial = out_dir / "model.partial"
        shutil.rmtree(partial, ignore_errors=True)
        module.denoiser.save_pretrained(partial, safe_serialization=True)
        shutil.rmtree(model_dir, ignore_errors=True)
        partial.rename(model_dir)
    return model_dir


def corpus_stage(
    corpus: str | Path,
    level: str,
    *,
    first_stage: bool | None = None,
    condition: Literal["coarser", "degraded"] = "coarser",
    condition_level: str | None = None,
    chip: int = 64,
    min_valid_fraction: float = 0.5,
) -> tuple[Dataset, bool]:
    """The training tiles of one stage: every ``chip``-pixel tile of ``level`` in every region.

    Tiles come from torchgeo's grid sampler over each region (in its own UTM CRS), fixed once so
    that epochs resume exactly. The first stage (default: when ``level`` is the corpus' coarsest)
    reads the level alone; later stages read it with its low-resolution condition, from the next
    coarser level or by degradation (see :class:`terrasynth.datasets.CascadePairs`).

    Returns the dataset and whether it is a first stage.
    """
    from terrasynth.core import Level, corpus_levels, open_corpus
    from terrasynth.datasets import (
        CascadePairs,
        CorpusDataset,
        CorpusRegions,
        RegionSampler,
        SampledDataset,
        grid_sampler,
    )

    levels = corpus_levels(open_corpus(corpus))
    target = Level.parse(level)
    if target not in levels:
        raise ConfigError(f"{corpus} has no level {target}; it holds {', '.join(map(str, levels))}")
    if first_stage is None:
        first_stage = target == levels[0]
    options = {"tile_size": chip, "min_valid_fraction": min_valid_fraction}
    if first_stage:
        regions = CorpusRegions.from_corpus(corpus, target, CorpusDataset, **options)
    else:
        options |= {"condition": condition, "condition_level": condition_level}
        regions = CorpusRegions.from_corpus(corpus, target, CascadePairs, **options)
    tiles = RegionSampler(regions, lambda dataset: grid_sampler(dataset, chip, stride=chip))
    return SampledDataset(regions, tiles), first_stage


def _describe_stage(dataset: Dataset, settings: MetaEarthTraining) -> dict:
    """The stage's arguments of :class:`MetaEarthDenoiser`, read from the first sample."""
    if len(dataset) == 0:
        raise ConfigError("the training dataset is empty")
    sample = dataset[0]
    missing = {"image", "gsd"} - set(sample) | (
        {"condition", "condition_gsd"} - set(sample) if not settings.first_stage else set()
    )
    if missing:
        raise ConfigError(
            f"cascade samples need {', '.join(sorted(missing))}: see terrasynth.workflows.train_metaearth"
        )
    image = torch.as_tensor(sample["image"])
    landcover = settings.first_stage if settings.landcover is None else settings.landcover
    if landcover and "landcover" not in sample:
        raise ConfigError("land cover was asked for but the samples hold no 'landcover'")
    size_multiple = 2 ** (len(PRESETS[settings.preset]["block_out_channels"]) - 1)
    if image.shape[-1] != image.shape[-2] or image.shape[-1] % max(size_multiple, 4):
        raise ConfigError(
            f"training tiles must be square with sides a multiple of {max(size_multiple, 4)} px, got {tuple(image.shape[-2:])}"
        )
    return {
        "channels": int(image.shape[0]),
        "gsd": float(sample["gsd"]),
        "condition_gsd": None if settings.first_stage else float(sample["condition_gsd"]),
        "landcover_codes": WORLDCOVER.codes if landcover else None,
        "window": int(image.shape[-1]),
        "schedule": NoiseSchedule(settings.schedule).to_dict(),
        "scaling": ReflectanceScaling(*settings.reflectance_range).to_dict(),
    }


def _quicklook(columns: Sequence[torch.Tensor], rgb_bands: Sequence[int]) -> np.ndarray:
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
