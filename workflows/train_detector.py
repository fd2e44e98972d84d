"""Train the change detector with Lightning on any Dataset of change pair samples (the sample dict
of :mod:`terrasynth.trainers.change_data`).

The output folder holds ``training.json``, Lightning's ``checkpoints/last.ckpt``, written
atomically after every epoch, from which a rerun with the same folder resumes (weights, optimiser
state and epoch count restored), and, once training has finished, the detector's model folder
``model/`` (``ChangeDetector.from_pretrained``) with the ``training.json`` of what it was trained on.

On several devices or nodes (:class:`~terrasynth.trainers.settings.ScaleSettings`), each
process trains on its share of the shuffled samples (Lightning's distributed sampler) and only the
first writes files. Validation is split across the processes too, and its losses are averaged
over all of them: the validation set may be as large as the training set, and each process scores
its own share.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from terrasynth.trainers.settings import TrainSettings

if TYPE_CHECKING:
    import lightning as L


def train_detector(
    dataset,
    out_dir: str | Path,
    *,
    config: dict | None = None,
    settings: TrainSettings | None = None,
    encoder_weights: str | Path | None = None,
    val_dataset=None,
    progress: bool = True,
    data_name: str = "",
    callbacks: Sequence[L.Callback] = (),
    overwrite: bool = False,
) -> Path:
    """Train a detector and return its model folder, ``out_dir/model``.

    Args:
        dataset: a torch Dataset of change pair samples (any LEVIR-layout folder, a synthetic
            change set, ...).
        out_dir: the run folder; an unfinished run there is resumed.
        config: the architecture, :class:`~terrasynth.models.detector.ChangeDetector` keyword
            arguments; its ``in_channels`` must match the samples' bands. Default: ResNet-18, 1 x 256 head.
        settings: training settings.
        encoder_weights: a local timm state dict for the encoder (never downloaded).
        val_dataset: optional samples for the validation loss after each epoch.
        progress: show Lightning's progress bar.
        data_name: what the model was trained on, recorded in ``model/training.json``.
        callbacks: extra Lightning callbacks.
        overwrite: start over, removing a run in ``out_dir``.
    """
    import lightning as L
    from lightning.pytorch.loggers import CSVLogger

    from terrasynth.core.errors import ConfigError
    from terrasynth.models.detector import balanced_positive_weight
    from terrasynth.models.pretrained import public_config
    from terrasynth.trainers.change_data import ChangeDataModule, changed_fraction
    from terrasynth.trainers.detector import DetectorModule
    from terrasynth.trainers.run_folder import export_model, fit_run, start_run
    from terrasynth.trainers.trainer import build_trainer

    settings = settings or TrainSettings()
    out_dir = Path(out_dir)
    if len(dataset) == 0:
        raise ConfigError("the training data set is empty")
    L.seed_everything(settings.seed, workers=True, verbose=False)
    weights = str(encoder_weights) if encoder_weights else None
    balance = settings.change_balance
    positive_weight = balanced_positive_weight(changed_fraction(dataset), balance) if balance else 1.0
    module = DetectorModule(
        dict(config or {}),
        encoder_weights=weights,
        learning_rate=settings.learning_rate,
        weight_decay=settings.weight_decay,
        dice_weight=settings.dice_weight,
        semantic_weight=settings.semantic_weight,
        schedule=settings.schedule,
        positive_weight=positive_weight,
    )
    detector = module.model
    bands = dataset[0]["image"].shape[1]
    if bands != detector.config.in_channels:
        raise ConfigError(
            f"samples have {bands} bands but the detector expects {detector.config.in_channels}"
        )
    record = {
        "data": data_name, "samples": len(dataset), "detector": public_config(detector), "settings": settings.echo(),
        "encoder_weights": weights, "positive_weight": positive_weight,
    }  # fmt: skip
    resume = start_run(out_dir, record, module, epochs="settings.epochs", overwrite=overwrite)
    trainer = build_trainer(
        out_dir, settings, max_epochs=settings.epochs, precision=settings.precision,
        logger=CSVLogger(out_dir, name="logs"), progress=progress, callbacks=callbacks,
        ema_decay=settings.ema_decay, average_buffers=True,
        enable_model_summary=False, limit_val_batches=1.0 if val_dataset is not None else 0,
    )  # fmt: skip
    fit_run(trainer, module, resume, datamodule=ChangeDataModule(dataset, settings, val_dataset))
    trained = {"trained_on": data_name, "samples": len(dataset), "settings": settings.echo()}
    return export_model(trainer, out_dir, module.model.save_pretrained, trained)
