"""The LightningModule of one stage of the MetaEarth cascade, and how a dataset of cascade samples
shapes its denoiser.

A cascade sample is a dict (the contract with ``terrasynth.datasets``): ``image`` float32
(C, H, W) high-resolution reflectance, ``condition`` float32 (C, h, w) low-resolution reflectance
of the same footprint (or, with ``condition_box`` (4,), around it: where the image lies on it in
its pixels, as the generator gives it), ``gsd`` and ``condition_gsd`` float32 scalars (metres per pixel),
``landcover`` int64 (H, W) WorldCover codes, ``valid`` bool (H, W); other keys are ignored.
Samples without ``condition`` have it degraded from ``image`` at every step, Real-ESRGAN style
(:func:`terrasynth.datasets.degradation.degrade_condition`, drawn anew per seed, epoch and step).
Samples of several level pairs may be mixed (one model for every stage: MetaEarth's self-cascade).
"""

from __future__ import annotations

from collections.abc import Sequence, Sized

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from terrasynth.core.errors import ConfigError
from terrasynth.core.landcover import WORLDCOVER
from terrasynth.datasets.degradation import degrade_condition
from terrasynth.models.diffusion import DiffusionSampler, diffusion_loss
from terrasynth.models.metaearth import PRESETS, build_denoiser
from terrasynth.trainers.corpus_data import stack_keys
from terrasynth.trainers.diffusion_module import DiffusionModule, quicklook
from terrasynth.trainers.scaling import model_scaling
from terrasynth.trainers.settings import MetaEarthTraining


