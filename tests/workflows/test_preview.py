"""``terrasynth preview``: options, output and one-line errors."""

import errno
from pathlib import Path

import pytest
from PIL import Image

from terrasynth.workflows.cli import main


def run(capsys, *args) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    captured = capsys.readouterr()
    return exit_.value.code or 0, captured.out, captured.err


def test_preview_writes_a_png_and_a_summary(tmp_path, capsys):
    out = tmp_path / "area.png"
    code, stdout, _ = run(capsys, "preview", "--center", "9.15,45.80", "--size", "960", "--gsd", "60",
                          "--seed", "2", "--date1", "2017-05-01", "--date2", "2024-08-01", "--out", str(out))  # fmt: skip
    assert code == 0
    summary = " ".join(stdout.split())
    assert "16 x 16 px at 60 m in EPSG:32632" in summary and "Changed since 2017-05-01" in summary
    with Image.open(out) as image:
        assert image.width == 4 * 16 + 3 * 4


def test_preview_takes_a_bbox(tmp_path, capsys):
    out = tmp_path / "box.png"
    code, _, _ = run(capsys, "preview", "--bbox", "9.15,45.80,9.16,45.805", "--gsd", "60", "--out", str(out))
    assert code == 0 and out.is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--center", "9.15"), "--center needs 2 comma-separated numbers, got '9.15'"),
        (("--clouds", "2"), "--clouds: Input should be less than or equal to 1"),
        (("--date1", "yesterday"), "cannot read a date from 'yesterday'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, message):
    code, _, stderr = run(
        capsys, "preview", *args, "--size", "120", "--gsd", "60", "--out", str(tmp_path / "x.png")
    )
    assert code == 2
    assert stderr.startswith(f"terrasynth: error: {message}") and stderr.count("\n") == 1
    assert not (tmp_path / "x.png").exists()


def test_preview_refuses_to_overwrite_an_existing_png(tmp_path, capsys):
    out = tmp_path / "preview.png"
    out.write_bytes(b"mine")
    args = ("preview", "--size", "120", "--gsd", "60", "--out", str(out))
    code, _, stderr = run(capsys, *args)
    assert code == 2 and stderr.count("\n") == 1 and "preview.png exists: pass --overwrite" in stderr
    assert out.read_bytes() == b"mine"
    code, _, _ = run(capsys, *args, "--overwrite")
    assert code == 0 and Image.open(out).width > 0


def test_preview_on_a_full_disk_leaves_no_png(tmp_path, capsys, monkeypatch):
    def full(self, fp, *args, **kwargs):
        Path(fp).write_bytes(b"\x89PNG half")
        raise OSError(errno.ENOSPC, "No space left on device", str(fp))

    monkeypatch.setattr(Image.Image, "save", full)
    code, _, stderr = run(capsys, "preview", "--size", "120", "--gsd", "60", "--out", str(tmp_path / "p.png"))
    assert code == 2 and stderr.count("\n") == 1 and "No space left on device" in stderr
    assert not list(tmp_path.iterdir())
