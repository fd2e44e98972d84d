"""Samples per second: terrasynth's corpus dataset against torchgeo's RasterDataset, same pixels.

One run writes a 4-band uint16 region at 16 m twice: as a corpus (Zarr, 256-pixel chunks, zstd)
and as 256 x 256 GeoTIFF chips (tiled, deflate) with the same transforms. Both are then read
through torchgeo's random sampler (256-pixel chips) and a DataLoader with torchgeo's
``stack_samples``; the corpus samples also carry land cover and the valid mask. The figure of
merit is the ratio of the two rates, measured in turns in the same process. Both keep decoded
blocks between reads, as they do by default: GDAL its block cache, the corpus dataset its chunk
cache (one per process, so DataLoader workers start cold every round). The corpus dataset without its
cache is measured too.

    uv run python benchmarks/run.py --only corpus_loading [--quick]
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
import shapely
import zarr
from pyproj import CRS, Transformer
from torch.utils.data import DataLoader
from torchgeo.datasets import RasterDataset, stack_samples

from terrasynth.core import AreaOfInterest, Level, Region, corpus_template, mark_complete
from terrasynth.datasets import CorpusDataset, random_sampler
from terrasynth.datasets.chunk_cache import ChunkCache

CHIP = 256
BANDS = ["B2", "B3", "B4", "B8"]
UTM = "EPSG:32632"
ORIGIN = (480_000.0, 5_000_000.0)  # top-left corner, metres; a multiple of the 16 m pixel
LEVEL = Level(16.0)


class ChipTiffs(RasterDataset):
    """GeoTIFF chips of the same region, read by torchgeo's own machinery."""

    filename_glob = "*.tif"
    is_image = True


def _region(pixels: int) -> Region:
    """A region whose 16 m grid is exactly ``pixels`` square from ``ORIGIN``.

    The boundary is sampled every 100 m in UTM, 2 m inside the square, and taken to degrees; the
    grid snaps outward to whole 16 m pixels, giving back the square.
    """
    x0, y1 = ORIGIN
    side = pixels * LEVEL.gsd
    steps = np.linspace(2.0, side - 2.0, int(side // 100) + 2)
    xs = np.concatenate(
        [x0 + steps, np.full_like(steps, x0 + side - 2), x0 + steps[::-1], np.full_like(steps, x0 + 2)]
    )
    ys = np.concatenate(
        [np.full_like(steps, y1 - 2), y1 - steps, np.full_like(steps, y1 - side + 2), y1 - steps[::-1]]
    )
    lon, lat = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True).transform(xs, ys)
    return Region("r00_utm32n", shapely.Polygon(np.column_stack([lon, lat])), UTM)


def write_region(directory: Path, pixels: int, seed: int = 0) -> tuple[Path, Path]:
    """Write the corpus and the GeoTIFF chips; returns their paths."""
    region = _region(pixels)
    grid = region.grids([LEVEL])[LEVEL.name]
    assert grid.shape == (pixels, pixels), grid.shape
    corpus = directory / "corpus.zarr"
    tree = corpus_template(
        AreaOfInterest(region.geometry),
        [region],
        [LEVEL],
        BANDS,
        source={"name": "benchmark"},
        tile_size=CHIP,
    )
    tree.to_zarr(corpus, mode="w", compute=False, consolidated=False)
    group = zarr.open_group(str(corpus), path=f"{region.name}/{LEVEL.name}", mode="r+")
    chips = directory / "chips"
    chips.mkdir()
    rng = np.random.default_rng(seed)
    for window in grid.tiles(CHIP):
        rows = slice(window.row_off, window.row_off + CHIP)
        cols = slice(window.col_off, window.col_off + CHIP)
        y, x = np.mgrid[rows, cols]
        field = 1500 + 800 * np.sin(x / 37.0)[None] * np.cos(y / 53.0)[None] * np.arange(1, 5)[:, None, None]
        image = (field + rng.integers(0, 60, (4, CHIP, CHIP))).astype(np.uint16)
        group["image"][:, rows, cols] = image
        group["landcover"][rows, cols] = 40
        group["valid"][rows, cols] = True
        profile = {
            "driver": "GTiff",
            "width": CHIP,
            "height": CHIP,
            "count": 4,
            "dtype": "uint16",
            "crs": UTM,
            "transform": grid.subgrid(window).transform,
            "tiled": True,
            "blockxsize": CHIP,
            "blockysize": CHIP,
            "compress": "deflate",
        }
        with rasterio.open(
            chips / f"chip_{window.row_off:05d}_{window.col_off:05d}.tif", "w", **profile
        ) as tif:
            tif.write(image)
    mark_complete(corpus)
    return corpus, chips


def samples_per_second(dataset, samples: int, workers: int, batch_size: int = 16) -> float:
    """Rate of chips through a torchgeo random sampler and a DataLoader, after one warm-up batch."""
    sampler = random_sampler(dataset, CHIP, length=samples + batch_size, seed=0)
    loader = DataLoader(
        dataset, batch_size=batch_size, sampler=sampler, num_workers=workers, collate_fn=stack_samples
    )
    batches = iter(loader)
    next(batches)
    start = time.perf_counter()
    count = sum(len(batch["image"]) for batch in batches)
    return count / (time.perf_counter() - start)


def run(quick: bool) -> dict:
    """Measure both datasets; returns the rates (samples per second) and their ratio.

    The two datasets are measured in turns, several rounds each, and the median rates compared,
    so that load from other processes on the machine hits both alike.
    """
    pixels, samples, rounds = (1024, 96, 2) if quick else (2048, 1024, 3)
    with tempfile.TemporaryDirectory() as tmp:
        corpus_path, chips = write_region(Path(tmp), pixels)
        corpus = CorpusDataset(corpus_path, LEVEL.name, min_valid_fraction=0.0)
        uncached = CorpusDataset(corpus_path, LEVEL.name, min_valid_fraction=0.0, cache=ChunkCache(0))
        tiffs = ChipTiffs(chips)
        assert tiffs.res == corpus.res and CRS.from_user_input(tiffs.crs) == corpus.crs
        results = {
            "chip_pixels": CHIP,
            "bands": len(BANDS),
            "region_pixels": pixels,
            "samples_per_round": samples,
            "rounds": rounds,
            "batch_size": 16,
        }
        for workers in (0, 2):
            datasets = {"corpus": corpus, "uncached": uncached, "raster": tiffs}
            rates = {name: [] for name in datasets}
            for _ in range(rounds):
                for name, dataset in datasets.items():
                    rates[name].append(samples_per_second(dataset, samples, workers))
            ours, bare, theirs = (float(np.median(rates[name])) for name in datasets)
            results[f"workers_{workers}"] = {
                "corpus_dataset_samples_per_s": round(ours, 1),
                "corpus_dataset_uncached_samples_per_s": round(bare, 1),
                "raster_dataset_samples_per_s": round(theirs, 1),
                "ratio": round(ours / theirs, 2),
                "ratio_uncached": round(bare / theirs, 2),
            }
    return results
