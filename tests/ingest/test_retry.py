import random

import pytest

from terrasynth.core import ConfigError
from terrasynth.ingest.retry import Backoff


class Flaky:
    """Fails with ``errors`` in turn, then returns ``"done"``."""

    def __init__(self, *errors):
        self.errors = list(errors)
        self.calls = 0

    def __call__(self):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def transient(error):
    return isinstance(error, TimeoutError)


def test_transient_errors_are_retried_after_jittered_growing_waits():
    waits, seen = [], []
    flaky = Flaky(TimeoutError(), TimeoutError(), TimeoutError())
    policy = Backoff(initial=1.0, factor=2.0, max_delay=3.0, attempts=5)
    result = policy.call(flaky, transient, on_retry=seen.append, sleep=waits.append, rng=random.Random(0))
    assert result == "done" and flaky.calls == 4 and len(seen) == 3
    caps = [1.0, 2.0, 3.0]  # the third is capped at max_delay
    assert all(0.0 <= wait <= cap for wait, cap in zip(waits, caps, strict=True))
    assert len(set(waits)) == 3  # jittered, not fixed


def test_jitter_covers_the_whole_interval():
    delays = [Backoff(initial=4.0).delay(1, random.Random(seed)) for seed in range(200)]
    assert min(delays) < 0.5 and max(delays) > 3.5


def test_permanent_errors_are_not_retried():
    flaky = Flaky(ValueError("bad band"))
    with pytest.raises(ValueError, match="bad band"):
        Backoff().call(flaky, transient, sleep=lambda s: pytest.fail("slept"))
    assert flaky.calls == 1


def test_the_last_transient_error_propagates():
    flaky = Flaky(*[TimeoutError(str(i)) for i in range(5)])
    with pytest.raises(TimeoutError, match=r"^2$"):
        Backoff(attempts=3).call(flaky, transient, sleep=lambda s: None)
    assert flaky.calls == 3


def test_nonsense_policies_are_refused():
    with pytest.raises(ConfigError, match="attempts >= 1"):
        Backoff(attempts=0)


def test_no_retry_waits_past_the_deadline():
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds

    flaky = Flaky(*[TimeoutError(str(i)) for i in range(10)])
    policy = Backoff(initial=1.0, factor=1.0, max_delay=1.0, attempts=10)
    with pytest.raises(TimeoutError):
        policy.call(flaky, transient, sleep=sleep, rng=random.Random(0), deadline=3.0, clock=lambda: now[0])
    assert now[0] < 3.0 and 2 <= flaky.calls < 10
