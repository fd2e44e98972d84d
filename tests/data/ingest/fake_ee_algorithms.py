"""The fake Earth Engine's evaluator: the expression graph the client sends, computed with NumPy.

Only the algorithms terrasynth's expressions use are implemented, with the server's semantics as
far as a test can tell them apart: an image is a set of named bands, each with a mask and a pixel
grid (its default projection); an image is sampled nearest-neighbour on its grid unless it was
resampled or its resolution reduced; reducing an empty collection gives an image with no bands;
a missing band, a null argument or mismatched band counts are the server's HTTP 400 with its text.
An algorithm the evaluator does not know is a 400 too, so a new expression cannot pass unnoticed.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from fake_ee_catalogue import CATALOGUE, Product, millis, nicfi_pixel
from pyproj import Transformer


class ServerError(Exception):
    """An error the server reports as HTTP ``status`` with ``message``."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Grid:
    """A pixel grid in the request's CRS: pixels of ``scale`` metres, corners at ``x0``/``y0`` mod scale."""

    scale: float
    x0: float = 0.0
    y0: float = 0.0

    def snap(self, x, y):
        s = self.scale
        return (np.floor((x - self.x0) / s) + 0.5) * s + self.x0, (
            np.floor((y - self.y0) / s) + 0.5
        ) * s + self.y0


@dataclass
class Band:
    """A band: ``fn(x, y) -> (values, mask)`` at points, sampled on ``grid`` (``None``: anywhere)."""

    fn: Callable
    grid: Grid | None
    dtype: str = "float64"

    def at(self, x, y):
        if self.grid is not None:
            x, y = self.grid.snap(x, y)
        values, mask = self.fn(x, y)
        shape = np.broadcast(x, y).shape
        return np.broadcast_to(values, shape), np.broadcast_to(mask, shape)


@dataclass
class Img:
    bands: dict[str, Band]
    properties: dict = field(default_factory=dict)

    def with_bands(self, bands: dict[str, Band]) -> Img:
        return Img(bands, self.properties)


@dataclass(frozen=True)
class Projection:
    crs: str
    grid: Grid | None = None


