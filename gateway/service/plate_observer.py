"""Plate reading on a camera's vehicle tracks: read on detector frames, vote, report at exit.

The plate text exists in clear only here, in memory, while a track is alive; what leaves is
what :class:`~gateway.plates.report.PlateReporter` builds (keyed hash in privacy mode).

A vehicle with no read still gives a passage when it qualifies (it crossed a line, or the
camera has none): ``plate_status`` says ``UNREADABLE`` when a plate candidate was found on it,
``ABSENT`` when none was although it was seen large enough, for long enough, to show one (a
covered or missing plate, which a checkpoint must flag). A vehicle too small or too brief to
judge gives nothing. Per live track this keeps counters and at most one small crop (only when
evidence crops are sent), freed when the track ends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from gateway.camera.frame import Frame
from gateway.plates import PlateColour, PlatesConfig, PlateVoter, voting_kwargs
from gateway.vision.events import VehiclePlate, VisionEvent
from gateway.vision.tracker import Track

if TYPE_CHECKING:
    from gateway.plates.reader import PlateCandidate

log = logging.getLogger(__name__)

VEHICLE_CLASSES = frozenset({"car", "truck", "bus", "motorcycle"})

# What the one crop of a track shows, best first: an unread passage shows the best candidate,
# an absent one the vehicle; a better kind replaces a worse one, never the reverse.
CROP_READ, CROP_CANDIDATE, CROP_VEHICLE = 2, 1, 0
#: background colours only plates have among a vehicle's plate-shaped parts (grilles are grey)
PLATE_COLOURS = frozenset({PlateColour.BLUE, PlateColour.YELLOW, PlateColour.GREEN, PlateColour.YELLOW_GREEN})
#: a vehicle box reaching this share of the frame height is cut at the bottom, where the plate is
BOTTOM_EDGE = 0.99


@dataclass
class TrackLook:
    """What the plate stage saw of one live vehicle track."""

    voter: PlateVoter | None = None
    #: detector frames the vehicle was matched at least ``absent_min_vehicle_px`` wide, lower edge in view
    large_frames: int = 0
    #: widest vehicle box seen (frame px)
    widest: int = 0
    #: plate candidates that count (``candidate_min_score``, or the plain one), all frames
    candidates: int = 0
    best_candidate: float = 0.0
    crop_kind: int = -1
    crop_score: float = 0.0
    crop: np.ndarray | None = None


class PlateObserver:
    """A :class:`~gateway.vision.observer.TrackObserver` that reads licence plates.

    ``has_lines`` tells whether the camera has checkpoint lines now (its rules can change with
    the alert level): with lines only tracks that crossed one (a direction) give an unread
    passage, without lines every vehicle track that ended does. None (not told) counts as
    lines, so an unwired camera never reports vehicles that did not cross.
    """

    def __init__(self, camera: str, cfg: PlatesConfig, classes: frozenset[str] = VEHICLE_CLASSES,
                 reader: Any = None, reporter: Any = None,
                 has_lines: Callable[[], bool] | None = None) -> None:
        from gateway.plates.reader import PlateReader
        from gateway.plates.report import PlateReporter

        self.camera = camera
        self.cfg = cfg
        self.classes = classes
        self.reader = reader or PlateReader(cfg)
        self.reporter = reporter or PlateReporter.from_config(cfg)
        self.has_lines = has_lines
        self._looks: dict[int, TrackLook] = {}
        self._previewed: set[int] = set()
        self._gone: set[int] = set()  # tracks with a look that were not live at the last frame
        self.reads = 0

    def observe(self, frame: Frame, tracks: list[Track]) -> list[VisionEvent]:
        self._forget_gone(tracks)
        image = frame.image
        h, w = image.shape[:2]
        vehicles = [t for t in tracks if t.label in self.classes]
        for tr in vehicles:
            x0, y0, x1, y1 = tr.box
            box = (int(x0 * w), int(y0 * h), int(x1 * w), int(y1 * h))
            look = self._looks.setdefault(tr.track_id, TrackLook())
            sight = self.reader.inspect_vehicle(image, box, t=frame.t)
            for obs in sight.reads:
                self._add(look, obs, image)
            self._candidates(look, sight.candidates, image)
            self._vehicle(look, tr, box, image)
        if self.cfg.frame_mode and vehicles:
            # Close-up lane camera: plates may sit outside the (partial) vehicle box.
            sight = self.reader.inspect_frame(image, t=frame.t)
            for obs in sight.reads:
                owner = _owner(obs.box, vehicles, w, h)
                if owner is not None:
                    self._add(self._looks[owner.track_id], obs, image)
            for cand in sight.candidates:
                owner = _owner(cand.box, vehicles, w, h)
                if owner is not None:
                    self._candidates(self._looks[owner.track_id], (cand,), image)
        return self._previews(frame, vehicles) if self.cfg.voting.preview_events else []

    def _forget_gone(self, tracks: list[Track]) -> None:
        """Free the state of tracks that ended without :meth:`track_ended` (the pipeline calls it
        only for tracks it announced, e.g. not with enter/exit events off), so months of traffic
        can't pile up. A track that ends is missing from the next frame's live tracks just before
        its ``track_ended``; so only a track missing from two frames in a row is dropped."""
        live = {t.track_id for t in tracks}
        gone = {tid for tid in self._looks if tid not in live}
        for tid in gone & self._gone:
            del self._looks[tid]
        self._previewed &= live
        self._gone = gone - self._gone

    def _previews(self, frame: Frame, tracks: list[Track]) -> list[VisionEvent]:
        """An early event for a track whose read is already certain (once per track); the
        final event at the track's end follows it and supersedes it."""
        out: list[VisionEvent] = []
        for tr in tracks:
            look = self._looks.get(tr.track_id)
            if look is None or look.voter is None or tr.track_id in self._previewed:
                continue
            vote = look.voter.vote()
            if vote is not None and vote.certain:
                self._previewed.add(tr.track_id)
                fields = {**self.reporter.fields(vote), "preview": True}
                out.append(self._event(frame, tr, None, fields))
        return out

    def _add(self, look: TrackLook, obs: Any, image: np.ndarray) -> None:
        self.reads += 1
        if look.voter is None:
            look.voter = PlateVoter(**voting_kwargs(self.cfg))
        look.voter.add(obs)
        if obs.box is not None:
            self._keep_crop(look, CROP_READ, obs.confidence, image, obs.box)

    def _candidates(self, look: TrackLook, candidates: Any, image: np.ndarray) -> None:
        for cand in candidates:
            if not plate_seen(cand, self.cfg):
                continue
            look.candidates += 1
            look.best_candidate = max(look.best_candidate, cand.score)
            self._keep_crop(look, CROP_CANDIDATE, cand.score, image, cand.box)

    def _vehicle(self, look: TrackLook, tr: Track, box: tuple[int, int, int, int],
                 image: np.ndarray) -> None:
        """Size bookkeeping for an 'absent' verdict, and the vehicle crop that would show it."""
        cfg = self.cfg
        if tr.misses or tr.label not in cfg.absent_classes or not cfg.report_unread:
            return  # a coasting (predicted) box was not seen; other classes are never 'absent'
        width = box[2] - box[0]
        look.widest = max(look.widest, width)
        if tr.box[3] >= BOTTOM_EDGE:
            return  # cut at the bottom: the plate may be out of the frame, so this view proves nothing
        if width >= cfg.absent_min_vehicle_px:
            look.large_frames += 1
        # the widest whole view is the best evidence; a plate crop, once there, is never replaced
        self._keep_crop(look, CROP_VEHICLE, float(width), image, box)

    def _keep_crop(self, look: TrackLook, kind: int, score: float, image: np.ndarray,
                   box: tuple[int, int, int, int]) -> None:
        """Keep ``box`` of ``image`` as the track's one crop if it beats the one held: a better
        kind, or the same kind with a higher score. Only when crops are sent, downscaled to the
        evidence width at once so a live track holds at most one small image."""
        ev = self.cfg.evidence
        if not ev.send_crop or kind < look.crop_kind or (kind == look.crop_kind and score <= look.crop_score):
            return
        h, w = image.shape[:2]
        x0, y0, x1, y1 = max(0, box[0]), max(0, box[1]), min(w, box[2]), min(h, box[3])
        if x1 - x0 < 2 or y1 - y0 < 2:
            return
        look.crop_kind, look.crop_score = kind, score
        look.crop = _shrink(image[y0:y1, x0:x1], ev.max_width)

    def track_ended(self, frame: Frame, track: Track, direction: str | None) -> list[VisionEvent]:
        self._previewed.discard(track.track_id)
        look = self._looks.pop(track.track_id, None)
        if look is None or track.label not in self.classes:
            return []
        vote = look.voter.vote() if look.voter is not None else None
        if vote is not None:
            crop = look.crop if look.crop_kind == CROP_READ else None
            return [self._event(frame, track, direction, self.reporter.fields(vote, crop_bgr=crop))]
        status = self._unread_status(look, track, direction)
        if status is None:
            return []
        # unreadable shows the best plate candidate (or read), absent the widest view of the vehicle
        shows = look.crop_kind >= CROP_CANDIDATE if status == "UNREADABLE" else look.crop_kind == CROP_VEHICLE
        crop = look.crop if shows else None
        return [self._event(frame, track, direction, self.reporter.unread_fields(status, crop_bgr=crop))]

    def _unread_status(self, look: TrackLook, track: Track, direction: str | None) -> str | None:
        """``"UNREADABLE"``, ``"ABSENT"`` or None (no passage) for a track with no voted read."""
        cfg = self.cfg
        if not cfg.report_unread:
            return None
        lines = True if self.has_lines is None else self.has_lines()
        if lines and direction is None:
            return None  # on a checkpoint camera only vehicles that crossed a line passed it
        if look.candidates or look.voter is not None:
            return "UNREADABLE"  # reads that were never voted in also mean a plate was there
        if track.label in cfg.absent_classes and look.large_frames >= cfg.absent_min_frames:
            return "ABSENT"
        return None  # too small or too brief to say the plate is missing

    def _event(self, frame: Frame, track: Track, direction: str | None,
               fields: dict[str, Any]) -> VehiclePlate:
        t = min(track.last_t, frame.t)
        return VehiclePlate(camera=self.camera, t=t, wall=frame.wall - (frame.t - t),
                            capture_mono=frame.mono, frame_index=frame.index,
                            track_id=track.track_id, label=track.label,
                            confidence=round(track.best_score, 4), direction=direction,
                            plate=fields)


