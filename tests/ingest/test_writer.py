import json
from concurrent.futures import Executor, Future, ThreadPoolExecutor

import numpy as np
import pytest
import xarray as xr
from corpus_bytes import assert_same_corpus
from pattern_source import PatternSource, read_log

from terrasynth.core import AreaOfInterest, CorpusError, Level, SourceError, dataset_grid, open_corpus
from terrasynth.core.manifest import TileManifest
from terrasynth.ingest import writer as writer_module
from terrasynth.ingest.writer import CorpusWriter, write_tiles

TRIANGLE = "POLYGON((9.0 45.0, 9.02 45.0, 9.0 45.01, 9.0 45.0))"


def build(path, source, *, aoi=TRIANGLE, levels="60,16", overwrite=False):
    writer = CorpusWriter(path, AreaOfInterest.parse(aoi), levels, source, tile_size=32)
    pending = writer.open(overwrite=overwrite)
    results = []
    with ThreadPoolExecutor(4) as executor:
        written = write_tiles(writer, pending, executor, on_result=results.append)
    assert written == len(results)
    return writer, pending, results


def test_corpus_holds_the_source_on_every_level(tmp_path):
    source = PatternSource()
    writer, pending, results = build(tmp_path / "c.zarr", source)
    assert len(results) == len(pending) == len(writer.tiles()) == 13
    with pytest.raises(CorpusError, match="incomplete"):
        open_corpus(writer.path)
    stac = writer.finish()
    tree = open_corpus(writer.path)
    region = AreaOfInterest.parse(TRIANGLE).regions()[0]
    for name in ("60m", "16m"):
        ds = tree[f"{region.name}/{name}"].to_dataset()
        grid = dataset_grid(ds)
        expected = source.read(grid, Level.parse(name))
        np.testing.assert_array_equal(ds.image.values, expected.image.values)
        np.testing.assert_array_equal(ds.landcover.values, expected.landcover.values)
        inside = region.inside(grid)
        assert inside.any() and (~inside).any()  # the triangle leaves part of each grid outside
        np.testing.assert_array_equal(ds.valid.values, expected.valid.values & inside)
    assert tree[f"{region.name}/16m"].image.chunks[1][0] == 32
    collection = json.loads(stac.read_text())
    assert collection["assets"]["corpus"]["href"] == "../c.zarr"
    assert collection["terrasynth"]["levels"] == ["60m", "16m"]
    assert collection["extent"]["spatial"]["bbox"][0] == pytest.approx([9.0, 45.0, 9.02, 45.01])


def test_a_failed_tile_leaves_the_rest_and_a_rerun_fetches_only_it(tmp_path):
    path, log = tmp_path / "c.zarr", tmp_path / "reads.log"
    first = CorpusWriter(path, AreaOfInterest.parse(TRIANGLE), "60,16", PatternSource(), tile_size=32)
    grid16 = first.grids[(first.tiles()[0].region, "16m")]
    bad = ("16m", round(grid16.transform.c + 32 * 16), round(grid16.transform.f))  # tile row 0, col 1
    with pytest.raises(SourceError, match=r"tile r00_utm32n/16m row 0 col 1: injected permanent failure"):
        build(path, PatternSource(log=log, fail_at=bad))
    finished = TileManifest(path).finished()
    assert ("r00_utm32n", "16m", 0, 1) not in finished and len(finished) >= 1
    with pytest.raises(CorpusError, match="lacks"):
        first.finish()
    reads_before = len(read_log(log))

    writer, pending, _ = build(path, PatternSource(log=log))
    reread = read_log(log)[reads_before:]
    assert len(reread) == len(pending) == 13 - len(finished)
    assert bad in [entry[:3] for entry in reread]
    writer.finish()

    reference, _, _ = build(tmp_path / "reference.zarr", PatternSource())
    reference.finish()
    assert_same_corpus(path, reference.path)


def test_a_complete_corpus_is_not_fetched_again(tmp_path):
    log = tmp_path / "reads.log"
    writer, _, _ = build(tmp_path / "c.zarr", PatternSource(log=log))
    writer.finish()
    reads = len(read_log(log))
    writer, pending, results = build(tmp_path / "c.zarr", PatternSource(log=log))
    assert len(pending) == 0 and results == [] and len(read_log(log)) == reads
    writer.finish()
    assert open_corpus(writer.path).attrs["status"] == "complete"


