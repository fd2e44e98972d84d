"""Dates in the synthetic world: parsing, the seasons, and when events happen.

Time is measured in decimal years (2021.5 is about 2 July 2021). Every event (a building built or
demolished, a forest stand cleared, a parcel turned to pasture, a town block developed) happens at
a date hashed from the object's id, so the world at any date follows from the seed alone and the
changes between two dates are simply the differences of the world at each.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from terrasynth.core.errors import ConfigError
from terrasynth.ingest.synthetic.hashing import uniform

DateLike = dt.date | dt.datetime | str
EVENTS_FROM, EVENTS_UNTIL = 1990.0, 2060.0  # decimal years over which one-off events are spread


@dataclass(frozen=True)
class Moment:
    """One date of the world.

    Attributes:
        date: the calendar date.
        year: the date as a decimal year.
        season: the fraction of the year elapsed, in [0, 1).
        day: whole days since 2000-01-01 (an integer key for per-date randomness).
    """

    date: dt.date
    year: float
    season: float
    day: int

    @classmethod
    def of(cls, value: DateLike | Moment) -> Moment:
        """A moment from a :class:`datetime.date`, a datetime, or an ISO string ``YYYY-MM-DD``."""
        if isinstance(value, Moment):
            return value
        date = parse_date(value)
        length = (dt.date(date.year + 1, 1, 1) - dt.date(date.year, 1, 1)).days
        season = (date.timetuple().tm_yday - 0.5) / length
        return cls(date, date.year + season, season, (date - dt.date(2000, 1, 1)).days)

    def cycle(self, knots: list[tuple[float, float]]) -> float:
        """A yearly cycle through ``knots`` (season fraction, value; seasons ascending), linear in
        between and wrapping from the last knot of one year to the first of the next.

        Plain Python arithmetic, one rounding per operation: no library routine whose compiled
        form might fuse operations differently on another machine."""
        points = [(s - 1.0, v) for s, v in knots[-1:]] + list(knots) + [(s + 1.0, v) for s, v in knots[:1]]
        for (s0, v0), (s1, v1) in pairwise(points):
            if s0 <= self.season <= s1:
                return v0 + (v1 - v0) * ((self.season - s0) / (s1 - s0))
        raise ValueError(f"knots {knots} do not cover the season {self.season}")

    @property
    def winter(self) -> float:
        """0 at the summer solstice, 1 at the winter solstice, linear in between (northern seasons)."""
        return self.cycle([(0.47, 0.0), (0.97, 1.0)])


def parse_date(value: DateLike) -> dt.date:
    """A :class:`datetime.date` from a date, a datetime or an ISO string; anything else raises
    :class:`ConfigError`."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise ConfigError(
            f"cannot read a date from {value!r}: write it as YYYY-MM-DD, e.g. 2021-06-01"
        ) from None


def event_year(chance: np.ndarray, when: np.ndarray, probability: float) -> np.ndarray:
    """The decimal year of each object's one-off event, from two of its uniform draws: with
    ``probability`` (when ``chance`` is below it) a year uniform in [EVENTS_FROM, EVENTS_UNTIL),
    otherwise never (+inf)."""
    return np.where(chance < probability, EVENTS_FROM + (EVENTS_UNTIL - EVENTS_FROM) * when, np.inf)


def yearly_anomaly(key: int, moment: Moment) -> float:
    """A random value in [-1, 1] per year, interpolated linearly from mid-year to mid-year."""
    base = np.floor(moment.year - 0.5)
    fraction = moment.year - 0.5 - base
    this = float(uniform(key, np.int64(base))) * 2.0 - 1.0
    following = float(uniform(key, np.int64(base) + 1)) * 2.0 - 1.0
    return this + (following - this) * float(fraction)
