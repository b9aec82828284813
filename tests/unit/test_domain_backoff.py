from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from pigeon.domain.backoff import Backoff

policies = st.builds(
    Backoff,
    base_seconds=st.floats(0, 1e4),
    cap_seconds=st.floats(0, 1e6),
    max_attempts=st.integers(1, 50),
    jitter=st.floats(0, 0.99),
)


def test_seed_formula() -> None:
    backoff = Backoff(30, 3600, 5, jitter=0)
    assert [backoff.delay(n) for n in range(1, 6)] == [30, 60, 120, 240, 480]
    assert backoff.should_retry(4) and not backoff.should_retry(5)


@given(policies, st.integers(0, 10_000), st.integers(0, 2**32))
def test_delay_is_within_bounds(backoff: Backoff, attempts: int, seed: int) -> None:
    delay = backoff.delay(attempts, random.Random(seed))
    nominal = backoff.nominal_delay(attempts)
    assert 0 <= delay <= min(nominal, backoff.cap_seconds)
    assert delay >= nominal * (1 - backoff.jitter) - 1e-9


@given(policies, st.integers(1, 200))
def test_nominal_delay_never_shrinks(backoff: Backoff, attempts: int) -> None:
    assert backoff.nominal_delay(attempts + 1) >= backoff.nominal_delay(attempts)
