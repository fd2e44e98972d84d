"""Stand-ins for the released Changen2 files, built offline with random weights: RS-DiT checkpoints
of torchange's network in the layouts a user downloads (a DiT-style training checkpoint pickling
its ``argparse.Namespace`` with raw and EMA weights, a plain state dict, safetensors), Stable
Diffusion's VAE structure as a small random ``AutoencoderKL`` folder, and xView2 / OpenEarthMap
folders of labelled images; plus hostile files (a pickle that runs code, a truncated file, a file
of the wrong shapes).

Run ``python tests/data/released_changen2/data.py OUT_DIR`` to write one of each.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import rasterio
import torch
from PIL import Image
from safetensors.torch import save_file

TINY = {"hidden_size": 64, "depth": 4, "num_heads": 2, "patch_size": 2}
"""A small RS-DiT of the released layout (patch 2, 4 latent channels, learned sigma)."""
B2 = {"hidden_size": 768, "depth": 12, "num_heads": 12, "patch_size": 2}
"""RS-DiT-B/2, the size of ``Changen2_RSDiT-B-2-xView2-256``."""
MASK_CHANNELS = {"xview2": 1, "oem": 8}


def torchange_rsdit():
    """torchange's rsdit module, loaded from its file (its package ``__init__`` imports Hugging Face
    ``datasets``, which the repository's ``datasets`` folder shadows)."""
    package = importlib.util.find_spec("torchange")
    assert package is not None, "torchange (a dev dependency) is not installed: run `uv sync`"
    path = Path(package.submodule_search_locations[0]) / "models" / "changen2" / "rsdit.py"
    spec = importlib.util.spec_from_file_location("torchange_rsdit", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def random_rsdit(masks: str = "xview2", size: dict = TINY, seed: int = 0, scale: float = 0.05):
    """torchange's RSDiT for 256 px images (latent 32 x 32) with random weights everywhere (the
    adaLN-Zero layers too), in evaluation mode."""
    model = torchange_rsdit().RSDiT(input_size=32, in_channels=4, label_channels=MASK_CHANNELS[masks], **size)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * scale)
    return model.eval()


def broadcast_state(masks: str = "xview2", size: dict = B2, seed: int = 0) -> dict[str, torch.Tensor]:
    """The state dict of a torchange RSDiT of ``size`` without building it: random values along each
    tensor's last axis, broadcast over the others (a torch file of it stores only those values, so a
    B/2 checkpoint of the exact shapes takes kilobytes)."""
    with torch.device("meta"):
        shapes = {k: v.shape for k, v in random_rsdit_meta(masks, size).state_dict().items()}
    generator = torch.Generator().manual_seed(seed)
    return {k: (torch.randn(s[-1:], generator=generator) * 0.02).expand(s) for k, s in shapes.items()}


def random_rsdit_meta(masks: str, size: dict):
    return torchange_rsdit().RSDiT(input_size=32, in_channels=4, label_channels=MASK_CHANNELS[masks], **size)


def write_dit_checkpoint(path: Path, ema: dict, raw: dict | None = None) -> Path:
    """A DiT-style training checkpoint: raw (``model``) and EMA (``ema``) weights, optimizer state and
    the training arguments as an ``argparse.Namespace``."""
    raw = raw if raw is not None else {k: v + 1 for k, v in ema.items()}
    args = argparse.Namespace(model="RSDiT-B/2", image_size=256, vae="ema", global_seed=0)
    torch.save(
        {"model": raw, "ema": ema, "opt": {"state": {}, "param_groups": [{"lr": 1e-4}]}, "args": args}, path
    )
    return path


def write_safetensors(path: Path, state: dict) -> Path:
    save_file({k: v.contiguous() for k, v in state.items()}, path)
    return path


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("echo this pickle ran code",))


