"""The installed ``terrasynth`` script: version, help, one-line errors, --debug tracebacks."""

import shutil
import subprocess

import pytest

from terrasynth import __version__

SCRIPT = shutil.which("terrasynth")


def run(*args):
    assert SCRIPT, "the terrasynth script is not installed in this environment"
    return subprocess.run([SCRIPT, *args], capture_output=True, text=True, timeout=120)


def test_version():
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"terrasynth {__version__}"


def test_help_lists_commands():
    result = run("--help")
    assert result.returncode == 0
    assert "ingest" in result.stdout and "--debug" in result.stdout


def test_known_error_is_one_line_and_exit_2():
    result = run("ingest", "--aoi", "0,2,1,1", "--dry-run")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("terrasynth: error: bbox south 2.0 must be below north 1.0")
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback():
    result = run("--debug", "ingest", "--aoi", "0,2,1,1", "--dry-run")
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "AOIError" in result.stderr


@pytest.mark.parametrize("args", [("ingest",), ("no-such-command",)])
def test_usage_errors_exit_2(args):
    assert run(*args).returncode == 2
