"""STAC descriptions written beside the data sets terrasynth produces (corpora, change sets)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

import pystac

from terrasynth.core.corpus import check_no_secrets


def write_stac_collection(
    directory: str | Path,
    *,
    id: str,
    description: str,
    bbox: Sequence[float],
    start: dt.datetime | None,
    end: dt.datetime | None,
    assets: Mapping[str, tuple[str, str, str]],
    properties: Mapping | None = None,
) -> Path:
    """Write ``collection.json`` into ``directory`` and return its path.

    Args:
        id: the collection id.
        description: one sentence on what the data is.
        bbox: (west, south, east, north) in degrees.
        start, end: the time interval the data covers (``None`` for open ends).
        assets: key -> (href relative to ``directory``, media type, title).
        properties: extra fields for provenance (source, settings); never credentials.
    """
    properties = dict(properties or {})
    check_no_secrets(properties, "properties")
    collection = pystac.Collection(
        id=id,
        description=description,
        extent=pystac.Extent(
            pystac.SpatialExtent([list(bbox)]),
            pystac.TemporalExtent([[_utc(start), _utc(end)]]),
        ),
        license="other",
        extra_fields={"terrasynth": properties} if properties else None,
        # relative links only: the data set is written under a temporary name and renamed, and may
        # be moved or copied later, so no link may name the folder it was written in
        catalog_type=pystac.CatalogType.SELF_CONTAINED,
    )
    for key, (href, media_type, title) in assets.items():
        collection.add_asset(key, pystac.Asset(href=href, media_type=media_type, title=title))
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "collection.json"
    collection.set_self_href(str(path))
    collection.save_object(include_self_link=False, dest_href=str(path))
    return path


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)