def plate_seen(cand: PlateCandidate, cfg: PlatesConfig) -> bool:
    """Whether a plate candidate is evidence of a plate: a blue, yellow or green one from
    ``candidate_min_score``, a plain one (white, black, colourless) from ``plain_candidate_min_score``.

    In a monochrome frame (an infrared or black-and-white camera) no candidate has a colour, so
    colour is no evidence either way and every candidate is judged from ``candidate_min_score``:
    with the plain minimum, plates blurred past reading at night were reported 'absent'."""
    coloured = cand.colour in PLATE_COLOURS or cand.monochrome
    return cand.score >= (cfg.candidate_min_score if coloured else cfg.plain_candidate_min_score)


def _shrink(crop: np.ndarray, max_width: int) -> np.ndarray:
    """A copy of ``crop`` at most ``max_width`` wide (area averaging, as the evidence JPEG does)."""
    if crop.shape[1] <= max_width:
        return crop.copy()
    import cv2

    h = max(1, round(crop.shape[0] * max_width / crop.shape[1]))
    return cv2.resize(crop, (max_width, h), interpolation=cv2.INTER_AREA)


def _owner(box: tuple[int, int, int, int] | None, tracks: list[Track], w: int, h: int
           ) -> Track | None:
    """The vehicle track whose box holds the centre of a plate box."""
    if box is None:
        return None
    cx, cy = (box[0] + box[2]) / 2 / w, (box[1] + box[3]) / 2 / h
    inside = [t for t in tracks if t.box[0] <= cx <= t.box[2] and t.box[1] <= cy <= t.box[3]]
    return max(inside, key=lambda t: (t.box[2] - t.box[0]) * (t.box[3] - t.box[1]), default=None)
