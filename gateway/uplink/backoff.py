"""Exponential reconnect backoff with jitter, so a fleet does not reconnect in lock-step
after the broker comes back."""

from __future__ import annotations

import random


class Backoff:
    """Delay doubles per failure from ``min_s`` up to ``max_s``; each delay is drawn
    uniformly from [delay/2, delay] ("equal jitter")."""

    def __init__(self, min_s: float, max_s: float, rng: random.Random | None = None) -> None:
        self.min_s, self.max_s = min_s, max_s
        self.failures = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        """Record a failure and return how long to wait before the next attempt."""
        ceiling = min(self.max_s, self.min_s * 2 ** min(self.failures, 30))
        self.failures += 1
        return self._rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        """A success: the next failure starts from ``min_s`` again."""
        self.failures = 0
