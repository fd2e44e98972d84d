"""Run the component benchmarks and write their figures as JSON plus a summary table.

Every ``benchmarks/<name>.py`` that defines ``run(quick: bool) -> dict`` is a benchmark. Its figures
are ratios measured against a reference run in the same process, plus absolute figures; on a GPU
machine the same entry point records the GPU figures too.

Usage::

    uv run python benchmarks/run.py [--quick] [--only NAME ...] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import platform
import re
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover(directory: Path = HERE) -> dict[str, Path]:
    """Benchmark name -> file, for every module in ``directory`` that defines ``run``."""
    found = {}
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith("_") or path.name == "run.py":
            continue
        if re.search(r"^def run\(", path.read_text(), re.MULTILINE):
            found[path.stem] = path
    return found


def machine() -> dict:
    """What the figures were measured on."""
    info = {"python": platform.python_version(), "processor": platform.processor() or platform.machine()}
    try:
        import torch

        info["torch"] = torch.__version__
        info["threads"] = torch.get_num_threads()
        info["gpu"] = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    except ImportError:
        info["torch"] = None
    return info


def run_all(names: list[str] | None, quick: bool, out: Path, directory: Path = HERE) -> dict:
    """Run the chosen benchmarks (all by default); write ``<out>/<name>.json`` and ``summary.json``."""
    available = discover(directory)
    unknown = sorted(set(names or []) - set(available))
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {unknown}; available: {sorted(available)}")
    out.mkdir(parents=True, exist_ok=True)
    summary = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "machine": machine(),
        "results": {},
    }
    for name in names or sorted(available):
        spec = importlib.util.spec_from_file_location(f"benchmark_{name}", available[name])
        module = importlib.util.module_from_spec(spec)
        started = time.perf_counter()
        try:
            spec.loader.exec_module(module)
            figures = {"ok": True, **module.run(quick=quick)}
        except Exception as error:  # one broken benchmark must not hide the others' figures
            figures = {
                "ok": False,
                "error": f"{type(error).__name__}: {error}",
                "traceback": traceback.format_exc(),
            }
        figures["seconds"] = round(time.perf_counter() - started, 2)
        summary["results"][name] = figures
        (out / f"{name}.json").write_text(json.dumps(figures, indent=2, default=str))
        print(
            f"{name}: {'ok' if figures['ok'] else figures['error']} ({figures['seconds']} s)", file=sys.stderr
        )
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary


def table(summary: dict) -> str:
    """The figures as a Markdown table: benchmark, figure, value."""
    rows = ["| benchmark | figure | value |", "|---|---|---|"]
    for name, figures in summary["results"].items():
        for key, value in _flatten(figures):
            if key != "traceback":
                rows.append(f"| {name} | {key} | {_format(value)} |")
    return "\n".join(rows)


def _flatten(figures: dict, prefix: str = ""):
    for key, value in figures.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _format(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--only", nargs="*", metavar="NAME", help="run only these benchmarks")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="folder for the JSON files")
    args = parser.parse_args(argv)
    summary = run_all(args.only, args.quick, args.out)
    text = table(summary)
    (args.out / "summary.md").write_text(text + "\n")
    print(text)
    return 0 if all(r["ok"] for r in summary["results"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
