"""A background grabber that keeps only the newest frame of a live source.

A camera produces frames whether or not we keep up. Reading them in the consumer's thread
would let the driver queue up old frames (seconds of lag); instead a thread reads
continuously and the consumer always gets the most recent one. Frames it never saw are
counted as dropped.
"""

from __future__ import annotations

import logging
import threading

from gateway.camera.frame import Frame, FrameSource, SourceEndedError, SourceError

log = logging.getLogger(__name__)


class LatestFrameGrabber:
    """Reads ``source`` in a daemon thread; :meth:`get` returns the newest unseen frame."""

    def __init__(self, source: FrameSource) -> None:
        self.source = source
        self.name = source.name
        self.live = True
        self.dropped = 0
        self._cond = threading.Condition()
        self._latest: Frame | None = None
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def open(self) -> None:
        """Open the source and start the reader thread."""
        self.source.open()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"grab-{self.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                frame = self.source.read()
            except (SourceEndedError, SourceError) as exc:
                with self._cond:
                    self._error = exc
                    self._cond.notify_all()
                return
            with self._cond:
                if self._latest is not None:
                    self.dropped += 1
                self._latest = frame
                self._cond.notify_all()

    def read(self, timeout: float | None = 5.0) -> Frame:
        """Block until a frame newer than the last returned one exists and return it.

        Raises the source's :class:`SourceEndedError`/:class:`SourceError` once no frame is left,
        or :class:`SourceError` when nothing arrives within ``timeout`` seconds.
        """
        with self._cond:
            ok = self._cond.wait_for(
                lambda: self._latest is not None or self._error is not None, timeout
            )
            if self._latest is not None:
                frame, self._latest = self._latest, None
                return frame
            if self._error is not None:
                raise self._error
            if not ok:
                raise SourceError(f"camera {self.name}: no frame for {timeout} s")
            raise SourceError(f"camera {self.name}: grabber stopped")

    def close(self) -> None:
        """Stop the thread and close the source."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        self.source.close()
