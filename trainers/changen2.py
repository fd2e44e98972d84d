"""The LightningModule of a Changen2 mask-conditioned RS-DiT, and how a dataset of corpus samples
shapes it.

A corpus sample is a dict (the contract with ``terrasynth.datasets``): ``image`` float32 (C, H, W)
reflectance, ``landcover`` int64 (H, W) WorldCover codes, ``valid`` bool (H, W). The mask the
model learns to draw from is made of it by the mask kind
(:func:`~terrasynth.datasets.masked_samples.sample_mask`):

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
"""

from __future__ import annotations

from collections.abc import Sequence, Sized
from functools import partial
from pathlib import Path
from typing import overload

import torch
import torch.nn.functional as F
from diffusers.models import AutoencoderKL  # diffusers' top-level names are torch-less dummies to mypy
from torch.utils.data import Dataset

from terrasynth.core.errors import ConfigError, WeightsError
from terrasynth.models.changen2 import MaskEncoding, build_changen2
from terrasynth.models.diffusion import (
    AncestralSampler,
    DiffusionSampler,
    NoiseSchedule,
    ReflectanceScaling,
    diffusion_loss,
    hybrid_loss,
)
from terrasynth.trainers.corpus_data import stack_keys
from terrasynth.trainers.diffusion_module import DiffusionModule, quicklook
from terrasynth.trainers.scaling import model_scaling
from terrasynth.trainers.settings import Changen2Training


class Changen2Module(DiffusionModule):
    """A Changen2 model with its training objective and periodic samples.

    Args:
        preset: the RS-DiT's size (``tiny``, ``S``, ``B``, ``L``, ``XL``).
        data: what the model is built for (:func:`describe_data`: bands, tile size, mask encoding...).
        autoencoder: local folder of a diffusers AutoencoderKL to train in the latent space of, or None.
        schedule: the noise schedule (``NoiseSchedule.to_dict``).
        scaling: the model space (``ReflectanceScaling.to_dict``).
        rgb_bands: bands shown as red, green, blue (recorded in the model).
        learning_rate, weight_decay: AdamW's.
        p2_k, p2_gamma, snr_gamma: the loss weighting (:func:`~terrasynth.models.diffusion.diffusion_loss`).
        vlb_weight: lambda of the hybrid objective's VLB term (models with a learned variance).
        sample_steps: sampler steps of the quick-looks.
        seed: seeds noise and timesteps by (seed, epoch, batch).
    """

    def __init__(
        self,
        preset: str,
        data: dict,
        *,
        autoencoder: str | None,
        schedule: dict,
        scaling: dict,
        rgb_bands: Sequence[int],
        learning_rate: float,
        weight_decay: float,
        p2_k: float,
        p2_gamma: float,
        snr_gamma: float | None,
        vlb_weight: float,
        sample_steps: int,
        seed: int,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.model = build_changen2(
            preset,
            MaskEncoding.from_dict(data["encoding"]),
            data["channels"],
            autoencoder=load_autoencoder(autoencoder),
            schedule=NoiseSchedule.from_dict(schedule),
            scaling=ReflectanceScaling.from_dict(scaling),
            bands=data["bands"],
            rgb_bands=rgb_bands,
            gsd=data["gsd"],
            tile_size=data["tile_size"],
        )
        self.model.check_size(data["tile_size"], data["tile_size"])

    @classmethod
    def from_settings(cls, settings: Changen2Training, data: dict, dataset: Dataset) -> Changen2Module:
        """The module of a run's ``settings`` and ``data`` (:func:`describe_data`), its model space
        fitted on ``dataset`` (:func:`~terrasynth.trainers.scaling.model_scaling`)."""
        fields = ("learning_rate", "weight_decay", "p2_k", "p2_gamma", "snr_gamma", "vlb_weight")
        return cls(
            settings.preset, data, autoencoder=settings.autoencoder,
            schedule=settings.noise_schedule().to_dict(), scaling=model_scaling(settings, dataset).to_dict(),
            rgb_bands=settings.rgb_bands, **{name: getattr(settings, name) for name in fields},
            sample_steps=settings.sample_steps, seed=settings.seed,
        )  # fmt: skip

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
                vlb_weight=self.hparams["vlb_weight"],
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
            p2_k=self.hparams["p2_k"],
            p2_gamma=self.hparams["p2_gamma"],
            snr_gamma=self.hparams["snr_gamma"],
            generator=self.keyed_generator("train", self.current_epoch, batch_idx),
            mask=condition,
        )
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        """Images drawn from the masks of the first samples with the EMA weights (swapped in by the
        averaging callback), shown beside the real ones."""
        if not self.trainer.is_global_zero:  # drawn once, by the first process (see corpus_data.py)
            return
        x0, condition, _ = self._inputs(batch)
        generator = self.keyed_generator("samples", batch_idx)
        noise = torch.randn(x0.shape, device=x0.device, generator=generator)
        sampler: AncestralSampler | DiffusionSampler
        if self.model.schedule.learned_variance:
            sampler = AncestralSampler(self.model.schedule, self.hparams["sample_steps"])
            denoiser = partial(self.model, with_variance=True)
        else:
            sampler, denoiser = (
                DiffusionSampler.for_model(self.model, self.hparams["sample_steps"]),
                self.model,
            )
        drawn = self.model.from_latent(sampler.sample(denoiser, noise, generator=generator, mask=condition))
        self.save_quicklook(quicklook([drawn, batch["image"]], self.model.rgb_bands), batch_idx)

    def configure_optimizers(self):
        return torch.optim.AdamW(
            self.model.rsdit.parameters(),
            lr=self.hparams["learning_rate"],
            weight_decay=self.hparams["weight_decay"],
        )


def collate_masked_samples(samples: Sequence[dict]) -> dict:
    """Batch corpus samples with their masks (:class:`~terrasynth.datasets.masked_samples.MaskedSamples`)."""
    return stack_keys(samples, ("image", "mask", "valid"))


@overload
def load_autoencoder(folder: str | Path) -> AutoencoderKL: ...
@overload
def load_autoencoder(folder: None) -> None: ...
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


def describe_data(
    dataset: Dataset, encoding: MaskEncoding, bands: Sequence[str] | None, gsd: float | None
) -> dict:
    """What the model is built for, read from the first sample: bands, tile size (pixels), metres
    per pixel (``gsd``, default the sample's) and the mask encoding."""
    assert isinstance(dataset, Sized)  # a map-style data set
    if len(dataset) == 0:
        raise ConfigError("the training dataset is empty")
    sample = dataset[0]
    needed = {"image", "valid"} | ({"landcover"} if encoding.kind != "pseudo" else set())
    if missing := needed - set(sample):
        raise ConfigError(
            f"corpus samples need {', '.join(sorted(missing))}: see terrasynth.trainers.changen2"
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
