"""A damaged corpus (a deleted or truncated chunk, a lost level) is named, never read as zeros."""

import shutil

import pytest

from terrasynth.core import CorpusError, open_corpus
from terrasynth.core.corpus_check import find_bad_tiles

LEVELS = "60,16"


@pytest.fixture(scope="module")
def pristine(generators, tmp_path_factory):
    """A complete corpus at 60 and 16 m (one 60 m tile, 3 x 4 tiles of 32 pixels at 16 m)."""
    from terrasynth.core import parse_levels

    path = tmp_path_factory.mktemp("pristine") / "corpus.zarr"
    return generators("corpus").build_corpus(path, levels=parse_levels(LEVELS))


@pytest.fixture
def corpus(pristine, tmp_path):
    """A copy of the pristine corpus to damage."""
    return shutil.copytree(pristine, tmp_path / "corpus.zarr")


def test_opening_a_corpus_with_a_deleted_chunk_names_the_tile_and_the_fix(corpus, generators):
    generators("corrupt").delete_chunk(corpus, "r00_utm32n/16m", "image", 5)  # c/0/1/1
    with pytest.raises(CorpusError) as error:
        open_corpus(corpus)
    message = str(error.value)
    assert "is damaged: 1 tile(s) lack chunks, e.g. r00_utm32n/16m image tile row 1 col 1: missing" in message
    assert f"run `terrasynth check {corpus}` and rerun the same `terrasynth ingest`" in message
    assert "\n" not in message


def test_opening_a_corpus_that_lost_a_level_names_the_level(corpus, generators):
    generators("corrupt").drop_level(corpus, "r00_utm32n/60m")
    with pytest.raises(
        CorpusError, match=r"r00_utm32n has no level 60m, which the corpus records \(60m, 16m\)"
    ):
        open_corpus(corpus)


def test_a_truncated_chunk_is_found_by_decoding_only(corpus, generators):
    generators("corrupt").truncate_chunk(corpus, "r00_utm32n/16m", "valid", 2)  # c/0/2
    assert find_bad_tiles(corpus, decode=False) == []
    open_corpus(corpus)  # the cheap check reads no chunk
    [bad] = find_bad_tiles(corpus)
    assert (bad.region, bad.level, bad.variable, bad.row, bad.col) == ("r00_utm32n", "16m", "valid", 0, 2)
    assert str(bad).startswith("r00_utm32n/16m valid tile row 0 col 2: does not decode (")


def test_only_the_tiles_asked_for_are_checked(corpus, generators):
    generators("corrupt").delete_chunk(corpus, "r00_utm32n/16m", "landcover", 0)
    assert find_bad_tiles(corpus, [("r00_utm32n", "16m", 0, 1), ("r00_utm32n", "60m", 0, 0)]) == []
    [bad] = find_bad_tiles(corpus, [("r00_utm32n", "16m", 0, 0)])
    assert bad.key == ("r00_utm32n", "16m", 0, 0) and bad.problem == "missing"


def test_a_corpus_every_tile_of_which_is_stored_passes(pristine):
    assert find_bad_tiles(pristine) == []


def test_a_group_where_a_variable_should_be_is_reported_missing(corpus):
    import zarr

    shutil.rmtree(corpus / "r00_utm32n" / "16m" / "valid")
    zarr.open_group(str(corpus), mode="a").create_group("r00_utm32n/16m/valid")  # a foreign store's layout
    [bad] = find_bad_tiles(corpus, [("r00_utm32n", "16m", 0, 1)])
    assert (bad.variable, bad.problem) == ("valid", "missing")
