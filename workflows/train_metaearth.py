"""Train one stage of the MetaEarth cascade with Lightning, from any dataset of cascade samples.

A cascade sample is a dict (the contract with ``terrasynth.datasets``): ``image`` float32
(C, H, W) high-resolution reflectance, ``condition`` float32 (C, h, w) low-resolution reflectance
of the same footprint (or, with ``condition_box`` (4,), around it: where the image lies on it in
its pixels, as the generator gives it), ``gsd`` and ``condition_gsd`` float32 scalars (metres per pixel),
``landcover`` int64 (H, W) WorldCover codes, ``valid`` bool (H, W); other keys are ignored.
Samples without ``condition`` have it degraded from ``image`` at every step, Real-ESRGAN style
(:func:`terrasynth.datasets.degradation.degrade_condition`, drawn anew per seed, epoch and step).
Samples of several level pairs may be mixed (one model for every stage: MetaEarth's self-cascade).

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

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import lightning as L
import torch
import torch.nn.functional as F
from pydantic import Field
from torch.utils.data import Dataset

from terrasynth.core.choices import CascadeCondition, MetaEarthPreset
from terrasynth.core.errors import ConfigError
from terrasynth.core.landcover import WORLDCOVER
from terrasynth.datasets.degradation import degrade_condition
from terrasynth.models.diffusion import DiffusionSampler, NoiseSchedule, diffusion_loss
from terrasynth.models.metaearth import PRESETS, MetaEarthDenoiser, build_denoiser
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

if TYPE_CHECKING:
    from terrasynth.datasets.cascade import CascadeLevels


class MetaEarthTraining(TrainingSettings):
    """Settings of one stage's training run (echoed into ``training.json``)."""

    preset: MetaEarthPreset = "tiny"
    first_stage: bool = Field(
        False, description="generate from noise (and land cover), not from the condition"
    )
    landcover: bool | None = Field(
        None, description="feed land cover to the model; default: first stages only"
    )
    landcover_dropout: float = Field(
        0.1, ge=0, le=1, description="share of samples trained without land cover"
    )
    learning_rate: float = Field(1e-4, gt=0, description="AdamW; MetaEarth used 2e-6 for its 600M model")
    residual: bool = Field(
        False,
        description="predict the image minus the bicubic upsampling of its condition (later stages; "
        "not in the paper: a model that outputs zero reproduces bicubic upsampling)",
    )


class MetaEarthModule(KeyedRandomness, L.LightningModule):
    """One stage's denoiser with its training objective and periodic samples."""

    def __init__(self, denoiser: MetaEarthDenoiser, settings: MetaEarthTraining, out_dir: Path):
        super().__init__()
        self.denoiser, self.settings, self.out_dir = denoiser, settings, out_dir

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
                landcover = landcover * (keep >= self.settings.landcover_dropout).view(-1, 1, 1)
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
            p2_k=self.settings.p2_k,
            p2_gamma=self.settings.p2_gamma,
            snr_gamma=self.settings.snr_gamma,
            generator=generator,
            **self._conditions(batch, generator, degrade),
        )
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        """Samples drawn with the EMA weights (the averaging callback swaps them in for validation)."""
        if not self.trainer.is_global_zero:  # drawn once, by the first process (see training.py)
            return
        generator = self.keyed_generator("samples", batch_idx)
        image = batch["image"]
        conditions = self._conditions(batch, None, self.keyed_generator("samples-degrade", batch_idx))
        sampler = DiffusionSampler.for_model(self.denoiser, self.settings.sample_steps)
        noise = torch.randn(image.shape, device=image.device, generator=generator)
        scaling = self.denoiser.scaling
        samples = scaling.to_reflectance(
            sampler.sample(self.denoiser, noise, generator=generator, **conditions)
        )
        columns = [scaling.to_reflectance(conditions["condition"])] if self.denoiser.conditioned else []
        save_quicklook(self, quicklook([*columns, samples, image], self.settings.rgb_bands), batch_idx)

    def configure_optimizers(self):
        return torch.optim.AdamW(
            self.denoiser.parameters(),
            lr=self.settings.learning_rate,
            weight_decay=self.settings.weight_decay,
        )


def _collate(samples: Sequence[dict]) -> dict:
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


