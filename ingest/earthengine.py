"""The Earth Engine source: cloud-masked median composites and land cover, tile by tile.

The only module of terrasynth that imports ``ee``. Each tile is one image expression (reflectance
bands, land cover, a validity band and the number of images behind the tile, all uint16), each
product read on its own pixel grid and resampled once onto exactly the tile's grid with
``ee.data.computePixels``, split under the request limits and into quarters while the server finds
a request too heavy; transient failures (HTTP 429, 5xx, timeouts) are retried with jittered
exponential backoff, permanent ones (unknown asset or band, no permission, refused credentials)
stop the ingest with a one-line :class:`SourceError`. A tile over which the product has no image
(outside its coverage or dates) comes back as no data, with the reason, so the corpus completes.

Credentials are looked up in each process by :meth:`EarthEngineSource.setup` (a service-account
key file or application-default credentials); the source object itself holds only settings, so
it can travel to Dask workers without carrying secrets.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path

import ee
import numpy as np
import xarray as xr
from google.auth.exceptions import MalformedError, RefreshError, TransportError
from pyproj import Transformer
from rasterio.windows import Window

from terrasynth.core.aoi import AreaOfInterest
from terrasynth.core.corpus import REFLECTANCE_ATTRS
from terrasynth.core.errors import ConfigError, SourceError
from terrasynth.core.grid import GridSpec
from terrasynth.core.levels import Level
from terrasynth.ingest import catalog
from terrasynth.ingest.dates import DateRange
from terrasynth.ingest.retry import Backoff
from terrasynth.ingest.source import Source
from terrasynth.ingest.split import split_window

DEFAULT_CONCURRENCY = 32
"""Requests in flight at once; Earth Engine's default quota is about 40 per project."""
QUOTA_REQUESTS_PER_SECOND = 100.0
"""Earth Engine's default request-rate quota per project."""
TYPICAL_LATENCY_S = 2.0
"""A typical computePixels latency for a composite tile, in seconds: an assumption for estimates only."""
BYTES_PER_VALUE = 3
"""Bytes per band and pixel as Earth Engine counts them for uint16 data: two, plus one for the mask."""
MIN_SPLIT_SIDE = 8
"""The smallest request side, in pixels, a tile is split down to while the server finds it too heavy."""
COMPUTE_LIMIT_MESSAGES = ("Computation timed out", "User memory limit exceeded")
"""Texts of the server's HTTP 400 for a computation over its limits."""
_TRANSFER_BANDS = (*catalog.COMMON_BANDS, "landcover", "valid", "images")
_BUILDINGS = "open-buildings"
_EE_FAILURES = (ee.EEException, RefreshError, TransportError, OSError)
"""What a call to Earth Engine raises when it fails: the client's error, credentials, the network."""
_NO_CREDENTIALS = (
    "no Earth Engine credentials found: run `earthengine authenticate` (or `gcloud auth "
    "application-default login`), or pass --service-account-key FILE"
)


