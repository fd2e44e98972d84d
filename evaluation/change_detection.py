"""Change detection on a data set: a model's change probabilities scored against the true change,
as an xarray results Dataset.

The model is any callable (a torch module, a function) that takes a batch of image pairs
``(B, 2, C, H, W)`` and gives change probabilities ``(B, H, W)`` in [0, 1], or a mapping with
them under ``"change"`` and, optionally, SECOND semantic values ``(B, 2, H, W)`` (1-6) under
``"semantic"``. :class:`SlidingWindowDetector` makes one of a change detector, run in sliding
windows over full-size pairs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sized
from typing import cast

import torch
import xarray as xr

from terrasynth.evaluation.binary_change import BinaryChangeMetrics
from terrasynth.evaluation.semantic_change import SemanticChangeMetrics
from terrasynth.models.detector import ChangeDetector, sliding_window_predict

ChangeModel = Callable[[torch.Tensor], torch.Tensor | Mapping[str, torch.Tensor]]


class SlidingWindowDetector(torch.nn.Module):
    """A :class:`~terrasynth.models.detector.ChangeDetector` (logits) on image pairs of any size:
    its outputs blended over windows of ``window`` pixels overlapping by ``overlap`` (a fraction in
    [0, 1)), as change probabilities and, with six-class semantic heads, SECOND values
    (head class k is SECOND value k + 1)."""

    def __init__(self, detector: ChangeDetector, *, window: int = 512, overlap: float = 0.25):
        super().__init__()
        self.detector, self.window, self.overlap = detector, window, overlap

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        outputs = sliding_window_predict(self.detector, images, window=self.window, overlap=self.overlap)
        predictions = {"change": outputs["change"][:, 0].sigmoid()}
        if self.detector.config["semantic_classes"] == 6:
            predictions["semantic"] = outputs["semantic"].argmax(2) + 1
        return predictions


def evaluate_change_detection(
    model: ChangeModel,
    dataset: Iterable[Mapping],
    *,
    threshold: float = 0.5,
    thresholds: int = 101,
    device: str | torch.device | None = None,
    on_prediction: Callable[[dict], None] | None = None,
) -> xr.Dataset:
    """Score ``model`` on every sample of ``dataset``, one image pair at a time (full-size pairs
    may differ in size).

    Args:
        model: see the module docstring.
        dataset: a map-style dataset (or any iterable) of samples: ``image`` ``(2, C, H, W)`` in
            [0, 1], ``mask`` ``(H, W)`` 0/1, optionally ``semantic`` ``(2, H, W)`` and ``name``.
        threshold: change probability above which a pixel counts as changed.
        thresholds: points of the precision-recall sweep over [0, 1].
        device: where the images go (default: that of the model's parameters, else the CPU).
        on_prediction: called after every image with ``{"name", "image", "mask", "prediction"}``
            (the example dicts of :func:`~terrasynth.evaluation.plots.plot_examples`).

    Returns:
        The scores of :class:`~terrasynth.evaluation.binary_change.BinaryChangeMetrics` (one
        confusion matrix over the set), and ``semantic_scores`` of
        :class:`~terrasynth.evaluation.semantic_change.SemanticChangeMetrics` when the model gives
        SECOND values and the samples have ``semantic`` labels.
    """
    if device is None:
        parameter = next(model.parameters(), None) if isinstance(model, torch.nn.Module) else None
        device = parameter.device if parameter is not None else "cpu"
    binary = BinaryChangeMetrics(threshold=threshold, thresholds=thresholds)
    semantic = SemanticChangeMetrics()
    semantic_seen = False
    samples = (
        map(dataset.__getitem__, range(len(cast(Sized, dataset))))
        if hasattr(dataset, "__getitem__")
        else dataset
    )
    with torch.no_grad():
        for index, sample in enumerate(samples):
            name = str(sample.get("name", index))
            outputs = model(torch.as_tensor(sample["image"])[None].to(device))
            outputs = outputs if isinstance(outputs, Mapping) else {"change": outputs}
            probability = outputs["change"].float().cpu()
            mask = torch.as_tensor(sample["mask"])[None]
            binary.update(probability, mask, [name])
            predicted = probability > threshold
            if "semantic" in outputs and "semantic" in sample:
                semantic_seen = True
                truth = torch.as_tensor(sample["semantic"])[None]
                semantic.update(predicted, outputs["semantic"].cpu(), mask, truth)
            if on_prediction:
                on_prediction(
                    {
                        "name": name,
                        "image": sample["image"].cpu(),
                        "mask": mask[0],
                        "prediction": predicted[0],
                    }
                )
    results = binary.compute()
    return xr.merge([results, semantic.compute()]) if semantic_seen else results
