"""The FID Inception-v3 network with its standard weights, read from a local file only.

The weights are the TensorFlow "inception-2015-12-05" graph ported to PyTorch, published by
pytorch-fid as ``pt_inception-2015-12-05-6726825d.pth`` (torch-fidelity ships the same file as
``weights-inception-2015-12-05-6726825d.pth``). The ``6726825d`` in the name is the start of the
file's SHA-256; we check the whole digest before the file is unpickled.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from terrasynth.core.errors import WeightsError

if TYPE_CHECKING:
    from torch import nn

INCEPTION_FILE = "pt_inception-2015-12-05-6726825d.pth"
INCEPTION_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
INCEPTION_URL = "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" + INCEPTION_FILE
INCEPTION_FEATURES = 2048


def sha256_of(path: str | Path) -> str:
    """The SHA-256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_inception_weights(path: str | Path | None) -> Path:
    """The path, once it is shown to be the standard FID Inception file (full SHA-256 compared).

    Raises :class:`WeightsError` naming the expected file and where to get it when the path is
    missing, is not a file, or holds other bytes.
    """
    where = f"download {INCEPTION_URL} once and pass its path"
    if path is None:
        raise WeightsError(f"FID needs the Inception weights {INCEPTION_FILE}: {where}")
    path = Path(path).expanduser()
    if path.is_dir():
        path = path / INCEPTION_FILE
    if not path.is_file():
        raise WeightsError(f"Inception weights {path} not found: expected {INCEPTION_FILE}; {where}")
    digest = sha256_of(path)
    if digest != INCEPTION_SHA256:
        raise WeightsError(
            f"{path} is not {INCEPTION_FILE} (sha256 {digest[:8]}..., expected {INCEPTION_SHA256[:8]}...): {where}"
        )
    return path


def inception_encoder(path: str | Path | None, *, check_hash: bool = True) -> nn.Module:
    """torchmetrics' FID Inception-v3 giving 2048-d pool features of uint8 RGB ``(N, 3, H, W)`` batches.

    Images are resized to 299 x 299 inside the network. ``check_hash=False`` skips only the digest
    comparison (for a weights file you made yourself, e.g. in tests); the file must still exist.
    """
    from torchmetrics.image.fid import NoTrainInceptionV3

    if check_hash:
        path = check_inception_weights(path)
    elif path is None or not Path(path).is_file():
        raise WeightsError(f"Inception weights {path} not found: expected a file like {INCEPTION_FILE}")
    try:
        network = NoTrainInceptionV3(
            name="inception-v3-compat",
            features_list=[str(INCEPTION_FEATURES)],
            feature_extractor_weights_path=str(path),
        )
    except (RuntimeError, KeyError) as error:
        raise WeightsError(
            f"{path} does not fit the FID Inception-v3: {str(error).splitlines()[0]}"
        ) from None
    network.num_features = INCEPTION_FEATURES
    return network
