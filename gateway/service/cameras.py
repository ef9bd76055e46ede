"""One camera as a service component: its pipeline on its own thread, events to the spool.

A camera that cannot start (model missing or tampered, source unusable) or that dies is
reported once, as a ``device_fault`` event and in health, and the rest of the gateway keeps
running. The component hands its pipeline the site (time zone, alert levels), the gateway's
level controller and, when the camera keeps clips, a clip recorder on the gateway's store.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from pathlib import Path
from typing import Any

from gateway.events.bodies import DeviceFault
from gateway.events.types import Severity
from gateway.service.health import Counters
from gateway.service.producer import EventProducer
from gateway.service.vision_events import to_body
from gateway.vision.config import VisionCameraConfig
from gateway.vision.schedule import LevelController, SiteConfig

log = logging.getLogger(__name__)


class CameraComponent:
    """Runs one :class:`~gateway.vision.pipeline.CameraPipeline` and emits its events."""

    def __init__(self, name: str, cfg: VisionCameraConfig, producer: EventProducer,
                 counters: Counters, asset_cache: Path | None = None, *,
                 site: SiteConfig | None = None, levels: LevelController | None = None,
                 clip_store: Any = None) -> None:
        self.name = name
        self.cfg = cfg
        self.site = site or (levels.site if levels is not None else SiteConfig())
        self.levels = levels
        self.clip_store = clip_store
        self._producer = producer
        self._counters = counters
        self._asset_cache = asset_cache
        self.pipeline: Any = None
        self.error: str | None = None
        self.finished = threading.Event()
        self._stopping = False
        self.plates: Any = None
        self.latencies_ms: list[float] = []  # capture -> durable in the spool
        self._thread = threading.Thread(target=self._run, name=f"camera-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        if self.pipeline is not None:
            self.pipeline.stop()
        self._thread.join(10)

    def _run(self) -> None:
        from gateway.vision.pipeline import CameraPipeline

        try:
            try:
                self.pipeline = CameraPipeline(
                    self.name, self.cfg, self._on_event, asset_cache=self._asset_cache,
                    observer=self._plate_observer(), site=self.site,
                    level=self.levels.level_at if self.levels is not None else None,
                    clips=self._clip_recorder())
            except Exception as exc:  # any type (ModelError, AssetError, OSError...) = cannot start
                self._fault("start_failed", f"camera {self.name} not started: {exc}")
                return
            if never := self.pipeline.untracked_classes():
                # the camera runs for the classes it can see; these would silently never count
                self._fault("classes_unknown", f"camera {self.name}: rules.classes {never} are not "
                            "among the model's labels, so they are never tracked: correct them, "
                            "or map a label onto them in rules.class_aliases", Severity.WARNING)
            self.pipeline.run()
            source = self.pipeline.health().get("source", {})
            if not source.get("ended") and not self._stopping:
                why = source.get("last_error") or "source could not be opened"
                self._fault("source_dead", f"camera {self.name} stopped: {why}")
        except Exception as exc:  # a bug in one camera must not take the gateway down
            log.exception("camera %s crashed", self.name)
            self._fault("crashed", f"camera {self.name} crashed: {type(exc).__name__}: {exc}")
        finally:
            self.finished.set()

    def _clip_recorder(self) -> Any:
        """The camera's clip recorder on the gateway's store, if this camera keeps clips."""
        if not self.cfg.clips.enabled or self.clip_store is None:
            return None
        from gateway.clips.recorder import ClipRecorder

        return ClipRecorder(self.name, self.cfg.clips, self.clip_store)

    def reconfigure(self, cfg: VisionCameraConfig) -> None:
        """Swap in a new validated configuration from the next frame on (zones, thresholds,
        hours, levels); raises ``ReconfigureError`` when only a restart can apply it."""
        if self.pipeline is None:
            raise ValueError(f"camera {self.name} is not running")
        self.pipeline.reconfigure(cfg)
        self.cfg = cfg

    def _plate_observer(self) -> Any:
        """The plate stage, if configured; a camera without it still counts vehicles."""
        plates = self.cfg.plates
        if plates is None or not plates.enabled:
            return None
        from gateway.service.plate_observer import PlateObserver

        try:
            # the pipeline's rules now (alert levels and the zone editor swap them): a camera
            # with lines reports unread vehicles only when they cross one (issue 11, item 4)
            self.plates = PlateObserver(self.name, plates, has_lines=lambda: bool(
                self.pipeline is not None and self.pipeline.cfg.rules.lines))
        except Exception as exc:  # any failure (model, runtime, key file): report, run without plates
            self._fault("plates_unavailable", f"camera {self.name}: plate reading off: {exc}")
            return None
        return self.plates

    def _fault(self, code: str, message: str, severity: Severity = Severity.ERROR) -> None:
        """Count, log and send a device_fault; an ERROR is also the camera's error state."""
        if severity is Severity.ERROR:
            self.error = message
        self._counters.inc(f"camera.{self.name}.{code}")
        log.error("%s", message)
        self._producer.emit(DeviceFault(component=f"camera/{self.name}", code=code,
                                        severity=severity, message=message[:256]))

    def _on_event(self, ev: Any) -> None:
        body = to_body(ev)
        if body is None:
            return
        stored = self._producer.emit(body, ts_ms=int(ev.wall * 1000))
        if stored is not None and ev.capture_mono:
            self.latencies_ms.append((time.monotonic() - ev.capture_mono) * 1000)
            del self.latencies_ms[:-1000]

    def health(self) -> dict[str, Any]:
        """The pipeline's counters and timings, plus capture-to-spool latency."""
        doc: dict[str, Any] = {"error": self.error} if self.error else {}
        if self.pipeline is not None:
            doc.update(plain(self.pipeline.health()))
        if self.plates is not None:
            doc["plate_reads"] = self.plates.reads
        if self.latencies_ms:
            lat = sorted(self.latencies_ms)
            doc["spool_latency_ms"] = {"p50": round(lat[len(lat) // 2], 1),
                                       "p99": round(lat[min(len(lat) - 1,
                                                            math.ceil(len(lat) * 0.99) - 1)], 1)}
        return doc


def plain(value: Any) -> Any:
    """Convert NumPy scalars and tuples so the document encodes as CBOR/JSON."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    if isinstance(value, float):
        return round(value, 3)
    return value
