"""`terrasynth check`, and the commands that read a corpus refusing a damaged one in one line."""

import shutil

import pytest

from terrasynth.core import parse_levels
from terrasynth.workflows.cli import main


def run(*args) -> int:
    with pytest.raises(SystemExit) as exit:
        main([str(arg) for arg in args])
    return exit.value.code


@pytest.fixture(scope="module")
def pristine(generators, tmp_path_factory):
    path = tmp_path_factory.mktemp("pristine") / "corpus.zarr"
    return generators("corpus").build_corpus(path, levels=parse_levels("60,16"))


@pytest.fixture
def damaged(pristine, generators, tmp_path):
    """A copy of the corpus (and its manifest) with a 16 m image chunk deleted and another truncated."""
    copy = shutil.copytree(pristine, tmp_path / "corpus.zarr")
    shutil.copytree(f"{pristine}.manifest", tmp_path / "corpus.zarr.manifest")
    generators("corrupt").truncate_chunk(copy, "r00_utm32n/16m", "image", 3)  # c/0/0/3
    generators("corrupt").delete_chunk(copy, "r00_utm32n/16m", "image", 0)
    return copy


def test_check_of_a_sound_corpus_says_so(pristine, capsys):
    with pytest.raises(SystemExit) as exit:
        main(["check", pristine])
    assert exit.value.code in (0, None)
    assert capsys.readouterr().out.strip() == f"{pristine}: all 13 finished tiles present and decodable"


def test_check_names_each_damaged_tile_and_how_to_repair_it(damaged, capsys):
    assert run("check", damaged) == 2
    printed = capsys.readouterr()
    missing, truncated = printed.out.splitlines()
    assert missing == "r00_utm32n/16m image tile row 0 col 0: missing"
    assert truncated.startswith("r00_utm32n/16m image tile row 0 col 3: does not decode (")
    assert printed.err.count("\n") == 1
    assert printed.err.startswith(
        f"terrasynth: error: {damaged} has 2 damaged tile(s), listed above: rerun the same"
    )


@pytest.mark.parametrize(
    "command",
    [
        [
            "train",
            "metaearth",
            "--corpus",
            "{corpus}",
            "--level",
            "16m",
            "--tile-size",
            "32",
            "--out",
            "{out}",
        ],
        [
            "train",
            "changen2",
            "--corpus",
            "{corpus}",
            "--level",
            "16m",
            "--tile-size",
            "32",
            "--out",
            "{out}",
        ],
        ["evaluate", "generation", "--real", "{corpus}", "--generated", "{pristine}", "--out", "{out}.nc"],
    ],
    ids=["train-metaearth", "train-changen2", "evaluate-generation"],
)
def test_commands_refuse_a_corpus_with_a_deleted_chunk_in_one_line(
    command, damaged, pristine, tmp_path, capsys
):
    names = {"corpus": damaged, "pristine": pristine, "out": tmp_path / "out"}
    assert run(*(part.format(**names) for part in command)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(
        f"terrasynth: error: {damaged} is damaged: 1 tile(s) lack chunks, e.g. r00_utm32n/16m image tile row 0 col 0"
    )
    assert f"run `terrasynth check {damaged}` and rerun the same `terrasynth ingest`" in err
