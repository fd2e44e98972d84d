"""A diffusion model's training run, the same for MetaEarth and Changen2: its run folder, the
Trainer, fitting (or resuming) and the final EMA weights with their record.

The run folder holds::

    training.json   the validated settings and what the data implied
    checkpoints/    last.ckpt: the full training state, to resume exactly
    samples/        PNG quick-looks drawn with the EMA weights every few epochs
    logs/           TensorBoard logs (losses, sample images)
    model/          the final EMA weights (``save_pretrained``) and the training.json of what they
                    were trained on and for how many epochs
"""

from __future__ import annotations

from collections.abc import Callable, Sequence, Sized
from pathlib import Path
from typing import TypeVar

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger

from terrasynth.trainers.corpus_data import CorpusDataModule
from terrasynth.trainers.diffusion_module import DiffusionModule
from terrasynth.trainers.run_folder import export_model, fit_run, start_run
from terrasynth.trainers.settings import DiffusionTraining
from terrasynth.trainers.trainer import build_trainer

M = TypeVar("M", bound=DiffusionModule)


def train_diffusion(
    build: Callable[[], M],
    data: CorpusDataModule,
    out_dir: str | Path,
    settings: DiffusionTraining,
    *,
    described: dict,
    save: Callable[[M, Path], object],
    data_name: str = "",
    callbacks: Sequence[L.Callback] = (),
    overwrite: bool = False,
) -> Path:
    """Train the module ``build()`` makes (its initial weights seeded by ``settings.seed``) on
    ``data`` in the run folder ``out_dir`` and return its model folder, ``out_dir/model``, written
    by ``save(module, folder)`` once training has finished (the EMA weights, copied in at the end).

    Runs on every GPU it finds (DDP with more than one, bf16 mixed precision), else on the CPU,
    unless ``settings`` say where (devices, nodes, strategy: :class:`~terrasynth.trainers.settings.ScaleSettings`).
    Resumes from ``out_dir/checkpoints/last.ckpt`` when a run with the same settings and
    ``described`` data stopped; ``overwrite`` starts over, removing a run there.

    Args:
        described: what the data implied (e.g. ``{"stage": ...}``), recorded beside the settings.
        data_name: what the model was trained on (e.g. ``corpus:PATH:LEVEL``), recorded in
            ``model/training.json``.
        callbacks: extra Lightning callbacks.
    """
    out_dir = Path(out_dir)
    torch.manual_seed(settings.seed)
    module = build()
    record = {"settings": settings.echo(), **described}
    resume = start_run(out_dir, record, module, epochs="settings.max_epochs", overwrite=overwrite)
    trainer = build_trainer(out_dir, settings, **diffusion_options(settings, out_dir), callbacks=callbacks)
    fit_run(trainer, module, resume, datamodule=data)
    assert isinstance(data.dataset, Sized)  # a map-style data set
    trained = {"trained_on": data_name, "samples": len(data.dataset), "settings": settings.echo()}
    return export_model(trainer, out_dir, lambda folder: save(module, folder), trained)


def diffusion_options(settings: DiffusionTraining, out_dir: Path) -> dict:
    """:func:`~terrasynth.trainers.trainer.build_trainer`'s arguments for a diffusion run: EMA
    weights, by default bf16 mixed precision on GPUs (else 32-bit), quick-looks every
    ``sample_every_n_epochs``, TensorBoard logs in ``out_dir/logs``, and the data split across
    processes by :class:`~terrasynth.trainers.epoch_sampler.EpochSampler` rather than by Lightning."""
    gpu = settings.accelerator in ("gpu", "cuda") or (
        settings.accelerator == "auto" and torch.cuda.is_available()
    )
    return {
        "max_epochs": settings.max_epochs,
        "precision": settings.precision or ("bf16-mixed" if gpu else "32-true"),
        "logger": TensorBoardLogger(out_dir, name="logs", version=""),
        "ema_decay": settings.ema_decay,
        "accumulate_grad_batches": settings.accumulate,
        "use_distributed_sampler": False,
        "check_val_every_n_epoch": settings.sample_every_n_epochs,
        "num_sanity_val_steps": 0,
        "log_every_n_steps": 1,
    }
