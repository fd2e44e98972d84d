"""Train a Changen2 mask-conditioned RS-DiT with Lightning, on (image, mask) pairs from a corpus or
any dataset of corpus samples.

A corpus sample is a dict (the contract with ``terrasynth.datasets``): ``image`` float32 (C, H, W)
reflectance, ``landcover`` int64 (H, W) WorldCover codes, ``valid`` bool (H, W). The mask the
model learns to draw from is made of it by the mask kind
(:func:`~terrasynth.workflows.corpus_samples.sample_mask`):

- ``landcover``: the WorldCover codes and building footprints, one channel per class;
- ``buildings``: building footprints (1) on background (0);
- ``pseudo``: k-means pseudo-classes of the image itself (for models meant for unlabelled images).

Each mask is encoded one-hot with a class-boundary channel
(:class:`~terrasynth.models.changen2.MaskEncoding`). The objective is the shared diffusion core's
loss of its prediction (the noise by default, as Changen2's DiT, or the clean image or the velocity:
``prediction``), plain by default (``p2_gamma = 0``) or Min-SNR-weighted (``snr_gamma``); models
learn no variance, since synthesis samples with DDIM. ``objective: hybrid`` trains as DiT and the
released Changen2 weights were trained instead: DiT's schedule (linear betas 1e-4 to 0.02) and
improved DDPM's hybrid loss with a learned variance (``vlb_weight``), so the model is sampled, saved
and loaded as a converted released one is.

The run folder is laid out as every training run's (:mod:`terrasynth.workflows.training`);
``model/`` holds a :class:`~terrasynth.models.changen2.Changen2Model` (``Changen2Model.load``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Literal

import lightning as L
import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL
from pydantic import Field
from torch.utils.data import Dataset

from terrasynth.core.choices import RSDiTPreset, TrainingMask
from terrasynth.core.errors import ConfigError, WeightsError
from terrasynth.models.changen2 import Changen2Model, MaskEncoding, build_changen2
from terrasynth.models.diffusion import (
    AncestralSampler,
    DiffusionSampler,
    NoiseSchedule,
    diffusion_loss,
    hybrid_loss,
)
from terrasynth.workflows.corpus_samples import MaskedSamples, corpus_tiles
from terrasynth.workflows.run_folder import start_run
from terrasynth.workflows.training import (
    LAST_CHECKPOINT,
    KeyedRandomness,
    TrainingData,
    TrainingSettings,
    export_model,
    fit,
    model_scaling,
    quicklook,
    save_quicklook,
    stack_keys,
)


class Changen2Training(TrainingSettings):
    """Settings of a Changen2 training run (echoed into ``training.json``)."""

    preset: RSDiTPreset = "tiny"
    mask: TrainingMask = "landcover"
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
        return MaskEncoding.for_kind(self.mask, boundary=self.boundary, pseudo_classes=self.pseudo_classes)

    def noise_schedule(self) -> NoiseSchedule:
        """DiT's schedule for the hybrid objective, else the configured one."""
        if self.objective == "hybrid":
            if self.prediction != "epsilon":
                raise ConfigError(
                    "the hybrid objective trains a noise-predicting model: set prediction: epsilon"
                )
            return NoiseSchedule.dit()
        return NoiseSchedule(self.schedule, prediction_type=self.prediction)


