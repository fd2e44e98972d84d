"""The benchmark entry point finds benchmarks, records their figures and survives a broken one."""

import importlib.util
import json
from pathlib import Path

RUNNER = Path(__file__).resolve().parents[2] / "benchmarks" / "run.py"
spec = importlib.util.spec_from_file_location("benchmark_runner", RUNNER)
runner = importlib.util.module_from_spec(spec)
spec.loader.exec_module(runner)


def test_runs_each_benchmark_and_writes_json(tmp_path):
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "fast.py").write_text(
        "def run(quick):\n    return {'speedup': 2.5, 'sizes': {'small': quick}}\n"
    )
    (bench / "broken.py").write_text("def run(quick):\n    raise RuntimeError('no device')\n")
    (bench / "helper.py").write_text("X = 1\n")
    assert sorted(runner.discover(bench)) == ["broken", "fast"]
    summary = runner.run_all(None, True, tmp_path / "out", directory=bench)
    assert summary["results"]["fast"]["speedup"] == 2.5 and summary["results"]["fast"]["ok"]
    assert not summary["results"]["broken"]["ok"] and "no device" in summary["results"]["broken"]["error"]
    assert json.loads((tmp_path / "out" / "fast.json").read_text())["sizes"] == {"small": True}
    text = runner.table(summary)
    assert "| fast | speedup | 2.5 |" in text and "| fast | sizes.small | True |" in text
