"""LEVIR-CD (Chen & Shi 2020) as laid out by its users, and any change set written in its layout.

``{train,val,test}/{A,B,label}/*.png``: 1024 x 1024 RGB pairs at 0.5 m (445 / 64 / 128), labels
0/255 for building change. terrasynth's synthetic change sets use the same folders; read one with
``split=None`` when its root holds ``A``, ``B`` and ``label`` directly.
"""

from __future__ import annotations

import numpy as np

from terrasynth.core.change_data import LEVIR_CD
from terrasynth.datasets.change_folder import ChangeFolder, binary_change


class LEVIRCDFolder(ChangeFolder):
    """LEVIR-CD pairs; samples hold ``image`` (2, 3, H, W), ``mask`` (H, W) and ``name``
    (see :mod:`terrasynth.datasets.change_folder`)."""

    layout = LEVIR_CD

    def _labels(self, labels: dict[str, np.ndarray], name: str) -> dict[str, np.ndarray]:
        return {"mask": binary_change(labels["label"], str(self.directory / "label" / name))}
