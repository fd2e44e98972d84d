"""S2Looking (Shen et al. 2021) as laid out by its users.

``{train,val,test}/{Image1,Image2,label,label1,label2}/*.png``: 1024 x 1024 off-nadir pairs at
0.5-0.8 m; ``label`` marks all building change (0/255), ``label1`` new and ``label2`` demolished
buildings. The change mask comes from ``label``; any non-zero value in any channel counts as
change (the published maps are grey or colour).
"""

from __future__ import annotations

import numpy as np

from terrasynth.core.change_data import S2LOOKING
from terrasynth.datasets.change_folder import ChangeFolder, binary_change


class S2LookingFolder(ChangeFolder):
    """S2Looking pairs; samples hold ``image`` (2, 3, H, W), ``mask`` (H, W) and ``name``
    (see :mod:`terrasynth.datasets.change_folder`)."""

    layout = S2LOOKING

    def _labels(self, labels: dict[str, np.ndarray], name: str) -> dict[str, np.ndarray]:
        return {"mask": binary_change(labels["label"], str(self.directory / "label" / name))}
