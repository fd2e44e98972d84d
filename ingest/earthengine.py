"""The Earth Engine source: cloud-masked median composites and land cover, tile by tile.

The only module of terrasynth that imports ``ee``. Each tile is one image expression (reflectance
bands, land cover and a validity band, all uint16) computed on exactly the tile's grid with
``ee.data.computePixels``, split under the request limits; transient failures (HTTP 429, 5xx,
timeouts) are retried with jittered exponential backoff, permanent ones (unknown asset or band,
no permission) stop the ingest with a one-line :class:`SourceError`.

Credentials are looked up in each process by :meth:`EarthEngineSource.setup` (a service-account
key file or application-default credentials); the source object itself holds only settings, so
it can travel to Dask workers without carrying secrets.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from pathlib import Path

import ee
import numpy as np
import xarray as xr
from google.auth.exceptions import MalformedError

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
_TRANSFER_BANDS = (*catalog.COMMON_BANDS, "landcover", "valid")
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
        self.max_concurrency = concurrency
        self.project = project or os.environ.get("EE_PROJECT") or None
        self.key_path = Path(service_account_key) if service_account_key else None
        self.high_volume = high_volume
        self.request_timeout = request_timeout
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
        """Initialise Earth Engine in this process unless it is already, and hand retries to :attr:`backoff`."""
        if not ee.data.is_initialized():
            credentials = self._credentials()
            if not self.project and not self.key_path:
                raise SourceError(
                    "no Earth Engine project: pass --project PROJECT or set EE_PROJECT "
                    "(a Cloud project with the Earth Engine API enabled)"
                )
            url = ee.data.HIGH_VOLUME_API_BASE_URL if self.high_volume else None
            try:
                ee.Initialize(credentials, project=self.project, opt_url=url)
            except ee.EEException as error:
                raise SourceError(f"Earth Engine initialisation failed: {error}") from None
            ee.data.setDeadline(self.request_timeout * 1000.0)
        # One retry layer, ours: it tells permanent errors from transient ones.
        ee.data.setMaxRetries(0)

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

    def requests(self, grid: GridSpec, level: Level) -> int:
        return len(split_window(grid.shape, BYTES_PER_VALUE * len(_TRANSFER_BANDS)))

    def request_rate(self) -> float:
        return min(QUOTA_REQUESTS_PER_SECOND, self.max_concurrency / TYPICAL_LATENCY_S)

    def read(self, grid: GridSpec, level: Level) -> xr.Dataset:
        """The tile ``grid``: one or more computePixels requests, retried while they fail transiently."""
        image = self.expression(grid, level)
        stats = {"requests": 0, "retries": 0}
        pixels = np.zeros(grid.shape, dtype=[(band, np.uint16) for band in _TRANSFER_BANDS])
        for window in split_window(grid.shape, BYTES_PER_VALUE * len(_TRANSFER_BANDS)):
            part = grid.subgrid(window)
            rows = slice(window.row_off, window.row_off + window.height)
            cols = slice(window.col_off, window.col_off + window.width)
            pixels[rows, cols] = self._compute_pixels(image, part, level, stats)
        x, y = grid.coords()
        return xr.Dataset(
            {
                "image": (("band", "y", "x"), np.stack([pixels[band] for band in catalog.COMMON_BANDS])),
                "landcover": (("y", "x"), np.minimum(pixels["landcover"], 255).astype(np.uint8)),
                "valid": (("y", "x"), pixels["valid"] > 0),
            },
            coords={"band": list(catalog.COMMON_BANDS), "y": y, "x": x},
            attrs=stats,
        )

    def _compute_pixels(self, image: ee.Image, grid: GridSpec, level: Level, stats: dict) -> np.ndarray:
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

        where = f"the {level} tile at x={t.c:.0f} m, y={t.f:.0f} m ({grid.crs})"
        try:
            return self.backoff.call(attempt, _is_transient, on_retry=count_retry)
        except ee.EEException as error:
            status = _http_status(error)
            cause = f"HTTP {status}: {error}" if status else str(error)
            if _is_transient(error):
                raise SourceError(
                    f"Earth Engine still refuses {where} after {self.backoff.attempts} attempts ({cause}); "
                    "rerun later to resume, or lower --concurrency"
                ) from None
            raise SourceError(f"Earth Engine refused {where} ({cause})") from None
        except (TimeoutError, ConnectionError) as error:
            raise SourceError(
                f"Earth Engine did not answer {where} in {self.backoff.attempts} attempts "
                f"({type(error).__name__}: {error}); rerun later to resume"
            ) from None

    def expression(self, grid: GridSpec, level: Level) -> ee.Image:
        """The image computed for a tile: the reflectance bands x 1e4, ``landcover`` and ``valid``, all uint16."""
        footprint = ee.Geometry.Rectangle(list(grid.bounds), proj=grid.crs, geodesic=False)
        product = self.fine_imagery if self.fine_imagery and level.gsd < self.imagery.gsd else self.imagery
        reflectance = _resampled(
            self._composite(product, footprint), product.gsd, grid, level, continuous=True
        )
        image = reflectance.round().clamp(0, 65535).toUint16()
        valid = reflectance.mask().reduce(ee.Reducer.min()).gt(0).rename("valid")
        return ee.Image.cat(
            [
                image.unmask(0, False),
                self._landcover(footprint, grid, level).unmask(0, False).toUint16().rename("landcover"),
                valid.unmask(0, False).toUint16(),
            ]
        )

    def _composite(self, product: catalog.Imagery, footprint: ee.Geometry) -> ee.Image:
        """The median of the product's clear pixels over the date range, bands named as :data:`COMMON_BANDS`."""
        start, end = self.dates.start.isoformat(), self.dates.end.isoformat()
        images = ee.ImageCollection(product.collections[0])
        for collection in product.collections[1:]:
            images = images.merge(ee.ImageCollection(collection))
        images = images.filterBounds(footprint).filterDate(start, end)
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
                )
            )
        composite = images.select(list(product.bands), list(catalog.COMMON_BANDS)).median()
        return composite.multiply(product.scale * 1e4).add(product.offset * 1e4)

    def _landcover(self, footprint: ee.Geometry, grid: GridSpec, level: Level) -> ee.Image:
        product = self.landcover
        collection = ee.ImageCollection(product.collection)
        if product.temporal:
            start, end = self.dates.start.isoformat(), self.dates.end.isoformat()
            codes = collection.filterBounds(footprint).filterDate(start, end).select(product.band)
            codes = codes.reduce(ee.Reducer.mode())
        else:
            codes = collection.first().select(product.band)
        if product.code_offset:
            codes = codes.add(product.code_offset)
        codes = _resampled(codes, product.gsd, grid, level, continuous=False)
        if not self.buildings:
            return codes
        year = self.buildings_year
        presence = (
            ee.ImageCollection(catalog.OPEN_BUILDINGS)
            .filterBounds(footprint)
            .filterDate(f"{year}-01-01", f"{year + 1}-01-01")
            .select(catalog.OPEN_BUILDINGS_BAND)
            .mosaic()
        )
        presence = _resampled(presence, catalog.OPEN_BUILDINGS_GSD, grid, level, continuous=True)
        return codes.where(presence.gte(0.5), catalog.BUILT_CODE[product.classes.scheme])