def train_metaearth(
    dataset: Dataset,
    out_dir: str | Path,
    settings: MetaEarthTraining | None = None,
    *,
    callbacks: Sequence[L.Callback] = (),
    overwrite: bool = False,
    **overrides,
) -> Path:
    """Trains one stage of the cascade and returns the folder of its final (EMA) weights.

    Runs on every GPU it finds (DDP with more than one, bf16 mixed precision), else on the CPU,
    unless ``settings`` say where (devices, nodes, strategy: :class:`~terrasynth.workflows.training_scale.ScaleSettings`).
    Resumes from ``out_dir/checkpoints/last.ckpt`` when a run with the same settings stopped.

    Args:
        dataset: a map-style dataset of cascade samples (see the module docstring).
        out_dir: the run's folder.
        settings: the run's settings; ``overrides`` replace single fields.
        callbacks: extra Lightning callbacks.
        overwrite: start over, removing a run in ``out_dir``.

    Returns:
        ``out_dir/model``, loadable with ``MetaEarthDenoiser.from_pretrained(path, use_safetensors=True)``.
    """
    settings = MetaEarthTraining.model_validate({**(settings.echo() if settings else {}), **overrides})
    out_dir = Path(out_dir)
    stage = _describe_stage(dataset, settings)
    torch.manual_seed(settings.seed)  # the initial weights
    module = MetaEarthModule(build_denoiser(settings.preset, **stage), settings, out_dir)
    record = {"settings": settings.echo(), "stage": stage}
    resume = start_run(
        out_dir, record, module, out_dir / LAST_CHECKPOINT, epochs="settings.max_epochs", overwrite=overwrite
    )
    trainer = fit(module, TrainingData(dataset, settings, _collate), out_dir, settings, resume, callbacks)
    # the EMA weights, copied into the module when training ended
    return export_model(
        trainer, out_dir, lambda path: module.denoiser.save_pretrained(path, safe_serialization=True)
    )


def corpus_stage(
    corpus: str | Path,
    level: str,
    *,
    first_stage: bool | None = None,
    condition: CascadeCondition = "coarser",
    condition_level: str | None = None,
    chip: int = 64,
    min_valid_fraction: float = 0.5,
) -> tuple[Dataset, bool]:
    """The training tiles of one stage: every ``chip``-pixel tile of ``level`` in every region.

    Tiles come from torchgeo's grid sampler over each region (in its own UTM CRS), fixed once so
    that epochs resume exactly. The first stage (default: when ``level`` is the coarsest of the
    corpus' recorded ladder; a corpus that lost a level is refused, never taken for a shorter
    ladder) reads the level alone; later stages read it with its low-resolution condition, from the next
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


def corpus_cascade(
    corpus: str | Path,
    levels: str = "all",
    *,
    condition: CascadeCondition = "coarser",
    chip: int = 64,
    min_valid_fraction: float = 0.5,
) -> CascadeLevels:
    """The training tiles of one model for several stages (MetaEarth's self-cascade): those of
    :func:`corpus_stage` for each of ``levels``, with its condition from the next coarser level,
    interleaved so that each level pair is drawn equally often (:class:`CascadeLevels`).

    Args:
        levels: ``"all"`` (every level of the corpus but the coarsest) or names, ``"16m,4m"``.
    """
    from terrasynth.core import Level, corpus_levels, open_corpus
    from terrasynth.datasets import CascadeLevels

    available = corpus_levels(open_corpus(corpus))
    names = [str(level) for level in available[1:]] if levels == "all" else levels.split(",")
    ordered = sorted((Level.parse(name.strip()) for name in names), key=lambda level: -level.gsd)
    if not ordered:
        raise ConfigError(f"{corpus} has a single level: a cascade needs a coarser one to refine")
    options = {"condition": condition, "chip": chip, "min_valid_fraction": min_valid_fraction}
    return CascadeLevels(
        [corpus_stage(corpus, str(level), first_stage=False, **options)[0] for level in ordered]
    )


def _describe_stage(dataset: Dataset, settings: MetaEarthTraining) -> dict:
    """The model's arguments of :class:`MetaEarthDenoiser`, read from the first sample (of each
    level pair, for :class:`CascadeLevels`)."""
    if len(dataset) == 0:
        raise ConfigError("the training dataset is empty")
    stages = getattr(dataset, "stages", [dataset])  # one dataset per level pair in a CascadeLevels
    samples = sorted((stage[0] for stage in stages), key=lambda sample: -float(sample["gsd"]))
    required = {"image", "gsd"} | (set() if settings.first_stage else {"condition_gsd"})
    missing = {key for sample in samples for key in required - set(sample)}
    if missing:
        raise ConfigError(
            f"cascade samples need {', '.join(sorted(missing))}: see terrasynth.workflows.train_metaearth"
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
        "schedule": NoiseSchedule(settings.schedule, prediction_type=settings.prediction).to_dict(),
        "scaling": model_scaling(settings, dataset).to_dict(),
    }
