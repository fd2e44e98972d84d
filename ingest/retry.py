"""Exponential backoff with full jitter for calls to a rate-limited service.

Written here rather than taken from a library because the decision of what is worth retrying
belongs to the caller (HTTP 429 and 5xx and timeouts are; a bad band name is not), and the
policy has to travel to Dask workers as plain settings.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from terrasynth.core.errors import ConfigError

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """How long to wait between attempts: ``uniform(0, min(max_delay, initial * factor**n))`` seconds.

    Attributes:
        initial: the cap of the first wait, in seconds.
        factor: growth of the cap per attempt.
        max_delay: the largest cap, in seconds.
        attempts: the most calls made in all (the first one included).
    """

    initial: float = 1.0
    factor: float = 2.0
    max_delay: float = 64.0
    attempts: int = 8

    def __post_init__(self):
        if self.attempts < 1 or self.initial < 0 or self.factor < 1 or self.max_delay < 0:
            raise ConfigError(f"backoff needs attempts >= 1, delays >= 0 and factor >= 1, got {self}")

    def delay(self, retry: int, rng: random.Random) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first retry)."""
        cap = min(self.max_delay, self.initial * self.factor ** (retry - 1))
        return rng.uniform(0.0, cap)

    def call(
        self,
        fn: Callable[[], T],
        transient: Callable[[BaseException], bool],
        *,
        on_retry: Callable[[BaseException], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        deadline: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> T:
        """``fn()``, called again after a jittered wait while it raises an error ``transient`` accepts.

        A permanent error, or a transient one on the last attempt, propagates unchanged, as does a
        transient one when the wait would end past ``deadline`` (a ``clock()`` time, in seconds).
        ``on_retry`` sees each error that is about to be retried (for counting).
        """
        rng = rng or random.Random()
        retries = 0
        while True:
            try:
                return fn()
            except Exception as error:
                retries += 1
                if retries >= self.attempts or not transient(error):
                    raise
                wait = self.delay(retries, rng)
                if deadline is not None and clock() + wait >= deadline:
                    raise
                if on_retry is not None:
                    on_retry(error)
                sleep(wait)
