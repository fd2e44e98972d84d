"""Image sets to compare: folders of PNG or GeoTIFF files, or a Zarr corpus, read as RGB canvases.

Every image becomes an 8-bit RGB canvas ``(3, H, W)`` with its level (``"16m"``; ``"all"`` when
unknown) and, where the source has one, its land-cover map. Canvases are cut into square tiles for
the distribution metrics; whole canvases are what the seam scores look at.

- PNG: 8-bit grey, RGB or RGBA as stored; the level is the parent folder's name when it reads as
  one (``real/16m/0001.png``).
- GeoTIFF (rasterio): the level is the pixel size in metres of a projected CRS, else the parent
  folder's name.
- Zarr: a corpus (``terrasynth.core.corpus``); one canvas per region and level, with land cover;
  tiles holding invalid pixels are skipped.

GeoTIFF and corpus canvases keep their pixel grid (CRS and transform), so a real set can be cut to
the ground a generated set covers (:func:`under`).

Reflectance becomes 8-bit through the display mapping of :mod:`terrasynth.core.display`, the one
every PNG terrasynth writes goes through; integer data other than uint8 is read as reflectance x
1e4 (the corpus convention), floats as reflectance.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from terrasynth.core.display import to_display
from terrasynth.core.errors import CorpusError, GridError
from terrasynth.core.grid import GridSpec
from terrasynth.core.landcover import ClassTable

ALL = "all"
RGB_BAND_NAMES = (("B4", "B3", "B2"), ("red", "green", "blue"), ("R", "G", "B"))
_LEVEL_NAME = re.compile(r"^\d+(\.\d+)?m$")

Reader = Callable[[slice, slice], tuple[np.ndarray, np.ndarray | None, np.ndarray | None]]
"""(rows, cols) -> (RGB uint8 (3, h, w), land-cover codes (h, w) or None, valid (h, w) or None)."""


@dataclass(frozen=True)
class Canvas:
    """One image of a set: a file, or one region and level of a corpus.

    Attributes:
        name: file path or ``region/level``.
        level: level name (``"16m"``) or ``"all"``.
        shape: (rows, columns) in pixels.
        read: reads a window of the canvas, see :data:`Reader`.
        classes: the land-cover legend when the canvas has land cover.
        grid: its pixel grid (CRS, transform) when georeferenced in a projected CRS.
    """

    name: str
    level: str
    shape: tuple[int, int]
    read: Reader
    classes: ClassTable | None = None
    grid: GridSpec | None = None

    def rgb(self) -> np.ndarray:
        """The whole canvas as ``(3, H, W)`` uint8."""
        return self.read(slice(0, self.shape[0]), slice(0, self.shape[1]))[0]


@dataclass(frozen=True)
class Tile:
    """A square piece of a canvas with its dominant land-cover class (``"all"`` when unknown)."""

    rgb: np.ndarray
    level: str
    landcover: str


def open_image_set(path: str | Path, *, rgb_bands: Sequence[str | int] | None = None) -> list[Canvas]:
    """The canvases of a folder of PNG/GeoTIFF files (searched recursively) or of a Zarr corpus.

    Args:
        path: the folder or the corpus.
        rgb_bands: names or 0-based indices of the red, green and blue bands of multiband data;
            by default B4/B3/B2 or red/green/blue when the bands are named so, else the first three.
    """
    path = Path(path)
    if not path.exists():
        raise CorpusError(f"image set {path} does not exist")
    if (path / "zarr.json").is_file() or (path / ".zgroup").is_file():
        return _corpus_canvases(path, rgb_bands)
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in {".png", ".tif", ".tiff"})
    if not files:
        raise CorpusError(f"{path} holds no .png, .tif or .tiff files and is not a Zarr corpus")
    return [_png_canvas(f) if f.suffix.lower() == ".png" else _geotiff_canvas(f, rgb_bands) for f in files]


def under(canvases: Sequence[Canvas], footprints: Sequence[Canvas]) -> list[Canvas]:
    """The parts of ``canvases`` under ``footprints`` of their level and CRS: one canvas per
    overlapping pair, cut on whole pixels of its own grid (to the nearest pixel where the two grids'
    origins differ by a fraction of one), so its tiles lie on the same ground as the footprint's.
    Canvases or footprints without a grid cover nothing."""
    parts = []
    for canvas in canvases:
        for footprint in footprints:
            if canvas.grid is None or footprint.grid is None or footprint.level != canvas.level:
                continue
            # another projection: no pixel of one lies on the other's
            if canvas.grid.crs != footprint.grid.crs:
                continue
            window = canvas.grid.window_from_bounds(footprint.grid.bounds)
            rows = _clamp(window.row_off, window.row_off + window.height, canvas.shape[0])
            cols = _clamp(window.col_off, window.col_off + window.width, canvas.shape[1])
            if rows.start < rows.stop and cols.start < cols.stop:
                parts.append(_crop(canvas, rows, cols, f"{canvas.name} under {footprint.name}"))
    return parts


def iter_tiles(canvas: Canvas, tile_size: int) -> Iterator[Tile]:
    """Non-overlapping ``tile_size`` tiles from the canvas origin; partial edge tiles and tiles with
    invalid pixels are left out."""
    rows, cols = canvas.shape
    for y in range(0, rows - tile_size + 1, tile_size):
        # one read per strip of tiles: a PNG is decoded once per strip, a corpus read in strips
        rgb, landcover, valid = canvas.read(slice(y, y + tile_size), slice(0, cols))
        for x in range(0, cols - tile_size + 1, tile_size):
            piece = slice(x, x + tile_size)
            if valid is not None and not valid[:, piece].all():
                continue
            codes = None if landcover is None else landcover[:, piece]
            yield Tile(rgb[:, :, piece], canvas.level, _dominant_class(codes, canvas.classes))


def to_uint8(image: np.ndarray) -> np.ndarray:
    """uint8 data unchanged; other integers as reflectance x 1e4 and floats as reflectance, through
    :func:`terrasynth.core.display.to_display`."""
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image
    return to_display(image.astype(np.float32) * (1e-4 if np.issubdtype(image.dtype, np.integer) else 1.0))


def select_rgb(bands: Sequence[str], rgb_bands: Sequence[str | int] | None) -> list[int]:
    """Indices of the red, green and blue bands among ``bands`` (see :func:`open_image_set`)."""
    count = len(bands)
    if rgb_bands is None:
        for names in RGB_BAND_NAMES:
            if all(name in bands for name in names):
                return [list(bands).index(name) for name in names]
        return [0, 0, 0] if count == 1 else [0, 1, 2] if count >= 3 else []
    if len(rgb_bands) != 3:
        raise CorpusError(f"give three RGB bands, got {list(rgb_bands)}")
    indices = []
    for band in rgb_bands:
        if isinstance(band, int) or str(band).isdigit():
            index = int(band)
        elif band in bands:
            index = list(bands).index(band)
        else:
            raise CorpusError(f"band {band!r} not found; bands are {list(bands)}")
        if not 0 <= index < count:
            raise CorpusError(f"band index {index} is out of range for {count} bands")
        indices.append(index)
    return indices


def _clamp(start: float, stop: float, length: int) -> slice:
    return slice(max(0, round(start)), min(length, round(stop)))


def _crop(canvas: Canvas, rows: slice, cols: slice, name: str) -> Canvas:
    """The canvas' pixels ``[rows, cols]`` (whole, within it) as a canvas of its own."""
    from rasterio.windows import Window

    def read(r: slice, c: slice):
        return canvas.read(
            slice(rows.start + r.start, rows.start + r.stop), slice(cols.start + c.start, cols.start + c.stop)
        )

    window = Window(cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start)
    grid = None if canvas.grid is None else canvas.grid.subgrid(window)
    shape = (rows.stop - rows.start, cols.stop - cols.start)
    return Canvas(name, canvas.level, shape, read, canvas.classes, grid)


