"""`check_corpus`: every finished tile present and decoding, each bad one named."""

import pytest
from pattern_source import PatternSource

from terrasynth.core import AreaOfInterest, CorpusError
from terrasynth.ingest.check import check_corpus
from terrasynth.ingest.writer import CorpusWriter, write_tile

AOI = "9.0,45.0,9.02,45.01"


@pytest.fixture
def corpus(tmp_path):
    """An incomplete corpus: all but the last 16 m tile written."""
    writer = CorpusWriter(
        tmp_path / "c.zarr", AreaOfInterest.parse(AOI), "60,16", PatternSource(), tile_size=32
    )
    for tile in list(writer.open())[:-1]:
        write_tile(writer, tile)
    return writer.path


def test_check_names_each_bad_finished_tile_and_ignores_unfinished_ones(corpus, generators):
    corrupt = generators("corrupt")
    assert check_corpus(corpus).bad == []
    corrupt.delete_chunk(corpus, "r00_utm32n/16m", "landcover", 0)
    corrupt.truncate_chunk(corpus, "r00_utm32n/16m", "image", 1)
    result = check_corpus(corpus)
    assert result.tiles == 12 and result.bad_tiles == 2
    assert [str(tile).split(": ")[0] for tile in result.bad] == [
        "r00_utm32n/16m image tile row 0 col 1",
        "r00_utm32n/16m landcover tile row 0 col 0",
    ]
    assert result.bad[1].problem == "missing" and result.bad[0].problem.startswith("does not decode (")


def test_check_names_a_lost_level(corpus, generators):
    generators("corrupt").drop_level(corpus, "r00_utm32n/60m")
    with pytest.raises(CorpusError, match="has no level 60m, which the corpus records"):
        check_corpus(corpus)
