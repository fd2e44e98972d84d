import json
import multiprocessing
import os
import re
import shutil
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from terrasynth.core.errors import ConfigError, WeightsError
from terrasynth.datasets import CascadeLevels
from terrasynth.models.metaearth import Cascade, MetaEarthDenoiser
from terrasynth.trainers.settings import MetaEarthTraining
from terrasynth.workflows.train_metaearth import train_metaearth

torch.set_num_threads(1)  # tiny models on a shared CI machine


@pytest.fixture(scope="module")
def cascade_samples(generators):
    """The cascade sample Dataset class of tests/data/cascade_samples/data.py."""
    return generators("cascade_samples").CascadeSamples


SETTINGS = MetaEarthTraining(
    max_epochs=3,
    steps_per_epoch=2,
    batch_size=2,
    learning_rate=1e-3,
    ema_decay=0.5,
    sample_steps=2,
    samples=2,
)


def weights(model_dir):
    return load_file(Path(model_dir) / "diffusion_pytorch_model.safetensors")


class Crash(L.Callback):
    """Kills the process without any clean-up, like a lost machine, after a given optimizer step."""

    def __init__(self, step):
        self.step = step

    def on_train_batch_end(self, trainer, *args):
        if trainer.global_step == self.step:
            os._exit(3)


def _crashing_run(samples, out_dir):
    train_metaearth(samples, out_dir, SETTINGS, callbacks=[Crash(5)])


@pytest.fixture(scope="module")
def finished_run(cascade_samples, tmp_path_factory):
    out = tmp_path_factory.mktemp("uninterrupted")
    return out, train_metaearth(cascade_samples(), out, SETTINGS, data_name="cascade-samples")


def test_a_run_leaves_safetensors_weights_config_samples_and_a_checkpoint(finished_run):
    out, model_dir = finished_run
    assert model_dir == out / "model"
    trained = json.loads((model_dir / "training.json").read_text())
    assert trained["trained_on"] == "cascade-samples" and trained["epochs"] == 3 and trained["samples"] == 8
    model = MetaEarthDenoiser.from_pretrained(model_dir)
    assert model.config.gsd == 4.0 and model.config.condition_gsd == 16.0 and model.config.window == 16
    assert model.config.schedule["kind"] == "scaled_linear"
    record = json.loads((out / "training.json").read_text())
    assert record["settings"]["preset"] == "tiny" and record["stage"]["channels"] == 3
    assert len(list((out / "samples").glob("*.png"))) == 3  # one per epoch
    assert (out / "checkpoints" / "last.ckpt").exists()


def test_killed_and_resumed_run_ends_with_the_same_weights(
    cascade_samples, finished_run, tmp_path, count_steps
):
    process = multiprocessing.get_context("fork").Process(
        target=_crashing_run, args=(cascade_samples(), tmp_path)
    )
    process.start()
    process.join(timeout=600)
    assert process.exitcode == 3  # killed in the third epoch, after the second epoch's checkpoint
    assert not (tmp_path / "model").exists()
    counter = count_steps()
    resumed = train_metaearth(cascade_samples(), tmp_path, SETTINGS, callbacks=[counter])
    assert counter.steps == 2  # only the third epoch was run again
    reference = weights(finished_run[1])
    for name, tensor in weights(resumed).items():
        assert torch.equal(tensor, reference[name]), name


def test_first_stage_trains_with_land_cover(cascade_samples, tmp_path):
    settings = SETTINGS.model_copy(update={"max_epochs": 1, "first_stage": True, "steps_per_epoch": 1})
    model = MetaEarthDenoiser.from_pretrained(train_metaearth(cascade_samples(), tmp_path, settings))
    assert not model.conditioned and model.uses_landcover and 80 in model.config.landcover_codes


