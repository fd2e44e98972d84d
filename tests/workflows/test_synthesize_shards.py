"""`terrasynth synthesize --scheduler`: series sharded over workers by number, resumable, with the
files and STAC of a one-process run."""

import json

import numpy as np
import pytest
import torch
import xarray as xr
from PIL import Image

from terrasynth.workflows import synthesis_shards
from terrasynth.workflows.bundled import BUNDLED
from terrasynth.workflows.synthesize import synthesize

RUN = {"pairs": 5, "length": 3, "steps": 2, "seed": 4, "batch_size": 1, "show_progress": False}
# five pairs of consecutive dates: three series of three dates, drawn in shards of one series


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """About 190 x 110 m of the synthetic world's town at 1 m: six 64-pixel tiles, buildings and all."""
    from terrasynth.ingest.synthetic import SyntheticSource
    from terrasynth.workflows.ingest import run_ingest

    path = tmp_path_factory.mktemp("corpus") / "corpus.zarr"
    run_ingest(
        SyntheticSource(seed=0, date="2021-06-01"), "9.1740,45.8040,9.1765,45.8050", path, levels="1",
        tile_size=64, scheduler="threads", progress=False,
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def one_process(corpus, tmp_path_factory):
    """The one-process outputs of each layout, with one torch thread."""
    folder = tmp_path_factory.mktemp("one-process")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    outputs = {}
    for layout in ("levir-cd", "series"):
        outputs[layout] = synthesize(
            BUNDLED / "changen2", corpus, folder / layout / "out", layout=layout, **RUN
        )
    torch.set_num_threads(threads)
    return outputs


def files(folder):
    """Every file but the series store's, by its path in ``folder``: its bytes."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "series.zarr" not in p.parts
    }


def assert_same_outputs(ours, theirs, layout, exact: bool):
    assert (
        ours.pairs == theirs.pairs == (5 if layout == "levir-cd" else 6) and ours.series == theirs.series == 3
    )
    mine, reference = files(ours.path), files(theirs.path)
    assert sorted(mine) == sorted(reference)
    stac, expected = (json.loads(files["collection.json"]) for files in (mine, reference))
    assert stac == expected  # the same id, count, provenance
    mine.pop("collection.json"), reference.pop("collection.json")
    if layout == "series":
        a = xr.open_zarr(ours.path / "series.zarr", consolidated=False).load()
        b = xr.open_zarr(theirs.path / "series.zarr", consolidated=False).load()
        assert a.attrs == b.attrs and a.sizes == b.sizes
        assert a.semantic.equals(b.semantic) and a.change.equals(b.change)
        difference = np.abs(a.image.values.astype(int) - b.image.values).max()
    else:
        labels = [name for name in mine if "/label/" in name]
        assert len(labels) == 5 and all(mine[name] == reference[name] for name in labels)
        difference = max(
            np.abs(
                np.asarray(Image.open(ours.path / name), int) - np.asarray(Image.open(theirs.path / name))
            ).max()
            for name in mine
            if name.endswith(".png")
        )
    if exact:  # one process: the same arithmetic, bit for bit
        assert mine == reference and difference == 0 and ours.consistency == theirs.consistency
    else:
        # Another process may round float32 differently (another weight alignment): the drawn
        # reflectance moves by about 1e-5, a stored uint16 (x 1e4) or displayed uint8 value by one at most.
        assert difference <= 1
        assert ours.consistency == pytest.approx(theirs.consistency, rel=1e-3)


@pytest.mark.parametrize("layout", ["levir-cd", "series"])
def test_synthesis_in_shards_in_this_process_writes_the_one_process_outputs(
    corpus, one_process, tmp_path, layout
):
    summary = synthesize(
        BUNDLED / "changen2", corpus, tmp_path / "out", layout=layout, scheduler="threads", **RUN
    )
    assert_same_outputs(summary, one_process[layout], layout, exact=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary folder, no manifest left


@pytest.mark.parametrize("layout", ["levir-cd", "series"])
def test_a_killed_synthesis_resumes_without_drawing_a_finished_shard_again(
    corpus, one_process, tmp_path, monkeypatch, layout
):
    drawn, run_shard = [], synthesis_shards.run_shard

    def fails_after_two(drawing, writer_class, out, numbers, threads):
        if len(drawn) == 2:
            raise KeyboardInterrupt  # as Ctrl-C, or a kill, between shards
        drawn.append(numbers.start)
        return run_shard(drawing, writer_class, out, numbers, threads)

    monkeypatch.setattr(synthesis_shards, "run_shard", fails_after_two)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        synthesize(BUNDLED / "changen2", corpus, out, layout=layout, scheduler="threads", **RUN)
    assert not out.exists() and drawn == [0, 1]

    def counts(drawing, writer_class, out, numbers, threads):
        drawn.append(numbers.start)
        return run_shard(drawing, writer_class, out, numbers, threads)

    monkeypatch.setattr(synthesis_shards, "run_shard", counts)
    summary = synthesize(BUNDLED / "changen2", corpus, out, layout=layout, scheduler="threads", **RUN)
    assert sorted(drawn) == [0, 1, 2]  # each series once, over both runs
    assert_same_outputs(summary, one_process[layout], layout, exact=True)


@pytest.fixture(scope="module")
def two_workers():
    """A local Dask cluster of two single-threaded worker processes with one torch thread each."""
    from distributed import LocalCluster

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
        cluster.get_client() as client,
    ):
        client.run(torch.set_num_threads, 1)
        yield cluster.scheduler_address


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["levir-cd", "series"])
def test_synthesis_on_two_worker_processes_writes_the_one_process_outputs(
    corpus, one_process, two_workers, tmp_path, layout
):
    summary = synthesize(
        BUNDLED / "changen2", corpus, tmp_path / "out", layout=layout, scheduler=two_workers, **RUN
    )
    assert_same_outputs(summary, one_process[layout], layout, exact=False)


def test_a_series_store_appended_but_not_recorded_is_cut_back_on_resuming(
    corpus, one_process, tmp_path, monkeypatch
):
    run_shard = synthesis_shards.run_shard

    def fails_after_two(drawing, writer_class, out, numbers, threads):
        if numbers.start == 2:
            raise KeyboardInterrupt
        return run_shard(drawing, writer_class, out, numbers, threads)

    monkeypatch.setattr(synthesis_shards, "run_shard", fails_after_two)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        synthesize(BUNDLED / "changen2", corpus, out, layout="series", scheduler="threads", **RUN)
    # a kill between appending series 1 and recording it: the store holds a series the manifest lacks
    (tmp_path / ".out.partial.manifest" / "shards" / "1.json").unlink()
    monkeypatch.undo()
    summary = synthesize(BUNDLED / "changen2", corpus, out, layout="series", scheduler="threads", **RUN)
    assert_same_outputs(summary, one_process["series"], "series", exact=True)
