"""Model folders in the diffusers layout, and one-line errors for everything else.

A model folder is what diffusers' ``save_pretrained`` writes: ``config.json`` (the model's
``__init__`` arguments and its ``_class_name``) and ``diffusion_pytorch_model.safetensors``. A
composite model (:class:`~terrasynth.models.changen2.Changen2Model`) is a folder with an index,
``model_index.json``, naming the class of each component and the subfolder it is saved in, as a
diffusers pipeline is. Beside it, a trained model's folder holds ``training.json``, what it was
trained on (:data:`RECORD_NAME`), which loading ignores. Only local safetensors are read: pickled
weights are never loaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

from diffusers.models.modeling_utils import ModelMixin
from diffusers.utils import CONFIG_NAME, SAFETENSORS_WEIGHTS_NAME

from terrasynth.core.errors import ConfigError, WeightsError

INDEX_NAME = "model_index.json"
"""The index of a composite model's folder."""
RECORD_NAME = "training.json"
"""A training record: in a model folder, what the model was trained on and for how many epochs; in a
training run's folder, its settings (which make it a run folder when no weights are beside it)."""
AGAIN = "train the model again with this version"
"""What to do with a model saved in an older layout."""
PICKLED = (".pt", ".pth", ".ckpt", ".bin", ".pkl")
"""Suffixes of torch's pickled files (checkpoints, state dicts), which are never loaded."""


def public_config(model) -> dict:
    """A diffusers model's configuration as ``save_pretrained`` writes it (JSON: lists, not tuples),
    without the private keys (``_class_name``, ...): its ``__init__`` arguments."""
    return json.loads(
        json.dumps({key: value for key, value in model.config.items() if not key.startswith("_")})
    )


def check_folder(folder: str | Path, class_name: str, config_name: str = CONFIG_NAME) -> dict:
    """The configuration in ``folder/config_name`` of a ``class_name`` saved by ``save_pretrained``;
    a one-line :class:`WeightsError` for anything else (a missing path, a file, a training run
    folder, an older layout, another model class)."""
    folder = Path(folder)
    written = f"give a folder written by {class_name}.save_pretrained"
    if not folder.exists():
        raise WeightsError(f"model folder {folder} does not exist: {written}")
    if folder.is_file():
        kind = "a pickled torch file, which is never loaded" if folder.suffix in PICKLED else "a file"
        raise WeightsError(f"{folder} is {kind}: {written}")
    if (folder / "detector.json").is_file() or (folder / "rsdit.safetensors").is_file():
        raise WeightsError(
            f"{folder} is in an older terrasynth layout, which this version does not read: {AGAIN}"
        )
    config_path = folder / config_name
    if not config_path.is_file():  # the folder of a model of the other kind, a run folder, or none
        config_path = folder / (INDEX_NAME if config_name == CONFIG_NAME else CONFIG_NAME)
        if not config_path.is_file() and _run_folder(folder):
            finished = "" if (folder / "model").is_dir() else " (written once its training has finished)"
            raise WeightsError(
                f"{folder} is a training run: use its model folder, {folder / 'model'}{finished}"
            )
        if not config_path.is_file():
            raise WeightsError(f"{folder} holds no {config_name}: {written}")
    try:
        config = json.loads(config_path.read_text())
    except (ValueError, UnicodeDecodeError):
        raise WeightsError(f"{config_path} is not JSON (damaged?): {written}") from None
    found = config.get("_class_name") if isinstance(config, dict) else None
    if found is None:
        raise WeightsError(
            f"{folder} is in an older terrasynth layout (its {config_path.name} names no model class), which this "
            f"version does not read: {AGAIN}"
        )
    if found != class_name:
        raise WeightsError(f"{folder} holds a {found}, not a {class_name}: {written}")
    return config


def _run_folder(folder: Path) -> bool:
    """Whether ``folder`` is a training run's: its record without a model's weights or components
    beside it (those of its ``model/`` aside)."""
    return (folder / RECORD_NAME).is_file() and not any(
        path.suffix == ".safetensors" or (path / CONFIG_NAME).is_file()
        for path in folder.iterdir()
        if path.name != "model"
    )


def load_folder(cls: type[ModelMixin], folder: str | Path) -> ModelMixin:
    """diffusers' ``from_pretrained`` of ``cls`` on a local model folder, safetensors only, every
    weight accounted for, in evaluation mode; anything else is refused in one line (see
    :func:`check_folder`)."""
    folder = Path(folder)
    check_folder(folder, cls.__name__)
    if not any(folder.glob("diffusion_pytorch_model*.safetensors")):
        pickled = [path.name for path in folder.iterdir() if path.suffix in PICKLED]
        held = f"only pickled weights ({pickled[0]}), which are never loaded" if pickled else "no weights"
        raise WeightsError(
            f"{folder} holds {held}: a model folder has {SAFETENSORS_WEIGHTS_NAME}, written by save_pretrained"
        )
    try:  # diffusers' own from_pretrained, not LocalModelMixin's
        # mypy types a bound classmethod as a plain callable, without its __func__
        model, info = cast(Any, ModelMixin.from_pretrained).__func__(
            cls,
            folder,
            use_safetensors=True,
            local_files_only=True,
            low_cpu_mem_usage=False,
            output_loading_info=True,
        )
    except RuntimeError as error:  # shapes that do not fit the config, listed one per line
        detail = " ".join(str(error).split())[:200]
        raise WeightsError(f"the weights in {folder} do not fit its config.json: {detail}") from None
    except (ConfigError, TypeError) as error:
        raise WeightsError(f"{folder / CONFIG_NAME} is no valid {cls.__name__} config: {error}") from None
    except (OSError, ValueError):
        raise WeightsError(
            f"cannot read the weights in {folder} (damaged or truncated?): copy the folder again or retrain"
        ) from None
    unfit = [f"{kind.replace('_', ' ')} {names[0]}" for kind in ("missing_keys", "unexpected_keys")
             if (names := info.get(kind))]  # fmt: skip
    if unfit:
        raise WeightsError(f"the weights in {folder} do not fit its config.json ({', '.join(unfit)})")
    return model


class LocalModelMixin(ModelMixin):
    """diffusers' ``ModelMixin`` whose ``from_pretrained`` reads only a local safetensors model
    folder and refuses anything else in one line (:func:`load_folder`)."""

    @classmethod
    def from_pretrained(cls, folder: str | Path):  # type: ignore[override]  # deliberately narrower: a local folder only
        """The model saved in ``folder`` by ``save_pretrained``, in evaluation mode."""
        return load_folder(cls, folder)