class EarthEngineSource(Source):
    """Sentinel-2 (or Landsat 8/9) composites, a finer product for fine levels, and land cover.

    Args:
        start, end: the date range of the composites (``end`` excluded), ``YYYY-MM-DD`` or dates.
        imagery: ``sentinel2`` (Cloud Score+ masked) or ``landsat`` (QA_PIXEL masked).
        fine_imagery: ``nicfi`` or ``naip`` for levels finer than ``imagery``'s native resolution;
            ``None`` resamples ``imagery`` (bilinear) there instead.
        landcover: ``worldcover`` or ``dynamicworld`` (mode of ``label`` over the range, stored + 1).
        buildings: burn Open Buildings temporal (presence >= 0.5, the year of ``end``) into the land
            cover as its built-up class.
        cloud_threshold: keep Sentinel-2 pixels whose Cloud Score+ ``cs_cdf`` is at least this.
        concurrency: the most requests in flight at once across all workers.
        project: the Cloud project with Earth Engine enabled (default: ``$EE_PROJECT``).
        service_account_key: a service-account JSON key file; default: application-default
            credentials. Read in each process, never stored in outputs.
        high_volume: use the high-volume endpoint meant for many parallel pixel requests.
        request_timeout: seconds before a request counts as timed out (and is retried).
        tile_time_limit: seconds one tile may take, retries and splits included, before it fails.
        backoff: the retry policy for transient failures (default: :class:`Backoff`'s).
    """

    name = "earthengine"

    def __init__(
        self,
        start: str | dt.date,
        end: str | dt.date,
        *,
        imagery: str = "sentinel2",
        fine_imagery: str | None = None,
        landcover: str = "worldcover",
        buildings: bool = False,
        cloud_threshold: float = 0.6,
        concurrency: int = DEFAULT_CONCURRENCY,
        project: str | None = None,
        service_account_key: str | Path | None = None,
        high_volume: bool = True,
        request_timeout: float = 300.0,
        tile_time_limit: float = 900.0,
        backoff: Backoff | None = None,
    ):
        self.dates = DateRange.parse(start, end)
        self.imagery = catalog.imagery(imagery)
        self.fine_imagery = catalog.imagery(fine_imagery) if fine_imagery else None
        self.landcover = catalog.landcover(landcover)
        self.classes = self.landcover.classes
        self.buildings = buildings
        if not 0.0 <= cloud_threshold <= 1.0:
            raise ConfigError(f"--cloud-threshold {cloud_threshold} must lie in [0, 1]")
        self.cloud_threshold = cloud_threshold
        if concurrency < 1:
            raise ConfigError(f"--concurrency {concurrency} must be at least 1")
        self.max_concurrency: int = concurrency
        self.project = project or os.environ.get("EE_PROJECT") or None
        self.key_path = Path(service_account_key) if service_account_key else None
        self.high_volume = high_volume
        self.request_timeout = request_timeout
        self.tile_time_limit = tile_time_limit
        self.backoff = backoff or Backoff()

    def bands(self, level: Level) -> list[str]:
        return list(catalog.COMMON_BANDS)

    def describe(self) -> dict:
        return {
            "name": self.name,
            "dates": self.dates.to_json(),
            "imagery": _describe_imagery(self.imagery),
            "fine_imagery": _describe_imagery(self.fine_imagery) if self.fine_imagery else None,
            "fine_below_m": self.imagery.gsd,
            "composite": "median",
            "cloud_mask": (
                {
                    "collection": catalog.CLOUD_SCORE_PLUS,
                    "band": catalog.CLOUD_SCORE_BAND,
                    "min": self.cloud_threshold,
                }
                if self.imagery.cloud_mask == "cloud-score-plus"
                else self.imagery.cloud_mask
            ),
            "landcover": {
                "collection": self.landcover.collection,
                "band": self.landcover.band,
                "reducer": "mode" if self.landcover.temporal else "first",
                "code_offset": self.landcover.code_offset,
            },
            "buildings": {"collection": catalog.OPEN_BUILDINGS, "year": self.buildings_year}
            if self.buildings
            else None,
            "resampling": {"reflectance": "mean (coarser) / bilinear (finer)", "classes": "mode / nearest"},
        }

    @property
    def buildings_year(self) -> int:
        """The Open Buildings year used: that of the last day of the range, within the product's years."""
        first, last = catalog.OPEN_BUILDINGS_YEARS
        return min(max((self.dates.end - dt.timedelta(days=1)).year, first), last)

    def setup(self) -> None:
        """Initialise Earth Engine in this process with these settings (again, if someone else already
        did: their project, endpoint and timeout would otherwise be used), hand retries to
        :attr:`backoff`, and check access to restricted products (NICFI) before any work."""
        credentials = self._credentials()
        if not self.project and not self.key_path and not getattr(credentials, "quota_project_id", None):
            raise SourceError(
                "no Earth Engine project: pass --project PROJECT or set EE_PROJECT "
                "(a Cloud project with the Earth Engine API enabled)"
            )
        url = ee.data.HIGH_VOLUME_API_BASE_URL if self.high_volume else ee.data.DEFAULT_CLOUD_API_BASE_URL
        try:
            ee.Initialize(credentials, project=self.project, opt_url=url)
        except ee.EEException as error:
            raise SourceError(f"Earth Engine initialisation failed: {_one_line(error)}") from None
        except (RefreshError, TransportError, OSError) as error:
            raise SourceError(
                f"Earth Engine initialisation failed ({type(error).__name__}: {_one_line(error)}): run "
                "`earthengine authenticate` again, or check --service-account-key and the network"
            ) from None
        ee.data.setDeadline(self.request_timeout * 1000.0)
        # One retry layer, ours: it tells permanent errors from transient ones.
        ee.data.setMaxRetries(0)
        self._check_access()

    def _check_access(self) -> None:
        """Refuse now, not hours into the coarse levels, when a restricted fine product is not readable."""
        if self.fine_imagery is not catalog.NICFI:
            return
        sizes = ee.Dictionary({c: ee.ImageCollection(c).limit(1).size() for c in catalog.NICFI.collections})
        try:
            sizes.getInfo()
        except _EE_FAILURES as error:
            raise SourceError(
                f"this Earth Engine account cannot read the NICFI basemaps ({_one_line(error)}): request access "
                "at https://www.planet.com/nicfi/ with the account's email, or drop --fine-imagery nicfi"
            ) from None

    def _credentials(self):
        if self.key_path is None:
            try:
                return ee.data.get_persistent_credentials()
            except ee.EEException:
                raise SourceError(_NO_CREDENTIALS) from None
        if not self.key_path.is_file():
            raise SourceError(f"service-account key file {self.key_path} does not exist")
        try:
            email = json.loads(self.key_path.read_text())["client_email"]
        except (ValueError, KeyError, TypeError):
            raise SourceError(
                f"{self.key_path} is not a service-account key (a JSON file with 'client_email')"
            ) from None
        try:
            return ee.ServiceAccountCredentials(email, key_file=str(self.key_path))
        except ValueError as error:  # google-auth's MalformedError, or cryptography refusing the key
            # Name the fields google-auth misses; never repeat what the key parser saw (key material).
            reason = str(error) if isinstance(error, MalformedError) else "its private_key cannot be loaded"
            raise SourceError(
                f"service-account key file {self.key_path} is invalid ({reason}): create a new JSON key for "
                f"{email} (Cloud console, IAM, Service accounts, Keys) and pass it with --service-account-key"
            ) from None

    def image_attrs(self, level: Level) -> dict:
        product = self.product(level)
        if product.units == catalog.REFLECTANCE_UNITS:
            return dict(REFLECTANCE_ATTRS)
        return {"long_name": f"{product.name} {product.units}", "units": product.units}

    def check_area(self, aoi: AreaOfInterest) -> None:
        """Refuse a fine product (NICFI, NAIP) whose coverage the area lies wholly outside."""
        product = self.fine_imagery
        if product is None or product.coverage is None:
            return
        west, south, east, north = aoi.geometry.bounds
        w, s, e, n = product.coverage
        if east < w or west > e or north < s or south > n:
            raise SourceError(
                f"--fine-imagery {product.name} has no image over the area {west:.4f},{south:.4f},{east:.4f},"
                f"{north:.4f}: it covers {w:g},{s:g},{e:g},{n:g} only; drop --fine-imagery (finer levels are "
                "then resampled) or choose an area inside"
            )

    def check_coverage(self, aoi: AreaOfInterest, levels: Sequence[Level]) -> list[str]:
        """Count the images of every collection read over each region in the date range (one
        ``size()`` per collection, one request per region); refuse a collection with none anywhere."""
        levels_of: dict[str, list[str]] = {}
        for level in levels:
            levels_of.setdefault(self.product(level).name, []).append(level.name)
        counts: dict[str, dict[str, int]] = {}
        for region in aoi.regions():
            grid = next(iter(region.grids(list(levels)).values()))
            footprint = ee.Geometry.Rectangle(list(grid.bounds), proj=grid.crs, geodesic=False)
            sizes = {name: self._images(catalog.imagery(name), footprint).size() for name in levels_of}
            if self.landcover.temporal:
                sizes[self.landcover.name] = (
                    ee.ImageCollection(self.landcover.collection)
                    .filterBounds(footprint)
                    .filterDate(self.dates.start.isoformat(), self.dates.end.isoformat())
                    .size()
                )
            if self.buildings:
                sizes[_BUILDINGS] = self._buildings(footprint).size()
            try:
                found = ee.Dictionary(sizes).getInfo()
            except _EE_FAILURES as error:
                raise SourceError(
                    f"Earth Engine could not count the images over region {region.name} ({_one_line(error)})"
                ) from None
            if found is None:
                raise SourceError(f"Earth Engine returned no image counts over region {region.name}")
            counts[region.name] = found
        dates = f"between {self.dates.start} and {self.dates.end} (end excluded)"
        # name -> (what is missing, what follows for the corpus / for a region, how to avoid it)
        effects = {
            name: (
                _images_named(catalog.imagery(name)),
                f"levels {', '.join(names)} would hold no data",
                f"its {', '.join(names)} tiles will be written as no data",
                " or drop --fine-imagery" if self.fine_imagery and name == self.fine_imagery.name else "",
            )
            for name, names in levels_of.items()
        }
        effects[self.landcover.name] = (
            f"{self.landcover.name} image",
            "the land cover would be empty",
            "its land cover will be empty",
            "",
        )
        effects[_BUILDINGS] = (
            f"Open Buildings image of {self.buildings_year}",
            "the land cover would hold no buildings",
            "its land cover will hold no buildings",
            " or drop --buildings",
        )
        for name in sizes:
            what, everywhere, _, remedy = effects[name]
            if not any(found[name] for found in counts.values()):
                raise SourceError(
                    f"no {what} over the area {dates}, so {everywhere}: choose other --start/--end{remedy}"
                )
        return [
            f"region {region}: no {effects[name][0]} {dates}; {effects[name][2]}"
            for region, found in counts.items()
            for name, count in found.items()
            if not count
        ]

    def requests(self, grid: GridSpec, level: Level) -> int:
        return len(split_window(grid.shape, BYTES_PER_VALUE * len(_TRANSFER_BANDS)))

    def request_rate(self) -> float:
        return min(QUOTA_REQUESTS_PER_SECOND, self.max_concurrency / TYPICAL_LATENCY_S)

    def read(self, grid: GridSpec, level: Level) -> xr.Dataset:
        """The tile ``grid``: one or more computePixels requests, retried while they fail transiently,
        split further while the server finds them too heavy, within :attr:`tile_time_limit` seconds.

        A tile over which the product has no image is returned all not valid, with the reason in
        the ``no_data`` attribute.
        """
        where = _where(grid, level)
        deadline = time.monotonic() + self.tile_time_limit
        stats = {"requests": 0, "retries": 0, "splits": 0}
        try:
            image = self.expression(grid, level)
        except ee.EEException as error:
            raise SourceError(
                f"cannot build the Earth Engine request of {where} ({_one_line(error)})"
            ) from None
        pixels = np.zeros(grid.shape, dtype=[(band, np.uint16) for band in _TRANSFER_BANDS])
        for window in split_window(grid.shape, BYTES_PER_VALUE * len(_TRANSFER_BANDS)):
            self._fill(pixels, image, grid, window, level, stats, deadline)
        reflectance = np.stack([pixels[band] for band in catalog.COMMON_BANDS])
        valid = pixels["valid"] > 0
        attrs: dict[str, int | str] = dict(stats)
        if not pixels["images"].any():
            product = self.product(level)
            attrs["no_data"] = f"no {_images_named(product)} between {self.dates.start} and {self.dates.end}"
            reflectance[:], valid[:] = 0, False
        x, y = grid.coords()
        return xr.Dataset(
            {
                "image": (("band", "y", "x"), reflectance),
                "landcover": (("y", "x"), np.minimum(pixels["landcover"], 255).astype(np.uint8)),
                "valid": (("y", "x"), valid),
            },
            coords={"band": list(catalog.COMMON_BANDS), "y": y, "x": x},
            attrs=attrs,
        )

    def _fill(
        self, pixels, image, grid: GridSpec, window: Window, level: Level, stats: dict, deadline: float
    ):
        """Fetch ``window`` of the tile into ``pixels``; in quarters while the server finds it too heavy."""
        part = grid.subgrid(window)
        try:
            block = self._compute_pixels(image, part, level, stats, deadline)
        except _TooHeavy as error:
            if min(window.width, window.height) < 2 * MIN_SPLIT_SIDE:
                raise SourceError(
                    f"Earth Engine still cannot compute {_where(part, level)} at {window.width} x "
                    f"{window.height} px ({error}): shorten the date range or lower --cloud-threshold"
                ) from None
            stats["splits"] += 1
            for quarter in _quarters(window):
                self._fill(pixels, image, grid, quarter, level, stats, deadline)
            return
        if block.dtype.names != _TRANSFER_BANDS or block.shape != part.shape:
            raise SourceError(
                f"Earth Engine answered {_where(part, level)} with bands {list(block.dtype.names or [])} "
                f"{block.shape}, expected {list(_TRANSFER_BANDS)} {part.shape}"
            )
        rows = slice(window.row_off, window.row_off + window.height)
        cols = slice(window.col_off, window.col_off + window.width)
        pixels[rows, cols] = block

    def _compute_pixels(
        self, image: ee.Image, grid: GridSpec, level: Level, stats: dict, deadline: float
    ) -> np.ndarray:
        t = grid.transform
        params = {
            "expression": image,
            "fileFormat": "NUMPY_NDARRAY",
            "grid": {
                "dimensions": {"width": grid.width, "height": grid.height},
                "affineTransform": {
                    "scaleX": t.a,
                    "shearX": t.b,
                    "translateX": t.c,
                    "shearY": t.d,
                    "scaleY": t.e,
                    "translateY": t.f,
                },
                "crsCode": grid.crs,
            },
        }

        def attempt():
            stats["requests"] += 1
            return ee.data.computePixels(params)

        def count_retry(_error):
            stats["retries"] += 1

        where = _where(grid, level)
        started = time.monotonic()
        if stats["requests"] and started >= deadline:
            raise SourceError(
                f"Earth Engine took more than the tile time limit of {self.tile_time_limit:g} s on {where} "
                f"({stats['requests']} requests, {stats['splits']} splits); rerun later to resume"
            )
        try:
            return self.backoff.call(attempt, _is_transient, on_retry=count_retry, deadline=deadline)
        except ee.EEException as error:
            status = _http_status(error)
            cause = f"HTTP {status}: {_one_line(error)}" if status else _one_line(error)
            if _is_too_heavy(error):
                raise _TooHeavy(cause) from None
            if _is_transient(error):
                raise SourceError(
                    f"Earth Engine still refuses {where} after {stats['requests']} attempt(s) in "
                    f"{time.monotonic() - started:.0f} s ({cause}); rerun later to resume, or lower --concurrency"
                ) from None
            raise SourceError(f"Earth Engine refused {where} ({cause})") from None
        except RefreshError as error:
            raise SourceError(
                f"Earth Engine credentials were refused while fetching {where} ({_one_line(error)}): run "
                "`earthengine authenticate` again, or pass a valid --service-account-key"
            ) from None
        except (OSError, TransportError) as error:  # timeouts and dropped connections are OSErrors
            raise SourceError(
                f"Earth Engine did not answer {where} in {stats['requests']} attempt(s) and "
                f"{time.monotonic() - started:.0f} s ({type(error).__name__}: {_one_line(error)}); rerun later to resume"
            ) from None

    def product(self, level: Level) -> catalog.Imagery:
        """The imagery read at ``level``: :attr:`fine_imagery` below :attr:`imagery`'s resolution."""
        return self.fine_imagery if self.fine_imagery and level.gsd < self.imagery.gsd else self.imagery

    def expression(self, grid: GridSpec, level: Level) -> ee.Image:
        """The image computed for a tile: the bands x 1e4 (reflectance) or as stored (other units),
        ``landcover``, ``valid`` and ``images`` (how many images of the product cover the tile), all
        uint16. Each product is read on its own pixel grid and resampled once, onto the tile's."""
        footprint = ee.Geometry.Rectangle(list(grid.bounds), proj=grid.crs, geodesic=False)
        product = self.product(level)
        images = self._images(product, footprint)
        composite = _with_native_grid(images, catalog.COMMON_BANDS, grid, product.gsd, "median")
        composite = composite.multiply(product.scale * _value_scale(product))
        if product.offset:
            composite = composite.add(product.offset * _value_scale(product))
        native = _native_projection(images, catalog.COMMON_BANDS, grid, product.gsd)
        reflectance = _resampled(
            composite.setDefaultProjection(native),
            product.ground_gsd(_latitude(grid)),
            level,
            continuous=True,
        )
        image = reflectance.round().clamp(0, 65535).toUint16()
        valid = reflectance.mask().reduce(ee.Reducer.min()).gt(0).rename("valid")
        return ee.Image.cat(
            [
                image.unmask(0, False),
                self._landcover(footprint, grid, level).unmask(0, False).toUint16().rename("landcover"),
                valid.unmask(0, False).toUint16(),
                ee.Image.constant(images.size()).toUint16().rename("images"),
            ]
        )

    def _images(self, product: catalog.Imagery, footprint: ee.Geometry) -> ee.ImageCollection:
        """The product's clear images over ``footprint`` in the date range, bands named as :data:`COMMON_BANDS`."""
        images = ee.ImageCollection(product.collections[0])
        for collection in product.collections[1:]:
            images = images.merge(ee.ImageCollection(collection))
        images = images.filterBounds(footprint)
        if product.periods:  # mosaics stamped at the start of their period: select those overlapping
            images = images.filter(
                ee.Filter.And(
                    ee.Filter.lt("system:time_start", _millis(self.dates.end)),
                    ee.Filter.gt("system:time_end", _millis(self.dates.start)),
                )
            )
        else:
            images = images.filterDate(self.dates.start.isoformat(), self.dates.end.isoformat())
        if product.required_band:
            images = images.filter(ee.Filter.listContains("system:band_names", product.required_band))
        if product.cloud_mask == "cloud-score-plus":
            threshold = self.cloud_threshold
            images = images.linkCollection(
                ee.ImageCollection(catalog.CLOUD_SCORE_PLUS), [catalog.CLOUD_SCORE_BAND]
            )
            images = images.map(lambda im: im.updateMask(im.select(catalog.CLOUD_SCORE_BAND).gte(threshold)))
        elif product.cloud_mask == "landsat-qa":
            images = images.map(
                lambda im: im.updateMask(
                    im.select(catalog.LANDSAT_QA_BAND).bitwiseAnd(catalog.LANDSAT_QA_BITS).eq(0)
                ).updateMask(im.select(catalog.LANDSAT_SATURATION_BAND).eq(0))
            )
        return images.select(list(product.bands), list(catalog.COMMON_BANDS))

    def _landcover(self, footprint: ee.Geometry, grid: GridSpec, level: Level) -> ee.Image:
        product = self.landcover
        codes = ee.ImageCollection(product.collection).filterBounds(footprint)
        if product.temporal:
            codes = codes.filterDate(self.dates.start.isoformat(), self.dates.end.isoformat())
        codes = codes.select([product.band])
        reducer = "mode" if product.temporal else "mosaic"
        landcover = _with_native_grid(codes, (product.band,), grid, product.gsd, reducer)
        if product.code_offset:
            landcover = landcover.add(product.code_offset)
        native = _native_projection(codes, (product.band,), grid, product.gsd)
        landcover = _resampled(landcover.setDefaultProjection(native), product.gsd, level, continuous=False)
        if not self.buildings:
            return landcover
        buildings = self._buildings(footprint)
        bands = (catalog.OPEN_BUILDINGS_BAND,)
        presence = _with_native_grid(buildings, bands, grid, catalog.OPEN_BUILDINGS_GSD, "mosaic")
        native = _native_projection(buildings, bands, grid, catalog.OPEN_BUILDINGS_GSD)
        presence = _resampled(
            presence.setDefaultProjection(native), catalog.OPEN_BUILDINGS_GSD, level, continuous=True
        )
        return landcover.where(presence.gte(0.5), catalog.BUILT_CODE[product.classes.scheme])

    def _buildings(self, footprint: ee.Geometry) -> ee.ImageCollection:
        """Open Buildings temporal's building presence over ``footprint`` in :attr:`buildings_year`."""
        year = self.buildings_year
        return (
            ee.ImageCollection(catalog.OPEN_BUILDINGS)
            .filterBounds(footprint)
            .filterDate(f"{year}-01-01", f"{year + 1}-01-01")
            .select([catalog.OPEN_BUILDINGS_BAND])
        )