def test_other_settings_in_the_same_folder_are_refused_naming_them(cascade_samples, finished_run):
    with pytest.raises(
        ConfigError, match=r"other settings or data .*settings\.learning_rate 0\.001 -> 0\.1;"
    ):
        train_metaearth(cascade_samples(), finished_run[0], SETTINGS, learning_rate=0.1)
    with pytest.raises(ConfigError, match=r"settings\.max_epochs 3 -> 2; only the epochs may grow"):
        train_metaearth(cascade_samples(), finished_run[0], SETTINGS, max_epochs=2)
    with pytest.raises(ConfigError, match="multiple of"):
        train_metaearth(cascade_samples(size=10), finished_run[0] / "odd", SETTINGS)


def test_a_run_killed_while_writing_a_checkpoint_resumes_from_the_one_before(
    cascade_samples, finished_run, killed_while_checkpointing, count_steps, tmp_path
):
    def train(callbacks=()):
        return train_metaearth(cascade_samples(), tmp_path, SETTINGS, callbacks=callbacks)

    assert killed_while_checkpointing(train, epoch=1) == -9
    checkpoints = tmp_path / "checkpoints"
    assert torch.load(checkpoints / "last.ckpt", weights_only=True)["epoch"] == 0  # whole
    assert (checkpoints / ".last.ckpt.partial").is_file() and not (tmp_path / "model").exists()
    counter = count_steps()
    resumed = train([counter])
    assert counter.steps == 4  # the second and third epochs
    assert not (checkpoints / ".last.ckpt.partial").exists()
    reference = weights(finished_run[1])
    for name, tensor in weights(resumed).items():
        assert torch.equal(tensor, reference[name]), name


def test_ctrl_c_keeps_the_last_checkpoint_and_a_rerun_resumes(
    cascade_samples, finished_run, ctrl_c_after_step, count_steps, tmp_path
):
    with pytest.raises(KeyboardInterrupt):  # not Lightning's exit(1)
        train_metaearth(cascade_samples(), tmp_path, SETTINGS, callbacks=[ctrl_c_after_step(3)])
    assert torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 0
    assert not (tmp_path / "model").exists()
    counter = count_steps()
    resumed = train_metaearth(cascade_samples(), tmp_path, SETTINGS, callbacks=[counter])
    assert counter.steps == 4
    reference = weights(finished_run[1])
    for name, tensor in weights(resumed).items():
        assert torch.equal(tensor, reference[name]), name


def test_a_rerun_with_more_epochs_extends_the_run(cascade_samples, finished_run, count_steps, tmp_path):
    shutil.copytree(finished_run[0], tmp_path, dirs_exist_ok=True)
    counter = count_steps()
    train_metaearth(cascade_samples(), tmp_path, SETTINGS, max_epochs=4, callbacks=[counter])
    assert counter.steps == 2  # the fourth epoch
    assert json.loads((tmp_path / "training.json").read_text())["settings"]["max_epochs"] == 4


@pytest.mark.parametrize("fraction", [0.5, 0.0])
def test_a_damaged_checkpoint_is_refused_and_overwrite_starts_over(
    cascade_samples, finished_run, generators, count_steps, tmp_path, fraction
):
    shutil.copytree(finished_run[0], tmp_path, dirs_exist_ok=True)
    last = generators("corrupt").truncate_file(tmp_path / "checkpoints" / "last.ckpt", fraction)
    with pytest.raises(WeightsError, match=f"{re.escape(str(last))} is damaged .*--overwrite"):
        train_metaearth(cascade_samples(), tmp_path, SETTINGS)
    counter = count_steps()
    train_metaearth(cascade_samples(), tmp_path, SETTINGS, overwrite=True, callbacks=[counter])
    assert counter.steps == 6  # every epoch again


def test_a_checkpoint_of_another_model_is_refused(cascade_samples, finished_run, tmp_path):
    first_stage = SETTINGS.model_copy(update={"max_epochs": 1, "steps_per_epoch": 1, "first_stage": True})
    train_metaearth(cascade_samples(), tmp_path / "other", first_stage)
    shutil.copytree(finished_run[0], tmp_path / "run")
    shutil.copy(tmp_path / "other" / "checkpoints" / "last.ckpt", tmp_path / "run" / "checkpoints")
    with pytest.raises(WeightsError, match=r"run/checkpoints/last\.ckpt holds another model"):
        train_metaearth(cascade_samples(), tmp_path / "run", SETTINGS)