def write_hostile(folder: Path, state: dict) -> dict[str, Path]:
    """``code.pth`` (a pickle that would run a shell command), ``truncated.pth`` (half of a good
    checkpoint), ``truncated.safetensors``, ``shapes.pth`` (one block's attention of the wrong width)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        name: folder / name for name in ("code.pth", "truncated.pth", "truncated.safetensors", "shapes.pth")
    }
    torch.save({"ema": state, "hook": _RunsCode()}, paths["code.pth"])
    good = write_dit_checkpoint(folder / "good.pth", state)
    paths["truncated.pth"].write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    tensors = write_safetensors(folder / "good.safetensors", state)
    paths["truncated.safetensors"].write_bytes(tensors.read_bytes()[: tensors.stat().st_size // 2])
    wrong = dict(state)
    wrong["blocks.1.attn.qkv.weight"] = state["blocks.1.attn.qkv.weight"][:-3]
    torch.save(wrong, paths["shapes.pth"])
    return paths


def sd_autoencoder(seed: int = 0):
    """A random ``AutoencoderKL`` with Stable Diffusion's VAE structure (RGB in, four down blocks so
    8 x down, 4 latent channels, scaling 0.18215), at a small width."""
    from diffusers import AutoencoderKL

    torch.manual_seed(seed)
    blocks = 4
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * blocks,
        up_block_types=("UpDecoderBlock2D",) * blocks,
        block_out_channels=(8, 8, 16, 16),
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=4,
        sample_size=256,
        scaling_factor=0.18215,
    ).eval()


def write_autoencoder(folder: Path, seed: int = 0) -> Path:
    sd_autoencoder(seed).save_pretrained(folder, safe_serialization=True)
    return folder


def _blobs(rng: np.random.Generator, size: int, classes: int) -> np.ndarray:
    """(size, size) codes: a background class with rectangles of other classes."""
    codes = np.full((size, size), 1 if classes > 1 else 0, np.uint8)
    for _ in range(12):
        y, x = rng.integers(0, size - 24, 2)
        h, w = rng.integers(8, 24, 2)
        codes[y : y + h, x : x + w] = rng.integers(1, classes + 1)
    return codes


def write_xview2(root: Path, images: int = 1, size: int = 256, seed: int = 0) -> Path:
    """An xView2 split: ``images/<name>_pre_disaster.png`` (and its post-disaster image) with
    ``targets/<name>_{pre,post}_disaster_target.png``."""
    rng = np.random.default_rng(seed)
    for folder in ("images", "targets"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for index in range(images):
        name = f"hurricane-test_{index:08d}"
        for when in ("pre", "post"):
            target = _blobs(rng, size, 1) * (1 if when == "pre" else 2)
            rgb = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            Image.fromarray(rgb).save(root / "images" / f"{name}_{when}_disaster.png")
            Image.fromarray(target).save(root / "targets" / f"{name}_{when}_disaster_target.png")
    return root


def write_oem(root: Path, images: int = 1, size: int = 256, seed: int = 0, region: str = "aachen") -> Path:
    """An OpenEarthMap region: ``<region>/images/<region>_<i>.tif`` (8-bit RGB GeoTIFF) with
    ``<region>/labels/<region>_<i>.tif`` (codes 0-8)."""
    rng = np.random.default_rng(seed)
    for folder in ("images", "labels"):
        (root / region / folder).mkdir(parents=True, exist_ok=True)
    profile = {"driver": "GTiff", "width": size, "height": size, "crs": "EPSG:32632",
               "transform": rasterio.Affine(0.5, 0, 300000, 0, -0.5, 5600000)}  # fmt: skip
    for index in range(images):
        name = f"{region}_{index + 1}.tif"
        rgb = rng.integers(0, 256, (3, size, size), dtype=np.uint8)
        with rasterio.open(root / region / "images" / name, "w", count=3, dtype="uint8", **profile) as out:
            out.write(rgb)
        with rasterio.open(root / region / "labels" / name, "w", count=1, dtype="uint8", **profile) as out:
            out.write(_blobs(rng, size, 8)[None])
    return root


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "released-changen2")
    out.mkdir(parents=True, exist_ok=True)
    write_dit_checkpoint(out / "Changen2_RSDiT-tiny-xView2-256.pth", random_rsdit("xview2").state_dict())
    write_autoencoder(out / "vae")
    write_xview2(out / "xview2")
    write_oem(out / "oem")
    print(f"wrote {out}")
