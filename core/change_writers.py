"""Writers of change data, in the layouts of :mod:`terrasynth.core.change_data`, each with a STAC
collection (``collection.json``) beside the data. They import no torch, so ingest (the synthetic
change benchmarks) and the workflows (synthesized change data) write through the same code.

- :class:`LevirCDWriter`: pairs as ``<out>/<split>/{A,B,label}/<name>.png`` (label 0/255).
- :class:`SecondWriter`: semantic change pairs as ``<out>/<split>/{im1,im2,label1,label2}/<name>.png``,
  label maps as SECOND colour maps, labelled only where the scene changed.
- :class:`ChangeSeriesWriter`: time series in the Zarr store ``<out>/series.zarr``.

A pair writer fills one split (``split="train"``, its STAC assets are that split's folders) or
every split of its layout (``split=None``, each pair names its split, and the STAC assets are the
split folders with their pair counts).

Everything is written into ``.<out>.partial`` beside ``<out>``, which is renamed to ``<out>`` by
:meth:`close` (also on leaving a ``with`` block without an error; leaving it with an error removes
it): an interrupted run never leaves a folder that looks complete, and a rerun starts its partial
folder over.
"""

from __future__ import annotations

import abc
import datetime as dt
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from terrasynth.core.change_data import (
    LEVIR_CD,
    SECOND,
    ChangeLayout,
    change_series,
    second_to_rgb,
    write_png,
)
from terrasynth.core.errors import CorpusError
from terrasynth.core.outputs import partial_path, replace_path
from terrasynth.core.stac import write_stac_collection

WORLD = (-180.0, -90.0, 180.0, 90.0)
"""The default STAC extent of generated data that is not georeferenced."""


class _StagedWriter(abc.ABC):
    """An output folder filled under a temporary name, then renamed and described by STAC."""

    layout: str
    description: str

    def __init__(
        self,
        out: str | Path,
        *,
        bbox: Sequence[float] = WORLD,
        interval: tuple[dt.datetime | None, dt.datetime | None] = (None, None),
        properties: Mapping | None = None,
        collection_id: str | None = None,
        description: str | None = None,
        keep: bool = False,
        overwrite: bool = False,
    ):
        """Args:
        out: the folder to create; it must not exist yet, or be empty.
        bbox: (west, south, east, north) in degrees, for STAC.
        interval: (start, end) of the time the data covers, for STAC (``None``: open).
        properties: provenance for STAC (seed, checkpoint, settings); never credentials.
        collection_id: the STAC collection id (default: the folder's name).
        description: the STAC description (default: the writer's).
        keep: keep what an earlier run wrote into the temporary folder (to resume it, or to write
            into it from several processes) instead of starting it over.
        overwrite: replace what ``out`` holds when the new data is complete.
        """
        self.out = Path(out)
        if not overwrite and self.out.exists() and (not self.out.is_dir() or any(self.out.iterdir())):
            raise CorpusError(
                f"{self.out} already exists and is not empty; choose another output or remove it"
            )
        self.stage = partial_path(self.out)
        if self.stage.exists() and not keep:
            shutil.rmtree(self.stage)
        self.stage.mkdir(parents=True, exist_ok=True)
        self.bbox = tuple(bbox)
        self.interval = interval
        self.properties = dict(properties or {})
        self.collection_id = collection_id or self.out.name
        self.description = description or self.description
        self.count = 0

    def __enter__(self):
        return self

    def __exit__(self, error_type, *_):
        if error_type is None:
            self.close()
        else:
            shutil.rmtree(self.stage, ignore_errors=True)

    def close(self) -> Path:
        """Describe the data with STAC and move it to its final name; returns that path."""
        if self.count == 0:
            raise CorpusError(f"nothing was written to {self.out}; it is left as {self.stage}")
        write_stac_collection(
            self.stage,
            id=self.collection_id,
            description=self.description,
            bbox=self.bbox,
            start=self.interval[0],
            end=self.interval[1],
            assets=self._assets(),
            properties={"layout": self.layout, **self._totals(), **self.properties},
        )
        replace_path(self.stage, self.out)
        return self.out

    @abc.abstractmethod
    def _assets(self) -> dict[str, tuple[str, str, str]]:
        """STAC assets: key -> (href relative to the folder, media type, title)."""

    def _totals(self) -> dict:
        """What was written, for STAC."""
        return {"count": self.count}


