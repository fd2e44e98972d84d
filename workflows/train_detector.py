"""Train the change detector with Lightning on any Dataset of change pair samples.

A sample is a dict: ``image`` float32 ``(2, C, H, W)`` in [0, 1], ``mask`` int64 ``(H, W)`` 0/1,
optionally ``semantic`` int64 ``(2, H, W)`` SECOND values 0-6 and ``name``. The output folder
holds Lightning's ``last.ckpt``, written atomically after every epoch, from which a rerun with the
same folder resumes (weights, optimiser state and epoch count restored), and, once training has
finished, the detector: ``detector.safetensors`` + ``detector.json``.

On several devices or nodes (:class:`~terrasynth.workflows.training_scale.ScaleSettings`), each
process trains on its share of the shuffled samples (Lightning's distributed sampler) and only the
first writes files. Validation is split across the processes too, and its losses are averaged
over all of them: the validation set may be as large as the training set, and each process scores
its own share.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from terrasynth.core.config import Precision
from terrasynth.workflows.training_scale import ScaleSettings

if TYPE_CHECKING:
    import lightning as L

    from terrasynth.models.detector import DetectorConfig


class TrainSettings(ScaleSettings):
    """How to train (the architecture is a :class:`~terrasynth.models.detector.DetectorConfig`);
    ``--config FILE`` (YAML or TOML) holds these keys."""

    epochs: int = Field(
        10, ge=1, description="passes over the data set (a rerun may raise it to extend the run)"
    )
    batch_size: int = Field(8, ge=1, description="samples per step (per device)")
    learning_rate: float = Field(1e-4, gt=0, description="AdamW")
    schedule: Literal["constant", "cosine"] = Field(
        "constant", description="learning rate: constant, or cosine decay to 0 over the run"
    )
    weight_decay: float = Field(1e-4, ge=0, description="AdamW")
    crop_size: int = Field(
        512,
        ge=0,
        description="random crop edge in pixels (0: none; a batch's samples must then match in size)",
    )
    augment: bool = Field(
        True, description="random quarter turns, mirror images and date swaps of training samples"
    )
    dice_weight: float = Field(1.0, ge=0, description="weight of the Dice term next to binary cross-entropy")
    semantic_weight: float = Field(1.0, ge=0, description="weight of the per-date semantic cross-entropy")
    num_workers: int = Field(0, ge=0, description="DataLoader worker processes")
    seed: int = Field(0, description="seeds weights, shuffling and crops")
    precision: Precision = "32-true"


def train_detector(
    dataset,
    out_dir: str | Path,
    *,
    config: DetectorConfig | None = None,
    settings: TrainSettings | None = None,
    encoder_weights: str | Path | None = None,
    val_dataset=None,
    progress: bool = True,
    data_name: str = "",
    callbacks: Sequence[L.Callback] = (),
    overwrite: bool = False,
) -> Path:
    """Train a detector and return its ``detector.safetensors`` path.

    Args:
        dataset: a torch Dataset of change pair samples (any LEVIR-layout folder, a synthetic
            change set, ...).
        out_dir: the run folder; an unfinished run there is resumed.
        config: the architecture (:class:`~terrasynth.models.detector.DetectorConfig`); its
            ``in_channels`` must match the samples' bands. Default: ResNet-18, 1 x 256 head.
        settings: training settings.
        encoder_weights: a local timm state dict for the encoder (never downloaded).
        val_dataset: optional samples for the validation loss after each epoch.
        progress: show Lightning's progress bar.
        data_name: what the model was trained on, recorded in ``detector.json``.
        callbacks: extra Lightning callbacks.
        overwrite: start over, removing a run in ``out_dir``.
    """
    import lightning as L
    from lightning.pytorch.callbacks import ModelCheckpoint, RichProgressBar
    from lightning.pytorch.loggers import CSVLogger
    from torch.utils.data import DataLoader

    from terrasynth.core.errors import ConfigError
    from terrasynth.models.detector import ChangeDetector, DetectorConfig, save_detector
    from terrasynth.workflows.detector_module import DetectorModule, collate_change_pairs
    from terrasynth.workflows.run_folder import RunCheckpointIO, fit_run, start_run

    settings = settings or TrainSettings()
    config = config or DetectorConfig()
    out_dir = Path(out_dir)
    if len(dataset) == 0:
        raise ConfigError("the training data set is empty")
    bands = dataset[0]["image"].shape[1]
    if bands != config.in_channels:
        raise ConfigError(f"samples have {bands} bands but the detector expects {config.in_channels}")
    record = {
        "data": data_name, "samples": len(dataset), "detector": config.to_dict(), "settings": settings.echo(),
        "encoder_weights": str(encoder_weights) if encoder_weights else None,
    }  # fmt: skip
    L.seed_everything(settings.seed, workers=True, verbose=False)
    module = DetectorModule(
        ChangeDetector(config, encoder_weights=encoder_weights),
        learning_rate=settings.learning_rate,
        weight_decay=settings.weight_decay,
        dice_weight=settings.dice_weight,
        semantic_weight=settings.semantic_weight,
        schedule=settings.schedule,
    )
    resume = start_run(
        out_dir, record, module, out_dir / "last.ckpt", epochs="settings.epochs", overwrite=overwrite
    )
    loader = partial(DataLoader, batch_size=settings.batch_size, num_workers=settings.num_workers)
    training_batches = partial(collate_change_pairs, crop_size=settings.crop_size, augment=settings.augment)
    trainer = L.Trainer(
        default_root_dir=out_dir,
        max_epochs=settings.epochs,
        **settings.trainer_options(),
        precision=settings.precision,
        logger=CSVLogger(out_dir, name="logs"),
        plugins=[RunCheckpointIO()],
        callbacks=[
            ModelCheckpoint(  # overwritten at the end of every epoch
                dirpath=out_dir, filename="last", enable_version_counter=False, save_on_train_epoch_end=True
            ),
            *([RichProgressBar()] if progress else []),
            *callbacks,
        ],
        enable_progress_bar=progress,
        enable_model_summary=False,
    )
    fit_run(
        trainer,
        module,
        resume,
        train_dataloaders=loader(dataset, shuffle=True, collate_fn=training_batches),
        val_dataloaders=(
            loader(val_dataset, collate_fn=partial(collate_change_pairs, crop_size=settings.crop_size))
            if val_dataset is not None
            else None
        ),
    )
    metadata = {"trained_on": data_name, "samples": len(dataset), "settings": settings.echo()}
    if trainer.is_global_zero:  # the final weights, written only now that training has finished
        save_detector(module.model, out_dir, metadata=metadata | {"epochs": trainer.current_epoch})
    return out_dir / "detector.safetensors"
