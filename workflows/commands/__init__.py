"""The ``terrasynth`` commands, one module per command group (``train``, ``evaluate``, ``convert``)
and one per top-level command, each a thin shell over a documented Python call in
``terrasynth.workflows``. :mod:`terrasynth.workflows.cli` assembles them.

Heavy libraries are imported inside the commands, so that ``--help`` stays fast; the choices of
options come from :mod:`terrasynth.core.choices` and other torch-free modules.
"""
