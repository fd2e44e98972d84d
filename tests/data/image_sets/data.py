"""Small image sets for the generation metrics, written into a folder.

- ``real/{16m,4m}/*.png`` and ``generated/{16m,4m}/*.png``: smooth random textures (one family);
- ``noise/{16m,4m}/*.png``: white noise (far from the textures);
- ``seamed/canvas.png``: a canvas of 32 px windows with a brightness step at every window cut;
  ``seamless/canvas.png``: the same texture without steps;
- ``geotiff/tile.tif``: 4-band uint16 reflectance x 1e4 (B2, B3, B4, B8), EPSG:32632, 16 m pixels;
- ``corpus.zarr``: a terrasynth corpus whose land cover is cropland west and tree cover east.

Run ``python data.py OUT`` to write them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

TILE = 32
WINDOW = 32


def texture(rng: np.random.Generator, size: int | tuple[int, int]) -> np.ndarray:
    """(3, H, W) float in [0, 1]: a few random low-frequency waves per band plus faint noise."""
    h, w = (size, size) if isinstance(size, int) else size
    y, x = np.mgrid[0:h, 0:w] / 32.0
    bands = []
    for _ in range(3):
        wave = sum(
            np.sin(rng.uniform(0.5, 3) * x + rng.uniform(0.5, 3) * y + rng.uniform(0, 6)) for _ in range(3)
        )
        bands.append(0.5 + 0.12 * wave + 0.02 * rng.standard_normal((h, w)))
    return np.clip(np.stack(bands), 0, 1)


def _png(path: Path, image: np.ndarray) -> None:
    from terrasynth.core.change_data import write_png

    write_png(path, (image * 255).round().astype(np.uint8).transpose(1, 2, 0))


def write_image_sets(root: str | Path, tiles: int = 6) -> dict[str, Path]:
    """Write every set under ``root``; returns their paths by name."""
    root = Path(root)
    for name, seed in (("real", 1), ("generated", 2), ("noise", 3)):
        rng = np.random.default_rng(seed)
        for level in ("16m", "4m"):
            for index in range(tiles):
                image = rng.random((3, TILE, TILE)) if name == "noise" else texture(rng, TILE)
                _png(root / name / level / f"{index:03d}.png", image)
    rng = np.random.default_rng(4)
    canvas = texture(rng, 4 * WINDOW)
    _png(root / "seamless" / "canvas.png", canvas)
    steps = rng.uniform(-0.15, 0.15, (4, 4))
    seamed = canvas + np.kron(steps, np.ones((WINDOW, WINDOW)))[None]
    _png(root / "seamed" / "canvas.png", np.clip(seamed, 0, 1))
    write_geotiff(root / "geotiff" / "tile.tif", texture(rng, 2 * TILE))
    write_corpus(root / "corpus.zarr", rng)
    return {
        name: root / name
        for name in ("real", "generated", "noise", "seamless", "seamed", "geotiff", "corpus.zarr")
    }


def write_geotiff(path: Path, rgb: np.ndarray) -> None:
    """rgb (3, H, W) reflectance/0.3-scaled in [0, 1] as B2, B3, B4, B8 uint16 reflectance x 1e4."""
    import rasterio
    from rasterio.transform import from_origin

    reflectance = rgb * 0.3
    bands = np.stack([reflectance[2], reflectance[1], reflectance[0], reflectance.mean(0)])
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff", "dtype": "uint16", "count": 4, "height": rgb.shape[1], "width": rgb.shape[2],
        "crs": "EPSG:32632", "transform": from_origin(500000, 5000000, 16, 16),
    }  # fmt: skip
    with rasterio.open(path, "w", **profile) as target:
        target.write(np.round(bands * 1e4).astype(np.uint16))
        target.descriptions = ("B2", "B3", "B4", "B8")


def write_corpus(path: Path, rng: np.random.Generator) -> None:
    """A complete corpus over a small area: textures everywhere, land cover 40 west and 10 east."""
    from terrasynth.core import DEFAULT_LADDER, AreaOfInterest, corpus_template, mark_complete

    area = AreaOfInterest.parse("9.0,45.0,9.02,45.01")
    tree = corpus_template(
        area, area.regions(), DEFAULT_LADDER, ["B2", "B3", "B4", "B8"], source={"name": "test"}
    )
    tree.to_zarr(path, mode="w", compute=False, consolidated=False)
    for group in tree.subtree:
        if "image" not in group.dataset:
            continue
        ds = group.to_dataset()
        rows, cols = ds.sizes["y"], ds.sizes["x"]
        rgb = texture(rng, (rows, cols)) * 0.3
        image = np.stack([rgb[2], rgb[1], rgb[0], rgb.mean(0)])
        landcover = np.where(np.arange(cols)[None, :] < cols // 2, 40, 10).repeat(rows, 0).astype(np.uint8)
        data = ds[["image", "landcover", "valid"]].drop_vars(["x", "y", "band", "spatial_ref"])
        data = data.copy(
            data={
                "image": np.round(image * 1e4).astype(np.uint16),
                "landcover": landcover,
                "valid": np.ones((rows, cols), bool),
            }
        )
        data.to_zarr(path, group=group.path, mode="r+", consolidated=False)
    mark_complete(path)


if __name__ == "__main__":
    for name, where in write_image_sets(sys.argv[1]).items():
        print(name, where)
