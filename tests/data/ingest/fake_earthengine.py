"""A fake Earth Engine at the HTTP boundary, for offline tests of the real ``ee`` and ``xee`` code.

``ee`` is initialised exactly as ``ee.apitestcase.ApiTestCase`` does (the packaged algorithm list
and discovery document, no network), except that ``computeValue`` is left real so that
``getInfo`` calls (xee's image metadata) also travel over HTTP. Every HTTP request then lands in
:meth:`FakeEarthEngine.request`, which decodes it, may inject a fault (429, 500, a timeout, a
permanent 400) or a latency, and answers pixel requests with NPY data from a pluggable
:data:`Answer` function: the synthetic world by default (:func:`synthetic_answer`), or a cheap
coordinate pattern (:func:`pattern_answer`) where only throughput matters.
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

from terrasynth.core.grid import GridSpec
from terrasynth.core.landcover import WORLDCOVER
from terrasynth.ingest.synthetic import SyntheticWorld

DEFAULT_DATE = "2021-06-01"


@dataclass(frozen=True)
class PixelRequest:
    """One decoded ``computePixels`` request.

    Attributes:
        expression: the serialized expression graph with every value reference resolved.
        grid: the requested pixel grid.
        file_format: the wire format, ``"NPY"`` for the client's ``NUMPY_NDARRAY``.
    """

    expression: dict
    grid: GridSpec
    file_format: str


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


def xee_variable(request: PixelRequest) -> str | None:
    """The one band xee asks for (it stacks one variable of each image with ``addBands(names=[v])``)."""
    names = {
        tuple(constant(args["names"]))
        for args in calls(request.expression, "Image.addBands")
        if "names" in args
    }
    return names.pop()[0] if len(names) == 1 else None


def synthetic_answer(request: PixelRequest, seed: int = 0) -> dict[str, np.ndarray]:
    """The synthetic world on the requested grid, at the start of the request's date range: the four
    reflectance bands, land cover and validity, as the Earth Engine source asks for them."""
    starts = sorted(constant(args["start"]) for args in calls(request.expression, "DateRange"))
    rendering = SyntheticWorld(seed).render(request.grid, starts[0] if starts else DEFAULT_DATE)
    bands = dict(zip(("blue", "green", "red", "nir"), rendering.image, strict=True))
    bands["landcover"] = rendering.landcover.astype(np.uint16)
    bands["valid"] = rendering.valid.astype(np.uint16)
    return bands


def pattern_answer(request: PixelRequest) -> dict[str, np.ndarray]:
    """Deterministic bands as a function of pixel-centre coordinates (metres), so that any split
    of a grid into requests gives the same pixels: four reflectance bands, land cover, validity.
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
    return bands


class _Response(dict):
    """What httplib2 returns: headers as a dict, plus ``status`` and ``reason``."""

    def __init__(self, status: int, content_type: str):
        super().__init__({"status": str(status), "content-type": content_type})
        self.status = status
        self.reason = "OK" if status == 200 else "error"


_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
}


class FakeEarthEngine:
    """An ``httplib2.Http`` stand-in answering Earth Engine's REST calls.

    Args:
        answer: the pixels of a request (see :data:`Answer`).
        latency: seconds each request takes.
        jitter: the latency varies uniformly by +- this many seconds (seeded).
        faults: faults for the first pixel requests in arrival order, each ``429``, ``500``,
            ``"timeout"`` or another HTTP status such as ``400``; ``None`` answers normally.
        permanent: an HTTP status every pixel request gets (e.g. 400 for an unknown band).
        seed: seeds the jitter.

    Attributes:
        requests: every pixel request received, faulted ones included, in arrival order.
        values: every ``value:compute`` (getInfo) request received.
        peak_in_flight: the most pixel requests that were being answered at once.
    """

    def __init__(
        self,
        answer: Answer = synthetic_answer,
        *,
        latency: float = 0.0,
        jitter: float = 0.0,
        faults: list | None = None,
        permanent: int | None = None,
        seed: int = 0,
    ):
        self.answer = answer
        self.latency, self.jitter = latency, jitter
        self.faults = list(faults or [])
        self.permanent = permanent
        self.requests: list[PixelRequest] = []
        self.values: list[dict] = []
        self.peak_in_flight = 0
        self._in_flight = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def request(self, uri, method="GET", body=None, headers=None, redirections=5, connection_type=None):
        payload = json.loads(body) if body else {}
        if uri.split("?")[0].endswith("value:compute"):
            with self._lock:
                self.values.append(payload)
            return self._json(200, {"result": self._describe(payload["expression"])})
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
        if fault is not None:
            return self._json(fault, _error(fault, f"injected HTTP {fault}"))
        bands = self.answer(pixels)
        variable = xee_variable(pixels)
        if variable is not None:
            bands = {variable: bands[variable]}
        return _Response(200, "application/octet-stream"), _npy(bands)

    def _describe(self, graph: dict) -> list:
        """Answers xee's metadata call: one image whose bands are those the answer function gives."""
        probe = PixelRequest(
            graph, GridSpec("EPSG:32632", Affine(10, 0, 500000, 0, -10, 5000000), (1, 1)), ""
        )
        bands = [
            {"id": name, "data_type": {"type": "PixelType", "precision": "int", "min": 0, "max": 65535}}
            for name in self.answer(probe)
        ]
        return [1, {}, {"type": "Image", "bands": bands, "properties": {}}, [["fake/0"], [0]]]

    @staticmethod
    def _json(status: int, body: dict):
        return _Response(status, "application/json"), json.dumps(body).encode()


def _decode(payload: dict) -> PixelRequest:
    grid = payload["grid"]
    t = grid["affineTransform"]
    transform = Affine(t["scaleX"], t["shearX"], t["translateX"], t["shearY"], t["scaleY"], t["translateY"])
    shape = (grid["dimensions"]["height"], grid["dimensions"]["width"])
    return PixelRequest(
        resolve(payload["expression"]), GridSpec(grid["crsCode"], transform, shape), payload["fileFormat"]
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
def fake_earth_engine(answer: Answer = synthetic_answer, **options) -> Iterator[FakeEarthEngine]:
    """``ee`` initialised as ``ApiTestCase`` does, its HTTP answered by a :class:`FakeEarthEngine`."""
    case = apitestcase.ApiTestCase()
    case.setUp()
    ee.data.computeValue = case.old_compute_value  # getInfo over HTTP too: xee asks for image metadata
    server = FakeEarthEngine(answer, **options)
    try:
        with apitestcase.UsingCloudApi(mock_http=server):
            yield server
    finally:
        case.tearDown()