def _projected_grid(source) -> GridSpec | None:
    """A rasterio dataset's pixel grid, when north-up in a projected CRS."""
    if source.crs is None or not source.crs.is_projected:
        return None
    try:
        return GridSpec(source.crs.to_string(), source.transform, (source.height, source.width))
    except GridError:  # rotated or south-up: no grid to cut by
        return None


def _level_of_folder(path: Path) -> str:
    return path.parent.name if _LEVEL_NAME.match(path.parent.name) else ALL


def _dominant_class(landcover: np.ndarray | None, classes: ClassTable | None) -> str:
    if landcover is None or classes is None:
        return ALL
    codes, counts = np.unique(landcover[landcover > 0], return_counts=True)
    if not len(codes):
        return ALL
    code = int(codes[np.argmax(counts)])
    return classes.name(code) if code in classes.classes else str(code)


def _png_canvas(path: Path) -> Canvas:
    from PIL import Image

    with Image.open(path) as image:
        width, height = image.size

    def read(rows: slice, cols: slice):
        with Image.open(path) as image:
            array = np.asarray(image.convert("RGB") if image.mode in {"L", "P", "RGBA", "LA"} else image)
        if array.ndim == 2:
            array = np.repeat(array[..., None], 3, axis=-1)
        return to_uint8(array[rows, cols, :3]).transpose(2, 0, 1), None, None

    return Canvas(str(path), _level_of_folder(path), (height, width), read)


def _geotiff_canvas(path: Path, rgb_bands) -> Canvas:
    import rasterio
    from rasterio.windows import Window

    from terrasynth.core.levels import Level

    with rasterio.open(path) as source:
        names = [d or str(i) for i, d in enumerate(source.descriptions)]
        indices = select_rgb(names, rgb_bands)
        if not indices:
            raise CorpusError(f"{path} has {source.count} bands: name three with rgb_bands")
        projected = source.crs is not None and source.crs.is_projected
        level = Level(round(source.res[0], 6)).name if projected else _level_of_folder(path)
        shape = (source.height, source.width)
        grid = _projected_grid(source)

    def read(rows: slice, cols: slice):
        window = Window(cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start)
        with rasterio.open(path) as source:
            data = source.read([i + 1 for i in indices], window=window)
        return to_uint8(data), None, None

    return Canvas(str(path), level, shape, read, grid=grid)


def _corpus_canvases(path: Path, rgb_bands) -> list[Canvas]:
    from rasterio.windows import Window

    from terrasynth.core.corpus import open_corpus
    from terrasynth.datasets.level_reader import LevelReader

    tree = open_corpus(path)
    canvases = []
    for region in sorted(tree.children):
        for level in sorted(tree[region].children):
            reader = LevelReader(path, level, region, tree=tree)
            indices = select_rgb(reader.bands, rgb_bands)

            def read(rows, cols, reader=reader, indices=indices):
                window = Window(cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start)
                data = reader.read(window, pad=False)  # a chunk that does not decode: one-line CorpusError
                return to_uint8(reader.reflectance(data["image"][indices])), data["landcover"], data["valid"]

            canvases.append(
                Canvas(f"{region}/{level}", level, reader.grid.shape, read, reader.classes, reader.grid)
            )
    return canvases
