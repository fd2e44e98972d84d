"""A fake Earth Engine at the HTTP boundary, for offline tests of the real ``ee`` and ``xee`` code.

``ee`` is initialised exactly as ``ee.apitestcase.ApiTestCase`` does (the packaged algorithm list
and discovery document, no network), except that ``computeValue`` is left real so that
``getInfo`` calls (xee's image metadata, collection sizes) also travel over HTTP. Every HTTP
request then lands in :meth:`FakeEarthEngine.request`, which decodes it, may inject a fault (429,
500, a timeout, a refused token, a permanent 400, a computation that times out) or a latency, and
computes the answer: the expression is evaluated (:mod:`fake_ee_algorithms`) against a small
catalogue with footprints and date ranges (:mod:`fake_ee_catalogue`), so an empty collection gives
an image with no bands and an unknown band the server's 400. Where only throughput matters, a
cheap coordinate pattern (:func:`pattern_answer`) can stand in for the evaluation.
"""

from __future__ import annotations

import io
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import ee
import numpy as np
from affine import Affine
from ee import apitestcase
from fake_ee_algorithms import Evaluator, Img, Projection, ServerError
from google.auth.exceptions import RefreshError
from google.oauth2.credentials import Credentials
from pyproj import Transformer

from terrasynth.core.grid import GridSpec
from terrasynth.core.landcover import WORLDCOVER

COMPUTATION_TIMED_OUT = "Computation timed out."


@dataclass(frozen=True)
class PixelRequest:
    """One decoded ``computePixels`` request.

    Attributes:
        expression: the serialized expression graph with every value reference resolved.
        grid: the requested pixel grid.
        file_format: the wire format, ``"NPY"`` for the client's ``NUMPY_NDARRAY``.
        graph: the expression as sent (values by reference), for :func:`compute`.
    """

    expression: dict
    grid: GridSpec
    file_format: str
    graph: dict


Answer = Callable[[PixelRequest], dict[str, np.ndarray]]
"""A function from a request to its bands: name -> (rows, cols) array of the band's dtype."""


def resolve(graph: dict) -> dict:
    """An expression graph (``{"values": ..., "result": ...}``) as one nested tree."""
    values = graph["values"]

    def expand(node):
        if isinstance(node, dict):
            if set(node) == {"valueReference"}:
                return expand(values[node["valueReference"]])
            if "functionDefinitionValue" in node:  # a mapped function: its body is a value reference
                definition = node["functionDefinitionValue"]
                return {"functionDefinitionValue": {**definition, "body": expand(values[definition["body"]])}}
            return {key: expand(value) for key, value in node.items()}
        if isinstance(node, list):
            return [expand(item) for item in node]
        return node

    return expand(values[graph["result"]])


def calls(tree, function: str) -> Iterator[dict]:
    """The arguments of every invocation of ``function`` in a resolved tree."""
    if isinstance(tree, dict):
        invocation = tree.get("functionInvocationValue")
        if invocation and invocation["functionName"] == function:
            yield invocation["arguments"]
        for value in tree.values():
            yield from calls(value, function)
    elif isinstance(tree, list):
        for item in tree:
            yield from calls(item, function)


def constant(node):
    """The value of a ``constantValue`` node, or a list of them (``None`` if the node is computed)."""
    if not isinstance(node, dict):
        return None
    if "arrayValue" in node:
        return [constant(item) for item in node["arrayValue"]["values"]]
    return node.get("constantValue")


