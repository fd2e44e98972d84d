"""The date range of a corpus: validated from the command line's ISO dates."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from terrasynth.core.errors import ConfigError


@dataclass(frozen=True)
class DateRange:
    """Days from ``start`` (included) to ``end`` (excluded), as Earth Engine's ``filterDate`` reads them."""

    start: dt.date
    end: dt.date

    def __post_init__(self):
        if self.end <= self.start:
            raise ConfigError(
                f"--end {self.end.isoformat()} must be after --start {self.start.isoformat()} (the end is excluded)"
            )

    @classmethod
    def parse(cls, start: str | dt.date, end: str | dt.date) -> DateRange:
        """A range from ``YYYY-MM-DD`` strings or dates."""
        return cls(_date(start, "--start"), _date(end, "--end"))

    def to_json(self) -> dict:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


def _date(value: str | dt.date, option: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ConfigError(f"{option} {value!r} is not a date: write YYYY-MM-DD, e.g. 2023-06-01") from None