def _placeholder(bands: tuple[str, ...], grid: GridSpec, gsd: float) -> ee.Image:
    """A fully masked image with ``bands``, so that reducing a collection with no image still gives them."""
    blank = ee.Image.constant([0] * len(bands)).rename(list(bands)).updateMask(0)
    return blank.setDefaultProjection(grid.crs, None, gsd)


def _with_native_grid(
    images: ee.ImageCollection, bands: tuple[str, ...], grid: GridSpec, gsd: float, reducer: str
) -> ee.Image:
    """``images`` reduced per pixel (median, mode or mosaic), with ``bands`` even when there is no image.
    Everything is cast to float first: a collection reducer wants one pixel type across images."""
    stack = images.map(lambda im: im.toFloat()).merge(
        ee.ImageCollection([_placeholder(bands, grid, gsd).toFloat()])
    )
    if reducer == "median":
        return stack.median()
    if reducer == "mode":
        return stack.reduce(ee.Reducer.mode()).rename(list(bands))
    return stack.mosaic()


def _native_projection(images: ee.ImageCollection, bands: tuple[str, ...], grid: GridSpec, gsd: float):
    """The pixel grid of the product's first image (the placeholder's when there is none)."""
    stack = images.merge(ee.ImageCollection([_placeholder(bands, grid, gsd)]))
    return ee.Image(stack.first()).select(0).projection()


