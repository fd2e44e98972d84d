"""Train the change detector with Lightning on any Dataset of change pair samples.

A sample is a dict: ``image`` float32 ``(2, C, H, W)`` in [0, 1], ``mask`` int64 ``(H, W)`` 0/1,
optionally ``semantic`` int64 ``(2, H, W)`` SECOND values 0-6 and ``name``. The output folder
holds Lightning's ``last.ckpt``, written atomically after every epoch, from which a rerun with the
same folder resumes (weights, optimiser state and epoch count restored), and, once training has
finished, the detector: ``detector.safetensors`` + ``detector.json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from typer import Option

if TYPE_CHECKING:
    import lightning as L

    from terrasynth.models.detector import DetectorConfig


@dataclass(frozen=True)
class TrainSettings:
    """How to train (the architecture is a :class:`~terrasynth.models.detector.DetectorConfig`).

    Attributes:
        epochs: passes over the data set (a resumed run continues up to this many).
        batch_size: samples per step (per device).
        learning_rate: AdamW learning rate.
        weight_decay: AdamW weight decay.
        crop_size: random crop edge in pixels applied to each sample (0: none; samples of one
            batch must then have the same size).
        augment: turn, mirror and swap the dates of each training sample at random (validation
            samples are left as they are).
        dice_weight: weight of the Dice term next to binary cross-entropy.
        semantic_weight: weight of the per-date semantic cross-entropy (models with semantic heads).
        num_workers: DataLoader worker processes.
        seed: seeds weights, shuffling and crops.
        accelerator, devices, precision, strategy: passed to ``lightning.Trainer``
            (e.g. ``"gpu"``, ``4``, ``"bf16-mixed"``, ``"ddp"``).
    """

    epochs: int = 10
    batch_size: int = 8
    learning_rate: float = 1e-4
    weight_decay: float = 1e-4
    crop_size: int = 512
    augment: bool = True
    dice_weight: float = 1.0
    semantic_weight: float = 1.0
    num_workers: int = 0
    seed: int = 0
    accelerator: str = "auto"
    devices: int | str = "auto"
    precision: str = "32-true"
    strategy: str = "auto"


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
        "data": data_name, "samples": len(dataset), "detector": config.to_dict(), "settings": asdict(settings),
        "encoder_weights": str(encoder_weights) if encoder_weights else None,
    }  # fmt: skip
    L.seed_everything(settings.seed, workers=True, verbose=False)
    module = DetectorModule(
        ChangeDetector(config, encoder_weights=encoder_weights),
        learning_rate=settings.learning_rate,
        weight_decay=settings.weight_decay,
        dice_weight=settings.dice_weight,
        semantic_weight=settings.semantic_weight,
    )
    resume = start_run(
        out_dir, record, module, out_dir / "last.ckpt", epochs="settings.epochs", overwrite=overwrite
    )
    loader = partial(DataLoader, batch_size=settings.batch_size, num_workers=settings.num_workers)
    training_batches = partial(collate_change_pairs, crop_size=settings.crop_size, augment=settings.augment)
    trainer = L.Trainer(
        default_root_dir=out_dir,
        max_epochs=settings.epochs,
        accelerator=settings.accelerator,
        devices=settings.devices,
        precision=settings.precision,
        strategy=settings.strategy,
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
    metadata = {"trained_on": data_name, "samples": len(dataset), "settings": asdict(settings)}
    if trainer.is_global_zero:  # the final weights, written only now that training has finished
        save_detector(module.model, out_dir, metadata=metadata | {"epochs": trainer.current_epoch})
    return out_dir / "detector.safetensors"


def cli(
    dataset: Annotated[str, Option("--dataset", help="Layout: levir-cd, s2looking, second or folder.")],
    root: Annotated[Path, Option("--root", help="The data set's folder (holding train/, test/, ...).")],
    out: Annotated[Path, Option("--out", help="Output folder: detector.safetensors/.json and last.ckpt.")],
    split: Annotated[str, Option("--split", help="Split to train on.")] = "train",
    val_split: Annotated[
        str, Option("--val-split", help="Split for the validation loss (none if empty).")
    ] = "",
    encoder: Annotated[
        str, Option("--encoder", help="timm encoder name (built without weights).")
    ] = "resnet18",
    encoder_weights: Annotated[
        Path | None,
        Option("--encoder-weights", help="Local timm state dict for the encoder (.safetensors/.pth)."),
    ] = None,
    semantic: Annotated[
        bool, Option("--semantic", help="Add SECOND semantic heads (6 classes per date).")
    ] = False,
    epochs: Annotated[
        int, Option("--epochs", help="Epochs to train (a rerun resumes up to this many).")
    ] = 10,
    batch_size: Annotated[int, Option("--batch-size", help="Samples per step and device.")] = 8,
    learning_rate: Annotated[float, Option("--lr", help="AdamW learning rate.")] = 1e-4,
    crop_size: Annotated[
        int, Option("--crop-size", help="Random crop edge in pixels (0: whole images).")
    ] = 512,
    augment: Annotated[
        bool, Option("--augment/--no-augment", help="Random quarter turns, mirror images and date swaps.")
    ] = True,
    accelerator: Annotated[
        str, Option("--accelerator", help="Lightning accelerator: auto, cpu, gpu.")
    ] = "auto",
    devices: Annotated[str, Option("--devices", help="Devices to use: auto or a count.")] = "auto",
    precision: Annotated[
        str, Option("--precision", help="Lightning precision, e.g. bf16-mixed.")
    ] = "32-true",
    seed: Annotated[int, Option("--seed", help="Random seed.")] = 0,
    overwrite: Annotated[
        bool, Option("--overwrite", help="Start over, removing a run in --out (else it is resumed).")
    ] = False,
) -> None:
    """Train the ChangeStar-style change detector on a change data set."""
    from rich.console import Console

    from terrasynth.datasets import open_change_dataset
    from terrasynth.models.detector import DetectorConfig

    train = open_change_dataset(dataset, root, split)
    val = open_change_dataset(dataset, root, val_split) if val_split else None
    bands = train[0]["image"].shape[1]
    defaults = DetectorConfig()  # ImageNet statistics for RGB; mid-grey otherwise
    config = DetectorConfig(
        encoder=encoder,
        in_channels=bands,
        semantic_classes=6 if semantic else 0,
        mean=defaults.mean if bands == 3 else (0.5,) * bands,
        std=defaults.std if bands == 3 else (0.25,) * bands,
    )
    settings = TrainSettings(
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        crop_size=crop_size,
        augment=augment,
        accelerator=accelerator,
        devices=int(devices) if devices.isdigit() else devices,
        precision=precision,
        seed=seed,
    )
    path = train_detector(
        train, out, config=config, settings=settings, encoder_weights=encoder_weights,
        val_dataset=val, data_name=f"{dataset}:{root.resolve()}:{split}", overwrite=overwrite,
    )  # fmt: skip
    Console().print(f"Trained on {len(train)} pairs for {epochs} epochs: {path}")
