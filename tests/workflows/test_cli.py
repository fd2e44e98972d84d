"""The installed ``terrasynth`` script: version, help, one-line errors, --debug tracebacks."""

import shutil
import subprocess

import pytest

from terrasynth import __version__

SCRIPT = shutil.which("terrasynth")


def run(*args):
    assert SCRIPT, "the terrasynth script is not installed in this environment"
    return subprocess.run([SCRIPT, *args], capture_output=True, text=True, timeout=600)


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


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ingest",), "Missing option '--aoi'. (see terrasynth ingest --help)"),
        (("no-such-command",), "No such command 'no-such-command'. (see terrasynth --help)"),
        (("ingest", "--aoi", "0,0,1,1", "--tile-size", "abc"), "Invalid value for '--tile-size'"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(args, message):
    result = run(*args)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"terrasynth: error: {message}")


def test_a_file_where_a_folder_is_expected_is_one_line_naming_it(tmp_path):
    (tmp_path / "file").write_text("")
    result = run("preview", "--size", "100", "--out", str(tmp_path / "file" / "preview.png"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert str(tmp_path / "file") in result.stderr  # the file in the way, named


def test_a_command_group_without_a_command_shows_its_help():
    result = run("train")
    assert result.returncode == 2 and "metaearth" in result.stdout + result.stderr
