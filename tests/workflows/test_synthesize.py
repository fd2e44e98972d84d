"""``terrasynth train changen2`` and ``terrasynth synthesize`` end to end on a synthetic-world corpus,
and synthesis from a folder of unlabelled images."""

import errno
import json

import numpy as np
import pytest
import rasterio
import torch
from PIL import Image
from typer.testing import CliRunner

from terrasynth.core import write_png
from terrasynth.datasets import LEVIRCDFolder, SECONDFolder, open_change_set
from terrasynth.models.changen2 import Changen2Model
from terrasynth.workflows.cli import app, main
from terrasynth.workflows.synthesize import synthesize
from terrasynth.workflows.train_changen2 import train_changen2

torch.set_num_threads(1)  # tiny models on a shared CI machine


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """About 0.6 x 0.55 km of the synthetic world's town by the lake at 4 m: four 64-pixel tiles."""
    from terrasynth.ingest.synthetic import SyntheticSource
    from terrasynth.workflows.ingest import run_ingest

    path = tmp_path_factory.mktemp("corpus") / "corpus.zarr"
    run_ingest(
        SyntheticSource(seed=0, date="2021-06-01"), "9.17,45.80,9.178,45.805", path, levels="4",
        tile_size=64, scheduler="threads", progress=False,
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def trained(corpus, tmp_path_factory):
    """The model folder of a tiny land-cover model trained for two steps through the CLI."""
    out = tmp_path_factory.mktemp("train") / "run"
    args = ["train", "changen2", "--corpus", str(corpus), "--level", "4m", "--preset", "tiny", "--out", str(out),
            "--tile-size", "64", "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "2",
            "--sample-steps", "1"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Trained a tiny RS-DiT" in result.output
    return out / "model"


def _synthesize(trained, corpus, out, *extra):
    args = ["synthesize", "--checkpoint", str(trained), "--from", str(corpus), "--out", str(out),
            "--steps", "2", "--seed", "3", *extra]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Wrote" in result.output and "ratio" in result.output
    return result.output


def test_training_leaves_a_model_of_the_corpus(trained):
    model = Changen2Model.from_pretrained(trained)
    assert model.bands == ("B2", "B3", "B4", "B8") and model.gsd == 4.0 and model.tile_size == 64
    assert (
        model.encoding.kind == "landcover" and model.encoding.channels == 13
    )  # WorldCover, buildings, boundary


def test_levir_cd_pairs_of_consecutive_dates(trained, corpus, tmp_path):
    out = tmp_path / "levir"
    _synthesize(trained, corpus, out, "--pairs", "3", "--length", "3", "--exact-carry-over")
    pairs = open_change_set(out, "train")
    assert isinstance(pairs, LEVIRCDFolder) and len(pairs) == 3
    assert sorted(pairs.names) == ["000000_t0_t1.png", "000000_t1_t2.png", "000001_t0_t1.png"]
    sample = pairs[0]
    assert sample["image"].shape == (2, 3, 64, 64) and set(sample["mask"].unique().tolist()) <= {0, 1}
    changed = sample["mask"].bool()
    assert changed.any()
    difference = (sample["image"][1] - sample["image"][0]).abs().mean(0)
    grown = torch.nn.functional.max_pool2d(changed[None].float(), 3, 1, 1)[0].bool()
    assert difference[~grown].max() == 0 and difference[changed].mean() > 0  # unchanged pixels are kept
    provenance = json.loads((out / "collection.json").read_text())["terrasynth"]
    assert provenance["layout"] == "levir-cd" and provenance["seed"] == 3 and provenance["count"] == 3
    assert not list(tmp_path.glob(".*partial"))


def test_building_only_pairs_change_only_where_buildings_change(trained, corpus, tmp_path):
    out = tmp_path / "buildings"
    _synthesize(
        trained,
        corpus,
        out,
        "--pairs",
        "4",
        "--change",
        "buildings",
        "--buildings-only",
        "--exact-carry-over",
    )
    pairs = open_change_set(out, "train")
    assert len(pairs) == 4 and any(sample["mask"].any() for sample in pairs)
    for sample in pairs:
        # no class transitions are simulated: beyond the redrawn margin (1 px) of the labelled
        # building changes, date 2 is date 1
        difference = (sample["image"][1] - sample["image"][0]).abs().sum(0)
        grown = torch.nn.functional.max_pool2d(sample["mask"][None].float(), 3, 1, 1)[0].bool()
        assert difference[~grown].max() == 0


def test_building_pairs_hold_unlabelled_land_cover_change_as_real_pairs_do(trained, corpus, tmp_path):
    out = tmp_path / "buildings"
    _synthesize(trained, corpus, out, "--pairs", "4", "--change", "buildings", "--exact-carry-over")
    pairs = open_change_set(out, "train")
    outside = []
    for sample in pairs:
        difference = (sample["image"][1] - sample["image"][0]).abs().sum(0)
        grown = torch.nn.functional.max_pool2d(sample["mask"][None].float(), 3, 1, 1)[0].bool()
        outside.append(int((difference[~grown] > 0).sum()))
    # other classes changed between the dates (redrawn, so they differ) without a label
    assert sum(outside) > 0
    assert json.loads((out / "collection.json").read_text())["terrasynth"]["unlabelled_change"] is True


def test_second_pairs_with_semantic_labels(trained, corpus, tmp_path):
    out = tmp_path / "second"
    _synthesize(
        trained, corpus, out, "--pairs", "2", "--layout", "second", "--pairing", "first-last", "--length", "3"
    )
    pairs = SECONDFolder(out, "train")
    assert len(pairs) == 2 and pairs.names == ["000000_t0_t2.png", "000001_t0_t2.png"]
    for sample in pairs:
        changed = sample["mask"].bool()
        assert sample["semantic"].shape == (2, 64, 64)
        assert (sample["semantic"][:, changed] >= 1).all() and (sample["semantic"][:, ~changed] == 0).all()
        assert (sample["semantic"][0] != sample["semantic"][1])[changed].all()


def test_series_layout_and_the_same_seed_gives_the_same_data(trained, corpus, tmp_path):
    first = synthesize(
        trained, corpus, tmp_path / "a", pairs=3, length=3, layout="series", steps=2, show_progress=False
    )
    assert first.series == 2 and first.pairs == 4 and first.consistency["ratio"] < 0.5
    pairs = open_change_set(tmp_path / "a" / "series.zarr", pairs="consecutive")
    assert len(pairs) == 4 and pairs[0]["image"].shape == (2, 4, 64, 64)
    again = synthesize(
        trained, corpus, tmp_path / "b", pairs=3, length=3, layout="series", steps=2, show_progress=False
    )
    other = synthesize(
        trained,
        corpus,
        tmp_path / "c",
        pairs=3,
        length=3,
        layout="series",
        steps=2,
        seed=1,
        show_progress=False,
    )
    arrays = [open_change_set(run.path / "series.zarr", pairs="consecutive") for run in (first, again, other)]
    assert all(torch.equal(arrays[0][i]["image"], arrays[1][i]["image"]) for i in range(4))
    assert not all(torch.equal(arrays[0][i]["image"], arrays[2][i]["image"]) for i in range(4))


@pytest.fixture(scope="module")
def pseudo_model(generators, tmp_path_factory):
    """A tiny RGB model trained on pseudo-masks (for unlabelled images)."""
    samples = generators("changen2", "make_samples.py")
    out = tmp_path_factory.mktemp("pseudo") / "run"
    return train_changen2(
        samples.MaskedTiles(4, 32, channels=3), out, mask="pseudo", pseudo_classes=4, max_epochs=1,
        steps_per_epoch=1, batch_size=2, sample_steps=1, samples=1,
    )  # fmt: skip


def test_a_folder_of_unlabelled_images_gets_pseudo_masks(pseudo_model, generators, tmp_path):
    samples = generators("changen2", "make_samples.py")
    folder = tmp_path / "images"
    folder.mkdir()
    image = samples.render(samples.make_masks.landcover_mask((64, 96)), channels=3)  # B2, B3, B4
    Image.fromarray((image[::-1].transpose(1, 2, 0) / 0.3 * 255).clip(0, 255).astype(np.uint8)).save(
        folder / "a.png"
    )
    profile = {"driver": "GTiff", "width": 64, "height": 32, "count": 3, "dtype": "uint16", "crs": "EPSG:32632",
               "transform": rasterio.Affine(4, 0, 500_000, 0, -4, 5_000_000)}  # fmt: skip
    with rasterio.open(folder / "b.tif", "w", **profile) as tif:
        tif.write((image[:, :32, :64] * 1e4).astype(np.uint16))
    summary = synthesize(
        pseudo_model, folder, tmp_path / "out", pairs=8, length=2, steps=1, gsd=4.0, show_progress=False
    )
    pairs = LEVIRCDFolder(tmp_path / "out", "train")
    assert summary.pairs == len(pairs) == 8 and pairs[0]["image"].shape == (2, 3, 32, 32)
    firsts = {pairs[i]["image"][0].numpy().tobytes() for i in range(8)}
    assert len(firsts) == 8  # the 6 + 2 tiles of the two images, each once, in a seeded order


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--layout", "zarr"], "Invalid value for '--layout': Value error, 'zarr' is not one of 'levir-cd'"),
        (["--length", "1"], "length >= 2"),
        (["--size", "62"], "multiple of 4"),
    ],
)
def test_bad_requests_fail_with_one_line(trained, corpus, tmp_path, capsys, extra, message):
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "synthesize",
                "--checkpoint",
                str(trained),
                "--from",
                str(corpus),
                "--out",
                str(tmp_path / "o"),
                *extra,
            ]
        )
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert message in error and "\n" not in error
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(("option", "value"), [("layout", "zarr"), ("pairing", "all"), ("change", "roads")])
def test_python_callers_get_the_same_choices_as_the_command(trained, corpus, tmp_path, option, value):
    from terrasynth.core.errors import ConfigError

    with pytest.raises(ConfigError, match=f"{option} '{value}' is unknown; use one of"):
        synthesize(trained, corpus, tmp_path / "o", **{option: value})
    assert not list(tmp_path.iterdir())


