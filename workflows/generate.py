"""Generate a canvas of any size with a MetaEarth cascade, streamed window by window to a GeoTIFF.

From noise (``--size``), or from a low-resolution GeoTIFF (``--from``): the output covers the
input's footprint, in its CRS, at the finest stage's resolution. Every stage writes its canvas
to a GeoTIFF as rows finish and the next stage reads its condition back window by window, so
memory stays bounded whatever the size. The output is written under a temporary name and only
renamed once complete.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

_TILE = 256  # GeoTIFF block side in pixels


@dataclass(frozen=True)
class GenerationSummary:
    """What :func:`generate` wrote."""

    path: Path
    shape: tuple[int, int, int]
    gsd: float
    crs: str | None
    stages: list[int]
    seconds: float

    @property
    def megapixels_per_second(self) -> float:
        return self.shape[1] * self.shape[2] / 1e6 / self.seconds


class RasterArray:
    """A rasterio dataset seen as a (bands, rows, columns) array of reflectance, or one ``band``
    of it (1-based) as a (rows, columns) array.

    Slicing reads (``array[..., r0:r1, c0:c1]``) and assignment writes (``array[:, r0:r1, :] = x``)
    one window; integer rasters hold reflectance / ``scale``.
    """

    def __init__(self, dataset, scale: float = 1.0, band: int | None = None):
        self.dataset, self.scale, self.band = dataset, scale, band
        self.shape = (dataset.count, dataset.height, dataset.width)[1 if band else 0 :]

    def _window(self, key):
        from rasterio.windows import Window

        rows, cols = key[-2:]
        r0, r1, _ = rows.indices(self.shape[-2])
        c0, c1, _ = cols.indices(self.shape[-1])
        return Window(c0, r0, c1 - c0, r1 - r0)

    def __getitem__(self, key):
        import numpy as np

        return self.dataset.read(self.band, window=self._window(key)).astype(np.float32) * np.float32(
            self.scale
        )

    def __setitem__(self, key, value):
        import numpy as np

        values = np.asarray(value, dtype=np.float64) / self.scale
        if np.issubdtype(np.dtype(self.dataset.dtypes[0]), np.integer):
            info = np.iinfo(self.dataset.dtypes[0])
            values = np.clip(np.round(values), info.min, info.max)
        self.dataset.write(values.astype(self.dataset.dtypes[0]), window=self._window(key))


def load_stages(checkpoints: Sequence[str | Path]):
    """The stages saved at ``checkpoints`` (model folders, or training run folders holding ``model/``)."""
    from terrasynth.core.errors import WeightsError
    from terrasynth.models.metaearth import MetaEarthDenoiser

    stages = []
    for path in map(Path, checkpoints):
        folder = path / "model" if (path / "model" / "config.json").exists() else path
        if not (folder / "config.json").exists():
            raise WeightsError(
                f"{path} holds no MetaEarth model: give a folder with config.json and safetensors weights"
            )
        try:
            stages.append(
                MetaEarthDenoiser.from_pretrained(folder, use_safetensors=True, low_cpu_mem_usage=False)
            )
        except (OSError, ValueError, TypeError) as error:
            raise WeightsError(
                f"cannot load the model in {folder}: {' '.join(str(error).split())[:200]}"
            ) from None
    return stages


def generate(
    checkpoints: Sequence[str | Path],
    out: str | Path,
    *,
    size: tuple[int, int] | None = None,
    from_path: str | Path | None = None,
    from_gsd: float | None = None,
    from_scale: float | None = None,
    landcover: str | Path | None = None,
    gsd: float | None = None,
    seed: int = 0,
    noise: str = "shared",
    steps: int = 50,
    eta: float = 0.0,
    strength: float = 1.0,
    window: int | None = None,
    batch_size: int = 8,
    device: str | None = None,
    show_progress: bool = True,
) -> GenerationSummary:
    """Runs a cascade and writes the finest canvas to a GeoTIFF (uint16 reflectance x 1e4).

    Args:
        checkpoints: the stages, coarse to fine (one for a single stage, or one model of several).
        out: the GeoTIFF to write.
        size: the output (rows, columns); default with ``from_path``: its footprint.
        from_path: a low-resolution GeoTIFF of reflectance to start from; it feeds the first stage
            that refines an image, and the output is georeferenced like it.
        from_gsd: its metres per pixel (default: from its transform; needs a projected CRS).
        from_scale: stored value x this = reflectance (default: the file's scale if it has one,
            else 1e-4 for integer rasters, 1 for floating point ones).
        landcover: a GeoTIFF of land-cover class codes (WorldCover) for a first stage that takes
            them; anchored at the canvas's top-left corner. Without ``from_path`` the output is
            georeferenced like it and covers its footprint unless ``size`` says otherwise.
        gsd: the resolution to stop at, metres per pixel (default: the finest stage's). The first
            stage is the one that generates from noise, or with ``from_path`` the one trained on
            the resolution nearest the file's.
        seed, noise, steps, eta, strength, window, batch_size: see
            :class:`~terrasynth.models.metaearth.UnboundedGenerator`.
        device: ``"cpu"``, ``"cuda"``... (default: a GPU when there is one; then bf16 autocast).
    """
    import rasterio
    import torch
    from affine import Affine
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from terrasynth.core.corpus import REFLECTANCE_SCALE
    from terrasynth.core.errors import ConfigError
    from terrasynth.models.metaearth import Cascade, UnboundedGenerator

    out = Path(out)
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    cascade = Cascade([stage.to(device) for stage in load_stages(checkpoints)])
    options = {
        "window": window, "steps": steps, "eta": eta, "strength": strength, "noise": noise, "batch_size": batch_size,
    }  # fmt: skip
    if device.type == "cuda":
        options["autocast_dtype"] = torch.bfloat16
    for stage in cascade.stages:
        UnboundedGenerator(stage, **options)  # checks the options before any file is touched

    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    try:
        with contextlib.ExitStack() as stack:
            stack.enter_context(rasterio.Env())
            scratch = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix=".terrasynth-", dir=out.parent))
            )
            condition, crs, origin_m, start = None, None, (0.0, 0.0), 0
            if from_path is not None:
                source = stack.enter_context(rasterio.open(from_path))
                condition = RasterArray(source, _reflectance_scale(source, from_scale, REFLECTANCE_SCALE))
                from_gsd = from_gsd or _pixel_size(source)
                crs, origin_m = source.crs, (source.transform.c, source.transform.f)
                start = cascade.start_for(from_gsd)  # the stage trained nearest its resolution
            elif cascade.stages[0].conditioned:
                raise ConfigError("the first stage refines a low-resolution image: give one with --from")
            stop = None if gsd is None else cascade.stop_for(gsd)
            landcover_gsd = None
            if landcover is not None:
                if not cascade.stages[start].uses_landcover:
                    raise ConfigError(f"stage {start} takes no land cover: leave out --landcover")
                codes = stack.enter_context(rasterio.open(landcover))
                landcover_gsd = _pixel_size(codes)
                if from_path is None:
                    crs, origin_m = codes.crs, (codes.transform.c, codes.transform.f)
                    size = size or tuple(
                        math.floor(n * landcover_gsd / cascade.gsds[-1 if stop is None else stop])
                        for n in codes.shape
                    )
                landcover = RasterArray(codes, band=1)
            plans = cascade.plan(
                size,
                start=start,
                stop=stop,
                condition_shape=None if condition is None else condition.shape,
                condition_gsd=from_gsd,
                origin_m=origin_m,
                **options,
            )

            def store(plan, channels):
                """The final stage goes to the output (uint16 x 1e4), the others to scratch files (float32)."""
                last = plan.index == plans[-1].index
                profile = {
                    "driver": "GTiff", "width": plan.shape[1], "height": plan.shape[0], "count": channels,
                    "crs": crs, "transform": Affine(plan.gsd, 0, origin_m[0], 0, -plan.gsd, origin_m[1]),
                    "tiled": True, "blockxsize": _TILE, "blockysize": _TILE, "BIGTIFF": "IF_SAFER",
                    "dtype": "uint16" if last else "float32",
                    **({"compress": "deflate", "predictor": 2} if last else {}),
                }  # fmt: skip
                dataset = stack.enter_context(
                    rasterio.open(partial if last else scratch / f"stage{plan.index}.tif", "w+", **profile)
                )
                if last:
                    dataset.scales = [REFLECTANCE_SCALE] * channels
                return RasterArray(dataset, REFLECTANCE_SCALE if last else 1.0)

            began = time.perf_counter()
            with Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                disable=not show_progress,
            ) as progress:  # fmt: skip
                tasks = {
                    plan.index: progress.add_task(
                        f"stage {plan.index}: {plan.shape[1]} x {plan.shape[0]} px at {plan.gsd:g} m, windows",
                        total=plan.windows,
                    )
                    for plan in plans
                }
                cascade.generate(
                    size,
                    start=start,
                    stop=stop,
                    condition=condition,
                    condition_gsd=from_gsd,
                    landcover=landcover,
                    landcover_gsd=landcover_gsd,
                    origin_m=origin_m,
                    seed=seed,
                    store=store,
                    progress=lambda plan, n: progress.advance(tasks[plan.index], n),
                    **options,
                )
        shutil.move(partial, out)  # complete: every file is closed
    finally:
        partial.unlink(missing_ok=True)
    final = plans[-1]
    return GenerationSummary(
        out,
        (cascade.stages[-1].config.channels, *final.shape),
        final.gsd,
        None if crs is None else crs.to_string(),
        [plan.index for plan in plans],
        time.perf_counter() - began,
    )


def _pixel_size(dataset) -> float:
    from terrasynth.core.errors import ConfigError

    t = dataset.transform
    if dataset.crs is None or not dataset.crs.is_projected:
        raise ConfigError(
            f"{dataset.name} is not in a projected CRS (metres): give its resolution with --from-gsd"
        )
    if t.b or t.d or not math.isclose(abs(t.a), abs(t.e), rel_tol=1e-6):
        raise ConfigError(f"{dataset.name} needs square, north-up pixels: warp it first (e.g. gdalwarp -tr)")
    return abs(t.a) * dataset.crs.linear_units_factor[1]


def _reflectance_scale(dataset, given: float | None, integer_default: float) -> float:
    import numpy as np

    if given is not None:
        return given
    if any(scale != 1.0 for scale in dataset.scales):
        return float(dataset.scales[0])
    return integer_default if np.issubdtype(np.dtype(dataset.dtypes[0]), np.integer) else 1.0


def _parse_size(text: str | None) -> tuple[int, int] | None:
    from terrasynth.core.errors import ConfigError

    if text is None:
        return None
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ConfigError(f"--size {text!r} must be WIDTHxHEIGHT in pixels, e.g. 4096x4096") from None
    return height, width


def cli(
    checkpoint: Annotated[
        list[Path],
        typer.Option(
            "--checkpoint", help="A stage's model folder (or training run folder); repeat, coarse to fine."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="The GeoTIFF to write (uint16 reflectance x 1e4).")],
    size: Annotated[
        str | None,
        typer.Option("--size", help="Output WIDTHxHEIGHT in pixels; default: the --from footprint."),
    ] = None,
    from_path: Annotated[
        Path | None,
        typer.Option(
            "--from",
            exists=True,
            dir_okay=False,
            help="Low-resolution GeoTIFF to start from (georeferences the output).",
        ),
    ] = None,
    from_gsd: Annotated[
        float | None,
        typer.Option("--from-gsd", help="Metres per pixel of --from (default: from its transform)."),
    ] = None,
    from_scale: Annotated[
        float | None,
        typer.Option(
            "--from-scale",
            help="Stored value x this = reflectance (default: its scale, or 1e-4 for integers).",
        ),
    ] = None,
    landcover: Annotated[
        Path | None,
        typer.Option(
            "--landcover",
            exists=True,
            dir_okay=False,
            help="GeoTIFF of land-cover codes for a first stage (georeferences the output without --from).",
        ),
    ] = None,
    gsd: Annotated[
        float | None,
        typer.Option("--gsd", help="Resolution to stop at, metres per pixel (default: the finest stage's)."),
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of all noise; the same seed gives the same canvas.")
    ] = 0,
    noise: Annotated[
        str,
        typer.Option(
            "--noise",
            help="shared (MetaEarth; needs --from or --landcover), independent, field (keyed by ground "
            "position) or average.",
        ),
    ] = "shared",
    steps: Annotated[int, typer.Option("--steps", help="DDIM steps per stage.")] = 50,
    eta: Annotated[float, typer.Option("--eta", help="DDIM noise: 0 is deterministic, 1 is DDPM.")] = 0.0,
    strength: Annotated[
        float,
        typer.Option("--strength", help="1: from pure noise; below 1: from the noised upsampled condition."),
    ] = 1.0,
    window: Annotated[
        int | None, typer.Option("--window", help="Window side in pixels (default: the training tile).")
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Windows per denoiser call.")] = 8,
    device: Annotated[
        str | None, typer.Option("--device", help="cpu or cuda (default: a GPU when there is one).")
    ] = None,
) -> None:
    """Generate a seamless canvas of any size with a MetaEarth cascade."""
    from rich.console import Console

    summary = generate(
        checkpoint, out, size=_parse_size(size), from_path=from_path, from_gsd=from_gsd, from_scale=from_scale,
        landcover=landcover, gsd=gsd, seed=seed, noise=noise, steps=steps, eta=eta, strength=strength, window=window,
        batch_size=batch_size, device=device,
    )  # fmt: skip
    bands, rows, cols = summary.shape
    Console().print(
        f"Wrote {summary.path}: {cols} x {rows} px, {bands} bands at {summary.gsd:g} m"
        f"{f', {summary.crs}' if summary.crs else ' (not georeferenced)'}; stages {summary.stages}; "
        f"{summary.seconds:.1f} s ({summary.megapixels_per_second:.3f} MP/s)."
    )
