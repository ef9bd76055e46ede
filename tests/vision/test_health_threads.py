"""The pipeline's health is read from other threads (health topic, web page) while its own
thread records: reading must never fail, however the two interleave.

CI once failed with "dictionary changed size during iteration" when a stage was timed for the
first time while the health was being read (tests/service/test_levels.py).
"""

from __future__ import annotations

import threading

from gateway.vision.health import PipelineHealth

STAGES = 2000


def test_reading_while_new_stages_and_timings_are_recorded() -> None:
    health = PipelineHealth()

    def record() -> None:
        for i in range(3 * STAGES):  # new stages first, then more timings of each
            health.time(f"stage{i % STAGES}", 0.001)
            health.add_latency(0.002)

    writer = threading.Thread(target=record, daemon=True)
    writer.start()
    errors: list[BaseException] = []
    reads = 0
    while writer.is_alive() or reads == 0:
        try:
            d = health.as_dict()
        except RuntimeError as exc:  # what the unlocked reader raised
            errors.append(exc)
            continue
        finally:
            reads += 1
        stages = d["stages"]
        assert isinstance(stages, dict) and all(v["count"] >= 1 for v in stages.values())
    writer.join(10)
    assert errors == [], f"{len(errors)} of {reads} reads failed: {errors[0]}"
    final = health.as_dict()
    assert len(final["stages"]) == STAGES  # type: ignore[arg-type]
    assert final["latency"]["count"] == 3 * STAGES  # type: ignore[index]