def _resampled(image: ee.Image, native_gsd: float, level: Level, *, continuous: bool) -> ee.Image:
    """``image``, on its native grid, averaged (mode for classes) onto a coarser level or interpolated
    bilinearly onto a finer one; at its own resolution, or for classes on a finer level, it is
    sampled as it is (nearest neighbour, once)."""
    if level.gsd > native_gsd:
        # 4 x the nominal count: a grid in degrees (WorldCover) has narrower pixels away from the equator.
        max_pixels = max(64, math.ceil(4 * (level.gsd / native_gsd) ** 2))
        reducer = ee.Reducer.mean() if continuous else ee.Reducer.mode()
        return image.reduceResolution(reducer, False, max_pixels)
    if level.gsd < native_gsd and continuous:
        return image.resample("bilinear")
    return image


def _images_named(product: catalog.Imagery) -> str:
    band = f" with a {product.required_band} band" if product.required_band else ""
    return f"{product.name} image{band}"


def _value_scale(product: catalog.Imagery) -> float:
    """Reflectance is stored x 1e4; a product in other units keeps its values."""
    return 1e4 if product.units == catalog.REFLECTANCE_UNITS else 1.0


def _latitude(grid: GridSpec) -> float:
    left, bottom, right, top = grid.bounds
    _, latitude = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True).transform(
        (left + right) / 2, (bottom + top) / 2
    )
    return latitude


