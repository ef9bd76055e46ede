"""A folder of still images as a camera (test rigs, time-lapse uploads)."""

from __future__ import annotations

import time
from pathlib import Path

from gateway.camera.config import PacingMode
from gateway.camera.frame import Frame, SourceEndedError, SourceError
from gateway.camera.imageio import ImageDecodeError, read_image


class ImageFolderSource:
    """Images of a folder in name order; the format is taken from each file's content.

    A corrupt or non-image file raises :class:`ImageDecodeError` for that one frame and the
    next ``read()`` continues with the next file.
    """

    live = False

    def __init__(
        self,
        folder: str | Path,
        *,
        fps: float = 1.0,
        pacing: PacingMode = PacingMode.FAST,
        loop: bool = False,
    ) -> None:
        self.folder = Path(folder)
        self.name = str(self.folder)
        self._fps = fps
        self._pacing = pacing
        self._loop = loop
        self._files: list[Path] = []
        self._pos = 0
        self._index = 0
        self._t0_wall = 0.0
        self._t0_mono = 0.0

    def open(self) -> None:
        """List the folder; raise :class:`SourceError` if it is missing or has no files."""
        if not self.folder.is_dir():
            raise SourceError(f"image folder {self.folder} does not exist")
        self._files = sorted(
            p for p in self.folder.iterdir() if p.is_file() and not p.name.startswith(".")
        )
        if not self._files:
            raise SourceError(f"image folder {self.folder} holds no files")
        self._pos = 0
        self._index = 0
        self._t0_wall = time.time()
        self._t0_mono = time.monotonic()

    def read(self) -> Frame:
        """Return the next image as a frame."""
        if self._pos >= len(self._files):
            if not self._loop or not self._files:
                raise SourceEndedError(f"image folder {self.folder} done ({self._index} frames)")
            self._pos = 0
        path = self._files[self._pos]
        self._pos += 1
        index = self._index
        self._index += 1
        t = index / self._fps
        if self._pacing is PacingMode.REALTIME:
            delay = self._t0_mono + t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        try:
            img = read_image(path)
        except ImageDecodeError:
            raise
        return Frame(
            image=img,
            index=index,
            t=t,
            wall=self._t0_wall + t,
            mono=time.monotonic(),
            source=str(path),
        )

    def close(self) -> None:
        """Nothing to release."""
        self._files = []
