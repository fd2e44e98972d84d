"""Reading the released Changen2 checkpoints of the ``torchange`` package (``.pth`` or safetensors,
its parameter names, optionally wrapped in a training checkpoint) into an RS-DiT. Our own models
are saved and loaded with ``RSDiT.save_pretrained`` / ``from_pretrained``.

``.pth`` files are read with ``torch.load(weights_only=True)`` only: nothing is unpickled beyond
tensors, plain containers and ``argparse.Namespace`` (the training arguments DiT-style checkpoints
keep under ``args``); a file that asks for anything else is refused, naming what it asked for.
A training checkpoint holding both raw and EMA weights gives the EMA ones, and says so.
"""

from __future__ import annotations

import argparse
import pickle
import re
import zipfile
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file

from terrasynth.core.errors import WeightsError
from terrasynth.models.changen2.rsdit import PRESETS, RSDiT

TORCHANGE_NAMES = (
    ("x_embedder.", "patch_embed."),
    ("t_embedder.mlp.0.", "time_embed.linear_1."),
    ("t_embedder.mlp.2.", "time_embed.linear_2."),
    ("y_embedder.convs.", "mask_embed."),
    ("adaLN_modulation.", "modulation."),
)
"""torchange's RSDiT parameter names -> ours (substring replacements, applied in order); the
blocks' ``attn``, ``mlp`` (``fc1``, ``dwconv``, ``fc2``) and ``final_layer.linear`` share names."""

_TORCHANGE_ANCHOR = "x_embedder.proj.weight"
_WRAPPERS = ("ema", "model", "state_dict")  # training checkpoints: the EMA weights when present
SAFE_GLOBALS = (argparse.Namespace,)
"""What a pickled checkpoint may hold besides tensors and plain containers."""
WEIGHTS_KEY = "weights"
"""metadata key (of :func:`read_state_dict`) naming the copy of the weights that was read."""


def read_rsdit(path: str | Path, **overrides) -> tuple[RSDiT, str]:
    """An RS-DiT with the weights of ``path``, in evaluation mode, and which copy of the weights
    that was (``ema``, ``model``, ... or ``weights`` for a plain state dict).

    Reads torchange RSDiT checkpoints (``.safetensors``, ``.pth``, ``.pt``, ``.bin``, ``.ckpt``)
    and plain RS-DiT state dicts under our names. The configuration comes from the tensor shapes;
    what shapes cannot tell (``num_heads`` of a non-standard size,
    ``window_size``, ``global_every``) is taken from ``overrides`` or the matching preset.
    """
    state, metadata = read_state_dict(path)
    copy = metadata.get(WEIGHTS_KEY, "weights")
    if any(name.endswith(_TORCHANGE_ANCHOR) for name in state):
        prefixes = {name[: -len(_TORCHANGE_ANCHOR)] for name in state if name.endswith(_TORCHANGE_ANCHOR)}
        prefix = torchange_prefix(state)
        if len(prefixes) > 1:  # several copies side by side in one state dict
            others = ", ".join(sorted(p.rstrip(".") for p in prefixes - {prefix}))
            copy = f"{prefix.rstrip('.')} (also holds {others})"
        state = from_torchange(state, prefix)
    config = infer_config(state, path, **overrides)
    model = RSDiT(**config)
    try:
        model.load_state_dict(state)
    except RuntimeError as error:  # missing, unexpected or misshapen tensors, listed one per line
        detail = str(error).splitlines()[1].strip()
        raise WeightsError(f"{path} does not fit an RS-DiT of {config}: {detail}") from None
    return model.eval(), copy