def test_a_folder_needs_a_pseudo_mask_model(trained, tmp_path, capsys):
    (tmp_path / "images").mkdir()
    Image.new("RGB", (64, 64)).save(tmp_path / "images" / "a.png")
    with pytest.raises(SystemExit):
        main(
            [
                "synthesize",
                "--checkpoint",
                str(trained),
                "--from",
                str(tmp_path / "images"),
                "--out",
                str(tmp_path / "o"),
            ]
        )
    assert "use a model trained with --mask pseudo" in capsys.readouterr().err


def test_synthesize_refuses_a_corpus_with_a_deleted_chunk_in_one_line(
    trained, corpus, generators, tmp_path, capsys
):
    import shutil

    damaged = shutil.copytree(corpus, tmp_path / "corpus.zarr")
    generators("corrupt").delete_chunk(damaged, "r00_utm32n/4m", "image", 0)
    with pytest.raises(SystemExit) as exit_info:
        main(
            ["synthesize", "--checkpoint", str(trained), "--from", str(damaged), "--out", str(tmp_path / "o")]
        )
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1
    assert f"{damaged} is damaged: 1 tile(s) lack chunks" in err and "terrasynth check" in err
    assert not (tmp_path / "o").exists()


def test_later_dates_get_their_own_illumination_noise_and_registration(trained, corpus, tmp_path):
    # real acquisitions differ everywhere a little: unchanged areas are no longer bit-identical,
    # so a detector cannot learn "the pixels that differ are the change"
    # (buildings only: nothing else changes, so what differs outside the labels is the appearance)
    _synthesize(trained, corpus, tmp_path / "a", "--pairs", "2", "--change", "buildings", "--buildings-only")
    _synthesize(trained, corpus, tmp_path / "b", "--pairs", "2", "--change", "buildings", "--buildings-only")
    for first, again in zip(
        open_change_set(tmp_path / "a", "train"), open_change_set(tmp_path / "b", "train"), strict=True
    ):
        assert torch.equal(first["image"], again["image"])  # the same seed, the same draws
        grown = torch.nn.functional.max_pool2d(first["mask"][None].float(), 3, 1, 1)[0].bool()
        unchanged = (first["image"][1] - first["image"][0]).abs().mean(0)[~grown]
        assert 0.002 < unchanged.mean() < 0.1  # display units: a few grey levels, not another scene