def pattern_answer(request: PixelRequest) -> dict[str, np.ndarray]:
    """Deterministic bands as a function of pixel-centre coordinates (metres), so that any split
    of a grid into requests gives the same pixels: four reflectance bands, land cover, validity and
    one image behind every pixel.
    Built by broadcasting a row and a column, so that answering costs the fake next to nothing."""
    x, y = request.grid.coords()
    column, row = x[None, :], y[:, None]
    base = np.floor(column / 7.0) + np.floor(row / 13.0)
    bands = {
        name: ((base * (i + 3)) % 9000 + 100).astype(np.uint16)
        for i, name in enumerate(("blue", "green", "red", "nir"))
    }
    codes = np.array(WORLDCOVER.codes, dtype=np.uint16)
    bands["landcover"] = codes[((column // 240 + row // 240) % len(codes)).astype(int)]
    bands["valid"] = ((column // 480 + row // 480) % 5 != 0).astype(np.uint16)
    bands["images"] = np.ones(bands["valid"].shape, np.uint16)
    return bands


class _Response(dict):
    """What httplib2 returns: headers as a dict, plus ``status`` and ``reason``."""

    def __init__(self, status: int, content_type: str):
        super().__init__({"status": str(status), "content-type": content_type})
        self.status = status
        self.reason = "OK" if status == 200 else "error"


_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
}


class FakeEarthEngine:
    """An ``httplib2.Http`` stand-in answering Earth Engine's REST calls.

    Args:
        answer: ``None`` evaluates every expression against the catalogue; an :data:`Answer`
            function gives the pixels of every request instead (throughput measurements only).
        latency: seconds each request takes.
        jitter: the latency varies uniformly by +- this many seconds (seeded).
        faults: faults for the first pixel requests in arrival order, each ``429``, ``500``,
            ``"timeout"`` (the connection times out), ``"refresh"`` (the token cannot be refreshed),
            another HTTP status such as ``400``, or a message the server sends with a 400 (such as
            :data:`COMPUTATION_TIMED_OUT`); ``None`` answers normally.
        permanent: an HTTP status every pixel request gets (e.g. 403).
        compute_limit: the most pixels one request may compute; larger ones get the server's
            "Computation timed out." (HTTP 400), as a heavy composite does.
        denied: asset IDs this account may not read (as NICFI's before access is granted).
        seed: seeds the jitter.

    Attributes:
        headers: the headers of every request received.
        requests: every pixel request received, faulted ones included, in arrival order.
        values: every ``value:compute`` (getInfo) request received.
        peak_in_flight: the most pixel requests that were being answered at once.
    """

    def __init__(
        self,
        answer: Answer | None = None,
        *,
        latency: float = 0.0,
        jitter: float = 0.0,
        faults: list | None = None,
        permanent: int | None = None,
        compute_limit: int | None = None,
        denied: tuple[str, ...] = (),
        seed: int = 0,
    ):
        self.answer = answer
        self.latency, self.jitter = latency, jitter
        self.faults = list(faults or [])
        self.permanent = permanent
        self.compute_limit = compute_limit
        self.denied = frozenset(denied)
        self.headers: list[dict] = []
        self.requests: list[PixelRequest] = []
        self.values: list[dict] = []
        self.peak_in_flight = 0
        self._in_flight = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def request(self, uri, method="GET", body=None, headers=None, redirections=5, connection_type=None):
        payload = json.loads(body) if body else {}
        with self._lock:
            self.headers.append(dict(headers or {}))
        if uri.split("?")[0].endswith("value:compute"):
            with self._lock:
                self.values.append(payload)
            try:
                return self._json(
                    200, {"result": _info(Evaluator(payload["expression"], denied=self.denied).run())}
                )
            except ServerError as error:
                return self._json(error.status, _error(error.status, str(error)))
        if not uri.split("?")[0].endswith("image:computePixels"):
            return self._json(404, _error(404, f"the fake Earth Engine does not serve {method} {uri}"))
        pixels = _decode(payload)
        with self._lock:
            self.requests.append(pixels)
            fault = self.faults[len(self.requests) - 1] if len(self.requests) <= len(self.faults) else None
            delay = max(0.0, self.latency + self._rng.uniform(-self.jitter, self.jitter))
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
        try:
            return self._answer(pixels, fault, delay)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _answer(self, pixels: PixelRequest, fault, delay: float):
        if delay:
            time.sleep(delay)
        if self.permanent:
            fault = self.permanent
        if fault == "timeout":
            raise TimeoutError("timed out (injected)")
        if fault == "refresh":
            raise RefreshError(
                "invalid_grant: Token has been expired or revoked.", {"error": "invalid_grant"}
            )
        if isinstance(fault, str):
            return self._json(400, _error(400, fault))
        if fault is not None:
            return self._json(fault, _error(fault, f"injected HTTP {fault}"))
        if self.compute_limit is not None and pixels.grid.width * pixels.grid.height > self.compute_limit:
            return self._json(400, _error(400, COMPUTATION_TIMED_OUT))
        try:
            if self.answer is None:
                bands = compute(pixels.graph, pixels.grid, self.denied)
            else:  # the bands the expression names (evaluated, not computed), with the answer's pixels
                answered = self.answer(pixels)
                names = Evaluator(pixels.graph, pixels.grid.crs).run().bands
                bands = {name: answered[name] for name in names if name in answered}
        except ServerError as error:
            return self._json(error.status, _error(error.status, str(error)))
        return _Response(200, "application/octet-stream"), _npy(bands)

    @staticmethod
    def _json(status: int, body: dict):
        return _Response(status, "application/json"), json.dumps(body).encode()


def compute(graph: dict, grid: GridSpec, denied: frozenset[str] = frozenset()) -> dict[str, np.ndarray]:
    """The bands of the image ``graph`` on ``grid``, as ``computePixels`` returns them (masked pixels 0)."""
    x, y = grid.coords()
    _, lat = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True).transform(x.mean(), y.mean())
    image = Evaluator(graph, grid.crs, grid.resolution, lat, denied).run()
    if not isinstance(image, Img):
        raise ServerError(f"computePixels needs an image, not {type(image).__name__}")
    if not image.bands:
        raise ServerError("Image has no bands.")
    xx, yy = np.meshgrid(x, y)
    bands = {}
    for name, band in image.bands.items():
        values, mask = band.at(xx, yy)
        bands[name] = np.where(mask, values, 0).astype(band.dtype)
    return bands


def _info(value):
    """A value as ``getInfo`` returns it."""
    if isinstance(value, Img):
        bands = [
            {
                "id": name,
                "data_type": {"type": "PixelType", "precision": "int" if "int" in band.dtype else "double"},
            }
            for name, band in value.bands.items()
        ]
        properties = {key: item for key, item in value.properties.items() if key != "footprint"}
        return {"type": "Image", "bands": bands, "properties": properties}
    if isinstance(value, Projection):
        return {"type": "Projection", "crs": value.crs}
    if isinstance(value, list):
        return [_info(item) for item in value]
    if isinstance(value, dict):
        return {key: _info(item) for key, item in value.items()}
    return value


def _decode(payload: dict) -> PixelRequest:
    grid = payload["grid"]
    t = grid["affineTransform"]
    transform = Affine(t["scaleX"], t["shearX"], t["translateX"], t["shearY"], t["scaleY"], t["translateY"])
    shape = (grid["dimensions"]["height"], grid["dimensions"]["width"])
    return PixelRequest(
        resolve(payload["expression"]),
        GridSpec(grid["crsCode"], transform, shape),
        payload["fileFormat"],
        payload["expression"],
    )


def _npy(bands: dict[str, np.ndarray]) -> bytes:
    first = next(iter(bands.values()))
    structured = np.zeros(first.shape, dtype=[(name, array.dtype) for name, array in bands.items()])
    for name, array in bands.items():
        structured[name] = array
    buffer = io.BytesIO()
    np.save(buffer, structured)
    return buffer.getvalue()


def _error(status: int, message: str) -> dict:
    return {"error": {"code": status, "message": message, "status": _STATUS_NAMES.get(status, "UNKNOWN")}}


@contextmanager
def fake_earth_engine(answer: Answer | None = None, **options) -> Iterator[FakeEarthEngine]:
    """``ee`` initialised as ``ApiTestCase`` does (as a notebook's ``ee.Initialize()`` would have),
    a signed-in user's credentials in place, its HTTP answered by a :class:`FakeEarthEngine`."""
    case = apitestcase.ApiTestCase()
    case.setUp()
    ee.data.computeValue = case.old_compute_value  # getInfo over HTTP too: xee asks for image metadata
    persistent = ee.data.get_persistent_credentials
    ee.data.get_persistent_credentials = lambda: Credentials("fake-token", quota_project_id="fake-project")
    server = FakeEarthEngine(answer, **options)
    try:
        with apitestcase.UsingCloudApi(mock_http=server):
            yield server
    finally:
        ee.data.get_persistent_credentials = persistent
        case.tearDown()