class _PairWriter(_StagedWriter):
    """Bitemporal PNG pairs in a :class:`~terrasynth.core.change_data.ChangeLayout`."""

    layout_spec: ChangeLayout
    titles: tuple[str, ...]

    def __init__(self, out: str | Path, *, split: str | None = "train", **options):
        """``split``: the split every pair goes to, or ``None`` for pairs of every split (each
        :meth:`write` names its own); ``options`` are those of the base writer."""
        if split is not None:
            self._check_split(split)
        super().__init__(out, **options)
        self.split = split
        self.names: dict[str, set[str]] = {name: set() for name in self.layout_spec.splits}

    def _check_split(self, split: str | None) -> str:
        if split not in self.layout_spec.splits:
            raise CorpusError(
                f"split {split!r} is not one of {self.layout_spec.name}'s {self.layout_spec.splits}"
            )
        return split

    def _write_pair(
        self, name: str, images: Sequence[np.ndarray], labels: Sequence[np.ndarray], split: str | None
    ) -> None:
        split = self._check_split(split or self.split)
        if name in self.names[split] or not name or "/" in name:
            raise CorpusError(f"pair name {name!r} is empty, holds '/', or was written already")
        for image in images:
            if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
                raise CorpusError(
                    f"pair {name!r}: images must be (H, W, 3) uint8, got {image.dtype} {image.shape}"
                )
        shapes = {array.shape[:2] for array in (*images, *labels)}
        if len(shapes) != 1:
            raise CorpusError(f"pair {name!r}: images and labels differ in size: {sorted(shapes)}")
        folders = self.layout_spec.images + self.layout_spec.labels
        for folder, array in zip(folders, (*images, *labels), strict=True):
            write_png(self.stage / split / folder / f"{name}.png", array)
        self.names[split].add(name)
        self.count += 1

    def _assets(self):
        if self.split is None:
            return {
                split: (f"./{split}/", "inode/directory", f"{split} split: {len(names)} pairs")
                for split, names in self.names.items()
            }
        folders = self.layout_spec.images + self.layout_spec.labels
        return {
            folder: (f"{self.split}/{folder}/", "image/png", title)
            for folder, title in zip(folders, self.titles, strict=True)
        }

    def _totals(self) -> dict:
        if self.split is None:
            return {"pairs": {split: len(names) for split, names in self.names.items()}}
        return super()._totals()


class LevirCDWriter(_PairWriter):
    """Generated change pairs in the LEVIR-CD layout."""

    layout = "levir-cd"
    description = "Generated bitemporal change pairs (terrasynth, Changen2) in the LEVIR-CD folder layout."
    layout_spec = LEVIR_CD
    titles = (
        "images at the first date",
        "images at the second date",
        "change labels (0 no change, 255 change)",
    )

    def write(
        self,
        name: str,
        image_a: np.ndarray,
        image_b: np.ndarray,
        change: np.ndarray,
        *,
        split: str | None = None,
    ) -> None:
        """Add the pair ``name``: (H, W, 3) uint8 images at both dates and the (H, W) change mask
        (bool or 0/1), to ``split`` (default: the writer's)."""
        label = np.where(np.asarray(change).astype(bool), 255, 0).astype(np.uint8)
        self._write_pair(name, (np.asarray(image_a), np.asarray(image_b)), (label,), split)


class SecondWriter(_PairWriter):
    """Generated semantic change pairs in the SECOND layout (SECOND class values 1-6)."""

    layout = "second"
    description = "Generated semantic change pairs (terrasynth, Changen2) in the SECOND folder layout."
    layout_spec = SECOND
    titles = (
        "images at the first date",
        "images at the second date",
        "classes at the first date where changed (SECOND colour map)",
        "classes at the second date where changed (SECOND colour map)",
    )

    def write(
        self,
        name: str,
        image_a: np.ndarray,
        image_b: np.ndarray,
        semantic_a: np.ndarray,
        semantic_b: np.ndarray,
        change: np.ndarray,
        *,
        split: str | None = None,
    ) -> None:
        """Add the pair ``name`` to ``split`` (default: the writer's): (H, W, 3) uint8 images,
        (H, W) SECOND class values at both dates (1 water ... 6 playground) and the (H, W) change
        mask. As in SECOND, the label maps are written only where the scene changed (0, white,
        elsewhere)."""
        change = np.asarray(change).astype(bool)
        labels = []
        for semantic in (semantic_a, semantic_b):
            semantic = np.asarray(semantic)
            if change.shape != semantic.shape or (change.any() and semantic[change].min() < 1):
                raise CorpusError(
                    f"pair {name!r}: changed pixels need SECOND classes 1-6 at both dates "
                    f"(semantic {semantic.shape}, change {change.shape})"
                )
            labels.append(second_to_rgb(np.where(change, semantic, 0)))
        self._write_pair(name, (np.asarray(image_a), np.asarray(image_b)), labels, split)


class ChangeSeriesWriter(_StagedWriter):
    """Generated change time series in the Zarr layout, one series at a time."""

    layout = "change-series"
    description = "Generated change time series (terrasynth, Changen2): images, semantic masks, change masks."
    store = "series.zarr"

    def write(self, image: np.ndarray, semantic: np.ndarray, change: np.ndarray) -> None:
        """Append one series: ``image`` (T, C, H, W) uint8 (RGB) or uint16 (reflectance x 1e4),
        ``semantic`` (T, H, W) class codes (0 = unknown), ``change`` (T, H, W), True where the
        scene changed since the previous date (ignored at the first date, written as 0)."""
        image = np.asarray(image)
        if image.dtype not in (np.uint8, np.uint16):
            raise CorpusError(f"series images must be uint8 or uint16 (reflectance x 1e4), got {image.dtype}")
        change = np.asarray(change).astype(bool).copy()
        change[:1] = False
        ds = change_series(image[None], np.asarray(semantic)[None], change[None], **self.properties)
        path = self.stage / self.store
        if self.count == 0:
            chunks = {name: {"chunks": (1, 1, *ds[name].shape[2:])} for name in ds.data_vars}
            ds.to_zarr(path, mode="w", encoding=chunks, consolidated=False)
        else:
            ds.to_zarr(path, append_dim="series", consolidated=False)
        self.count += 1

    def _assets(self):
        return {
            "series": (self.store, "application/vnd+zarr", "image, semantic and change (series, time, y, x)")
        }
