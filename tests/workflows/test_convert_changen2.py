"""From a released Changen2 checkpoint and Stable Diffusion's VAE to change pairs: ``terrasynth
convert changen2``, then GPCM and ``terrasynth synthesize`` on xView2 and OpenEarthMap folders,
checked step by step against torchange's RS-DiT run with improved DDPM's sampler."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.ndimage import binary_dilation

from terrasynth.datasets.pictures import from_picture
from terrasynth.models.changen2 import GPCM, Changen2Model
from terrasynth.models.changen2.sequence import ChangeSequence
from terrasynth.workflows.cli import main
from terrasynth.workflows.convert_changen2 import convert_changen2
from terrasynth.workflows.synthesize import synthesize


@pytest.fixture(scope="module")
def released(generators):
    return generators("released_changen2")


@pytest.fixture(scope="module")
def files(released, tmp_path_factory):
    """A DiT-style xView2 checkpoint (EMA and raw weights, argparse arguments), a plain OEM state
    dict with one-hot masks, and the VAE folder."""
    root = tmp_path_factory.mktemp("released")
    peers = {"xview2": released.random_rsdit("xview2", seed=1), "oem": released.random_rsdit("oem", seed=2)}
    return {
        "peers": peers,
        "xview2": released.write_dit_checkpoint(root / "xview2.pt", peers["xview2"].state_dict()),
        "oem": released.write_safetensors(root / "oem.safetensors", peers["oem"].state_dict()),
        "vae": released.write_autoencoder(root / "vae"),
    }


@pytest.fixture(scope="module")
def converted(files, tmp_path_factory):
    root = tmp_path_factory.mktemp("converted")
    return {
        masks: convert_changen2(files[masks], files["vae"], masks, root / masks)
        for masks in ("xview2", "oem")
    }


def test_conversion_records_the_objective_scaling_masks_and_weights(converted):
    done = converted["xview2"]
    assert done.weights == "ema (also holds model)" and done.mask == "buildings, 1 channel (one-hot)"
    assert converted["oem"].mask == "openearthmap, 8 channels (one-hot)"
    settings = json.loads((done.path / "model_index.json").read_text())
    assert settings["schedule"] == {
        "kind": "linear", "beta_start": 1e-4, "beta_end": 0.02, "num_train_timesteps": 1000,
        "prediction_type": "epsilon", "variance_type": "learned_range",
    }  # fmt: skip
    assert settings["pixel_values"] == "8bit" and settings["scaling"] == {"low": 0.0, "high": 1.0}
    model = Changen2Model.from_pretrained(done.path)
    assert model.latent_factor == 8 and model.autoencoder.config.scaling_factor == 0.18215
    assert model.rsdit.config.learn_sigma and model.tile_size == 256
    assert sorted(p.name for p in done.path.parent.iterdir()) == ["oem", "xview2"]  # no partial left


def _reference(peer, vae, mask, noise, steps, step_noise):
    """torchange's RS-DiT sampled with improved DDPM (DiT's respacing and learned-variance steps,
    float64 coefficients), decoded by the VAE: 8-bit values / 255."""
    betas = np.linspace(1e-4, 0.02, 1000, dtype=np.float64)
    a_bar = np.cumprod(1 - betas)
    timesteps = [round(i * 999 / (steps - 1)) for i in range(steps)][::-1]
    x = noise
    for step, t in enumerate(timesteps):
        with torch.no_grad():
            eps, v = peer(x, torch.full((x.shape[0],), t), mask).double().chunk(2, dim=1)
        t_prev = timesteps[step + 1] if step + 1 < steps else -1
        a, a_prev = a_bar[t], (a_bar[t_prev] if t_prev >= 0 else 1.0)
        beta = 1 - a / a_prev
        x0 = np.sqrt(1 / a) * x.double() - np.sqrt(1 / a - 1) * eps
        mean = beta * np.sqrt(a_prev) / (1 - a) * x0 + (1 - a_prev) * np.sqrt(1 - beta) / (1 - a) * x.double()
        if t_prev < 0:
            x = mean.float()
            break
        frac = (v + 1) / 2
        log_var = frac * np.log(beta) + (1 - frac) * np.log(beta * (1 - a_prev) / (1 - a))
        x = (mean + torch.exp(0.5 * log_var) * step_noise(step).double()).float()
    with torch.no_grad():
        decoded = vae.decode(x / 0.18215).sample
    return (decoded.clamp(-1, 1) + 1) / 2


@pytest.mark.parametrize(("size", "steps"), [(256, 3), (1024, 2)])
def test_gpcm_with_converted_weights_equals_torchange_rsdit_step_by_step(files, converted, size, steps):
    model = Changen2Model.from_pretrained(converted["xview2"].path)
    generator = torch.Generator().manual_seed(size)
    codes = (torch.rand(size // 32, size // 32, generator=generator) > 0.5).long()
    codes = codes.repeat_interleave(32, 0).repeat_interleave(32, 1).numpy()
    # everything changes at date 1, so the whole image is drawn by the chain
    sequence = ChangeSequence(
        np.stack([1 - codes, codes]), np.ones((2, size, size), bool), np.zeros((2, size, size), bool)
    )
    image = torch.rand(1, 3, size, size, generator=generator)
    gpcm = GPCM(model, steps=steps)
    noise = torch.randn(1, *gpcm.noise_shape(size, size), generator=generator)
    step_noises = torch.randn(steps, *noise.shape, generator=generator)
    series = gpcm(image, [sequence], noise, step_noise=lambda date, step: step_noises[step])
    assert series.shape == (1, 2, 3, size, size) and torch.equal(series[0, 0], image[0])
    mask = torch.from_numpy(codes).float()[None, None]
    expected = _reference(
        files["peers"]["xview2"], model.autoencoder, mask, noise, steps, lambda s: step_noises[s]
    )
    assert expected.std() > 0.01
    torch.testing.assert_close(series[:, 1], expected, rtol=0, atol=1e-5)


def test_synthesize_from_an_xview2_folder_writes_levir_cd_pairs(converted, released, tmp_path, capsys):
    source = released.write_xview2(tmp_path / "xview2" / "train", images=1, size=256)
    out = tmp_path / "pairs"
    with pytest.raises(SystemExit) as exited:
        main(["synthesize", "--checkpoint", str(converted["xview2"].path), "--from", str(tmp_path / "xview2"),
              "--out", str(out), "--pairs", "1", "--steps", "2", "--change", "buildings", "--device", "cpu",
              "--exact-carry-over"])  # fmt: skip
    assert exited.value.code == 0
    assert "Wrote 1 pairs" in capsys.readouterr().out
    first = np.asarray(Image.open(out / "train" / "A" / "000000_t0_t1.png"))
    label = np.asarray(Image.open(out / "train" / "label" / "000000_t0_t1.png"))
    source_png = np.asarray(Image.open(source / "images" / "hurricane-test_00000000_pre_disaster.png"))
    assert np.array_equal(first, source_png)  # 8-bit values as they are, no display mapping
    second = np.asarray(Image.open(out / "train" / "B" / "000000_t0_t1.png"))
    kept = ~binary_dilation(label > 0, np.ones((3, 3), bool))  # the margin of one pixel is redrawn too
    assert set(np.unique(label)) == {0, 255} and np.array_equal(first[kept], second[kept])


def test_synthesize_from_an_openearthmap_folder_at_1024_px(converted, released, tmp_path):
    released.write_oem(tmp_path / "OpenEarthMap", images=1, size=1024)
    summary = synthesize(
        converted["oem"].path, tmp_path / "OpenEarthMap", tmp_path / "second", pairs=1, layout="second",
        size=1024, steps=2, device="cpu", show_progress=False,
    )  # fmt: skip
    assert summary.pairs == 1 and summary.size == 1024
    labels = np.asarray(Image.open(tmp_path / "second" / "train" / "label1" / "000000_t0_t1.png"))
    assert labels.shape[:2] == (1024, 1024)


def test_an_8bit_model_reads_pictures_as_they_are(converted):
    model = Changen2Model.from_pretrained(converted["oem"].path)
    rgb = np.arange(3 * 4 * 4, dtype=np.uint8).reshape(3, 4, 4) * 5
    assert np.array_equal(from_picture(rgb, model), rgb / np.float32(255))
    assert np.array_equal(model.scaling.to_model(torch.tensor(rgb / 255.0)), torch.tensor(rgb / 127.5 - 1))


def test_converting_with_the_wrong_masks_or_autoencoder_is_one_line(files, released, tmp_path, capsys):
    args = ["convert", "changen2", "--weights", str(files["oem"]), "--autoencoder", str(files["vae"])]
    with pytest.raises(SystemExit) as exited:
        main([*args, "--mask", "xview2", "--out", str(tmp_path / "a")])
    error = capsys.readouterr().err
    assert (
        exited.value.code == 2
        and error.count("\n") == 1
        and "takes 8 channels, but xview2 masks give 1" in error
    )
    other = tmp_path / "vae16"
    from diffusers import AutoencoderKL

    AutoencoderKL(latent_channels=16, block_out_channels=(8, 8), norm_num_groups=4,
                  down_block_types=("DownEncoderBlock2D",) * 2,
                  up_block_types=("UpDecoderBlock2D",) * 2).save_pretrained(other)  # fmt: skip
    with pytest.raises(SystemExit) as exited:
        main(["convert", "changen2", "--weights", str(files["oem"]), "--autoencoder", str(other), "--mask", "oem",
              "--out", str(tmp_path / "b")])  # fmt: skip
    error = capsys.readouterr().err
    assert exited.value.code == 2 and error.count("\n") == 1 and "give Stable Diffusion's VAE" in error
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_synthesize_with_converted_weights_on_a_gpu_under_bf16(converted, released, tmp_path):
    released.write_xview2(tmp_path / "xview2", images=1, size=256)
    summary = synthesize(
        converted["xview2"].path, tmp_path / "xview2", tmp_path / "pairs", pairs=2, steps=3, device="cuda",
        show_progress=False,
    )  # fmt: skip
    assert summary.pairs == 2 and np.isfinite(summary.consistency["changed"])
