"""Results as xarray Datasets: saved as netCDF, loaded and compared in one call, shown as tables.

Every result carries named dimensions (``model``, ``dataset``, ``split``, ``metric``,
``threshold``, ``level``, ``landcover``, ...), so results from several runs line up by
coordinate: :func:`load_results` merges any number of files into one Dataset.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import xarray as xr

from terrasynth.core.errors import CorpusError
from terrasynth.core.outputs import atomic_path


def save_results(results: xr.Dataset | Mapping[str, xr.Dataset], path: str | Path) -> Path:
    """Write results as netCDF-4 (h5netcdf), under a temporary name first; returns the path.

    A mapping writes one netCDF group per entry (e.g. ``{"generation": ..., "change": ...}``),
    for results whose dimensions do not line up. Attributes netCDF cannot hold (dicts, booleans,
    None) are stored as JSON text.
    """
    path = Path(path)
    with atomic_path(path) as partial:
        if isinstance(results, xr.Dataset):
            _storable(results).to_netcdf(partial, engine="h5netcdf")
        else:
            tree = xr.DataTree.from_dict({f"/{name}": _storable(ds) for name, ds in results.items()})
            tree.to_netcdf(partial, engine="h5netcdf")
    return path


def open_results(path: str | Path, group: str | None = None) -> xr.Dataset:
    """One results file (or one ``group`` of it), read into memory."""
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"results file {path} does not exist")
    try:
        with xr.open_dataset(path, engine="h5netcdf", group=group) as ds:
            return ds.load()
    except (OSError, ValueError) as error:
        raise CorpusError(f"{path} is not a netCDF results file with group {group!r} ({error})") from None


def load_results(*paths: str | Path | Iterable[str | Path]) -> xr.Dataset:
    """Several results files merged into one Dataset, aligned on their coordinates.

    Results of different models, data sets or splits sit side by side (missing combinations are
    NaN); two files that give different values for the same coordinates raise :class:`CorpusError`.
    """
    files = [Path(p) for item in paths for p in ([item] if isinstance(item, str | Path) else item)]
    if not files:
        raise CorpusError("no results files given")
    datasets = [open_results(p) for p in files]
    try:
        return xr.merge(datasets, join="outer", compat="no_conflicts", combine_attrs="drop_conflicts")
    except xr.MergeError as error:
        names = ", ".join(str(p) for p in files)
        raise CorpusError(f"results in {names} disagree: {str(error).splitlines()[0]}") from None


def results_table(
    values: xr.DataArray, *, columns: str = "model", gap: bool = False, title: str | None = None
):
    """A rich Table: one column per ``columns`` coordinate value, one row per combination of the
    other coordinates. With ``gap`` and two columns, a last column holds first minus second
    (e.g. zero-shot minus supervised)."""
    from rich.table import Table

    header, rows = _table(values, columns, gap)
    table = Table(title=title or str(values.name or ""))
    for name, numeric in header:
        table.add_column(name, justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*row)
    return table


def results_markdown(values: xr.DataArray, *, columns: str = "model", gap: bool = False) -> str:
    """The table of :func:`results_table` as Markdown text."""
    header, rows = _table(values, columns, gap)
    lines = ["| " + " | ".join(name for name, _ in header) + " |"]
    lines.append("|" + "|".join("---:" if numeric else "---" for _, numeric in header) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _table(values: xr.DataArray, columns: str, gap: bool) -> tuple[list[tuple[str, bool]], list[list[str]]]:
    """Header (name, numeric) and rows of text: a column per ``columns`` value, a row per
    combination of the other coordinates (rows that are all NaN are left out)."""
    if columns not in values.dims:
        values = values.expand_dims({columns: [values.name or "value"]})
    others = [d for d in values.dims if d != columns]
    values = values.transpose(*others, columns)
    names = [str(v) for v in values[columns].values]
    show_gap = gap and len(names) == 2
    header = [(str(dim), False) for dim in others] + [(name, True) for name in names]
    if show_gap:
        header.append((f"{names[0]} - {names[1]}", True))
    stacked = values.stack(row=others) if others else values.expand_dims(row=[0])
    rows = []
    for index in range(stacked.sizes["row"]):
        row = stacked.isel(row=index)
        numbers = [float(v) for v in row.values]
        if all(np.isnan(numbers)):
            continue
        cells = [_format(v) for v in numbers]
        if show_gap:
            cells.append(_format(numbers[0] - numbers[1]))
        rows.append([str(row[d].item()) for d in others] + cells)
    return header, rows


def print_results(results: xr.Dataset, *, columns: str = "model", gap: bool = False) -> None:
    """Print every table-like variable of a result (``scores``, ``semantic_scores``, ``distance``, ``seam``)."""
    from rich.console import Console

    console = Console()
    for name in ("scores", "semantic_scores", "distance", "seam"):
        if name in results:
            console.print(results_table(results[name], columns=columns, gap=gap, title=name))


def _format(value: float) -> str:
    return "-" if np.isnan(value) else f"{value:.4f}"


def _storable(results: xr.Dataset) -> xr.Dataset:
    results = results.copy()
    results.attrs = {key: _netcdf_attr(value) for key, value in results.attrs.items()}
    for variable in results.variables.values():
        variable.attrs = {key: _netcdf_attr(value) for key, value in variable.attrs.items()}
    return results


def _netcdf_attr(value):
    if isinstance(value, bool) or value is None or isinstance(value, dict | list | tuple):
        return json.dumps(value)
    return value