class Changen2Module(KeyedRandomness, L.LightningModule):
    """A Changen2 model with its training objective and periodic samples."""

    def __init__(self, model: Changen2Model, settings: Changen2Training, out_dir: Path):
        super().__init__()
        self.model, self.settings, self.out_dir = model, settings, out_dir

    def _inputs(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The clean diffusion variable, the mask condition and the valid mask at the variable's size."""
        model = self.model
        with torch.no_grad():
            x0 = model.to_latent(batch["image"])
        condition = model.encoding.encode(batch["mask"])
        valid = batch["valid"]
        if model.latent_factor > 1:  # a latent pixel counts when all its image pixels are valid
            valid = -F.max_pool2d(-valid[:, None].float(), model.latent_factor)[:, 0] > 0
        return x0, condition, valid

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        x0, condition, valid = self._inputs(batch)
        if self.model.schedule.learned_variance:
            loss = hybrid_loss(
                partial(self.model, with_variance=True),
                x0,
                self.model.schedule,
                vlb_weight=self.settings.vlb_weight,
                valid=valid,
                generator=self.keyed_generator("train", self.current_epoch, batch_idx),
                mask=condition,
            )
            self.log("train/loss", loss, prog_bar=True)
            return loss
        loss = diffusion_loss(
            self.model,
            x0,
            self.model.schedule,
            valid=valid,
            p2_k=self.settings.p2_k,
            p2_gamma=self.settings.p2_gamma,
            snr_gamma=self.settings.snr_gamma,
            generator=self.keyed_generator("train", self.current_epoch, batch_idx),
            mask=condition,
        )
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        """Images drawn from the masks of the first samples with the EMA weights (swapped in by the
        averaging callback), shown beside the real ones."""
        if not self.trainer.is_global_zero:  # drawn once, by the first process (see training.py)
            return
        x0, condition, _ = self._inputs(batch)
        generator = self.keyed_generator("samples", batch_idx)
        noise = torch.randn(x0.shape, device=x0.device, generator=generator)
        if self.model.schedule.learned_variance:
            sampler = AncestralSampler(self.model.schedule, self.settings.sample_steps)
            denoiser = partial(self.model, with_variance=True)
        else:
            sampler, denoiser = DiffusionSampler.for_model(self.model, self.settings.sample_steps), self.model
        drawn = self.model.from_latent(sampler.sample(denoiser, noise, generator=generator, mask=condition))
        picture = quicklook([drawn, batch["image"]], self.model.rgb_bands)
        save_quicklook(self, picture, batch_idx)

    def configure_optimizers(self):
        return torch.optim.AdamW(
            self.model.rsdit.parameters(),
            lr=self.settings.learning_rate,
            weight_decay=self.settings.weight_decay,
        )


def _collate(samples: Sequence[dict]) -> dict:
    return stack_keys(samples, ("image", "mask", "valid"))


def train_changen2(
    dataset: Dataset,
    out_dir: str | Path,
    settings: Changen2Training | None = None,
    *,
    bands: Sequence[str] | None = None,
    gsd: float | None = None,
    callbacks: Sequence[L.Callback] = (),
    overwrite: bool = False,
    **overrides,
) -> Path:
    """Trains a Changen2 model and returns the folder of its final (EMA) weights.

    Runs on every GPU it finds (DDP with more than one, bf16 mixed precision), else on the CPU,
    unless ``settings`` say where (devices, nodes, strategy: :class:`~terrasynth.workflows.training_scale.ScaleSettings`).
    Resumes from ``out_dir/checkpoints/last.ckpt`` when a run with the same settings stopped.

    Args:
        dataset: a map-style dataset of corpus samples (see the module docstring): square tiles
            whose side is a multiple of the model's patch (times the autoencoder's downsampling).
        out_dir: the run's folder.
        settings: the run's settings; ``overrides`` replace single fields.
        bands: names of the image bands (recorded in the model).
        gsd: metres per pixel of the images (recorded in the model; default: the samples' ``gsd``).
        callbacks: extra Lightning callbacks.
        overwrite: start over, removing a run in ``out_dir``.

    Returns:
        ``out_dir/model``, loadable with ``Changen2Model.load(path)``.
    """
    settings = Changen2Training.model_validate({**(settings.echo() if settings else {}), **overrides})
    out_dir = Path(out_dir)
    encoding = settings.encoding()
    autoencoder = load_autoencoder(settings.autoencoder)
    data = _describe_data(dataset, encoding, bands, gsd)
    gsd = data["gsd"]
    torch.manual_seed(settings.seed)  # the initial weights
    model = build_changen2(
        settings.preset,
        encoding,
        data["channels"],
        autoencoder=autoencoder,
        schedule=settings.noise_schedule(),
        scaling=model_scaling(settings, dataset),
        bands=bands,
        rgb_bands=settings.rgb_bands,
        gsd=gsd,
        tile_size=data["tile_size"],
    )
    model.check_size(data["tile_size"], data["tile_size"])
    module = Changen2Module(model, settings, out_dir)
    record = {"settings": settings.echo(), "data": data}
    resume = start_run(
        out_dir, record, module, out_dir / LAST_CHECKPOINT, epochs="settings.max_epochs", overwrite=overwrite
    )
    samples = MaskedSamples(dataset, encoding, settings.seed)
    trainer = fit(module, TrainingData(samples, settings, _collate), out_dir, settings, resume, callbacks)
    return export_model(trainer, out_dir, module.model.save)  # the EMA weights, copied in at the end


def train_on_corpus(
    corpus: str | Path,
    level: str,
    out_dir: str | Path,
    settings: Changen2Training | None = None,
    *,
    tile_size: int = 256,
    min_valid_fraction: float = 0.5,
    overwrite: bool = False,
    **overrides,
) -> Path:
    """:func:`train_changen2` on every ``tile_size``-pixel tile of ``level`` of a corpus (all regions)."""
    if tile_size < 1:
        raise ConfigError(f"tile_size must be a positive number of pixels, got {tile_size}")
    dataset, regions = corpus_tiles(corpus, level, tile_size, min_valid_fraction=min_valid_fraction)
    bands = next(iter(regions.datasets.values())).bands
    return train_changen2(dataset, out_dir, settings, bands=bands, overwrite=overwrite, **overrides)


def load_autoencoder(folder: str | Path | None) -> AutoencoderKL | None:
    """The diffusers AutoencoderKL saved in a local ``folder`` (never downloaded), or None.

    Only safetensors weights are read: pickled ones (``diffusion_pytorch_model.bin``) are refused.
    """
    if folder is None:
        return None
    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise WeightsError(
            f"{folder} holds no autoencoder: give a local folder written by AutoencoderKL.save_pretrained"
        )
    if not any(folder.glob("diffusion_pytorch_model*.safetensors")):
        raise WeightsError(
            f"{folder} holds no safetensors weights (diffusion_pytorch_model.safetensors) and pickled ones are "
            "never loaded: save the autoencoder with save_pretrained(..., safe_serialization=True)"
        )
    try:
        return AutoencoderKL.from_pretrained(
            folder, local_files_only=True, use_safetensors=True, low_cpu_mem_usage=False
        )
    except (OSError, ValueError) as error:
        raise WeightsError(
            f"cannot load the autoencoder in {folder}: {' '.join(str(error).split())[:200]}"
        ) from None


def _describe_data(dataset: Dataset, encoding: MaskEncoding, bands, gsd) -> dict:
    """What the model is built for, read from the first sample."""
    if len(dataset) == 0:
        raise ConfigError("the training dataset is empty")
    sample = dataset[0]
    needed = {"image", "valid"} | ({"landcover"} if encoding.kind != "pseudo" else set())
    if missing := needed - set(sample):
        raise ConfigError(
            f"corpus samples need {', '.join(sorted(missing))}: see terrasynth.workflows.train_changen2"
        )
    image = torch.as_tensor(sample["image"])
    if image.ndim != 3 or image.shape[-1] != image.shape[-2]:
        raise ConfigError(f"training tiles must be square (C, H, W) images, got {tuple(image.shape)}")
    if bands is not None and len(bands) != image.shape[0]:
        raise ConfigError(f"{len(bands)} band names for images of {image.shape[0]} bands")
    return {
        "channels": int(image.shape[0]),
        "tile_size": int(image.shape[-1]),
        "bands": list(bands) if bands else None,
        "gsd": gsd if gsd is not None or "gsd" not in sample else float(sample["gsd"]),
        "encoding": encoding.to_dict(),
    }
