"""A wheel built from the repository imports every ``terrasynth.<folder>`` from outside it."""

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
UV = os.environ.get("UV") or shutil.which("uv")  # `uv run` names itself in $UV
FOLDERS = ["core", "ingest", "datasets", "models", "evaluation", "trainers", "workflows"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    if UV is None:
        pytest.fail("uv is needed to build the wheel: pip install uv")
    out = tmp_path_factory.mktemp("dist")
    # sdist first, then the wheel from the unpacked sdist: no in-tree build/ that could hold stale modules
    subprocess.run([UV, "build", "--out-dir", str(out), str(REPO)], check=True, capture_output=True)
    (path,) = out.glob("terrasynth-*.whl")
    return path


def test_wheel_holds_every_module(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {"terrasynth/__init__.py"} | {
        f"terrasynth/{path.relative_to(REPO).as_posix()}"
        for folder in FOLDERS
        for path in (REPO / folder).rglob("*.py")
    }
    missing = sorted(expected - names)
    assert not missing, f"add these packages to [tool.setuptools] packages in pyproject.toml: {missing}"
    assert not [n for n in names if n.split("/")[0] in {"core", "datasets", "models", "tests"}]


def test_wheel_imports_from_outside_the_repo(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([UV, "venv", "--python", sys.executable, str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [UV, "pip", "install", "--python", str(python), "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
    )
    # the dependencies come from this environment (appended, so the wheel's terrasynth comes first)
    site = Path(
        subprocess.check_output(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    code = (
        "import importlib, importlib.util, terrasynth\n"
        f"for folder in {FOLDERS!r}:\n"
        "    module = importlib.import_module('terrasynth.' + folder)\n"
        "    assert module.__file__.startswith(r'" + str(venv) + "'), module.__file__\n"
        "assert importlib.util.find_spec('models') is None and importlib.util.find_spec('core') is None\n"
        "spec = importlib.util.find_spec('datasets')\n"
        "assert spec is None or 'terrasynth' not in (spec.origin or ''), spec\n"
        "print('ok', terrasynth.__version__)\n"
    )
    result = subprocess.run([python, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok 0.1.0"
