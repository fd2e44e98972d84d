"""The torch device of a command's ``--device``: one default (a GPU when there is one) and one-line
refusals of devices this machine does not have."""

from __future__ import annotations

from typing import TYPE_CHECKING

from terrasynth.core.errors import ConfigError

if TYPE_CHECKING:
    import torch

DEVICE_HELP = "cpu, cuda or cuda:N (default: a GPU when there is one, else cpu)."


def torch_device(name: str | None = None) -> torch.device:
    """The device called ``name`` (``cpu``, ``cuda``, ``cuda:1``...), checked to exist here;
    None picks the first GPU when there is one, else the CPU."""
    import torch

    if name is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"--device {name!r} is not a device: use cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("no CUDA device: use --device cpu")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise ConfigError(
                f"no CUDA device {device.index}: this machine has {count} (cuda:0 to cuda:{count - 1})"
            )
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("no MPS device: use --device cpu")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"--device {name!r} is not supported: use cpu, cuda or cuda:N")
    return device