def test_other_settings_do_not_resume_but_overwrite_starts_over(tmp_path):
    build(tmp_path / "c.zarr", PatternSource(), levels="60")
    with pytest.raises(CorpusError, match=r"other settings \(bands, levels differ\)"):
        build(tmp_path / "c.zarr", PatternSource())
    writer, pending, _ = build(tmp_path / "c.zarr", PatternSource(), overwrite=True)
    assert len(pending) == len(writer.tiles()) == 13
    writer.finish()
    assert [level.name for level in writer.levels] == ["60m", "16m"]


def test_a_store_without_manifest_is_never_overwritten(tmp_path):
    xr.Dataset({"a": ("x", [1, 2])}).to_zarr(tmp_path / "c.zarr", consolidated=False)
    with pytest.raises(CorpusError, match="has no ingest manifest beside it: pass --overwrite"):
        build(tmp_path / "c.zarr", PatternSource())


class FloatSource(PatternSource):
    def read(self, grid, level):
        ds = super().read(grid, level)
        return ds.assign(image=ds.image.astype(np.float32) / 1e4)


def test_a_source_breaking_the_contract_is_named(tmp_path):
    with pytest.raises(SourceError, match=r"row 0 col 0: the pattern source returned image as float32"):
        build(tmp_path / "c.zarr", FloatSource(), levels="60")


@pytest.mark.parametrize(
    "damage, lost",
    [
        (lambda corrupt, path: corrupt.delete_chunk(path, "r00_utm32n/16m", "image", 2), {("16m", 0, 2)}),
        (lambda corrupt, path: corrupt.truncate_chunk(path, "r00_utm32n/16m", "valid", 7), {("16m", 1, 3)}),
        (lambda corrupt, path: corrupt.drop_level(path, "r00_utm32n/60m"), {("60m", 0, 0)}),
    ],
    ids=["deleted-chunk", "truncated-chunk", "lost-level"],
)
def test_ingest_rerun_refetches_exactly_the_damaged_tiles_to_the_same_bytes(
    tmp_path, generators, damage, lost
):
    log = tmp_path / "reads.log"
    reference, _, _ = build(tmp_path / "reference.zarr", PatternSource())
    reference.finish()
    writer, _, _ = build(tmp_path / "c.zarr", PatternSource(log=log))
    writer.finish()
    damage(generators("corrupt"), writer.path)
    reads_before = len(read_log(log))

    writer, pending, _ = build(tmp_path / "c.zarr", PatternSource(log=log))
    assert {(tile.level, tile.row, tile.col) for tile in pending} == lost
    assert len(read_log(log)) - reads_before == len(lost)
    assert open_corpus(writer.path, allow_incomplete=True).attrs["status"] == "incomplete"  # until finished
    writer.finish()
    assert_same_corpus(writer.path, reference.path)


def test_write_tiles_draws_tiles_only_as_earlier_ones_finish(tmp_path):
    writer = CorpusWriter(
        tmp_path / "c.zarr", AreaOfInterest.parse(TRIANGLE), "60,16", PatternSource(delay=0.01), tile_size=32
    )
    pending, results, outstanding = writer.open(), [], []

    def drawn():
        for tile in pending:
            outstanding.append(
                len(outstanding) + 1 - len(results)
            )  # submitted, not yet reported, with this one
            yield tile

    with ThreadPoolExecutor(4) as executor:
        assert write_tiles(writer, drawn(), executor, on_result=results.append, max_in_flight=3) == 13
    assert max(outstanding) == 3
    writer.finish()


class _AtOnce(Executor):
    """Runs each task as it is submitted: every tile has finished by the time write_tiles waits."""

    def submit(self, fn, /, *args, **kwargs):
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:
            future.set_exception(error)
        return future


def test_of_tiles_that_failed_together_the_first_submitted_is_raised(monkeypatch):
    # on a busy machine several tiles can fail before write_tiles looks: it names the first one
    def failing(writer, tile, limiter):
        raise SourceError(f"tile {tile} failed")

    monkeypatch.setattr(writer_module, "write_tile", failing)
    with pytest.raises(SourceError, match=r"^tile 0 failed$"):
        write_tiles(None, range(16), _AtOnce(), max_in_flight=16)
