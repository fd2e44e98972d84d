"""Resolution levels: a named ground sampling distance (metres per pixel)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from math import gcd, lcm

from terrasynth.core.errors import ConfigError


@dataclass(frozen=True, order=True)
class Level:
    """One rung of the resolution ladder.

    Attributes:
        gsd: ground sampling distance in metres per pixel.
        name: group name in a corpus, ``"60m"`` for 60 metres (the default is derived from ``gsd``).
    """

    gsd: float
    name: str = ""

    def __post_init__(self):
        if not self.gsd > 0:
            raise ConfigError(f"level resolution must be a positive number of metres, got {self.gsd!r}")
        if not self.name:
            object.__setattr__(self, "name", f"{self.gsd:g}m")

    @classmethod
    def parse(cls, text: str | float | Level) -> Level:
        """A level from ``"16m"``, ``"16"`` or ``16`` (metres)."""
        if isinstance(text, Level):
            return text
        raw = str(text).strip().lower().removesuffix("m")
        try:
            gsd = float(raw)
        except ValueError:
            raise ConfigError(
                f"cannot read a level from {text!r}: write metres, e.g. '16m' or '16'"
            ) from None
        return cls(gsd)

    def __str__(self) -> str:
        return self.name


DEFAULT_LADDER: tuple[Level, ...] = (Level(60.0), Level(16.0), Level(4.0))
"""The MetaEarth ladder: 60 m -> 16 m -> 4 m."""


def parse_levels(spec: str | Iterable[str | float | Level]) -> tuple[Level, ...]:
    """Levels from ``"60,16,4"`` or an iterable, ordered coarse to fine, without duplicates."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    levels = [Level.parse(item) for item in items if str(item).strip()]
    if not levels:
        raise ConfigError("no levels given: list resolutions in metres, e.g. --levels 60,16,4")
    if len({level.gsd for level in levels}) != len(levels):
        raise ConfigError(f"levels repeat a resolution: {', '.join(map(str, levels))}")
    return tuple(sorted(levels, reverse=True))


def common_pitch(levels: Iterable[Level]) -> float:
    """The smallest length in metres that is a whole number of pixels at every level.

    Grid origins and extents snapped to this pitch line up across levels: 240 m for 60/16/4.
    Resolutions are read as exact decimals (0.5 m, 4.77 m), so the pitch is exact too.
    """
    # The lcm of reduced fractions a/b is lcm(a) / gcd(b).
    fractions = [Fraction(str(level.gsd)) for level in levels]
    return float(Fraction(lcm(*(f.numerator for f in fractions)), gcd(*(f.denominator for f in fractions))))