def read_state_dict(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors of a safetensors or PyTorch weights file and its metadata (empty for ``.pth``).

    A training checkpoint (a dict holding ``ema``, ``model`` or ``state_dict``) gives the first of
    those it holds (the EMA weights when it holds both raw and EMA ones); the metadata's
    ``weights`` then names it and the copies left out.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(
            f"weights file {path} does not exist; give the path of a local .safetensors or .pth file"
        )
    try:
        if path.suffix == ".safetensors":
            with safe_open(path, framework="pt") as file:
                metadata = dict(file.metadata() or {})
            return load_file(path), metadata
        if path.suffix in {".pth", ".pt", ".bin", ".ckpt"}:
            with torch.serialization.safe_globals(list(SAFE_GLOBALS)):
                state = torch.load(path, map_location="cpu", weights_only=True)
        else:
            raise WeightsError(f"{path}: unknown weights format {path.suffix!r}; use .safetensors or .pth")
    except pickle.UnpicklingError as error:  # a pickle asking for more than tensors and containers
        asked = re.search(r"(?:unsupported|Unsupported global:) GLOBAL (\S+)", str(error))
        what = f"it asks for {asked.group(1).rstrip('.')}" if asked else "it holds more than weights"
        raise WeightsError(
            f"refusing to unpickle {path}: {what}, and only tensors, plain containers and argparse.Namespace "
            "are loaded, never code; use a safetensors copy"
        ) from None
    except (OSError, RuntimeError, ValueError, EOFError, SafetensorError, zipfile.BadZipFile) as error:
        # corrupt or truncated files
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise WeightsError(f"cannot read weights from {path} (damaged or truncated?): {first}") from None
    copies, taken = [], []
    while isinstance(state, dict) and (wrapper := next((k for k in _WRAPPERS if k in state), None)):
        copies += [k for k in _WRAPPERS if k in state and k != wrapper and isinstance(state[k], dict)]
        taken.append(wrapper)
        state = state[wrapper]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"{path} holds no state dict of tensors")
    metadata = {}
    if taken:
        metadata[WEIGHTS_KEY] = "/".join(taken) + (f" (also holds {', '.join(copies)})" if copies else "")
    return state, metadata


def torchange_prefix(state: dict[str, torch.Tensor]) -> str:
    """The prefix of the torchange RSDiT names in ``state`` (``""``, DDP's ``module.``, ...): the one
    naming EMA weights when the file holds several copies (``model.`` and ``ema.``)."""
    prefixes = [name[: -len(_TORCHANGE_ANCHOR)] for name in state if name.endswith(_TORCHANGE_ANCHOR)]
    return next((p for p in prefixes if "ema" in p.lower()), prefixes[0])


def from_torchange(state: dict[str, torch.Tensor], prefix: str | None = None) -> dict[str, torch.Tensor]:
    """A torchange RSDiT state dict under our names; a prefix before the model's own names (DDP's
    ``module.``, ``torch.compile``'s ``_orig_mod.``, a wrapper's attribute) is dropped, and so is
    everything outside the model (default prefix: :func:`torchange_prefix`)."""
    prefix = torchange_prefix(state) if prefix is None else prefix
    renamed = {}
    for name, tensor in state.items():
        if name.startswith(prefix):
            name = name[len(prefix) :]
            for theirs, ours in TORCHANGE_NAMES:
                name = name.replace(theirs, ours)
            renamed[name] = tensor
    return renamed


def infer_config(state: dict[str, torch.Tensor], path: str | Path = "weights", **overrides) -> dict:
    """The :class:`RSDiT` arguments that the tensor shapes of ``state`` (our names) imply."""
    try:
        hidden, in_channels, patch, _ = state["patch_embed.proj.weight"].shape
        depth = 1 + max(int(m.group(1)) for name in state if (m := re.match(r"blocks\.(\d+)\.", name)))
        shapes = {
            "in_channels": in_channels,
            "mask_channels": state["mask_embed.0.weight"].shape[1],
            "hidden_size": hidden,
            "depth": depth,
            "patch_size": patch,
            "mlp_ratio": state["blocks.0.mlp.fc1.weight"].shape[0] / hidden,
            "learn_sigma": state["final_layer.linear.weight"].shape[0] == 2 * in_channels * patch * patch,
        }
    except KeyError as error:
        raise WeightsError(f"{path} is not an RS-DiT state dict (no {error})") from None
    except ValueError:
        shape = tuple(state["patch_embed.proj.weight"].shape)
        raise WeightsError(
            f"{path} is not an RS-DiT state dict: its patch embedding is shaped {shape}, not (D, C, p, p)"
        ) from None
    if "num_heads" not in overrides:
        preset = next(
            (p for p in PRESETS.values() if (p["depth"], p["hidden_size"]) == (depth, hidden)), None
        )
        if preset is None:
            raise WeightsError(
                f"{path}: an RS-DiT of depth {depth} and width {hidden} is no standard size; pass num_heads"
            )
        shapes["num_heads"] = preset["num_heads"]
    return {**shapes, **overrides}
