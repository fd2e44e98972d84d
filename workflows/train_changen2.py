"""Train a Changen2 mask-conditioned RS-DiT on (image, mask) pairs from a corpus or any dataset of
corpus samples (:mod:`terrasynth.trainers.changen2` says what the model learns from them).

The run folder is laid out as every diffusion training run's (:mod:`terrasynth.trainers.diffusion_run`);
``model/`` holds a :class:`~terrasynth.models.changen2.Changen2Model` (``Changen2Model.from_pretrained``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import cast

import lightning as L
from torch.utils.data import Dataset

from terrasynth.core.errors import ConfigError
from terrasynth.datasets.map_style import MapStyleDataset
from terrasynth.datasets.masked_samples import MaskedSamples, corpus_tiles
from terrasynth.trainers.changen2 import Changen2Module, collate_masked_samples, describe_data
from terrasynth.trainers.corpus_data import CorpusDataModule
from terrasynth.trainers.diffusion_run import train_diffusion
from terrasynth.trainers.settings import Changen2Training


def train_changen2(
    dataset: Dataset,
    out_dir: str | Path,
    settings: Changen2Training | None = None,
    *,
    bands: Sequence[str] | None = None,
    gsd: float | None = None,
    data_name: str = "",
    callbacks: Sequence[L.Callback] = (),
    overwrite: bool = False,
    **overrides,
) -> Path:
    """Trains a Changen2 model and returns the folder of its final (EMA) weights; runs, resumes
    and records as :func:`~terrasynth.trainers.diffusion_run.train_diffusion` says.

    Args:
        dataset: a map-style dataset of corpus samples (see the module docstring): square tiles
            whose side is a multiple of the model's patch (times the autoencoder's downsampling).
        out_dir: the run's folder.
        settings: the run's settings; ``overrides`` replace single fields.
        bands: names of the image bands (recorded in the model).
        gsd: metres per pixel of the images (recorded in the model; default: the samples' ``gsd``).
        data_name: what the model is trained on (``corpus:PATH:LEVEL``, ...), for ``model/training.json``.
        callbacks, overwrite: as :func:`~terrasynth.trainers.diffusion_run.train_diffusion` takes them.

    Returns:
        ``out_dir/model``, loadable with ``Changen2Model.from_pretrained(path)``.
    """
    settings = Changen2Training.model_validate({**(settings.echo() if settings else {}), **overrides})
    encoding = settings.encoding()
    data = describe_data(dataset, encoding, bands, gsd)
    return train_diffusion(
        lambda: Changen2Module.from_settings(settings, data, dataset),
        CorpusDataModule(MaskedSamples(cast(MapStyleDataset, dataset), encoding, settings.seed), settings, collate_masked_samples),
        out_dir, settings, described={"data": data}, data_name=data_name, callbacks=callbacks,
        save=lambda module, folder: module.model.save_pretrained(folder), overwrite=overwrite,
    )  # fmt: skip


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
    """:func:`train_changen2` on every ``tile_size``-pixel tile of ``level`` of a corpus (all
    regions), recorded as trained on ``corpus:PATH:LEVEL``."""
    if tile_size < 1:
        raise ConfigError(f"tile_size must be a positive number of pixels, got {tile_size}")
    dataset, regions = corpus_tiles(corpus, level, tile_size, min_valid_fraction=min_valid_fraction)
    bands = next(iter(regions.datasets.values())).bands
    name = f"corpus:{Path(corpus).resolve()}:{level}"
    return train_changen2(
        dataset, out_dir, settings, bands=bands, data_name=name, overwrite=overwrite, **overrides
    )
