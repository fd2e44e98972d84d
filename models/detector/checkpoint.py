"""Detector checkpoints: weights as safetensors beside their architecture as JSON.

A checkpoint ``NAME.safetensors`` has its :class:`DetectorConfig` in ``NAME.json``; a folder
stands for ``folder/detector.safetensors``. Both files are written under temporary names first.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from terrasynth.core.errors import WeightsError
from terrasynth.models.detector.changestar import ChangeDetector, DetectorConfig

DEFAULT_NAME = "detector.safetensors"


def checkpoint_paths(path: str | Path) -> tuple[Path, Path]:
    """The (weights, config) files of a checkpoint given as a ``.safetensors``/``.json`` path or a folder."""
    path = Path(path)
    if path.is_dir() or path.suffix not in {".safetensors", ".json"}:
        path = path / DEFAULT_NAME
    return path.with_suffix(".safetensors"), path.with_suffix(".json")


def save_detector(model: ChangeDetector, path: str | Path, *, metadata: dict | None = None) -> Path:
    """Write the model's weights and config; returns the ``.safetensors`` path.

    ``metadata`` (JSON-ready: training data, epochs, ...) is stored in the config file too.
    """
    from safetensors.torch import save_file

    weights, config = checkpoint_paths(path)
    weights.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    partial_weights = weights.with_name(f".{weights.name}.partial")
    partial_config = config.with_name(f".{config.name}.partial")
    save_file(state, partial_weights)
    document = {"detector": model.config.to_dict(), "metadata": metadata or {}}
    partial_config.write_text(json.dumps(document, indent=2))
    os.replace(partial_weights, weights)
    os.replace(partial_config, config)
    return weights


def load_detector(path: str | Path, *, map_location: str = "cpu") -> tuple[ChangeDetector, dict]:
    """A detector and its metadata from a checkpoint written by :func:`save_detector`: the run
    folder of ``terrasynth train detector``, or its ``.safetensors`` (or ``.json``) file."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.exists():
        raise WeightsError(
            f"detector checkpoint {path} is missing: give the run folder of `terrasynth train detector`"
        )
    if path.is_file() and path.suffix not in {".safetensors", ".json"}:
        raise WeightsError(
            f"{path} is not a detector checkpoint: give the run folder of `terrasynth train detector` "
            f"(or its {DEFAULT_NAME})"
        )
    weights, config = checkpoint_paths(path)
    for needed in (weights, config):
        if not needed.is_file():
            if path.is_dir() and (path / "last.ckpt").is_file():
                raise WeightsError(
                    f"{path} holds an unfinished training run (no {needed.name} yet): rerun its "
                    "`terrasynth train detector` command to finish it"
                )
            raise WeightsError(
                f"checkpoint file {needed} is missing (a checkpoint is NAME.safetensors + NAME.json, "
                "written by `terrasynth train detector`)"
            )
    try:
        document = json.loads(config.read_text())
        detector_config = DetectorConfig.from_dict(document["detector"])
    except (ValueError, KeyError, TypeError) as error:
        raise WeightsError(f"{config} is not a detector config ({error})") from None
    model = ChangeDetector(detector_config)
    try:
        state = load_file(weights, device=map_location)
    except SafetensorError as error:
        raise WeightsError(f"{weights} is damaged or truncated ({error}): copy it again or retrain") from None
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise WeightsError(f"{weights} does not fit {config.name}: {str(error).splitlines()[0]}") from None
    return model.eval(), document.get("metadata", {})
