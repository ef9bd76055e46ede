"""Debouncing and hysteresis for sensor inputs.

Digital inputs (PIR, smoke, flame, tamper, float switch) are sampled several times a few
milliseconds apart within one wake and the majority wins, so a contact bounce or a spike
at wake-up does not raise an alarm. Analog limits use a hysteresis band, so a value hovering
at the limit does not send an alarm every cycle.
"""


def majority(samples: list) -> int:
    """1 if more than half of the 0/1 samples are 1, else 0."""
    return 1 if sum(samples) * 2 > len(samples) else 0


def sample_digital(read, pause, n: int, gap_ms: int = 2) -> int:
    """Call ``read()`` ``n`` times with ``pause(gap_ms)`` between; return the majority."""
    samples = []
    for i in range(n):
        if i:
            pause(gap_ms)
        samples.append(1 if read() else 0)
    return majority(samples)


def hysteresis(active: bool, value: int, limit: int, band: int, above: bool) -> bool:
    """Limit alarm state: raise past ``limit``, clear only once ``band`` back inside."""
    if above:
        return value >= limit - band if active else value > limit
    return value <= limit + band if active else value < limit
