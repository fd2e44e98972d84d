"""Comparing two corpora on disk, byte for byte."""

import json
from pathlib import Path


def assert_same_corpus(a, b):
    """Byte-identical chunks and metadata, except the root's creation time."""
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    for relative in files_a:
        data_a, data_b = (a / relative).read_bytes(), (b / relative).read_bytes()
        if relative == Path("zarr.json"):  # the root group
            meta_a, meta_b = json.loads(data_a), json.loads(data_b)
            meta_a["attributes"].pop("created"), meta_b["attributes"].pop("created")
            assert meta_a == meta_b
        else:
            assert data_a == data_b, relative
