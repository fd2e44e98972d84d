"""Synthesize change data with a trained Changen2 model (GPCM): from single-date images, simulate
change sequences on their masks and draw the image of every date, then write the pairs or series.

Sources:

- a corpus (Zarr store): its tiles with their land cover (the mask of the model's kind: land
  cover, WorldCover built-up as buildings, or pseudo-classes);
- a folder of labelled images in the layout of the data set a converted Changen2 model was
  trained on (:mod:`terrasynth.datasets.labelled_folders`): xView2 (``images/*_pre_disaster.png``
  with ``targets/``) for a building-mask model, OpenEarthMap (``images/*.tif`` with ``labels/``)
  for an OpenEarthMap model;
- a folder of images (PNG/JPEG as displayed RGB, GeoTIFF as reflectance): unlabelled, so masks are
  k-means pseudo-masks, and the model must be one trained on pseudo-masks (``--mask pseudo``).
  Images are cut into ``size`` x ``size`` tiles (row-major, partial edge tiles dropped).

Layouts (written by :mod:`terrasynth.core.change_writers`, each with a STAC collection):

- ``levir-cd``: PNG pairs of consecutive dates (or the first and last, ``pairing="first-last"``)
  with the change mask: any class change, or, with ``change="buildings"``, building change only
  (buildings built and demolished, as LEVIR-CD labels them), while the rest of the land cover
  still changes, unlabelled, as it does between two real acquisitions (``other_change``);
- ``second``: PNG pairs with SECOND semantic labels (WorldCover mapped to SECOND's six classes,
  built-up as buildings; :mod:`terrasynth.datasets.change_labels`) where the SECOND class changed;
- ``series``: a Zarr time series of reflectance (uint16 x 1e4), class codes and change masks.

Everything is keyed by the seed and the series number (source tile, change events, noise), so
the same command writes the same data. PNG images show the model's RGB bands through the display mapping of
:mod:`terrasynth.core.display` (PNG sources are read back through its inverse), the mapping of the
synthetic world's change benchmarks too; a model of 8-bit RGB values (``pixel_values="8bit"``, the
converted released weights) reads and writes pictures as they are.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import get_args

import numpy as np
import torch

from terrasynth.core.change_writers import ChangeSeriesWriter, LevirCDWriter, SecondWriter
from terrasynth.core.choices import ChangeLabel, Pairing, SynthesisLayout
from terrasynth.core.errors import ConfigError, CorpusError
from terrasynth.core.levels import Level
from terrasynth.core.outputs import check_free_space, check_output
from terrasynth.core.seeds import key_seed
from terrasynth.datasets.change_labels import building_mask, second_labels
from terrasynth.datasets.image_folder_tiles import ImageFolderTiles, image_files
from terrasynth.datasets.labelled_folders import LabelledImageTiles, labelled_images
from terrasynth.datasets.map_style import MapStyleDataset
from terrasynth.datasets.masked_samples import MaskedSamples, corpus_tiles
from terrasynth.datasets.pictures import ModelValueTiles, to_picture
from terrasynth.models.changen2 import (
    GPCM,
    Changen2Model,
    ChangeSequence,
    DateAppearance,
    consistency,
    simulate_changes,
    vary_dates,
)
from terrasynth.models.metaearth import keyed_normal
from terrasynth.workflows.devices import torch_device
from terrasynth.workflows.progress import progress_bar

LAYOUTS = get_args(SynthesisLayout)
LABELLED_SOURCES = {"buildings": "xview2", "openearthmap": "oem"}
"""The labelled folder layout a model of each mask kind synthesizes from."""
PAIRINGS = get_args(Pairing)
CHANGES = get_args(ChangeLabel)


@dataclass(frozen=True)
class SynthesisSummary:
    """What :func:`synthesize` wrote.

    Attributes:
        path: the output folder.
        layout: its layout.
        series: simulated series drawn.
        pairs: pairs written (for ``series``: consecutive pairs in the series).
        size: image side in pixels.
        length: dates per series.
        seconds: wall time of the drawing and writing.
        consistency: mean ``|I_t - I_{t-1}|`` (reflectance) between consecutive dates in
            ``unchanged`` and ``changed`` pixels and their ``ratio``, over every series.
    """

    path: Path
    layout: str
    series: int
    pairs: int
    size: int
    length: int
    seconds: float
    consistency: dict

    @property
    def pairs_per_second(self) -> float:
        return self.pairs / self.seconds


def load_model(checkpoint: str | Path) -> Changen2Model:
    """The Changen2 model saved in the model folder ``checkpoint`` (``Changen2Model.from_pretrained``)."""
    return Changen2Model.from_pretrained(checkpoint)


def _corpus_tiles(
    path: Path, level: str | None, size: int, model: Changen2Model, seed: int, min_valid: float
):
    if level is None:
        if model.gsd is None:
            raise ConfigError("the model does not record its resolution: give the corpus level (e.g. 4m)")
        level = Level(model.gsd).name
    tiles, regions = corpus_tiles(path, level, size, min_valid_fraction=min_valid)
    bands = next(iter(regions.datasets.values())).bands
    if len(bands) != model.channels:
        raise ConfigError(f"{path} has {len(bands)} bands at {level} but the model draws {model.channels}")
    return MaskedSamples(tiles, model.encoding, seed)


def synthesize(
    checkpoint: str | Path,
    source: str | Path,
    out: str | Path,
    *,
    pairs: int = 16,
    length: int = 2,
    layout: str = "levir-cd",
    size: int | None = None,
    seed: int = 0,
    steps: int = 50,
    margin: int = 1,
    level: str | None = None,
    pairing: str = "consecutive",
    change: str = "any",
    batch_size: int = 4,
    min_valid_fraction: float = 0.5,
    device: str | None = None,
    gsd: float | None = None,
    appearance: DateAppearance | None = None,
    other_change: bool = True,
    show_progress: bool = True,
    scheduler: str | None = None,
    resources: dict[str, float] | None = None,
) -> SynthesisSummary:
    """Writes ``pairs`` change pairs (or the series holding them) drawn by a Changen2 model.

    Args:
        checkpoint: the model folder (a training run's ``model/``).
        source: a corpus (Zarr store) or a folder of images (see the module docstring).
        out: the folder to write; it must not exist, or be empty (checked before anything runs,
            with the room on its disk).
        pairs: pairs to write; series of ``length`` dates are drawn until there are enough
            (the ``series`` layout writes whole series).
        length: dates per series (at least 2; the first is the source image).
        layout: ``levir-cd``, ``second`` or ``series``.
        size: image side in pixels (default: the model's training tile).
        seed: seed of tile order, change events and noise.
        steps: DDIM steps per date.
        margin: pixels around the changes that are redrawn to blend them in (see
            :class:`~terrasynth.models.changen2.GPCM`).
        level: the corpus level (default: the model's resolution).
        pairing: pairs of ``consecutive`` dates, or the ``first-last`` of each series.
        change: LEVIR-CD labels of ``any`` class change, or of ``buildings`` only (built and
            demolished).
        other_change: with ``change="buildings"``, the other land-cover classes still change
            (the events' class transitions), unlabelled; False changes buildings only, as
            Changen2's LEVIR-CD data does. Real pairs hold unlabelled change (crops, soil,
            vegetation): a detector trained without it flags every such change as a building.
        batch_size: series drawn together.
        min_valid_fraction: corpus tiles with fewer valid pixels are skipped.
        device: ``cpu``, ``cuda``... (default: a GPU when there is one; then bf16 autocast).
        gsd: metres per pixel of the source images (default: the model's); the sizes of change
            events are in square metres.
        appearance: how each later date's illumination, noise and registration differ from the
            previous one's (default :class:`~terrasynth.models.changen2.DateAppearance`;
            ``DateAppearance.none()`` carries unchanged areas over exactly).
        show_progress: show a rich progress bar.
        scheduler: draw the series in shards of ``batch_size`` on a local Dask cluster
            (``"local"``), on the running cluster at an address (``"tcp://host:8786"``; ``out``
            must be reachable from its workers) or in this process (``"threads"``), resumably
            (see :mod:`~terrasynth.workflows.synthesis_shards`); the same files and STAC as
            without (``None``: one process, not resumable). ``device`` is then each worker's.
        resources: Dask worker resources every shard needs, e.g. ``{"GPU": 1}``.

    The data is written into a hidden folder beside ``out`` and renamed to ``out`` once complete;
    a failure removes it.
    """
    for name, value, allowed in (("layout", layout, LAYOUTS), ("pairing", pairing, PAIRINGS), ("change", change, CHANGES)):  # fmt: skip
        if value not in allowed:
            raise ConfigError(f"{name} {value!r} is unknown; use one of {', '.join(allowed)}")
    if length < 2 or pairs < 1 or batch_size < 1:
        raise ConfigError(
            f"need length >= 2 dates, pairs >= 1 and batch_size >= 1 (got {length}, {pairs}, {batch_size})"
        )
    out = check_output(out, folder=True)
    source = Path(source)
    corpus = (source / "zarr.json").is_file() or (source / ".zgroup").is_file()
    labelled = source.is_dir() and any(
        labelled_images(source, layout) for layout in LABELLED_SOURCES.values()
    )
    if not corpus and source.is_dir() and not labelled and not image_files(source):
        raise CorpusError(
            f"{source} holds no PNG, JPEG or GeoTIFF image and is not a corpus: give a corpus (Zarr store) "
            "or a folder of images"
        )
    device_name = str(torch_device(device)) if scheduler is None else device  # with a scheduler: the workers'
    model = load_model(checkpoint).to(device_name if scheduler is None else "cpu")
    kind = model.encoding.kind
    if kind == "pseudo" and (layout == "second" or change == "buildings"):
        raise ConfigError(
            "pseudo-masks have no land-cover classes: use the levir-cd or series layout with any change"
        )
    size = size or model.tile_size
    model.check_size(size, size)
    gsd = gsd or model.gsd
    if gsd is None:
        raise ConfigError(
            f"{checkpoint} does not record its resolution: give the images' metres per pixel (--gsd)"
        )
    if corpus:
        tiles = _corpus_tiles(source, level, size, model, seed, min_valid_fraction)
    elif source.is_dir() and kind in LABELLED_SOURCES:
        tiles = _labelled_tiles(source, size, model)
    elif source.is_dir():
        if kind != "pseudo":
            raise ConfigError(
                f"images in a folder have no labels, but this model draws {kind} masks: "
                "use a model trained with --mask pseudo, or a corpus"
            )
        tiles = ImageFolderTiles(source, size, model, seed)
    else:
        raise CorpusError(f"{source} is neither a corpus (Zarr store) nor a folder of images")

    per_series = 1 if layout != "series" and pairing == "first-last" else length - 1
    n_series = math.ceil(pairs / per_series)
    check_free_space(out, _output_bytes(layout, pairs, n_series * length, model.channels, size))
    order = torch.randperm(
        len(tiles), generator=torch.Generator().manual_seed(key_seed(seed, "order"))
    ).tolist()
    appearance = DateAppearance() if appearance is None else appearance
    events = model.encoding.change_events()
    building_labels = layout == "levir-cd" and change == "buildings"
    if building_labels and not other_change:
        events = replace(events, transition_p=0.0)
    provenance = {
        "checkpoint": str(checkpoint), "source": str(source), "seed": seed, "steps": steps, "margin": margin,
        "length": length, "size": size, "mask": kind, "pairing": pairing, "change_labels": change,
        "unlabelled_change": building_labels and other_change,
    }  # fmt: skip
    drawing = SeriesDrawing(
        model, tiles, order, events, appearance, seed=seed, size=size,
        length=length, steps=steps, margin=margin, gsd=gsd, layout=layout, pairing=pairing, change=change,
        pairs=pairs, device=device_name,
    )  # fmt: skip
    GPCM(model, steps=steps, margin=margin)  # checks the settings before anything is written
    if scheduler is not None:
        from terrasynth.workflows.synthesis_shards import synthesize_in_shards

        return synthesize_in_shards(
            drawing,
            WRITERS[layout],
            out,
            provenance,
            n_series,
            batch_size,
            scheduler,
            resources,
            show_progress,
        )
    writer = WRITERS[layout](out, properties=provenance)
    measured = []
    began = time.perf_counter()
    with writer, progress_bar(show_progress) as progress:
        task = progress.add_task(
            f"{n_series} series of {length} dates, {size} px: denoising steps",
            total=n_series * (length - 1) * steps,
        )
        for first in range(0, n_series, batch_size):
            numbers = range(first, min(first + batch_size, n_series))
            for n, drawn, sequence in drawing.series(numbers, partial(progress.advance, task, len(numbers))):
                measured.append(consistency(drawn, torch.from_numpy(sequence.changes)))
                drawing.write(writer, n, drawn, sequence)
    return drawing.summary(Path(out), n_series, measured, time.perf_counter() - began)


WRITERS = {"levir-cd": LevirCDWriter, "second": SecondWriter, "series": ChangeSeriesWriter}


@dataclass
class SeriesDrawing:
    """What draws and writes series number ``n`` (its source tile, change events, noise and
    appearance are keyed by the seed and ``n``), so series can be drawn in any grouping and order,
    in any process (:mod:`~terrasynth.workflows.synthesis_shards`) with the same results.

    ``device`` is where :attr:`gpcm` runs, chosen in the process that draws (``None``: a GPU
    when it has one, then bf16 autocast).
    """

    model: Changen2Model
    tiles: MapStyleDataset
    order: list[int]
    events: object
    appearance: DateAppearance
    seed: int
    size: int
    length: int
    steps: int
    margin: int
    gsd: float
    layout: str
    pairing: str
    change: str
    pairs: int
    device: str | None = None

    @functools.cached_property
    def gpcm(self) -> GPCM:
        device = torch_device(self.device)
        return GPCM(
            self.model.to(device),
            steps=self.steps,
            margin=self.margin,
            autocast_dtype=torch.bfloat16 if device.type == "cuda" else None,
        )

    @property
    def per_series(self) -> int:
        """Pairs written per series (the ``series`` layout: consecutive pairs in it)."""
        return 1 if self.layout != "series" and self.pairing == "first-last" else self.length - 1

    def series(self, numbers: range, on_step=None) -> list[tuple[int, torch.Tensor, ChangeSequence]]:
        """(number, drawn (T, C, H, W) reflectance on the CPU, simulated sequence) of each series."""
        gpcm, size = self.gpcm, self.size
        samples = [self.tiles[self.order[n % len(self.tiles)]] for n in numbers]
        sequences = [
            simulate_changes(
                s["mask"].numpy(), self.length, self.events, key_seed(self.seed, "events", n), gsd=self.gsd
            )
            for s, n in zip(samples, numbers, strict=True)
        ]
        noise = torch.stack(
            [keyed_normal(gpcm.noise_shape(size, size), self.seed, "noise", n) for n in numbers]
        )
        device = next(self.model.parameters()).device
        images = torch.stack([torch.as_tensor(s["image"]) for s in samples]).to(device)
        step_noise = partial(_step_noise, gpcm.noise_shape(size, size), self.seed, numbers)
        series = gpcm(images, sequences, noise.to(device), on_step=on_step, step_noise=step_noise).cpu()
        series = vary_dates(series, self.appearance, self.seed, numbers)
        return list(zip(numbers, series, sequences, strict=True))

    def write(self, writer, number: int, drawn: torch.Tensor, sequence) -> int:
        """Write series ``number`` (or as many of its pairs as the total leaves); returns the pairs written."""
        left = self.pairs - number * self.per_series  # every earlier series wrote all its pairs
        return _write(
            writer, self.layout, number, drawn, sequence, self.model, self.pairing, self.change, left
        )

    def summary(self, out: Path, n_series: int, measured: list[dict], seconds: float) -> SynthesisSummary:
        """The summary of ``n_series`` series written to ``out``, from their :func:`consistency`, in order."""
        totals = {"unchanged": [0.0, 0], "changed": [0.0, 0]}  # sum of differences, pixels
        for figures in measured:
            for key, total in totals.items():
                if pixels := figures[f"{key}_pixels"]:
                    total[0] += figures[key] * pixels
                    total[1] += pixels
        written = (
            min(self.pairs, n_series * self.per_series)
            if self.layout != "series"
            else n_series * (self.length - 1)
        )
        figures = {key: total / pixels if pixels else float("nan") for key, (total, pixels) in totals.items()}
        figures["ratio"] = figures["unchanged"] / figures["changed"] if figures["changed"] else float("nan")
        return SynthesisSummary(out, self.layout, n_series, written, self.size, self.length, seconds, figures)


def _step_noise(shape, seed: int, numbers: range, date: int, step: int) -> torch.Tensor:
    """The noise of one step of one date of the series ``numbers`` (samplers that add noise)."""
    return torch.stack([keyed_normal(shape, seed, "step-noise", n, date, step) for n in numbers])


def _labelled_tiles(source: Path, size: int, model: Changen2Model) -> ModelValueTiles:
    """The tiles of a labelled folder in the layout of the model's masks."""
    kind, layout = model.encoding.kind, LABELLED_SOURCES[model.encoding.kind]
    if not labelled_images(source, layout):
        raise CorpusError(
            f"this model draws {kind} masks, so it synthesizes from {layout} images with their masks, and {source} "
            f"holds none: see terrasynth.datasets.labelled_folders for the layout"
        )
    if model.channels != 3:
        raise ConfigError(f"{layout} images are RGB but the model draws {model.channels} bands")
    return ModelValueTiles(LabelledImageTiles(source, layout, size), model)


def _output_bytes(layout: str, pairs: int, images: int, channels: int, size: int) -> int:
    """Bytes of the data written, uncompressed (an upper bound for the PNG layouts)."""
    if layout == "series":
        return images * (2 * channels + 2) * size * size  # uint16 reflectance, classes, change
    per_pair = 2 * 3 + (1 if layout == "levir-cd" else 2 * 3)  # RGB images and their label maps
    return pairs * per_pair * size * size


def _write(writer, layout, number, series, sequence, model, pairing, change, left) -> int:
    """Write one series (or up to ``left`` of its pairs); returns the pairs written."""
    masks, changes, kind = sequence.masks, sequence.changes, model.encoding.kind
    if layout == "series":
        reflectance = (series.numpy() * 1e4).round().clip(0, 65535).astype(np.uint16)
        writer.write(reflectance, masks.astype(np.uint8), changes)
        return len(series) - 1
    dates = [(0, len(series) - 1)] if pairing == "first-last" else [(t - 1, t) for t in range(1, len(series))]
    for a, b in dates[:left]:
        name = f"{number:06d}_t{a}_t{b}"
        image_a, image_b = to_picture(series[a], model), to_picture(series[b], model)
        if layout == "second":
            semantic_a, semantic_b = second_labels(masks[a], kind), second_labels(masks[b], kind)
            writer.write(name, image_a, image_b, semantic_a, semantic_b, semantic_a != semantic_b)
        elif change == "buildings":
            writer.write(
                name, image_a, image_b, building_mask(masks[a], kind) != building_mask(masks[b], kind)
            )
        else:
            writer.write(name, image_a, image_b, changes[a + 1 : b + 1].any(axis=0))
    return min(len(dates), left)
