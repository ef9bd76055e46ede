"""One camera's pipeline: source -> motion gate -> detector -> tracker -> zones/lines -> events.

The pipeline calls ``on_event(VisionEvent)`` with plain dataclasses and knows nothing about
MQTT or the spool; the gateway's service wires it to the event layer.

Beside the detection path, every frame goes to the tamper monitor and (when clips are on) to
the clip recorder's ring, whatever the hour: a covered camera or the seconds before an alarm
matter at any time. The alert level and active hours are judged per frame from the frame's
own time; a level change swaps in that level's configuration (built and validated once) on
the next frame, and :meth:`CameraPipeline.reconfigure` swaps in a new validated camera
configuration the same way, without reopening the source or reloading the model.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from gateway.camera.config import PacingMode
from gateway.camera.factory import open_source
from gateway.camera.frame import Frame, FrameSource, SourceEndedError, SourceError
from gateway.camera.latest import LatestFrameGrabber
from gateway.camera.resilient import ResilientSource
from gateway.ratelog import RateLimitedLog
from gateway.vision.config import CropConfig, VisionCameraConfig
from gateway.vision.decoders import nms
from gateway.vision.detection import Detection
from gateway.vision.detector import Detector
from gateway.vision.events import (
    CrowdCount,
    LineCrossing,
    Loitering,
    ObjectEnter,
    ObjectExit,
    VisionEvent,
    ZoneIntrusion,
)
from gateway.vision.health import PipelineHealth
from gateway.vision.motion import MotionGate
from gateway.vision.observer import TrackObserver
from gateway.vision.render import annotate, crop_jpeg, encode_jpeg
from gateway.vision.rules import Rules
from gateway.vision.schedule import SiteConfig, in_windows
from gateway.vision.tamper import TamperMonitor
from gateway.vision.tracker import Track, Tracker

log = logging.getLogger(__name__)

#: a camera's snapshot is encoded at most this often (5 a second), whoever asks
SNAPSHOT_MIN_INTERVAL_S = 0.2

EventCallback = Callable[[VisionEvent], None]
LevelSource = Callable[[float], str]  # frame wall time -> alert level in force


class ReconfigureError(ValueError):
    """A new camera configuration changes what needs a restart (source, model)."""


class CameraPipeline:
    """Processes one camera's frames and reports events through ``on_event``.

    Use :meth:`run` to read the configured source until it ends or :meth:`stop` is called,
    or feed frames yourself with :meth:`process` (then call :meth:`finish` at the end so
    open tracks get their exit events). :meth:`health` returns counters and stage timings.
    """

    def __init__(
        self,
        name: str,
        cfg: VisionCameraConfig,
        on_event: EventCallback,
        *,
        detector: Detector | None = None,
        model_path: str | Path | None = None,
        source: FrameSource | None = None,
        keep_history: int = 500,
        asset_cache: str | Path | None = None,
        observer: TrackObserver | None = None,
        site: SiteConfig | None = None,
        level: LevelSource | None = None,
        clips: Any = None,
    ) -> None:
        self.name = name
        self.base_cfg = cfg
        self.cfg = cfg
        self.on_event = on_event
        # The interpreter decodes down to the lowest threshold any level uses; _filter then
        # applies the current level's own, so changing level never reloads the model.
        self.detector = detector or Detector(
            cfg.detector_floor(), model_path=model_path, class_aliases=cfg.rules.class_aliases,
            asset_cache=asset_cache,
        )
        if detector is not None and cfg.rules.class_aliases and not detector.aliases:
            detector.aliases = dict(cfg.rules.class_aliases)
        self.gate = MotionGate(cfg.motion)
        self.tracker = Tracker(cfg.tracker)
        self.rules = Rules(cfg.rules)
        self.health_stats = PipelineHealth()
        self._source = source
        self._resilient: ResilientSource | None = None
        self._grabber: LatestFrameGrabber | None = None
        self._stop = threading.Event()
        self._last_detect_t: float | None = None
        self._entered: set[int] = set()
        self._history: deque[Track] = deque(maxlen=keep_history)
        self._last_frame: Frame | None = None
        # the newest snapshot (frame, when, quality, JPEG, rules drawn): see snapshot()
        self._snapshot: tuple[Frame, float, int, bytes, VisionCameraConfig] | None = None
        self._snapshot_lock = threading.Lock()
        self.snapshots_made = 0  # JPEGs actually encoded by snapshot() (tests)
        # set once run() has ended every open track and handed its events on: the source's own
        # "ended" comes earlier, before the exits (and their plate reads) of the last tracks
        self._finished = threading.Event()
        self._classes = set(cfg.rules.classes)
        self.observer = observer
        # Failures here can repeat on every frame for months: log each kind once per interval.
        self._ratelog = RateLimitedLog(log)
        self.site = site or SiteConfig()
        self._level_source = level or (lambda wall: self.site.scheduled_level(wall))
        self.level: str | None = None
        self._by_level: dict[str, VisionCameraConfig] = {}
        self._local: datetime | None = None
        self.armed = True
        self.tamper = TamperMonitor(name, cfg.tamper) if cfg.tamper.enabled else None
        self.clips = clips  # a gateway.clips.recorder.ClipRecorder, or None
        self._pending_cfg: VisionCameraConfig | None = None
        self._cfg_lock = threading.Lock()

    def untracked_classes(self) -> list[str]:
        """Classes of ``rules.classes`` that the detector never reports: not among its model's
        labels, nor a name an alias gives (a typo such as 'persons', or another model's names).
        Empty when the model has no label map (its classes are then called ``class_<id>``)."""
        labels = getattr(self.detector, "labels", None)
        if labels is None:
            return []
        known = {n for n in labels.names if n not in ("", "???")}
        known |= set(self.cfg.rules.class_aliases.values())
        return sorted(set(self.cfg.rules.classes) - known)

    def _fault(self, where: str, exc: BaseException, msg: str, *args: object) -> None:
        """Log a per-frame failure rate-limited per (stage, exception type), with the traceback
        at DEBUG level on every occurrence (for a technician who turns debug logging on)."""
        self._ratelog.log(logging.ERROR, f"{where}:{type(exc).__name__}",
                          f"camera %s: {msg}: %s: %s", self.name, *args, type(exc).__name__, exc)
        log.debug("camera %s: %s failed", self.name, where, exc_info=exc)

    # ----------------------------------------------------------------- frame processing
    def _should_detect(self, frame: Frame, moving: bool) -> bool:
        sched = self.cfg.schedule
        if not self.cfg.motion.enabled or self._last_detect_t is None:
            return True
        since = frame.t - self._last_detect_t
        if moving and since >= sched.motion_interval_s:
            return True
        if self.tracker.tracks and since >= sched.refresh_interval_s:
            return True
        return sched.idle_interval_s is not None and since >= sched.idle_interval_s

    def _filter(self, dets: list[Detection]) -> list[Detection]:
        rules = self.cfg.rules
        det = self.cfg.detector
        kept = [d for d in dets if d.label in self._classes and d.area <= rules.max_box_area
                and d.score >= det.class_thresholds.get(d.label, det.min_score)]
        if len(kept) < 2:
            return kept
        # Aliasing can leave two boxes of one object under different model classes (SSD's
        # own NMS is per class), and SSD likes to add a part-box inside the whole: merge them.
        boxes = np.array([d.box for d in kept], np.float32)
        scores = np.array([d.score for d in kept], np.float32)
        names = sorted({d.label for d in kept})
        ids = np.array([names.index(d.label) for d in kept])
        keep = nms(boxes, scores, rules.merge_iou, ids, rules.merge_containment)
        return [kept[i] for i in keep]

    def process(self, frame: Frame) -> list[VisionEvent]:
        """Run one frame through gate, detector, tracker and rules; return emitted events."""
        h = self.health_stats
        img = frame.image
        if not isinstance(img, np.ndarray) or img.ndim != 3 or img.size == 0 or img.shape[2] != 3:
            h.corrupt_frames += 1
            self._ratelog.log(logging.WARNING, "not-bgr", "camera %s: frame %d is not a BGR image; "
                              "skipped (counted in health corrupt_frames)", self.name, frame.index)
            return []
        h.frames += 1
        early_events = self._always(frame)
        if frame.index % self.cfg.schedule.frame_stride:
            h.skipped_stride += 1
            self._emit(early_events, frame)
            return early_events
        self._last_frame = frame
        if not self._armed_now(frame):
            h.disarmed += 1
            self._emit(early_events, frame)
            return early_events
        t0 = time.perf_counter()
        moving = self.gate.test(img).moving if self.cfg.motion.enabled else True
        t1 = time.perf_counter()
        h.time("gate", t1 - t0)
        if moving:
            h.motion_frames += 1
        if not self._should_detect(frame, moving):
            h.gated += 1
            self._emit(early_events, frame)
            return early_events
        try:
            dets = self._filter(self.detector.detect(img))
        except Exception as exc:  # a broken model or runtime must not kill the camera loop
            h.detector_errors += 1
            self._fault("detector", exc, "detector failed on frame %d", frame.index)
            self._emit(early_events, frame)
            return early_events
        t2 = time.perf_counter()
        for stage, secs in self.detector.last_times.items():
            h.time("inference" if stage == "invoke" else stage, secs)
        h.time("detect_total", t2 - t1)
        h.detector_runs += 1
        h.detections += len(dets)
        self._last_detect_t = frame.t
        update = self.tracker.update(dets, frame.t)
        h.tracks_confirmed += len(update.confirmed)
        t3 = time.perf_counter()
        h.time("tracking", t3 - t2)
        early: list[VisionEvent] = []
        if self.observer is not None:
            early = self._observe(frame)
            t3 = time.perf_counter()
        events = early_events + early + self._events(frame, update.ended)
        h.time("rules", time.perf_counter() - t3)
        self._emit(events, frame)
        return events

    # ------------------------------------------------------- every frame, armed or not
    def _always(self, frame: Frame) -> list[VisionEvent]:
        """Clip ring, tamper check and alert level: every frame, at any hour."""
        self._apply_pending()
        if self.clips is not None:
            t0 = time.perf_counter()
            try:
                self.clips.push(frame.image, frame.t, frame.wall, frame.index)
            except Exception as exc:  # evidence clips are extra: never stop the camera for them
                self.health_stats.callback_errors += 1
                self._fault("clips", exc, "clip ring failed on frame %d", frame.index)
            self.health_stats.time("clip_ring", time.perf_counter() - t0)
        events: list[VisionEvent] = []
        if self.tamper is not None:
            t0 = time.perf_counter()
            try:
                events.extend(self._tamper_events(frame))
            except Exception as exc:  # a tamper check must not stop detection
                self.health_stats.callback_errors += 1
                self._fault("tamper", exc, "tamper check failed on frame %d", frame.index)
            self.health_stats.time("tamper", time.perf_counter() - t0)
        try:
            level = self._level_source(frame.wall)
        except Exception as exc:  # a broken level source keeps the last level, camera runs on
            self._fault("level", exc, "alert level unavailable")
            level = self.level or self.site.default_level
        if level != self.level:
            self._use_level(level)
        self._local = self.site.local(frame.wall)
        return events

    def _tamper_events(self, frame: Frame) -> list[VisionEvent]:
        found = self.tamper.check(frame.image, frame.t, frame.wall,  # type: ignore[union-attr]
                                  frame.mono, frame.index)
        for ev in found:
            if not ev.cleared:
                ev.crop_jpeg = crop_jpeg(frame.image, (0.0, 0.0, 1.0, 1.0), CropConfig(
                    enabled=True, max_side=self.cfg.tamper.snapshot_side, padding=0.0))
                self.health_stats.tamper[ev.code] += 1
        return list(found)

    def _use_level(self, level: str) -> None:
        cfg = self._by_level.get(level)
        if cfg is None:
            cfg = self._by_level[level] = self.base_cfg.for_level(level)
        if self.level is not None:
            log.info("camera %s: alert level %s -> %s", self.name, self.level, level)
        self.level = level
        self._swap(cfg)

    def _swap(self, cfg: VisionCameraConfig) -> None:
        self.cfg = cfg
        self.rules.reconfigure(cfg.rules)
        self._classes = set(cfg.rules.classes)

    def _armed_now(self, frame: Frame) -> bool:
        """Camera-level hours and levels; ending the tracks when the camera is disarmed."""
        base = self.base_cfg
        armed = (not base.levels or self.level in base.levels) and \
            in_windows(base.hours, self._local or self.site.local(frame.wall))
        if self.armed and not armed:
            log.info("camera %s: disarmed (outside its hours or levels)", self.name)
            self._emit(self._exits(frame, self.tracker.flush()), frame)
            self._last_detect_t = None
        elif armed and not self.armed:
            log.info("camera %s: armed", self.name)
        self.armed = armed
        return armed

    def reconfigure(self, cfg: VisionCameraConfig) -> None:
        """Use a new, validated camera configuration from the next frame on (a zone edited on
        the gateway page): rules, thresholds, hours and levels change, tracks go on.

        A different source or model needs the camera restarted: :class:`ReconfigureError`."""
        old = self.base_cfg
        if cfg.source != old.source or cfg.detector.model != old.detector.model \
                or cfg.detector.decoder != old.detector.decoder \
                or cfg.detector_floor() != old.detector_floor() \
                or cfg.rules.class_aliases != old.rules.class_aliases \
                or cfg.motion != old.motion or cfg.tamper != old.tamper or cfg.clips != old.clips:
            raise ReconfigureError(
                f"camera {self.name}: source, model, lowest thresholds, aliases, motion gate, "
                "tamper or clip settings changed: restart the gateway to apply them")
        with self._cfg_lock:
            self._pending_cfg = cfg

    def _apply_pending(self) -> None:
        with self._cfg_lock:
            cfg, self._pending_cfg = self._pending_cfg, None
        if cfg is not None:
            self.base_cfg = cfg
            self._by_level.clear()
            level, self.level = self.level, None
            self._use_level(level or self.site.default_level)

    def _observe(self, frame: Frame) -> list[VisionEvent]:
        t0 = time.perf_counter()
        events: list[VisionEvent] = []
        try:
            live = [t for t in self.tracker.tracks if t.confirmed]
            events = self.observer.observe(frame, live)  # type: ignore[union-attr]
        except Exception as exc:  # extra analysis (plates, ...) of any kind must never stop the camera
            self.health_stats.callback_errors += 1
            self._fault("observer", exc, "track observer failed")
        self.health_stats.time("observer", time.perf_counter() - t0)
        return events

    def _base(self, frame: Frame, tr: Track | None, t: float | None = None) -> dict[str, object]:
        t = frame.t if t is None else t
        base: dict[str, object] = {
            "camera": self.name,
            "t": t,
            "wall": frame.wall - (frame.t - t),
            "capture_mono": frame.mono,
            "frame_index": frame.index,
        }
        if tr is not None:
            base.update(
                track_id=tr.track_id, label=tr.label, confidence=round(tr.best_score, 4),
                box=tuple(round(v, 4) for v in tr.box),
            )
        return base

    def _crop(self, frame: Frame, tr: Track) -> bytes | None:
        return crop_jpeg(frame.image, tr.box, self.cfg.crops) if self.cfg.crops.enabled else None

    def _events(self, frame: Frame, ended: list[Track]) -> list[VisionEvent]:
        events: list[VisionEvent] = []
        out = self.rules.update(self.tracker.tracks, frame.t, self._local, self.level)
        if self.cfg.rules.enter_exit:
            for tr in self.tracker.tracks:
                if tr.confirmed and tr.track_id not in self._entered \
                        and self.rules.state(tr).eligible:
                    self._entered.add(tr.track_id)
                    events.append(ObjectEnter(
                        **self._base(frame, tr), zones=self.rules.zones_of(tr),
                        crop_jpeg=self._crop(frame, tr),
                    ))
        for hit in out.line_hits:
            events.append(LineCrossing(
                **self._base(frame, hit.track), line=hit.line, direction=hit.direction,
                crop_jpeg=self._crop(frame, hit.track),
            ))
        for zh in out.zone_hits:
            if zh.kind == "intrusion":
                events.append(ZoneIntrusion(
                    **self._base(frame, zh.track), zone=zh.zone,
                    crop_jpeg=self._crop(frame, zh.track),
                ))
            else:
                events.append(Loitering(
                    **self._base(frame, zh.track), zone=zh.zone, dwell_s=round(zh.dwell_s, 3)
                ))
        for ch in out.crowd_hits:
            events.append(CrowdCount(
                **self._base(frame, None), zone=ch.zone, count=ch.count,
                threshold=ch.threshold, track_ids=[tr.track_id for tr in ch.tracks],
            ))
        events.extend(self._exits(frame, ended))
        return events

    def _exits(self, frame: Frame, ended: list[Track]) -> list[VisionEvent]:
        events: list[VisionEvent] = []
        for tr in ended:
            self._history.append(tr)
            st = self.rules.forget(tr)
            if tr.track_id not in self._entered:
                continue
            self._entered.discard(tr.track_id)
            events.append(ObjectExit(
                **self._base(frame, tr, tr.last_t), dwell_s=round(tr.dwell_s, 3),
                first_t=tr.first_t, zones=list(st.zones_seen), direction=st.last_direction,
                lines=list(st.lines_crossed),
            ))
            if self.observer is not None:
                try:
                    events.extend(self.observer.track_ended(frame, tr, st.last_direction))
                except Exception as exc:  # as in _observe: extra analysis must never stop the camera
                    self.health_stats.callback_errors += 1
                    self._fault("observer-end", exc, "track observer failed at track end")
        return events

    def _emit(self, events: list[VisionEvent], frame: Frame) -> None:
        for ev in events:
            self.health_stats.events[ev.kind] += 1
            if self.clips is not None and ev.clip is None:
                try:
                    ev.clip = self.clips.trigger(ev.kind, ev.t, ev.wall)
                except Exception as exc:  # no clip is a loss of evidence, not of the alarm
                    self.health_stats.callback_errors += 1
                    self._fault("clip-trigger", exc, "clip not started for %s", ev.kind)
            try:
                self.on_event(ev)
            except Exception as exc:  # a failing consumer (any code) must not stop the camera
                self.health_stats.callback_errors += 1
                self._fault(f"on_event:{ev.kind}", exc, "on_event failed for %s", ev.kind)
            self.health_stats.add_latency(time.monotonic() - frame.mono)

    def finish(self) -> list[VisionEvent]:
        """End all open tracks (source ended or pipeline stopping) and emit their exits."""
        if self._last_frame is None:
            return []
        events = self._exits(self._last_frame, self.tracker.flush())
        self._emit(events, self._last_frame)
        if self.clips is not None:
            self.clips.flush()
        return events

    # ----------------------------------------------------------------------- running
    def _open_source(self) -> FrameSource:
        src_cfg = self.cfg.source
        raw = self._source or open_source(src_cfg)
        self._resilient = ResilientSource(
            raw, initial_s=src_cfg.reopen_initial_s, max_s=src_cfg.reopen_max_s,
            max_reopens=src_cfg.max_reopens, stop=self._stop,
        )
        source: FrameSource = self._resilient
        if raw.live or src_cfg.pacing is PacingMode.REALTIME:
            # Live cameras (and files played like cameras) go through the latest-frame
            # grabber: if we fall behind, old frames are dropped, never queued.
            self._grabber = LatestFrameGrabber(self._resilient)
            source = self._grabber
        source.open()
        return source

    def run(self, max_frames: int | None = None) -> None:
        """Read and process frames until the source ends, gives up, or :meth:`stop`."""
        try:
            source = self._open_source()
        except SourceError as exc:
            log.error("camera %s: source unusable, pipeline not started: %s", self.name, exc)
            self._finished.set()
            return
        n = 0
        try:
            while not self._stop.is_set() and (max_frames is None or n < max_frames):
                t0 = time.perf_counter()
                try:
                    frame = source.read()
                except SourceEndedError as exc:
                    log.info("camera %s: %s", self.name, exc)
                    break
                except SourceError as exc:
                    log.error("camera %s: stopped: %s", self.name, exc)
                    break
                self.health_stats.time("read", time.perf_counter() - t0)
                self.process(frame)
                n += 1
        finally:
            self.finish()
            source.close()
            self._finished.set()

    def stop(self) -> None:
        """Ask :meth:`run` to return after the current frame."""
        self._stop.set()

    # ----------------------------------------------------------------------- reporting
    def health(self) -> dict[str, object]:
        """Counters and per-stage timings as a plain dict (see PipelineHealth)."""
        out = self.health_stats.as_dict()
        src = self._resilient.health.as_dict() if self._resilient else {}
        if self._grabber is not None:
            src["dropped"] = self._grabber.dropped
        out["source"] = src
        out["source_reopens"] = src.get("reopens", 0)
        out["corrupt_frames"] = self.health_stats.corrupt_frames + int(
            src.get("corrupt_frames", 0)  # type: ignore[call-overload]
        )
        out["active_tracks"] = len(self.tracker.tracks)
        # True once the camera has stopped reading and every event it had to give is out
        # (``source.ended`` alone: the last tracks' exits may still be coming)
        out["finished"] = self._finished.is_set()
        out["runtime"] = self.detector.runtime
        out["level"] = self.level
        out["armed"] = self.armed
        if self.tamper is not None:
            out["tamper"] = self.tamper.health()
        if self.clips is not None:
            out["clips"] = self.clips.health()
        return out

    def snapshot(self, quality: int = 85) -> bytes | None:
        """Annotated JPEG of the newest frame (for ``cmd/snapshot`` and the page's live view);
        None before any frame.

        Made at most once per frame and per :data:`SNAPSHOT_MIN_INTERVAL_S`; other callers get
        the last one. Why: every call annotated and encoded a whole frame (tens of ms of a Pi's
        core at 1080p), so one logged-in client asking in a loop, or many open live views,
        could take the CPU detection runs on (found by probing, session 42)."""
        with self._snapshot_lock:  # one encode at a time, whatever the web server's threads
            frame, now = self._last_frame, time.monotonic()
            if frame is None:
                return None
            cached, cfg = self._snapshot, self.cfg
            # the same frame and rules (a zone edit swaps cfg: draw the new zones at once), or
            # a newer frame asked for too soon after the last encode: the last JPEG
            if cached is not None and cached[2] == quality and cached[4] is cfg and (
                    cached[0] is frame or now - cached[1] < SNAPSHOT_MIN_INTERVAL_S):
                return cached[3]
            img = annotate(
                frame.image, tracks=self.tracker.tracks, zones=self.cfg.rules.zones,
                lines=self.cfg.rules.lines, caption=f"{self.name} t={frame.t:.1f}s",
            )
            jpeg = encode_jpeg(img, quality)
            self._snapshot = (frame, now, quality, jpeg, cfg)
            self.snapshots_made += 1
            return jpeg

    def summary_image(self) -> np.ndarray | None:
        """The newest frame with every track seen (paths, last boxes), zones and lines."""
        if self._last_frame is None:
            return None
        tracks = [*self._history, *self.tracker.tracks]
        return annotate(
            self._last_frame.image, tracks=[t for t in tracks if t.confirmed],
            zones=self.cfg.rules.zones, lines=self.cfg.rules.lines,
            caption=f"{self.name}: {self.tracker.total_confirmed} tracks",
        )
