"""Seeds derived from keys, so that every random draw is reproducible in any process or machine.

A generator seeded with ``key_seed(seed, what, where)`` draws the same numbers wherever it runs:
generation keys its noise by (seed, location), training its masks and synthesis its events by
(seed, purpose, index). Never a running random state, so any part of a job can run alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable


def key_seed(*key: Hashable) -> int:
    """A 63-bit seed that depends only on ``key`` (ints, strings, tuples), the same in every process."""
    digest = hashlib.blake2b(repr(key).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1
