"""``terrasynth check CORPUS``: name every finished tile of a corpus that is missing or does not decode.

A thin shell over :func:`terrasynth.ingest.check.check_corpus`: each bad tile on a line of its
own, then one line saying how to repair them (rerun the same ``terrasynth ingest``), exit status 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def check(
    corpus: Annotated[Path, typer.Argument(help="Corpus store written by `terrasynth ingest`.")],
) -> None:
    """Check that every finished tile of a corpus is on disk and decodes; name each bad one."""
    from terrasynth.core.errors import CorpusError
    from terrasynth.ingest.check import check_corpus

    result = check_corpus(corpus)
    for tile in result.bad:
        typer.echo(str(tile))
    if result.bad:
        raise CorpusError(
            f"{corpus} has {result.bad_tiles} damaged tile(s), listed above: rerun the same `terrasynth ingest` "
            "with this --out to refetch exactly those"
        )
    checked = "every tile" if result.tiles is None else f"all {result.tiles} finished tiles"
    typer.echo(f"{corpus}: {checked} present and decodable")