def _millis(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000)


def _where(grid: GridSpec, level: Level) -> str:
    t = grid.transform
    return f"the {level} tile at x={t.c:.0f} m, y={t.f:.0f} m ({grid.crs})"


def _quarters(window: Window) -> list[Window]:
    half_w, half_h = -(-window.width // 2), -(-window.height // 2)
    return [
        Window(window.col_off + dx, window.row_off + dy, w, h)
        for dy, h in ((0, half_h), (half_h, window.height - half_h))
        for dx, w in ((0, half_w), (half_w, window.width - half_w))
        if w > 0 and h > 0
    ]


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


class _TooHeavy(Exception):
    """The server could not compute a request in its time or memory (HTTP 400)."""


def _is_too_heavy(error: BaseException) -> bool:
    """The server's limits on one computation: worth retrying smaller, not as it is."""
    message = str(error)
    return _http_status(error) == 400 and any(text in message for text in COMPUTE_LIMIT_MESSAGES)


def _http_status(error: BaseException) -> int | None:
    """The HTTP status behind an ``ee.EEException`` (ee raises it while handling the HTTP error)."""
    response = getattr(error.__context__, "resp", None)
    status = getattr(response, "status", None)
    return int(status) if status is not None else None


def _is_transient(error: BaseException) -> bool:
    """Worth retrying: timeouts, dropped connections, HTTP 429 (quota) and 5xx (server), and a token
    refresh that google-auth marks retryable."""
    if isinstance(error, OSError | TransportError):
        return True
    if isinstance(error, RefreshError):
        return bool(getattr(error, "retryable", False))
    if isinstance(error, ee.EEException):
        status = _http_status(error)
        return status is not None and (status == 429 or status >= 500)
    return False


def _describe_imagery(product: catalog.Imagery) -> dict:
    return {
        "collections": list(product.collections),
        "bands": dict(zip(catalog.COMMON_BANDS, product.bands, strict=True)),
        "gsd_m": product.gsd,
        "units": product.units,
        "scale": product.scale,
        "offset": product.offset,
        "cloud_mask": product.cloud_mask,
    }