class MetaEarthModule(DiffusionModule):
    """One stage's denoiser with its training objective and periodic samples.

    Args:
        preset: the denoiser's size (:data:`~terrasynth.models.metaearth.PRESETS`).
        stage: the denoiser's other arguments (:func:`describe_stage`).
        learning_rate, weight_decay: AdamW's.
        p2_k, p2_gamma, snr_gamma: the loss weighting (:func:`~terrasynth.models.diffusion.diffusion_loss`).
        landcover_dropout: share of samples trained without land cover.
        sample_steps: sampler steps of the quick-looks.
        rgb_bands: bands the quick-looks show as red, green, blue.
        seed: seeds noise, timesteps, dropout and degradations by (seed, epoch, batch).
    """

    def __init__(
        self,
        preset: str,
        stage: dict,
        *,
        learning_rate: float,
        weight_decay: float,
        p2_k: float,
        p2_gamma: float,
        snr_gamma: float | None,
        landcover_dropout: float,
        sample_steps: int,
        rgb_bands: Sequence[int],
        seed: int,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.denoiser = build_denoiser(preset, **stage)

    @classmethod
    def from_settings(cls, settings: MetaEarthTraining, stage: dict) -> MetaEarthModule:
        """The module of a run's ``settings`` and ``stage`` (:func:`describe_stage`)."""
        fields = ("learning_rate", "weight_decay", "p2_k", "p2_gamma", "snr_gamma", "landcover_dropout")
        return cls(
            settings.preset, stage, **{name: getattr(settings, name) for name in fields},
            sample_steps=settings.sample_steps, rgb_bands=settings.rgb_bands, seed=settings.seed,
        )  # fmt: skip

    def _conditions(self, batch: dict, generator: torch.Generator | None, degrade: torch.Generator) -> dict:
        """The denoiser's conditions; land cover is dropped from random samples when given a
        ``generator``, and a batch without conditions has them degraded from its images (``degrade``)."""
        scaling, model = self.denoiser.scaling, self.denoiser
        conditions = {"gsd": batch["gsd"]}
        if model.conditioned:
            given = {key: batch[key] for key in ("condition", "condition_box") if key in batch}
            if not given:
                images = scaling.to_model(batch["image"])
                given = _stack_conditions(
                    degrade_condition(images, batch["gsd"], batch["condition_gsd"], generator=degrade)
                )
            else:
                given["condition"] = scaling.to_model(given["condition"])
            conditions |= given | {"condition_gsd": batch["condition_gsd"]}
        if model.uses_landcover:
            landcover = batch["landcover"]
            if generator is not None:
                keep = torch.rand(landcover.shape[0], device=landcover.device, generator=generator)
                landcover = landcover * (keep >= self.hparams["landcover_dropout"]).view(-1, 1, 1)
            conditions["landcover"] = landcover
        return conditions

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        generator = self.keyed_generator("train", self.current_epoch, batch_idx)
        degrade = self.keyed_generator("degrade", self.current_epoch, batch_idx)
        loss = diffusion_loss(
            self.denoiser,
            self.denoiser.scaling.to_model(batch["image"]),
            self.denoiser.schedule,
            valid=batch.get("valid"),
            p2_k=self.hparams["p2_k"],
            p2_gamma=self.hparams["p2_gamma"],
            snr_gamma=self.hparams["snr_gamma"],
            generator=generator,
            **self._conditions(batch, generator, degrade),
        )
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        """Samples drawn with the EMA weights (the averaging callback swaps them in for validation)."""
        if not self.trainer.is_global_zero:  # drawn once, by the first process (see corpus_data.py)
            return
        generator = self.keyed_generator("samples", batch_idx)
        image = batch["image"]
        conditions = self._conditions(batch, None, self.keyed_generator("samples-degrade", batch_idx))
        sampler = DiffusionSampler.for_model(self.denoiser, self.hparams["sample_steps"])
        noise = torch.randn(image.shape, device=image.device, generator=generator)
        scaling = self.denoiser.scaling
        samples = scaling.to_reflectance(
            sampler.sample(self.denoiser, noise, generator=generator, **conditions)
        )
        columns = [scaling.to_reflectance(conditions["condition"])] if self.denoiser.conditioned else []
        self.save_quicklook(quicklook([*columns, samples, image], self.hparams["rgb_bands"]), batch_idx)

    def configure_optimizers(self):
        return torch.optim.AdamW(
            self.denoiser.parameters(),
            lr=self.hparams["learning_rate"],
            weight_decay=self.hparams["weight_decay"],
        )


def collate_cascade_samples(samples: Sequence[dict]) -> dict:
    """Batch cascade samples (conditions of several sizes padded, see :func:`_stack_conditions`)."""
    batch = stack_keys(samples, ("image", "gsd", "condition_gsd", "landcover", "valid"))
    if "condition" in samples[0]:
        boxes = [s["condition_box"] for s in samples] if "condition_box" in samples[0] else None
        batch |= _stack_conditions([torch.as_tensor(s["condition"]) for s in samples], boxes)
    return batch


def _stack_conditions(conditions: Sequence[torch.Tensor], boxes: Sequence | None = None) -> dict:
    """``condition`` stacked, those of several sizes (samples of several level pairs) padded at the
    bottom and right with their edge values, and ``condition_box``: where each image lies on its
    condition (condition pixels; default the whole of it)."""
    height, width = (max(c.shape[i] for c in conditions) for i in (-2, -1))
    if boxes is None and all(c.shape[-2:] == (height, width) for c in conditions):
        return {"condition": torch.stack(list(conditions))}
    padded = [
        F.pad(c[None], (0, width - c.shape[-1], 0, height - c.shape[-2]), mode="replicate")[0]
        for c in conditions
    ]
    if boxes is None:
        boxes = [[0.0, 0.0, float(c.shape[-2]), float(c.shape[-1])] for c in conditions]
    return {
        "condition": torch.stack(padded),
        "condition_box": torch.stack([torch.as_tensor(box, dtype=torch.float32) for box in boxes]),
    }


def describe_stage(dataset: Dataset, settings: MetaEarthTraining) -> dict:
    """The arguments of :class:`~terrasynth.models.metaearth.MetaEarthDenoiser` but its preset, read
    from the first sample (of each level pair, for :class:`~terrasynth.datasets.CascadeLevels`)."""
    assert isinstance(dataset, Sized)  # a map-style data set
    if len(dataset) == 0:
        raise ConfigError("the training dataset is empty")
    stages = getattr(dataset, "stages", [dataset])  # one dataset per level pair in a CascadeLevels
    samples = sorted((stage[0] for stage in stages), key=lambda sample: -float(sample["gsd"]))
    required = {"image", "gsd"} | (set() if settings.first_stage else {"condition_gsd"})
    missing = {key for sample in samples for key in required - set(sample)}
    if missing:
        raise ConfigError(
            f"cascade samples need {', '.join(sorted(missing))}: see terrasynth.trainers.metaearth"
        )
    sample = samples[-1]
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
        "pairs": [
            [float(s["gsd"]), None if settings.first_stage else float(s["condition_gsd"])] for s in samples
        ],
        "landcover_codes": WORLDCOVER.codes if landcover else None,
        "window": int(image.shape[-1]),
        "residual": settings.residual and not settings.first_stage,
        "schedule": settings.noise_schedule().to_dict(),
        "scaling": model_scaling(settings, dataset).to_dict(),
    }
