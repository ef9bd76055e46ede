"""Multi-object tracker: IoU matching with constant-velocity prediction and time-based ageing.

Detections arrive irregularly (the motion gate skips frames), so everything is measured in
seconds of the frame clock, not in frames: velocities are per second, a track ends after
``max_age_s`` seconds without a detection.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field

from gateway.vision.config import TrackerConfig
from gateway.vision.detection import Detection
from gateway.vision.geometry import Box, iou


@dataclass(eq=False)
class Track:
    """One object followed over time."""

    track_id: int
    box: Box
    first_t: float
    last_t: float
    hits: int = 1
    misses: int = 0
    confirmed: bool = False
    best_score: float = 0.0
    velocity: tuple[float, float] = (0.0, 0.0)  # centre motion, normalized units per second
    votes: Counter[str] = field(default_factory=Counter)
    path: list[tuple[float, float, float]] = field(default_factory=list)  # (t, cx, cy)
    last_score: float = 0.0

    @property
    def label(self) -> str:
        """Class by score-weighted vote over all detections of this track."""
        return self.votes.most_common(1)[0][0] if self.votes else ""

    @property
    def dwell_s(self) -> float:
        """Seconds between first and last detection."""
        return self.last_t - self.first_t

    @property
    def center(self) -> tuple[float, float]:
        """Centre of the last measured box."""
        x1, y1, x2, y2 = self.box
        return ((x1 + x2) / 2, (y1 + y2) / 2)

    def predict(self, t: float) -> Box:
        """Box expected at time ``t`` if the object keeps its velocity."""
        dt = t - self.last_t
        dx, dy = self.velocity[0] * dt, self.velocity[1] * dt
        x1, y1, x2, y2 = self.box
        return (x1 + dx, y1 + dy, x2 + dx, y2 + dy)


@dataclass(slots=True)
class TrackUpdate:
    """What changed in one tracker step."""

    confirmed: list[Track]  # became confirmed now (-> enter)
    ended: list[Track]  # confirmed tracks that ended now (-> exit)
    updated: list[Track]  # tracks matched to a detection now (confirmed or not)


class Tracker:
    """Greedy IoU tracker with a centre-distance fallback for fast, sparsely seen objects."""

    def __init__(self, cfg: TrackerConfig) -> None:
        self.cfg = cfg
        self.tracks: list[Track] = []
        self._ids = itertools.count(1)
        self.total_confirmed = 0

    @property
    def active(self) -> list[Track]:
        """Tracks currently alive (tentative and confirmed)."""
        return list(self.tracks)

    def _pairs(self, dets: list[Detection], t: float) -> list[tuple[int, int]]:
        predicted = [tr.predict(t) for tr in self.tracks]
        candidates: list[tuple[float, int, int]] = []
        for ti, (tr, pbox) in enumerate(zip(self.tracks, predicted, strict=True)):
            for di, det in enumerate(dets):
                if not self.cfg.class_agnostic and det.label != tr.label:
                    continue
                overlap = iou(pbox, det.box)
                if overlap >= self.cfg.iou_threshold:
                    candidates.append((2.0 + overlap, ti, di))  # IoU matches rank first
                    continue
                px, py = (pbox[0] + pbox[2]) / 2, (pbox[1] + pbox[3]) / 2
                dx, dy = (det.box[0] + det.box[2]) / 2, (det.box[1] + det.box[3]) / 2
                diag = ((pbox[2] - pbox[0]) ** 2 + (pbox[3] - pbox[1]) ** 2) ** 0.5
                dist = ((px - dx) ** 2 + (py - dy) ** 2) ** 0.5 / max(diag, 1e-6)
                if dist <= self.cfg.max_center_distance:
                    candidates.append((1.0 - dist / (self.cfg.max_center_distance + 1e-9),
                                       ti, di))
        candidates.sort(key=lambda c: -c[0])
        used_t: set[int] = set()
        used_d: set[int] = set()
        pairs = []
        for _, ti, di in candidates:
            if ti in used_t or di in used_d:
                continue
            used_t.add(ti)
            used_d.add(di)
            pairs.append((ti, di))
        return pairs

    def _touches_edge(self, box: Box) -> bool:
        m = self.cfg.edge_exit_margin
        return m > 0 and (box[0] <= m or box[1] <= m or box[2] >= 1 - m or box[3] >= 1 - m)

    def update(self, dets: list[Detection], t: float) -> TrackUpdate:
        """Feed the detections of one detector run at time ``t``."""
        pairs = self._pairs(dets, t)
        matched_t = {ti for ti, _ in pairs}
        matched_d = {di for _, di in pairs}
        confirmed: list[Track] = []
        updated: list[Track] = []
        a = self.cfg.velocity_smoothing
        for ti, di in pairs:
            tr, det = self.tracks[ti], dets[di]
            dt = t - tr.last_t
            old_c = tr.center
            tr.box = det.box
            new_c = tr.center
            if dt > 0:
                meas = ((new_c[0] - old_c[0]) / dt, (new_c[1] - old_c[1]) / dt)
                if tr.hits == 1:
                    tr.velocity = meas
                else:
                    tr.velocity = (
                        a * meas[0] + (1 - a) * tr.velocity[0],
                        a * meas[1] + (1 - a) * tr.velocity[1],
                    )
            tr.last_t = t
            tr.hits += 1
            tr.misses = 0
            tr.votes[det.label] += det.score
            tr.best_score = max(tr.best_score, det.score)
            tr.last_score = det.score
            tr.path.append((t, *new_c))
            if not tr.confirmed and tr.hits >= self.cfg.min_hits:
                tr.confirmed = True
                self.total_confirmed += 1
                confirmed.append(tr)
            updated.append(tr)
        ended: list[Track] = []
        survivors: list[Track] = []
        for ti, tr in enumerate(self.tracks):
            if ti in matched_t:
                survivors.append(tr)
                continue
            tr.misses += 1
            too_old = t - tr.last_t > self.cfg.max_age_s
            left_view = tr.confirmed and self._touches_edge(tr.box)
            if not tr.confirmed:
                # A tentative track that is not seen again was noise (a shadow, a reflection).
                if not (too_old or tr.misses >= 2):
                    survivors.append(tr)
            elif too_old or left_view:
                ended.append(tr)
            else:
                survivors.append(tr)
        for di, det in enumerate(dets):
            if di in matched_d:
                continue
            tr = Track(
                track_id=next(self._ids), box=det.box, first_t=t, last_t=t,
                best_score=det.score, last_score=det.score,
            )
            tr.votes[det.label] += det.score
            tr.path.append((t, *tr.center))
            if self.cfg.min_hits <= 1:
                tr.confirmed = True
                self.total_confirmed += 1
                confirmed.append(tr)
            survivors.append(tr)
            updated.append(tr)
        self.tracks = survivors
        return TrackUpdate(confirmed, ended, updated)

    def flush(self) -> list[Track]:
        """End every track (source ended); return the confirmed ones for exit events."""
        ended = [tr for tr in self.tracks if tr.confirmed]
        self.tracks = []
        return ended
