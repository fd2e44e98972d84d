import numpy as np
import pytest
import xarray as xr
import zarr

from terrasynth.core import (
    DEFAULT_LADDER,
    WORLDCOVER,
    AreaOfInterest,
    CorpusError,
    corpus_levels,
    corpus_regions,
    corpus_template,
    dataset_grid,
    mark_complete,
    open_corpus,
    reflectance,
)

BANDS = ["B2", "B3", "B4", "B8"]


def write_corpus(path, aoi="9.0,45.0,9.02,45.01", tile_size=64, complete=True):
    """A small corpus: template, then every level written (its first tile holds data, the rest no
    data), every chunk stored as the writer does, then marked complete."""
    area = AreaOfInterest.parse(aoi)
    tree = corpus_template(
        area, area.regions(), DEFAULT_LADDER, BANDS, source={"name": "test"}, tile_size=tile_size
    )
    tree.to_zarr(path, mode="w", compute=False, consolidated=False)
    for group in tree.subtree:
        if "image" not in group.dataset:
            continue
        data = group.to_dataset()[["image", "landcover", "valid"]].drop_vars(
            ["x", "y", "band", "spatial_ref"]
        )
        data = data.copy(data={name: np.zeros(data[name].shape, data[name].dtype) for name in data})
        first = dict(y=slice(0, tile_size), x=slice(0, tile_size))
        data.image[{"band": slice(None), **first}] = 1234
        data.landcover[first] = 40
        data.valid[first] = True
        data.to_zarr(path, group=group.path, mode="r+", consolidated=False, write_empty_chunks=True)
    if complete:
        mark_complete(path)
    return path


def test_round_trip(tmp_path):
    path = write_corpus(tmp_path / "c.zarr")
    tree = open_corpus(path)
    assert corpus_regions(tree) == ["r00_utm32n"]
    assert corpus_levels(tree) == DEFAULT_LADDER
    assert tree.attrs["status"] == "complete" and tree.attrs["source"] == {"name": "test"}
    ds = tree["r00_utm32n/16m"].to_dataset()
    assert ds.image.dtype == np.uint16 and ds.landcover.dtype == np.uint8 and ds.valid.dtype == bool
    assert ds.image.chunks[1][0] == 64
    assert list(ds.band.values) == BANDS
    assert float(reflectance(ds.image)[0, 0, 0]) == pytest.approx(0.1234)
    assert int(ds.landcover[0, 0]) == 40 and bool(ds.valid[0, 0])
    assert not bool(ds.valid[-1, -1])  # no data
    grid = dataset_grid(ds)
    assert grid.crs == "EPSG:32632" and grid.resolution == 16.0
    assert grid.bounds == dataset_grid(tree["r00_utm32n/60m"].to_dataset()).bounds
    assert (
        xr.open_dataset(
            path, group="r00_utm32n/4m", engine="zarr", decode_coords="all", consolidated=False
        ).rio.crs.to_epsg()
        == 32632
    )


def test_levels_of_a_region_align(tmp_path):
    tree = open_corpus(write_corpus(tmp_path / "c.zarr"))
    g60 = dataset_grid(tree["r00_utm32n/60m"].to_dataset())
    g16 = dataset_grid(tree["r00_utm32n/16m"].to_dataset())
    assert g60.transform.c == g16.transform.c and g60.transform.f == g16.transform.f
    assert g16.shape[0] * 16 == g60.shape[0] * 60


def test_incomplete_corpus_is_refused(tmp_path):
    path = write_corpus(tmp_path / "c.zarr", complete=False)
    with pytest.raises(CorpusError, match="incomplete"):
        open_corpus(path)
    assert open_corpus(path, allow_incomplete=True).attrs["status"] == "incomplete"


def test_not_a_corpus(tmp_path):
    with pytest.raises(CorpusError, match="no Zarr store"):
        open_corpus(tmp_path / "nothing.zarr")
    xr.Dataset(attrs={"format": "other"}).to_zarr(tmp_path / "other.zarr", consolidated=False)
    with pytest.raises(CorpusError, match="'format' is 'other'"):
        open_corpus(tmp_path / "other.zarr")


def _break(path, group, action):
    store = zarr.open_group(str(path), mode="r+")
    action(store[group] if group else store)


@pytest.mark.parametrize(
    "group, action, message",
    [
        ("", lambda g: g.attrs.update(format_version=99), "version 99 is not supported"),
        ("", lambda g: g.attrs.__delitem__("aoi"), "'aoi' is missing"),
        ("r00_utm32n/16m", lambda g: g.__delitem__("valid"), "16m: variable 'valid' is missing"),
        ("r00_utm32n/16m/landcover", lambda g: g.attrs.__delitem__("flag_values"), "class table"),
        ("r00_utm32n/4m/image", None, r"4m: image has dimensions \('channel', 'y', 'x'\)"),
    ],
)
def test_malformed_corpora_are_named(tmp_path, group, action, message):
    path = write_corpus(tmp_path / "c.zarr")
    if action is None:  # zarr v3 keeps dimension names in the array metadata: rename one there
        meta = path / group / "zarr.json"
        meta.write_text(meta.read_text().replace('"band"', '"channel"'))
    else:
        _break(path, group, action)
    with pytest.raises(CorpusError, match=message):
        open_corpus(path)


def test_misaligned_levels_are_named(tmp_path):
    path = write_corpus(tmp_path / "c.zarr")
    tree = xr.open_datatree(path, engine="zarr", consolidated=False, decode_coords="all")
    shifted = tree["r00_utm32n/4m"].to_dataset().load()
    shifted = shifted.assign_coords(x=shifted.x + 4.0)
    shifted = shifted.rio.write_transform(shifted.rio.transform(recalc=True))
    shifted.to_zarr(path, group="r00_utm32n/4m", mode="w", consolidated=False)
    with pytest.raises(CorpusError, match="do not share origin"):
        open_corpus(path)


def test_credentials_never_enter_provenance():
    area = AreaOfInterest.parse("9.0,45.0,9.02,45.01")
    with pytest.raises(CorpusError, match=r"source\.auth\.key_file looks like a credential"):
        corpus_template(area, area.regions(), DEFAULT_LADDER, BANDS, source={"auth": {"key_file": "k.json"}})


def test_land_cover_table_travels(tmp_path):
    from terrasynth.core import ClassTable

    tree = open_corpus(write_corpus(tmp_path / "c.zarr"))
    assert ClassTable.from_attrs(tree["r00_utm32n/60m"].landcover.attrs) == WORLDCOVER
