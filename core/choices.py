"""Named choices shared by the library and the command line, each listed once, as a ``Literal``.

The library checks values against them (``typing.get_args``), and the ``terrasynth`` commands
annotate their options with them, so typer shows the values in ``--help`` and refuses any other
with exit status 2. Torch-free, so that ``terrasynth --help`` stays fast.
"""

from __future__ import annotations

from typing import Literal

Solver = Literal["ddim", "dpm++"]
"""Diffusion samplers: ``ddim`` (DDIM, any ``eta``) and ``dpm++`` (DPM-Solver++ 2M, deterministic)."""

NoiseMode = Literal["shared", "independent", "field", "average"]
"""How an unbounded canvas draws its windows' noise (see :mod:`terrasynth.models.metaearth.noise`)."""

MetaEarthPreset = Literal["tiny", "base", "paper"]
"""Sizes of the MetaEarth denoiser (:data:`terrasynth.models.metaearth.PRESETS`)."""

RSDiTPreset = Literal["tiny", "S", "B", "L", "XL"]
"""Sizes of the Changen2 RS-DiT (:data:`terrasynth.models.changen2.rsdit.PRESETS`)."""

TrainingMask = Literal["landcover", "buildings", "pseudo"]
"""Masks a Changen2 model trains on: WorldCover classes, WorldCover built-up, or k-means of the image."""

ReleasedMask = Literal["xview2", "oem"]
"""Masks of the released Changen2 weights: xView2 buildings or OpenEarthMap classes."""

CascadeCondition = Literal["coarser", "degraded"]
"""The low-resolution condition of a MetaEarth stage: the next coarser level, or its own level degraded."""

ChangeDataset = Literal["levir-cd", "s2looking", "second", "folder"]
"""Change pair data sets by layout (:func:`terrasynth.datasets.open_change_dataset`)."""

SynthesisLayout = Literal["levir-cd", "second", "series"]
"""What synthesis writes: LEVIR-CD PNG pairs, SECOND semantic PNG pairs, or Zarr series."""

Pairing = Literal["consecutive", "first-last"]
"""Which dates of a synthesized series make pairs."""

ChangeLabel = Literal["any", "buildings"]
"""What a synthesized LEVIR-CD change mask marks: any class change, or buildings built and demolished."""
