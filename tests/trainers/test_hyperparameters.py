"""Each LightningModule takes plain hyper-parameters (``save_hyperparameters``), so the checkpoint
of a run alone rebuilds it, with Lightning's own loader and torch's safe unpickler."""

import pytest
import torch

from terrasynth.trainers.changen2 import Changen2Module
from terrasynth.trainers.detector import DetectorModule
from terrasynth.trainers.metaearth import MetaEarthModule
from terrasynth.trainers.run_folder import LAST_CHECKPOINT
from terrasynth.trainers.settings import Changen2Training, MetaEarthTraining, TrainSettings
from terrasynth.workflows.train_changen2 import train_changen2
from terrasynth.workflows.train_detector import train_detector
from terrasynth.workflows.train_metaearth import train_metaearth

ONE_STEP = {"max_epochs": 1, "steps_per_epoch": 1, "batch_size": 2, "sample_steps": 1, "samples": 2}


def train(kind: str, out, generators, change_pairs) -> type:
    """A one-epoch run of ``kind`` in ``out``; returns its module class."""
    if kind == "metaearth":
        samples = generators("cascade_samples").CascadeSamples()
        train_metaearth(samples, out, MetaEarthTraining(**ONE_STEP, accelerator="cpu", devices=1))
        return MetaEarthModule
    if kind == "changen2":
        tiles = generators("changen2", "make_samples.py").MaskedTiles(count=2, size=16)
        train_changen2(tiles, out, Changen2Training(**ONE_STEP, accelerator="cpu", devices=1))
        return Changen2Module
    settings = TrainSettings(epochs=1, batch_size=2, crop_size=32, accelerator="cpu", devices=1)
    config = {"encoder": "test_efficientnet", "decoder_channels": 8}
    train_detector(change_pairs(count=2, size=32), out, config=config, settings=settings, progress=False)
    return DetectorModule


@pytest.mark.parametrize("kind", ["metaearth", "changen2", "detector"])
def test_a_run_checkpoint_alone_rebuilds_its_module(kind, generators, change_pairs, tmp_path):
    module_class = train(kind, tmp_path, generators, change_pairs)
    checkpoint = tmp_path / LAST_CHECKPOINT
    module = module_class.load_from_checkpoint(checkpoint, map_location="cpu", weights_only=True)
    saved = torch.load(checkpoint, map_location="cpu", weights_only=True)
    assert dict(module.hparams) == saved["hyper_parameters"]
    state = module.state_dict()
    assert state.keys() == saved["state_dict"].keys()
    for name, tensor in saved["state_dict"].items():
        assert torch.equal(state[name], tensor), name