def _fail(capsys, *args) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(["synthesize", *map(str, args)])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("terrasynth: error: ") and error.count("\n") == 1, error
    return error


def test_synthesize_from_a_training_run_folder_asks_for_its_model_folder(trained, corpus, tmp_path, capsys):
    run = trained.parent
    error = _fail(capsys, "--checkpoint", run, "--from", corpus, "--out", tmp_path / "o")
    assert f"{run} is a training run: use its model folder, {run / 'model'}" in error


def test_synthesize_from_a_folder_without_images_says_no_images_were_found(trained, tmp_path, capsys):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "notes.txt").write_text("")
    error = _fail(capsys, "--checkpoint", trained, "--from", tmp_path / "images", "--out", tmp_path / "o")
    assert "images holds no PNG, JPEG or GeoTIFF image and is not a corpus" in error


@pytest.mark.parametrize(
    ("kind", "message"), [("used", "is not empty: give a new folder"), ("file", "is a file")]
)
def test_synthesize_into_a_used_folder_or_a_file_is_refused_before_loading_the_model(
    tmp_path, capsys, monkeypatch, kind, message
):
    from terrasynth.workflows import synthesize as workflow

    monkeypatch.setattr(workflow, "load_model", lambda _: pytest.fail("the model was loaded"))
    out = tmp_path / "out"
    if kind == "used":
        out.mkdir()
        (out / "kept.txt").write_text("mine")
    else:
        out.write_text("mine")
    error = _fail(capsys, "--checkpoint", tmp_path, "--from", tmp_path, "--out", out)
    assert message in error


def test_synthesize_on_a_full_disk_leaves_no_output_folder(trained, corpus, tmp_path, capsys, monkeypatch):
    from terrasynth.core import change_writers

    written = []

    def fill_up(path, array):
        if len(written) == 4:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        written.append(path)
        write_png(path, array)

    monkeypatch.setattr(change_writers, "write_png", fill_up)
    error = _fail(capsys, "--checkpoint", trained, "--from", corpus, "--out", tmp_path / "pairs", "--pairs", "3",
                  "--steps", "1")  # fmt: skip
    assert "No space left on device" in error and len(written) == 4  # the first pair and part of the second
    assert not list(tmp_path.iterdir())  # neither the folder nor its hidden partial copy