class AtResolution(torch.utils.data.Dataset):
    """Cascade samples relabelled as another level pair (``gsd``, ``condition_gsd`` in metres)."""

    def __init__(self, samples, gsd, condition_gsd, degraded=False):
        self.samples, self.gsd, self.condition_gsd, self.degraded = samples, gsd, condition_gsd, degraded

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        sample = self.samples[index] | {
            "gsd": torch.tensor(self.gsd),
            "condition_gsd": torch.tensor(self.condition_gsd),
        }
        return {k: v for k, v in sample.items() if not (self.degraded and k == "condition")}


def test_one_model_trained_across_level_pairs_runs_every_stage(cascade_samples, tmp_path):
    pairs = CascadeLevels(
        [
            AtResolution(cascade_samples(count=3, ratio=4), 16.0, 64.0),
            AtResolution(cascade_samples(ratio=2), 4.0, 8.0),
        ]
    )  # conditions of 4 and 8 pixels: batches mix both
    settings = SETTINGS.model_copy(update={"max_epochs": 1, "residual": True, "prediction": "sample"})
    model = MetaEarthDenoiser.from_pretrained(train_metaearth(pairs, tmp_path, settings))
    assert model.pairs == [(16.0, 64.0), (4.0, 8.0)] and model.config.residual
    assert model.schedule.prediction_type == "sample"
    low = np.random.default_rng(0).random((3, 2, 2)).astype(np.float32) * 0.3
    assert Cascade([model]).generate(condition=low, condition_gsd=64.0, steps=1, noise="field").shape == (
        3,
        32,
        32,
    )


def test_the_configured_betas_are_trained_and_recorded_in_the_model(cascade_samples, tmp_path):
    settings = SETTINGS.model_copy(
        update={"max_epochs": 1, "schedule": "linear", "beta_start": 1e-4, "beta_end": 0.02}
    )
    model = MetaEarthDenoiser.from_pretrained(train_metaearth(cascade_samples(count=2), tmp_path, settings))
    assert (model.schedule.kind, model.schedule.beta_start, model.schedule.beta_end) == ("linear", 1e-4, 0.02)
    # DDPM's first step noises with variance 1e-4 (std 0.01; MetaEarth's default 0.039). alphas_cumprod
    # is float32, whose spacing near 1 is 6e-8: 1 - a is exact to about 1e-7.
    assert float(1 - model.alphas_cumprod[0]) == pytest.approx(1e-4, abs=2e-7)


def test_degraded_conditions_are_drawn_anew_at_every_step_and_again_on_a_rerun(cascade_samples, tmp_path):
    seen = []

    class Record(L.Callback):  # the conditions the denoiser's encoder gets at training steps
        def on_fit_start(self, trainer, module):
            def record(_, args):
                if torch.is_grad_enabled():
                    seen.append(args[0].detach().clone())

            module.denoiser.encoder.register_forward_pre_hook(record)

    one_tile = torch.utils.data.Subset(cascade_samples(), [0])
    pairs = CascadeLevels([AtResolution(one_tile, 16.0, 48.0, True), AtResolution(one_tile, 4.0, 16.0, True)])
    settings = SETTINGS.model_copy(update={"max_epochs": 2, "steps_per_epoch": 1, "batch_size": 2})
    for run in ("first", "again"):
        train_metaearth(pairs, tmp_path / run, settings, callbacks=[Record()])
    first_epoch, second_epoch, rerun_first, rerun_second = seen
    assert first_epoch.shape == (2, 3, 5, 5)  # 16 px of 16 m on 5 px of 48 m; 4 px of 16 m, padded
    assert not torch.equal(first_epoch, second_epoch)
    assert torch.equal(first_epoch, rerun_first) and torch.equal(second_epoch, rerun_second)
