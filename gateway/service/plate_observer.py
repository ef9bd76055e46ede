"""Plate reading on a camera's vehicle tracks: read on detector frames, vote, report at exit.

The plate text exists in clear only here, in memory, while a track is alive; what leaves is
what :class:`~gateway.plates.report.PlateReporter` builds (keyed hash in privacy mode).
"""

from __future__ import annotations

import logging
from typing import Any

from gateway.camera.frame import Frame
from gateway.plates import PlatesConfig, PlateVoter, voting_kwargs
from gateway.vision.events import VehiclePlate, VisionEvent
from gateway.vision.tracker import Track

log = logging.getLogger(__name__)

VEHICLE_CLASSES = frozenset({"car", "truck", "bus", "motorcycle"})


class PlateObserver:
    """A :class:`~gateway.vision.observer.TrackObserver` that reads licence plates."""

    def __init__(self, camera: str, cfg: PlatesConfig, classes: frozenset[str] = VEHICLE_CLASSES,
                 reader: Any = None, reporter: Any = None) -> None:
        from gateway.plates.reader import PlateReader
        from gateway.plates.report import PlateReporter

        self.camera = camera
        self.cfg = cfg
        self.classes = classes
        self.reader = reader or PlateReader(cfg)
        self.reporter = reporter or PlateReporter.from_config(cfg)
        self._voters: dict[int, PlateVoter] = {}
        self._crops: dict[int, tuple[float, Any]] = {}  # track -> (confidence, plate crop)
        self._previewed: set[int] = set()
        self.reads = 0

    def observe(self, frame: Frame, tracks: list[Track]) -> list[VisionEvent]:
        image = frame.image
        h, w = image.shape[:2]
        vehicles = [t for t in tracks if t.label in self.classes]
        for tr in vehicles:
            x0, y0, x1, y1 = tr.box
            box = (int(x0 * w), int(y0 * h), int(x1 * w), int(y1 * h))
            for obs in self.reader.read_vehicle(image, box, t=frame.t):
                self._add(tr.track_id, obs, image)
        if self.cfg.frame_mode and vehicles:
            # Close-up lane camera: plates may sit outside the (partial) vehicle box.
            for obs in self.reader.read_frame(image, t=frame.t):
                owner = _owner(obs.box, vehicles, w, h)
                if owner is not None:
                    self._add(owner.track_id, obs, image)
        return self._previews(frame, vehicles) if self.cfg.voting.preview_events else []

    def _previews(self, frame: Frame, tracks: list[Track]) -> list[VisionEvent]:
        """An early event for a track whose read is already certain (once per track); the
        final event at the track's end follows it and supersedes it."""
        out: list[VisionEvent] = []
        for tr in tracks:
            voter = self._voters.get(tr.track_id)
            if voter is None or tr.track_id in self._previewed:
                continue
            vote = voter.vote()
            if vote is not None and vote.certain:
                self._previewed.add(tr.track_id)
                fields = {**self.reporter.fields(vote), "preview": True}
                out.append(self._event(frame, tr, None, fields))
        return out

    def _add(self, track_id: int, obs: Any, image: Any) -> None:
        self.reads += 1
        voter = self._voters.get(track_id)
        if voter is None:
            voter = self._voters[track_id] = PlateVoter(**voting_kwargs(self.cfg))
        voter.add(obs)
        best = self._crops.get(track_id)
        if obs.box is not None and (best is None or obs.confidence > best[0]):
            x0, y0, x1, y1 = obs.box
            self._crops[track_id] = (obs.confidence, image[y0:y1, x0:x1].copy())

    def track_ended(self, frame: Frame, track: Track, direction: str | None) -> list[VisionEvent]:
        self._previewed.discard(track.track_id)
        voter = self._voters.pop(track.track_id, None)
        crop = self._crops.pop(track.track_id, (0.0, None))[1]
        if voter is None or track.label not in self.classes:
            return []
        vote = voter.vote()
        if vote is None:
            return []
        return [self._event(frame, track, direction, self.reporter.fields(vote, crop_bgr=crop))]

    def _event(self, frame: Frame, track: Track, direction: str | None,
               fields: dict[str, Any]) -> VehiclePlate:
        t = min(track.last_t, frame.t)
        return VehiclePlate(camera=self.camera, t=t, wall=frame.wall - (frame.t - t),
                            capture_mono=frame.mono, frame_index=frame.index,
                            track_id=track.track_id, label=track.label,
                            confidence=round(track.best_score, 4), direction=direction,
                            plate=fields)


def _owner(box: tuple[int, int, int, int] | None, tracks: list[Track], w: int, h: int
           ) -> Track | None:
    """The vehicle track whose box holds the centre of a plate box."""
    if box is None:
        return None
    cx, cy = (box[0] + box[2]) / 2 / w, (box[1] + box[3]) / 2 / h
    inside = [t for t in tracks if t.box[0] <= cx <= t.box[2] and t.box[1] <= cy <= t.box[3]]
    return max(inside, key=lambda t: (t.box[2] - t.box[0]) * (t.box[3] - t.box[1]), default=None)
