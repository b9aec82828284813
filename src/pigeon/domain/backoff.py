"""Retry delays: exponential, capped, with jitter that never breaks the cap."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    base_seconds: float
    cap_seconds: float
    max_attempts: int
    jitter: float = 0.2

    def should_retry(self, attempts: int) -> bool:
        """`attempts` counts the attempts made so far, the failed one included."""
        return attempts < self.max_attempts

    def nominal_delay(self, attempts: int) -> float:
        """base * 2**(attempts-1), capped; the seed 002 formula."""
        exponent = max(attempts - 1, 0)
        # Cap the exponent first so huge attempt counts cannot overflow a float.
        if exponent > 62:
            return self.cap_seconds
        return min(self.base_seconds * float(2**exponent), self.cap_seconds)

    def delay(self, attempts: int, rng: random.Random | None = None) -> float:
        """The nominal delay shrunk by up to `jitter` of itself, so retries spread out."""
        nominal = self.nominal_delay(attempts)
        draw = (rng or random).random()
        return nominal * (1 - self.jitter * draw)
