"""Keep a camera alive: reopen a dead source with exponential backoff and count it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass

from gateway.camera.frame import Frame, FrameSource, SourceEndedError, SourceError
from gateway.camera.imageio import ImageDecodeError
from gateway.ratelog import RateLimitedLog

log = logging.getLogger(__name__)


@dataclass
class SourceHealth:
    """Counters a source contributes to the camera's health report."""

    frames: int = 0
    corrupt_frames: int = 0
    source_errors: int = 0
    reopens: int = 0
    failed_opens: int = 0
    ended: bool = False
    gave_up: bool = False
    last_error: str = ""

    def as_dict(self) -> dict[str, object]:
        """Plain dict for the health topic."""
        return asdict(self)


class ResilientSource:
    """Wraps a :class:`FrameSource` so that failures never reach the pipeline as crashes.

    * :class:`SourceError` (device vanished, stream down): the source is closed and reopened
      after ``initial_s``, doubling up to ``max_s``; each reopen is counted. After
      ``max_reopens`` consecutive failed opens it gives up and raises :class:`SourceError`.
    * :class:`ImageDecodeError` (one corrupt frame): counted, logged, skipped.
    * :class:`SourceEndedError` (finite media over): recorded in health and re-raised.

    Messages are logged once per failure streak, not once per retry, so a dead camera does
    not flood the log.
    """

    def __init__(
        self,
        source: FrameSource,
        *,
        initial_s: float = 0.5,
        max_s: float = 30.0,
        max_reopens: int | None = None,
        stop: threading.Event | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.source = source
        self.name = source.name
        self.live = source.live
        self.health = SourceHealth()
        self._initial_s = initial_s
        self._max_s = max_s
        self._max_reopens = max_reopens
        self._stop = stop or threading.Event()
        self._sleep = sleep
        self._open = False
        self._ever_opened = False
        self._streak = 0  # consecutive failed opens
        # corrupt frames and flapping streams can repeat every frame: log each kind rate-limited
        self._ratelog = RateLimitedLog(log)

    def _wait(self, seconds: float) -> None:
        if self._sleep is not None:
            self._sleep(seconds)
        else:
            self._stop.wait(seconds)

    def open(self) -> None:
        """Open the source, retrying with backoff (see class docstring)."""
        delay = self._initial_s
        while not self._stop.is_set():
            try:
                self.source.open()
            except SourceError as exc:
                self.health.failed_opens += 1
                self.health.last_error = str(exc)
                self._streak += 1
                if self._streak == 1:
                    log.warning(
                        "camera %s: %s; retrying with backoff up to %.0f s", self.name, exc,
                        self._max_s,
                    )
                if self._max_reopens is not None and self._streak > self._max_reopens:
                    self.health.gave_up = True
                    log.error(
                        "camera %s: giving up after %d failed opens; check cabling/URL and "
                        "restart the service", self.name, self._streak,
                    )
                    raise SourceError(f"camera {self.name}: gave up: {exc}") from exc
                self._wait(delay)
                delay = min(delay * 2, self._max_s)
                continue
            if self._ever_opened:
                self.health.reopens += 1
                log.info("camera %s: reopened (reopen #%d)", self.name, self.health.reopens)
            self._ever_opened = True
            self._open = True
            self._streak = 0
            return
        raise SourceError(f"camera {self.name}: stopped while opening")

    def read(self) -> Frame:
        """Return the next good frame; reopen on failure; raise SourceEndedError at end of media."""
        while True:
            if not self._open:
                self.open()
            try:
                frame = self.source.read()
            except ImageDecodeError as exc:
                self.health.corrupt_frames += 1
                self.health.last_error = str(exc)
                self._ratelog.log(logging.WARNING, "corrupt", "camera %s: corrupt frame skipped: %s",
                                  self.name, exc)
                continue
            except SourceEndedError:
                self.health.ended = True
                raise
            except SourceError as exc:
                self.health.source_errors += 1
                self.health.last_error = str(exc)
                self._ratelog.log(logging.WARNING, "reopen", "camera %s: %s; reopening", self.name, exc)
                self._close_quietly()
                self._wait(self._initial_s)
                continue
            self.health.frames += 1
            return frame

    def _close_quietly(self) -> None:
        try:
            self.source.close()
        except Exception:  # a dying driver may throw on release; we reopen anyway
            log.debug("camera %s: error while closing", self.name, exc_info=True)
        self._open = False

    def close(self) -> None:
        """Close the underlying source."""
        self._close_quietly()


