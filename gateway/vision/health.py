"""Per-stage timings and counters of a camera pipeline, reported as a plain dict.

The pipeline's thread records; the health publisher and the web page read from other threads.
Stage timings are recorded and read under one lock: a stage seen for the first time adds a
key, and a reader iterating the stages then failed with "dictionary changed size during
iteration" (seen once in CI).
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass, field, replace

import numpy as np


@dataclass
class StageStats:
    """Running totals of one stage's wall time."""

    count: int = 0
    total_s: float = 0.0
    max_s: float = 0.0
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=2048))

    def add(self, seconds: float) -> None:
        """Record one duration."""
        self.count += 1
        self.total_s += seconds
        self.max_s = max(self.max_s, seconds)
        self.recent.append(seconds)

    def snapshot(self) -> StageStats:
        """A copy that the recording thread no longer changes."""
        return replace(self, recent=deque(self.recent, maxlen=self.recent.maxlen))

    def as_dict(self) -> dict[str, float]:
        """Mean, p50, p99 and max in milliseconds, plus the count."""
        recent = np.asarray(self.recent) if self.recent else np.zeros(1)
        return {
            "count": self.count,
            "mean_ms": 1000 * self.total_s / self.count if self.count else 0.0,
            "p50_ms": float(1000 * np.percentile(recent, 50)),
            "p99_ms": float(1000 * np.percentile(recent, 99)),
            "max_ms": 1000 * self.max_s,
        }


@dataclass
class PipelineHealth:
    """Counters and stage timings; ``as_dict()`` feeds the health topic."""

    frames: int = 0  # frames that reached the pipeline
    skipped_stride: int = 0  # frames not looked at (frame_stride)
    gated: int = 0  # frames looked at where the detector did not run
    motion_frames: int = 0  # frames in which the gate saw motion
    detector_runs: int = 0
    detections: int = 0  # objects kept after filters, summed over runs
    corrupt_frames: int = 0
    detector_errors: int = 0
    callback_errors: int = 0
    tracks_confirmed: int = 0
    disarmed: int = 0  # frames outside the camera's active hours or levels
    tamper: Counter[str] = field(default_factory=Counter)  # tamper faults raised, by code
    events: Counter[str] = field(default_factory=Counter)
    stages: dict[str, StageStats] = field(default_factory=dict)
    latency: StageStats = field(default_factory=StageStats)  # frame capture -> on_event
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def time(self, stage: str, seconds: float) -> None:
        """Add a duration to ``stage``."""
        with self._lock:
            st = self.stages.get(stage)
            if st is None:
                st = self.stages[stage] = StageStats()
            st.add(seconds)

    def add_latency(self, seconds: float) -> None:
        """Add one frame's capture-to-event latency."""
        with self._lock:
            self.latency.add(seconds)

    def as_dict(self) -> dict[str, object]:
        """Plain, JSON/CBOR-ready dict (safe to call while the pipeline records)."""
        with self._lock:
            stages = {k: v.snapshot() for k, v in self.stages.items()}
            latency = self.latency.snapshot()
        return {
            "frames": self.frames,
            "skipped_stride": self.skipped_stride,
            "gated": self.gated,
            "motion_frames": self.motion_frames,
            "detector_runs": self.detector_runs,
            "detections": self.detections,
            "corrupt_frames": self.corrupt_frames,
            "detector_errors": self.detector_errors,
            "callback_errors": self.callback_errors,
            "tracks_confirmed": self.tracks_confirmed,
            "disarmed": self.disarmed,
            "tamper_faults": dict(self.tamper),
            "events": dict(self.events),
            "stages": {k: v.as_dict() for k, v in stages.items()},
            "latency": latency.as_dict(),
        }
