import json
import re

import pytest
import torch
from diffusers import AutoencoderKL

from terrasynth.core.errors import ConfigError, WeightsError
from terrasynth.models.changen2 import GPCM, Changen2Model
from terrasynth.models.diffusion import AncestralSampler, NoiseSchedule
from terrasynth.trainers.settings import Changen2Training
from terrasynth.workflows.train_changen2 import train_changen2

torch.set_num_threads(1)  # tiny models on a shared CI machine


@pytest.fixture(scope="module")
def make_samples(generators):
    return generators("changen2", "make_samples.py")


SETTINGS = Changen2Training(
    max_epochs=1,
    steps_per_epoch=2,
    batch_size=2,
    learning_rate=1e-3,
    ema_decay=0.5,
    sample_steps=1,
    samples=2,
)
TWO_EPOCHS = SETTINGS.model_copy(update={"max_epochs": 2, "steps_per_epoch": 1})


def tiny_autoencoder() -> AutoencoderKL:
    torch.manual_seed(0)
    return AutoencoderKL(
        in_channels=4, out_channels=4, latent_channels=4, block_out_channels=(8, 8), norm_num_groups=4,
        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
    )  # fmt: skip


def test_a_building_model_trains_in_the_latent_space_of_a_local_autoencoder(make_samples, tmp_path):
    tiny_autoencoder().save_pretrained(tmp_path / "vae")
    out = tmp_path / "run"
    model_dir = train_changen2(
        make_samples.MaskedTiles(4, 32), out, SETTINGS, bands=("B2", "B3", "B4", "B8"), gsd=4.0,
        mask="buildings", autoencoder=str(tmp_path / "vae"), data_name="masked-tiles",
    )  # fmt: skip
    trained = json.loads((model_dir / "training.json").read_text())
    assert trained["trained_on"] == "masked-tiles" and trained["epochs"] == 1 and trained["samples"] == 4
    model = Changen2Model.from_pretrained(model_dir)
    assert model.autoencoder is not None and model.latent_factor == 2 and model.tile_size == 32
    assert model.encoding.kind == "buildings" and model.encoding.channels == 2 and model.gsd == 4.0
    record = json.loads((out / "training.json").read_text())
    assert record["settings"]["mask"] == "buildings" and record["data"]["channels"] == 4
    assert len(list((out / "samples").glob("*.png"))) == 1 and (out / "checkpoints" / "last.ckpt").exists()
    with pytest.raises(ConfigError, match="other settings"):
        train_changen2(make_samples.MaskedTiles(4, 32), out, SETTINGS, mask="landcover")


def test_a_model_trained_with_the_hybrid_objective_is_saved_and_sampled_as_a_released_one(
    make_samples, tmp_path
):
    model_dir = train_changen2(
        make_samples.MaskedTiles(2, 16), tmp_path / "run", SETTINGS, objective="hybrid", sample_steps=2
    )
    model = Changen2Model.from_pretrained(model_dir)
    assert model.schedule == NoiseSchedule.dit() and model.rsdit.config.learn_sigma
    assert isinstance(GPCM(model, steps=2).sampler, AncestralSampler)
    assert len(list((tmp_path / "run" / "samples").glob("*.png"))) == 1
    with pytest.raises(ConfigError, match="set prediction: epsilon"):
        train_changen2(make_samples.MaskedTiles(2, 16), tmp_path / "other", SETTINGS, objective="hybrid",
                       prediction="sample")  # fmt: skip


def test_missing_autoencoder_is_a_weights_error(make_samples, tmp_path):
    with pytest.raises(WeightsError, match="holds no autoencoder"):
        train_changen2(
            make_samples.MaskedTiles(2, 32), tmp_path, SETTINGS, autoencoder=str(tmp_path / "none")
        )


def test_an_autoencoder_with_pickled_weights_only_is_refused(make_samples, tmp_path):
    tiny_autoencoder().save_pretrained(tmp_path / "vae", safe_serialization=False)
    assert (tmp_path / "vae" / "diffusion_pytorch_model.bin").is_file()
    with pytest.raises(
        WeightsError, match=r"vae holds no safetensors weights .* pickled ones are never loaded"
    ):
        train_changen2(
            make_samples.MaskedTiles(2, 32), tmp_path / "run", SETTINGS, autoencoder=str(tmp_path / "vae")
        )
    assert not (tmp_path / "run").exists()


def test_a_run_killed_while_writing_a_checkpoint_resumes_from_the_one_before(
    make_samples, killed_while_checkpointing, count_steps, tmp_path
):
    def train(callbacks=()):
        return train_changen2(make_samples.MaskedTiles(2, 16), tmp_path, TWO_EPOCHS, callbacks=callbacks)

    assert killed_while_checkpointing(train, epoch=1) == -9
    checkpoints = tmp_path / "checkpoints"
    assert torch.load(checkpoints / "last.ckpt", weights_only=True)["epoch"] == 0  # whole
    assert (checkpoints / ".last.ckpt.partial").is_file() and not (tmp_path / "model").exists()
    counter = count_steps()
    Changen2Model.from_pretrained(train([counter]))
    assert counter.steps == 1  # the second epoch only
    assert not (checkpoints / ".last.ckpt.partial").exists()


def test_ctrl_c_keeps_the_last_checkpoint_and_a_rerun_resumes(
    make_samples, ctrl_c_after_step, count_steps, tmp_path
):
    with pytest.raises(KeyboardInterrupt):  # not Lightning's exit(1)
        train_changen2(
            make_samples.MaskedTiles(2, 16), tmp_path, TWO_EPOCHS, callbacks=[ctrl_c_after_step(2)]
        )
    assert torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 0
    assert not (tmp_path / "model").exists()
    counter = count_steps()
    Changen2Model.from_pretrained(
        train_changen2(make_samples.MaskedTiles(2, 16), tmp_path, TWO_EPOCHS, callbacks=[counter])
    )
    assert counter.steps == 1


def test_a_damaged_checkpoint_is_refused_and_overwrite_starts_over(
    make_samples, generators, count_steps, tmp_path
):
    train_changen2(make_samples.MaskedTiles(2, 16), tmp_path, TWO_EPOCHS)
    last = generators("corrupt").truncate_file(tmp_path / "checkpoints" / "last.ckpt")
    with pytest.raises(WeightsError, match=f"{re.escape(str(last))} is damaged .*--overwrite"):
        train_changen2(make_samples.MaskedTiles(2, 16), tmp_path, TWO_EPOCHS)
    counter = count_steps()
    train_changen2(make_samples.MaskedTiles(2, 16), tmp_path, TWO_EPOCHS, overwrite=True, callbacks=[counter])
    assert counter.steps == 2  # every epoch again
