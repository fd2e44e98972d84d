"""Train one stage of the MetaEarth cascade from any dataset of cascade samples (the sample dict
of :mod:`terrasynth.trainers.metaearth`), and the training tiles of a corpus.

The run folder is laid out as every diffusion training run's (:mod:`terrasynth.trainers.diffusion_run`);
``model/`` holds the final EMA weights (``MetaEarthDenoiser.from_pretrained``).

Resuming is exact at epoch boundaries: data order, noise and timesteps are all drawn from
generators seeded by (seed, epoch, batch), and checkpoints are written at the end of every epoch.
Set ``steps_per_epoch`` to checkpoint more often on a large dataset.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lightning as L
from torch.utils.data import Dataset

from terrasynth.core.choices import CascadeCondition
from terrasynth.core.errors import ConfigError
from terrasynth.trainers.corpus_data import CorpusDataModule
from terrasynth.trainers.diffusion_run import train_diffusion
from terrasynth.trainers.metaearth import MetaEarthModule, collate_cascade_samples, describe_stage
from terrasynth.trainers.settings import MetaEarthTraining

if TYPE_CHECKING:
    from terrasynth.datasets.cascade import CascadeLevels
    from terrasynth.datasets.sampled import SampledDataset


def train_metaearth(
    dataset: Dataset,
    out_dir: str | Path,
    settings: MetaEarthTraining | None = None,
    *,
    data_name: str = "",
    callbacks: Sequence[L.Callback] = (),
    overwrite: bool = False,
    **overrides,
) -> Path:
    """Trains one stage of the cascade and returns the folder of its final (EMA) weights; runs,
    resumes and records as :func:`~terrasynth.trainers.diffusion_run.train_diffusion` says.

    Args:
        dataset: a map-style dataset of cascade samples (see the module docstring).
        out_dir: the run's folder.
        settings: the stage's settings; ``overrides`` replace single fields.
        data_name: what the stage is trained on (``corpus:PATH:LEVEL``, ...), for ``model/training.json``.
        callbacks, overwrite: as :func:`~terrasynth.trainers.diffusion_run.train_diffusion` takes them.

    Returns:
        ``out_dir/model``, loadable with ``MetaEarthDenoiser.from_pretrained(path)``.
    """
    settings = MetaEarthTraining.model_validate({**(settings.echo() if settings else {}), **overrides})
    stage = describe_stage(dataset, settings)
    data = CorpusDataModule(dataset, settings, collate_cascade_samples)
    return train_diffusion(
        lambda: MetaEarthModule.from_settings(settings, stage), data, out_dir, settings,
        described={"stage": stage}, save=lambda module, folder: module.denoiser.save_pretrained(folder),
        data_name=data_name, callbacks=callbacks, overwrite=overwrite,
    )  # fmt: skip


def corpus_stage(
    corpus: str | Path,
    level: str,
    *,
    first_stage: bool | None = None,
    condition: CascadeCondition = "coarser",
    condition_level: str | None = None,
    chip: int = 64,
    min_valid_fraction: float = 0.5,
) -> tuple[SampledDataset, bool]:
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
    options: dict[str, Any] = {"tile_size": chip, "min_valid_fraction": min_valid_fraction}
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
    options: dict[str, Any] = {"condition": condition, "chip": chip, "min_valid_fraction": min_valid_fraction}
    return CascadeLevels(
        [corpus_stage(corpus, str(level), first_stage=False, **options)[0] for level in ordered]
    )