class Evaluator:
    """Evaluates one request's expression graph.

    Args:
        graph: the serialized expression (``{"values": ..., "result": ...}``).
        crs: the request's CRS (metres); pixel grids and the ground truth live in it.
        scale: the request's pixel size in metres (what a reduced resolution aggregates to).
        latitude: the request's latitude, degrees (NICFI's pixel size depends on it).
        denied: asset IDs the caller may not read.
    """

    def __init__(
        self,
        graph: dict,
        crs: str = "EPSG:32632",
        scale: float = 10.0,
        latitude: float = 45.0,
        denied: frozenset[str] = frozenset(),
    ):
        self.denied = denied
        self.values = graph["values"]
        self.result = graph["result"]
        self.crs, self.scale, self.latitude = crs, scale, latitude
        self.to_lonlat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        self._memo: dict[str, object] = {}

    def run(self):
        return self.node({"valueReference": self.result}, {})

    def node(self, node, env: dict):
        if not isinstance(node, dict):
            return node
        if "constantValue" in node:
            return node["constantValue"]
        if "valueReference" in node:
            ref = node["valueReference"]
            if env:
                return self.node(self.values[ref], env)
            if ref not in self._memo:
                self._memo[ref] = self.node(self.values[ref], env)
            return self._memo[ref]
        if "arrayValue" in node:
            return [self.node(item, env) for item in node["arrayValue"]["values"]]
        if "dictionaryValue" in node:
            return {key: self.node(value, env) for key, value in node["dictionaryValue"]["values"].items()}
        if "argumentReference" in node:
            return env[node["argumentReference"]]
        if "functionDefinitionValue" in node:
            definition = node["functionDefinitionValue"]
            names, body = definition["argumentNames"], definition["body"]
            return lambda *args: self.node(self.values[body], {**env, **dict(zip(names, args, strict=True))})
        invocation = node["functionInvocationValue"]
        name = invocation["functionName"]
        args = {key: self.node(value, env) for key, value in invocation["arguments"].items()}
        method = getattr(self, "f_" + name.replace(".", "_"), None)
        if method is None:
            raise ServerError(f"the fake Earth Engine does not implement {name}")
        return method(**args)

    # ---- values --------------------------------------------------------------------------------

    def f_DateRange(self, start, end=None):
        return (_parse_date(start), _parse_date(end))

    def f_Projection(self, crs, transform=None):
        return Projection(crs, Grid(abs(transform[0]), transform[2], transform[5]) if transform else None)

    def f_GeometryConstructors_Rectangle(self, coordinates, crs=None, geodesic=None, evenOdd=None):
        west, south, east, north = coordinates
        if crs is not None and crs.crs != "EPSG:4326":
            to_lonlat = Transformer.from_crs(crs.crs, "EPSG:4326", always_xy=True)
            xs, ys = to_lonlat.transform([west, east, west, east], [south, south, north, north])
            west, south, east, north = min(xs), min(ys), max(xs), max(ys)
        return (west, south, east, north)

    def f_Feature(self, geometry, metadata=None):
        return geometry

    def f_Reducer_mean(self):
        return "mean"

    def f_Reducer_min(self):
        return "min"

    def f_Reducer_mode(self, maxRaw=None):
        return "mode"

    def f_Reducer_toList(self, tupleSize=None, numOptional=None):
        return "toList"

    def f_Reducer_repeat(self, reducer, count):
        return (reducer, count)

    def f_Dictionary_get(self, dictionary, key, defaultValue=None):
        return dictionary.get(key, defaultValue)

    def f_Element_toDictionary(self, element, properties=None):
        if isinstance(element, list):
            return {}
        return {k: v for k, v in element.properties.items() if k != "footprint"}

    def f_AggregateFeatureCollection_array(self, collection, property):
        return [im.properties.get(property) for im in collection]

    def f_Collection_reduceColumns(self, collection, reducer, selectors, weightSelectors=None):
        defaults = {"system:id": lambda i: f"fake/{i}", "system:time_start": lambda i: 0}
        columns = [
            [
                im.properties.get(name, defaults.get(name, lambda i: None)(i))
                for i, im in enumerate(collection)
            ]
            for name in selectors
        ]
        return {"list": columns}

    # ---- filters -------------------------------------------------------------------------------

    def f_Filter_intersects(self, leftField, rightValue, maxError=None):
        return lambda im: _overlaps(im.properties["footprint"], rightValue)

    def f_Filter_dateRangeContains(self, leftValue, rightField):
        start, end = (millis(day) for day in leftValue)
        return lambda im: start <= im.properties[rightField] < end

    def f_Filter_listContains(self, leftField, rightValue):
        return lambda im: rightValue in im.properties[leftField]

    def f_Filter_lessThan(self, leftField, rightValue):
        right = _as_millis(rightValue)
        return lambda im: im.properties[leftField] < right

    def f_Filter_greaterThan(self, leftField, rightValue):
        right = _as_millis(rightValue)
        return lambda im: im.properties[leftField] > right

    def f_Filter_and(self, filters):
        return lambda im: all(f(im) for f in filters)

    def f_Date(self, value, tz=None):
        return _parse_date(value)

    # ---- collections ---------------------------------------------------------------------------

    def f_ImageCollection_load(self, id, version=None):
        if id not in CATALOGUE or id in self.denied:
            raise ServerError(
                f"ImageCollection.load: ImageCollection asset '{id}' not found (does not exist or caller does not have access)."
            )
        product = CATALOGUE[id]
        return [self._image(product, day) for day in product.stamps()]

    def _image(self, product: Product, day: dt.date) -> Img:
        scale = product.pixel or nicfi_pixel(self.latitude)
        grid = Grid(scale, product.corner, product.corner)
        names = product.band_names(day) if product.band_names else tuple(product.bands)
        bands = {name: self._loaded(product, name, grid, day) for name in names}
        properties = {
            "system:index": day.strftime("%Y%m%d"),
            "system:time_start": millis(day),
            "system:band_names": list(names),
            "footprint": product.footprint,
            **product.properties(day),
        }
        return Img(bands, properties)

    def _loaded(self, product: Product, name: str, grid: Grid, day: dt.date) -> Band:
        stored = product.bands[name]

        def fn(x, y):
            values = stored(x, y, grid.scale, day)
            return values, self._inside(product.footprint, x, y)

        return Band(fn, grid)

    def _inside(self, footprint, x, y):
        west, south, east, north = footprint
        if (west, south, east, north) == (-180, -90, 180, 90):
            return True
        lon, lat = self.to_lonlat.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        return (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)

    def f_ImageCollection_fromImages(self, images):
        return list(images)

    def f_ImageCollection_merge(self, collection1, collection2):
        return list(collection1) + list(collection2)

    def f_Collection_filter(self, collection, filter):
        return [im for im in collection if filter(im)]

    def f_Collection_map(self, collection, baseAlgorithm, dropNulls=None):
        return [baseAlgorithm(im) for im in collection]

    def f_Collection_limit(self, collection, limit=None, key=None, ascending=True):
        return collection[:limit]

    def f_Collection_toList(self, collection, count, offset=0):
        return collection[offset : offset + count]

    def f_List_slice(self, list, start, end=None, step=None):
        return list[start:end:step]

    def f_List_get(self, list, index):
        return list[index]

    def f_Collection_iterate(self, collection, function, first=None):
        accumulated = first
        for image in collection:
            accumulated = function(image, accumulated)
        return accumulated

    def f_Collection_size(self, collection):
        return len(collection)

    def f_Collection_first(self, collection):
        return collection[0] if collection else None

    def f_reduce_median(self, collection):
        return self._reduce_images(collection, "median", suffix="")

    def f_ImageCollection_reduce(self, collection, reducer, parallelScale=None):
        return self._reduce_images(collection, reducer, suffix=f"_{reducer}")

    def _reduce_images(self, collection, reducer: str, suffix: str) -> Img:
        names = list(dict.fromkeys(name for im in collection for name in im.bands))

        def reduced(name):
            inputs = [im.bands[name] for im in collection if name in im.bands]
            if len({band.dtype for band in inputs}) > 1:
                raise ServerError(
                    "Expected a homogeneous image collection, but an image with an incompatible band was "
                    f"encountered. Mismatched type for band '{name}'."
                )

            def fn(x, y):
                samples = [band.at(x, y) for band in inputs]
                values = np.stack([v for v, _ in samples]).astype(float)
                masks = np.stack([m for _, m in samples])
                return _reduce(values, masks, reducer, axis=0)

            return Band(fn, None)

        return Img({name + suffix: reduced(name) for name in names})

    def f_ImageCollection_mosaic(self, collection):
        names = list(dict.fromkeys(name for im in collection for name in im.bands))

        def mosaic(name):
            inputs = [im.bands[name] for im in collection if name in im.bands]

            def fn(x, y):
                values, mask = np.zeros(np.broadcast(x, y).shape), np.zeros(np.broadcast(x, y).shape, bool)
                for band in inputs:  # the last image on top
                    v, m = band.at(x, y)
                    values, mask = np.where(m, v, values), mask | m
                return values, mask

            return Band(fn, None)

        return Img({name: mosaic(name) for name in names})

    # ---- images --------------------------------------------------------------------------------

    def f_Image_constant(self, value):
        values = value if isinstance(value, list) else [value]
        names = ["constant"] if not isinstance(value, list) else [f"constant_{i}" for i in range(len(values))]
        dtype = "int64" if all(isinstance(v, int) for v in values) else "float64"
        return Img(
            {
                name: Band(lambda x, y, v=v: (float(v), True), None, dtype)
                for name, v in zip(names, values, strict=True)
            }
        )

    def f_Image_select(self, input, bandSelectors, newNames=None):
        image = _required(input, "Image.select", "input")
        chosen = []
        names = list(image.bands)
        for selector in bandSelectors:
            if isinstance(selector, int):
                if selector >= len(names):
                    raise ServerError(f"Image.select: Band index {selector} out of range.")
                chosen.append(names[selector])
                continue
            matches = [name for name in names if re.fullmatch(selector, name)]
            if not matches:
                raise ServerError(
                    f"Image.select: Pattern '{selector}' did not match any bands. Available bands: [{', '.join(names)}]"
                )
            chosen += matches
        if newNames is not None and len(newNames) != len(chosen):
            raise ServerError("Image.select: The number of new names does not match the number of bands.")
        return image.with_bands(
            {new: image.bands[old] for old, new in zip(chosen, newNames or chosen, strict=True)}
        )

    def f_Image_bandNames(self, image):
        return list(_required(image, "Image.bandNames", "image").bands)

    def f_Image_rename(self, input, names):
        image = _required(input, "Image.rename", "input")
        if len(names) != len(image.bands):
            raise ServerError(
                f"Image.rename: Can't rename {len(image.bands)} band(s) to {len(names)} name(s)."
            )
        return image.with_bands(dict(zip(names, image.bands.values(), strict=True)))

    def f_Image_addBands(self, dstImg, srcImg, names=None, overwrite=False):
        dst, src = (
            _required(dstImg, "Image.addBands", "dstImg"),
            _required(srcImg, "Image.addBands", "srcImg"),
        )
        if names is not None:
            src = self.f_Image_select(src, names)
        bands = dict(dst.bands)
        for name, band in src.bands.items():
            if name in bands and not overwrite:
                raise ServerError(
                    f"Image.addBands: Can't add a band named '{name}' to image because a band with this name already exists."
                )
            bands[name] = band
        return dst.with_bands(bands)

    def f_Image_linkCollection(
        self,
        input,
        imageCollection,
        linkedBands=None,
        linkedProperties=None,
        matchPropertyName="system:index",
    ):
        key = input.properties.get(matchPropertyName)
        match = next((im for im in imageCollection if im.properties.get(matchPropertyName) == key), None)
        if match is None:
            return input
        return self.f_Image_addBands(input, self.f_Image_select(match, linkedBands or list(match.bands)))

    def f_Image_projection(self, image):
        image = _required(image, "Image.projection", "image")
        if not image.bands:
            raise ServerError("Image.projection: Image has no bands.")
        return Projection(self.crs, next(iter(image.bands.values())).grid)

    def f_Image_setDefaultProjection(self, image, crs, crsTransform=None, scale=None):
        image = _required(image, "Image.setDefaultProjection", "image")
        if crs.crs != self.crs:
            raise ServerError(
                f"the fake Earth Engine computes in the request's CRS {self.crs} only, not {crs.crs}"
            )
        if crsTransform is not None:
            grid = Grid(abs(crsTransform[0]), crsTransform[2], crsTransform[5])
        elif scale is not None:
            grid = Grid(scale)
        else:
            grid = crs.grid
        return image.with_bands({name: Band(band.at, grid, band.dtype) for name, band in image.bands.items()})

    def f_Image_reduceResolution(self, image, reducer, bestEffort=False, maxPixels=64):
        image = _required(image, "Image.reduceResolution", "image")
        bands = {}
        for name, band in image.bands.items():
            if band.grid is None:
                bands[name] = band
                continue
            ratio = self.scale / band.grid.scale
            if ratio**2 > maxPixels and not bestEffort:
                raise ServerError(
                    f"Image.reduceResolution: Too many input pixels per output pixel. Need {math.ceil(ratio**2)}, "
                    f"but only {maxPixels} allowed. Turn on bestEffort or increase maxPixels."
                )
            bands[name] = Band(self._aggregate(band, ratio, reducer), None, band.dtype)
        return image.with_bands(bands)

    def _aggregate(self, band: Band, ratio: float, reducer: str):
        k = max(2, 2 * math.ceil(ratio))
        offsets = ((np.arange(k) + 0.5) / k - 0.5) * self.scale

        def fn(x, y):
            x, y = np.asarray(x, float), np.asarray(y, float)
            xs = x[..., None, None] + offsets[None, :]
            ys = y[..., None, None] + offsets[:, None]
            values, masks = band.at(xs, ys)
            flat = values.reshape(*values.shape[:-2], -1)
            mask = masks.reshape(*masks.shape[:-2], -1)
            return _reduce(np.moveaxis(flat, -1, 0).astype(float), np.moveaxis(mask, -1, 0), reducer, axis=0)

        return fn

    def f_Image_resample(self, image, mode="bilinear"):
        image = _required(image, "Image.resample", "image")
        return image.with_bands(
            {name: _bilinear(band) if band.grid else band for name, band in image.bands.items()}
        )

    def f_Image_updateMask(self, image, mask):
        image = _required(image, "Image.updateMask", "image")
        return self._binary(
            image, mask, "Image.updateMask", lambda v, m: v, mask_op=lambda ma, mb, vb: ma & mb & (vb != 0)
        )

    def f_Image_mask(self, image, mask=None):
        image = _required(image, "Image.mask", "image")
        return image.with_bands(
            {
                name: Band(lambda x, y, b=band: (b.at(x, y)[1].astype(float), True), band.grid)
                for name, band in image.bands.items()
            }
        )

    def f_Image_unmask(self, input, value=0, sameFootprint=True):
        image = _required(input, "Image.unmask", "input")
        fill = value if isinstance(value, Img) else self.f_Image_constant(value)
        filler = next(iter(fill.bands.values()))

        def unmasked(band):
            def fn(x, y):
                v, m = band.at(x, y)
                return np.where(m, v, filler.at(x, y)[0]), True

            return Band(fn, band.grid, band.dtype)

        return image.with_bands({name: unmasked(band) for name, band in image.bands.items()})

    def f_Image_reduce(self, image, reducer):
        image = _required(image, "Image.reduce", "image")
        inputs = list(image.bands.values())

        def fn(x, y):
            if not inputs:
                return 0.0, False
            samples = [band.at(x, y) for band in inputs]
            return _reduce(
                np.stack([v for v, _ in samples]).astype(float), np.stack([m for _, m in samples]), reducer, 0
            )

        return image.with_bands({reducer: Band(fn, inputs[0].grid if inputs else None)})

    def f_Image_where(self, input, test, value):
        image = _required(input, "Image.where", "input")
        value = value if isinstance(value, Img) else self.f_Image_constant(value)
        tests, values = list(test.bands.values()), list(value.bands.values())
        if not tests or not values:
            raise ServerError(
                "Image.where: Images must contain the same number of bands or only 1 band. Got 0."
            )

        def chosen(i: int, band: Band) -> Band:
            flag, other = tests[i % len(tests)], values[i % len(values)]

            def fn(x, y):
                v, m = band.at(x, y)
                t, tm = flag.at(x, y)
                w, wm = other.at(x, y)
                use = (t != 0) & tm
                return np.where(use, w, v), np.where(use, wm, m)

            return Band(fn, band.grid, band.dtype)

        return image.with_bands({key: chosen(i, band) for i, (key, band) in enumerate(image.bands.items())})

    def f_Image_round(self, value):
        return self._unary(value, "Image.round", np.round)

    def f_Image_toUint16(self, value):
        return self._unary(value, "Image.toUint16", lambda v: np.clip(np.trunc(v), 0, 65535), "uint16")

    def f_Image_toFloat(self, value):
        return self._unary(value, "Image.toFloat", lambda v: v, "float32")

    def f_Image_clamp(self, input, low, high):
        return self._unary(input, "Image.clamp", lambda v: np.clip(v, low, high))

    def f_Image_add(self, image1, image2):
        return self._binary(image1, image2, "Image.add", np.add)

    def f_Image_multiply(self, image1, image2):
        return self._binary(image1, image2, "Image.multiply", np.multiply)

    def f_Image_gte(self, image1, image2):
        return self._binary(image1, image2, "Image.gte", lambda a, b: (a >= b).astype(float))

    def f_Image_gt(self, image1, image2):
        return self._binary(image1, image2, "Image.gt", lambda a, b: (a > b).astype(float))

    def f_Image_eq(self, image1, image2):
        return self._binary(image1, image2, "Image.eq", lambda a, b: (a == b).astype(float))

    def f_Image_bitwiseAnd(self, image1, image2):
        return self._binary(
            image1,
            image2,
            "Image.bitwiseAnd",
            lambda a, b: np.bitwise_and(a.astype(np.int64), b.astype(np.int64)).astype(float),
        )

    def _unary(self, image, name, op, dtype=None):
        image = _required(image, name, "value")

        def applied(band: Band) -> Band:
            def fn(x, y):
                v, m = band.at(x, y)
                return op(np.asarray(v, float)), m

            return Band(fn, band.grid, dtype or band.dtype)

        return image.with_bands({key: applied(band) for key, band in image.bands.items()})

    def _binary(self, a: Img, b, name: str, op, mask_op=None) -> Img:
        a = _required(a, name, "image1")
        b = _required(b, name, "image2")
        if not isinstance(b, Img):
            b = self.f_Image_constant(b)
        na, nb = len(a.bands), len(b.bands)
        if na == nb:
            pairs = list(zip(a.bands.items(), b.bands.values(), strict=True))
        elif nb == 1:
            pairs = [(item, next(iter(b.bands.values()))) for item in a.bands.items()]
        elif na == 1:
            band = next(iter(a.bands.values()))
            pairs = [((key, band), other) for key, other in b.bands.items()]
        else:
            raise ServerError(
                f"{name}: Images must contain the same number of bands or only 1 band. Got {na} and {nb}."
            )
        mask_op = mask_op or (lambda ma, mb, vb: ma & mb)

        def combined(left: Band, right: Band) -> Band:
            def fn(x, y):
                va, ma = left.at(x, y)
                vb, mb = right.at(x, y)
                return op(va, vb), mask_op(np.asarray(ma), np.asarray(mb), vb)

            return Band(fn, left.grid or right.grid, left.dtype)

        return a.with_bands({key: combined(left, right) for (key, left), right in pairs})


