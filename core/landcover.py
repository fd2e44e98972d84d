"""Land-cover class tables: ESA WorldCover and Dynamic World codes, names, colours and conversions.

A corpus stores land cover as class codes with 0 meaning "no data"; its class table travels in the
variable's attributes as CF ``flag_values`` / ``flag_meanings`` plus hex colours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from terrasynth.core.errors import CorpusError

NODATA = 0


@dataclass(frozen=True)
class ClassTable:
    """A land-cover legend.

    Attributes:
        scheme: the legend's name, e.g. ``"esa-worldcover"``.
        classes: class code -> (snake_case name, ``"#rrggbb"`` colour).
    """

    scheme: str
    classes: dict[int, tuple[str, str]]

    @property
    def codes(self) -> list[int]:
        return sorted(self.classes)

    def name(self, code: int) -> str:
        return self.classes[code][0]

    def code(self, name: str) -> int:
        """The code of a class by its name."""
        for code, (class_name, _) in self.classes.items():
            if class_name == name:
                return code
        raise KeyError(
            f"{self.scheme} has no class {name!r}; classes: {[n for n, _ in self.classes.values()]}"
        )

    def to_attrs(self) -> dict:
        """CF-style attributes describing the table (for a land-cover variable)."""
        return {
            "landcover_scheme": self.scheme,
            "flag_values": self.codes,
            "flag_meanings": " ".join(self.classes[c][0] for c in self.codes),
            "flag_colors": " ".join(self.classes[c][1] for c in self.codes),
            "nodata_value": NODATA,
        }

    @classmethod
    def from_attrs(cls, attrs: dict) -> ClassTable:
        """The table stored by :meth:`to_attrs`; raises :class:`CorpusError` when it is malformed."""
        try:
            codes = [int(v) for v in attrs["flag_values"]]
            names = str(attrs["flag_meanings"]).split()
            colours = str(attrs["flag_colors"]).split()
            scheme = str(attrs["landcover_scheme"])
        except (KeyError, TypeError, ValueError) as error:
            raise CorpusError(
                f"land-cover class table is missing or malformed ({error!r} in attributes)"
            ) from None
        if not (len(codes) == len(names) == len(colours)):
            raise CorpusError(
                f"land-cover class table has {len(codes)} codes, {len(names)} names and {len(colours)} colours"
            )
        return cls(scheme, dict(zip(codes, zip(names, colours, strict=True), strict=True)))

    def colorize(self, codes: np.ndarray) -> np.ndarray:
        """An (..., 3) uint8 RGB picture of a code array; unknown codes and no-data are black."""
        lut = np.zeros((max(self.codes) + 1, 3), dtype=np.uint8)
        for code, (_, colour) in self.classes.items():
            lut[code] = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
        codes = np.asarray(codes)
        return lut[np.where((codes >= 0) & (codes < len(lut)), codes, NODATA)]


WORLDCOVER = ClassTable(
    "esa-worldcover",
    {
        10: ("tree_cover", "#006400"),
        20: ("shrubland", "#ffbb22"),
        30: ("grassland", "#ffff4c"),
        40: ("cropland", "#f096ff"),
        50: ("built_up", "#fa0000"),
        60: ("bare_sparse_vegetation", "#b4b4b4"),
        70: ("snow_and_ice", "#f0f0f0"),
        80: ("permanent_water_bodies", "#0064c8"),
        90: ("herbaceous_wetland", "#0096a0"),
        95: ("mangroves", "#00cf75"),
        100: ("moss_and_lichen", "#fae6a0"),
    },
)
"""ESA WorldCover v100/v200 (``ESA/WorldCover/v200`` band ``Map``)."""

DYNAMIC_WORLD = ClassTable(
    "dynamic-world",
    {
        # Dynamic World's own label 0 is water; stored here shifted by one so that 0 stays "no data".
        1: ("water", "#419bdf"),
        2: ("trees", "#397d49"),
        3: ("grass", "#88b053"),
        4: ("flooded_vegetation", "#7a87c6"),
        5: ("crops", "#e49635"),
        6: ("shrub_and_scrub", "#dfc35a"),
        7: ("built", "#c4281b"),
        8: ("bare", "#a59b8f"),
        9: ("snow_and_ice", "#b39fe1"),
    },
)
"""Dynamic World V1 (``GOOGLE/DYNAMICWORLD/V1`` band ``label``), stored as ``label + 1``."""

BUILDING = 250
"""Class code of building footprints, burnt into a land-cover map over its own classes by sources that
know the footprints (the synthetic world's buildings; Open Buildings on Earth Engine). Legends
that hold it are named ``<scheme>+buildings`` (:func:`with_buildings`)."""


def with_buildings(table: ClassTable) -> ClassTable:
    """``table`` with the building-footprint class :data:`BUILDING` added."""
    return ClassTable(f"{table.scheme}+buildings", {**table.classes, BUILDING: ("building", "#9b0000")})


def has_buildings(table: ClassTable) -> bool:
    """Whether a legend holds building footprints (:data:`BUILDING`)."""
    return BUILDING in table.classes


WORLDCOVER_TO_DYNAMIC_WORLD = {
    10: 2, 20: 6, 30: 3, 40: 5, 50: 7, 60: 8, 70: 9, 80: 1, 90: 4, 95: 4, 100: 8, BUILDING: BUILDING,
}  # fmt: skip
"""WorldCover code -> stored Dynamic World code (mangroves count as flooded vegetation, moss as bare;
building footprints stay footprints)."""


def remap(codes: np.ndarray, mapping: dict[int, int]) -> np.ndarray:
    """Codes translated through ``mapping``; codes it does not name become no-data (0)."""
    lut = np.zeros(max(max(mapping), int(np.max(codes, initial=0))) + 1, dtype=np.uint8)
    for source, target in mapping.items():
        lut[source] = target
    return lut[codes]
