"""The one Lightning ``Trainer`` factory of every trainer: a run folder's checkpoints, logs,
progress bar and, for the diffusion models, the EMA of the weights.

Resuming is exact at epoch boundaries: checkpoints are written (atomically, see
:mod:`~terrasynth.trainers.run_folder`) at the end of every epoch into
``checkpoints/last.ckpt`` of the run folder, and every random draw of the trainers depends only on
(seed, epoch, batch).

On several devices or nodes (:class:`~terrasynth.trainers.settings.ScaleSettings`), each
process trains on its own share of every epoch, and only the first writes the run folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint, RichProgressBar, WeightAveraging
from lightning.pytorch.loggers import Logger

from terrasynth.core.config import Precision
from terrasynth.trainers.ema import warmup_ema
from terrasynth.trainers.run_folder import LAST_CHECKPOINT, RunCheckpointIO
from terrasynth.trainers.settings import ScaleSettings


def build_trainer(
    out_dir: Path,
    settings: ScaleSettings,
    *,
    max_epochs: int,
    precision: Precision,
    logger: Logger,
    ema_decay: float | None = None,
    average_buffers: bool = False,
    progress: bool = True,
    callbacks: Sequence[L.Callback] = (),
    **options,
) -> L.Trainer:
    """A ``lightning.Trainer`` of the run folder ``out_dir`` on the processes ``settings`` name.

    Its training state is checkpointed at the end of every epoch into ``out_dir/checkpoints/last.ckpt``
    (:data:`~terrasynth.trainers.run_folder.LAST_CHECKPOINT`, overwritten). With ``ema_decay``,
    it keeps an exponential moving average of the weights (:func:`~terrasynth.trainers.ema.warmup_ema`),
    swapped in for validation and copied into the module when training ends; ``average_buffers``
    averages the buffers too (BatchNorm's running statistics, which must match averaged weights).
    ``progress`` shows a progress bar; ``options`` are other ``Trainer`` arguments.
    """
    averaging = (
        [WeightAveraging(avg_fn=warmup_ema(ema_decay), use_buffers=average_buffers)] if ema_decay else []
    )
    return L.Trainer(
        default_root_dir=out_dir,
        max_epochs=max_epochs,
        **settings.trainer_options(),
        precision=precision,
        logger=logger,
        plugins=[RunCheckpointIO()],
        callbacks=[
            *averaging,
            ModelCheckpoint(  # overwritten at the end of every epoch
                dirpath=out_dir / LAST_CHECKPOINT.parent,
                filename=LAST_CHECKPOINT.stem,
                enable_version_counter=False,
                save_on_train_epoch_end=True,
            ),
            *([RichProgressBar()] if progress else []),
            *callbacks,
        ],
        enable_progress_bar=progress,
        **options,
    )
