"""The type of a map-style dataset: samples by integer index, and its length."""

from __future__ import annotations

from typing import Any, Protocol


class MapStyleDataset(Protocol):
    """What a map-style :class:`torch.utils.data.Dataset` provides (torch's ``Dataset`` declares no
    ``__len__``, so one typed as it cannot be given to ``len``); a list of samples is one too."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Any: ...