def _resampled(
    image: ee.Image, native_gsd: float, grid: GridSpec, level: Level, *, continuous: bool
) -> ee.Image:
    """``image`` read at its native resolution, then averaged (mode for classes) onto a coarser
    level or interpolated bilinearly (nearest for classes) onto a finer one."""
    image = image.setDefaultProjection(grid.crs, None, native_gsd)
    if level.gsd > native_gsd:
        max_pixels = max(64, math.ceil(2 * (level.gsd / native_gsd) ** 2))
        reducer = ee.Reducer.mean() if continuous else ee.Reducer.mode()
        return image.reduceResolution(reducer, False, max_pixels)
    if level.gsd < native_gsd and continuous:
        return image.resample("bilinear")
    return image


def _http_status(error: BaseException) -> int | None:
    """The HTTP status behind an ``ee.EEException`` (ee raises it while handling the HTTP error)."""
    response = getattr(error.__context__, "resp", None)
    status = getattr(response, "status", None)
    return int(status) if status is not None else None


def _is_transient(error: BaseException) -> bool:
    """Worth retrying: timeouts, dropped connections, HTTP 429 (quota) and 5xx (server)."""
    if isinstance(error, TimeoutError | ConnectionError):
        return True
    if isinstance(error, ee.EEException):
        status = _http_status(error)
        return status is not None and (status == 429 or status >= 500)
    return False


def _describe_imagery(product: catalog.Imagery) -> dict:
    return {
        "collections": list(product.collections),
        "bands": dict(zip(catalog.COMMON_BANDS, product.bands, strict=True)),
        "gsd_m": product.gsd,
        "reflectance": {"scale": product.scale, "offset": product.offset},
        "cloud_mask": product.cloud_mask,
    }
