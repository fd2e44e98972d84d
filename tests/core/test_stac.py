import json
import shutil

from terrasynth.core.stac import write_stac_collection


def test_a_stac_collection_still_resolves_after_its_folder_is_renamed(tmp_path):
    partial = tmp_path / "pairs.partial"
    write_stac_collection(
        partial,
        id="pairs",
        description="change pairs",
        bbox=(0.0, 0.0, 1.0, 1.0),
        start=None,
        end=None,
        assets={"labels": ("label/", "image/png", "change masks")},
    )
    final = tmp_path / "pairs"
    shutil.move(partial, final)
    collection = json.loads((final / "collection.json").read_text())
    hrefs = [link["href"] for link in collection["links"]]
    assert hrefs == ["./collection.json"]  # the root link, relative to the collection itself
    assert "partial" not in (final / "collection.json").read_text()