def _bilinear(band: Band) -> Band:
    grid = band.grid

    def fn(x, y):
        s = grid.scale
        u, w = (np.asarray(x, float) - grid.x0) / s - 0.5, (np.asarray(y, float) - grid.y0) / s - 0.5
        i, j = np.floor(u), np.floor(w)
        fu, fw = u - i, w - j
        total, mask = 0.0, True
        for di, wu in ((0, 1 - fu), (1, fu)):
            for dj, ww in ((0, 1 - fw), (1, fw)):
                v, m = band.at((i + di + 0.5) * s + grid.x0, (j + dj + 0.5) * s + grid.y0)
                total = total + wu * ww * v
                mask = mask & m
        return total, mask

    return Band(fn, None, band.dtype)


def _reduce(values: np.ndarray, masks: np.ndarray, reducer: str, axis: int):
    masks = np.broadcast_to(masks, values.shape)
    any_valid = masks.any(axis=axis)
    if reducer == "mode":
        candidates = np.unique(values[masks]) if masks.any() else np.zeros(1)
        counts = np.stack([((values == c) & masks).sum(axis=axis) for c in candidates])
        return candidates[np.argmax(counts, axis=0)], any_valid
    count = masks.sum(axis=axis)
    if reducer == "median":
        ordered = np.sort(np.where(masks, values, np.inf), axis=axis)
        low = np.expand_dims(np.maximum(count - 1, 0) // 2, axis)
        high = np.expand_dims(count // 2, axis)
        middle = np.take_along_axis(ordered, low, axis) + np.take_along_axis(
            ordered, np.maximum(high, low), axis
        )
        result = np.squeeze(middle, axis) / 2
    elif reducer == "mean":
        result = np.where(masks, values, 0.0).sum(axis=axis) / np.maximum(count, 1)
    elif reducer == "min":
        result = np.where(masks, values, np.inf).min(axis=axis)
    else:
        raise ServerError(f"the fake Earth Engine does not implement the {reducer} reducer")
    return np.where(any_valid, result, 0.0), any_valid


def _required(value, function: str, argument: str):
    if value is None:
        raise ServerError(
            f"{function}, argument '{argument}': Invalid type. Expected type: Image<unknown bands>. Actual type: null."
        )
    return value


def _overlaps(a, b) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _parse_date(value):
    if value is None or isinstance(value, dt.date):
        return value
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value / 1000, dt.UTC).date()
    return dt.date.fromisoformat(str(value)[:10])


def _as_millis(value) -> int:
    return millis(_parse_date(value))
