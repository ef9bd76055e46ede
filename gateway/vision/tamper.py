"""Camera tamper: a covered, sprayed, defocused, turned-away or too dark view, from image statistics.

Why statistics and not a model: the checks must run on every camera of a Pi for months at a
cost far below the detector's, and each verdict must be explainable to a technician in one
line. Every ``interval_s`` of frame time one frame is reduced to a small grey image
(:data:`ANALYSIS_WIDTH` wide) and measured:

* **brightness** - mean grey level (0..255);
* **contrast** - standard deviation of the grey levels;
* **sharpness** - variance of the Laplacian of the contrast-normalised image, so a change of
  light (gain) does not read as blur; compared with the reference's own sharpness;
* **similarity** - median over a grid of cells of the normalised cross-correlation between
  the gradient magnitudes of the frame and of a *reference* view. Gradients ignore a change of
  light; the median over cells ignores an object that covers part of the view.

The reference is the running average of normal frames with a time constant of
:data:`REFERENCE_TAU_S`, so a slow change of light (dusk, clouds) moves it along; it is frozen
while anything is wrong. A frame's verdict, checked in this order:

* ``dark``    - brightness < :data:`DARK_BRIGHTNESS` and the view still matches the reference;
* ``tamper``  - contrast < :data:`COVER_CONTRAST`, or dark and not matching (covered, sprayed
  opaque, lens capped);
* ``defocus`` - sharpness < :data:`DEFOCUS_RATIO` x the reference's (defocused, sprayed
  translucent, misted);
* ``moved``   - similarity < :data:`MOVED_SIMILARITY` (turned away, shifted).

Contract: a verdict becomes a fault only when at least :data:`VOTE_FRACTION` of the checks in
the last ``raise_after_s`` agree (a lorry filling the view while it passes does not last that
long), and the fault clears when that fraction of the checks in the last ``clear_after_s`` is
normal. Each raise and each clear is reported once, the clear with the fault's duration.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import ClassVar

import cv2
import numpy as np

from gateway.vision.config import TamperConfig
from gateway.vision.events import VisionEvent

ANALYSIS_WIDTH = 160  # enough to see the layout of a view, and costs well under 1 ms
GRID_ROWS, GRID_COLS = 3, 4  # cells for similarity: an object covering a few still leaves most
MIN_CELL_TEXTURE = 1.0  # a reference cell with less gradient spread (flat sky) cannot vote
DARK_BRIGHTNESS = 45.0  # mean grey level below which the detector misses most objects
COVER_CONTRAST = 4.0  # grey-level spread of a uniform view: a covered lens is ~0-3, scenes >= 10
DEFOCUS_RATIO = 0.15  # blur leaves < 5 % of the sharpness; a passing car brings it to >= 25 %
MOVED_SIMILARITY = 0.25  # a view shifted 40 % scores < 0.1; a car passing dips to ~0.1 for < 2 s
REFERENCE_TAU_S = 120.0  # the reference follows light changes slower than minutes, not events
VOTE_FRACTION = 0.8  # share of the window's checks that must agree (one odd frame does not flip)


@dataclass(slots=True)
class ViewStats:
    """The measurements of one checked frame (see the module docstring)."""

    brightness: float
    contrast: float
    sharpness: float
    similarity: float


@dataclass(kw_only=True)
class CameraTamper(VisionEvent):
    """A tamper condition was raised (``cleared`` False) or has ended (``cleared`` True)."""

    kind: ClassVar[str] = "camera_tamper"
    code: str  # tamper | defocus | moved | dark
    cleared: bool = False
    duration_s: float | None = None
    message: str = ""
    stats: dict[str, float] = field(default_factory=dict)


def _small_grey(image: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    h, w = grey.shape[:2]
    height = max(GRID_ROWS * 4, round(h * ANALYSIS_WIDTH / w))
    return cv2.resize(grey, (ANALYSIS_WIDTH, height), interpolation=cv2.INTER_AREA).astype(
        np.float32)


def _gradient(grey: np.ndarray) -> np.ndarray:
    smooth = cv2.GaussianBlur(grey, (0, 0), 1.0)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1)
    return cv2.magnitude(gx, gy)


def _sharpness(grey: np.ndarray) -> float:
    std = float(grey.std())
    if std < 1e-3:
        return 0.0
    return float(cv2.Laplacian((grey - grey.mean()) / std, cv2.CV_32F).var())


def _cells(img: np.ndarray) -> list[np.ndarray]:
    h, w = img.shape
    return [img[r * h // GRID_ROWS:(r + 1) * h // GRID_ROWS, c * w // GRID_COLS:(c + 1) * w // GRID_COLS]
            for r in range(GRID_ROWS) for c in range(GRID_COLS)]


def similarity(grad: np.ndarray, ref_grad: np.ndarray) -> float:
    """Median over grid cells of the normalised cross-correlation of two gradient images."""
    scores = []
    for a, b in zip(_cells(grad), _cells(ref_grad), strict=True):
        if float(b.std()) < MIN_CELL_TEXTURE:
            continue
        a = a - a.mean()
        b = b - b.mean()
        denom = float(np.sqrt((a * a).sum() * (b * b).sum()))
        scores.append(float((a * b).sum()) / denom if denom > 1e-6 else 0.0)
    return float(np.median(scores)) if scores else 1.0


def verdict(s: ViewStats, ref_sharpness: float) -> str | None:
    """The condition one frame's statistics show, or None for a normal view."""
    same_view = s.similarity >= MOVED_SIMILARITY
    if s.brightness < DARK_BRIGHTNESS and same_view and s.contrast > 0:
        return "dark"
    if s.contrast < COVER_CONTRAST or s.brightness < DARK_BRIGHTNESS:
        return "tamper"
    if ref_sharpness > 0 and s.sharpness < DEFOCUS_RATIO * ref_sharpness:
        return "defocus"
    if not same_view:
        return "moved"
    return None


MESSAGES = {
    "tamper": "camera {name}: view covered or blocked (no contrast); check the lens and housing",
    "defocus": "camera {name}: view blurred (defocused, sprayed or misted lens); clean or refocus",
    "moved": "camera {name}: view no longer matches its reference (turned or moved); re-aim it",
    "dark": "camera {name}: view too dark to detect; check the lighting or IR illuminator",
}


class TamperMonitor:
    """Watches one camera's frames and reports tamper conditions as they start and end.

    Call :meth:`check` with every frame; it measures one frame per ``interval_s`` and returns
    the raise and clear events due (usually none).
    """

    def __init__(self, name: str, cfg: TamperConfig) -> None:
        self.name = name
        self.cfg = cfg
        self._next_t: float | None = None
        self._last_t: float | None = None
        self._ref_grad: np.ndarray | None = None
        self._ref_sharpness = 0.0
        self._votes: deque[tuple[float, str | None]] = deque()
        self.active: str | None = None
        self._active_since = 0.0
        self.last: ViewStats | None = None
        self.checks = 0

    def measure(self, image: np.ndarray) -> tuple[ViewStats, np.ndarray, np.ndarray]:
        """The statistics of ``image`` against the reference, with its small grey and gradient."""
        grey = _small_grey(image)
        grad = _gradient(grey)
        ref = self._ref_grad if self._ref_grad is not None else grad
        stats = ViewStats(brightness=float(grey.mean()), contrast=float(grey.std()),
                          sharpness=_sharpness(grey),
                          similarity=similarity(grad, ref) if ref.shape == grad.shape else 0.0)
        return stats, grey, grad

    def _learn(self, grad: np.ndarray, sharpness: float, dt: float) -> None:
        if self._ref_grad is None or self._ref_grad.shape != grad.shape:
            self._ref_grad, self._ref_sharpness = grad, sharpness
            return
        alpha = min(1.0, dt / REFERENCE_TAU_S)
        cv2.accumulateWeighted(grad, self._ref_grad, alpha)
        self._ref_sharpness += alpha * (sharpness - self._ref_sharpness)

    def _share(self, t: float, window: float, want: str | None) -> float:
        votes = [v for vt, v in self._votes if vt > t - window]
        # The window must be (nearly) full: a fault is never raised on a few checks.
        if not votes or len(votes) < window / self.cfg.interval_s * VOTE_FRACTION:
            return 0.0
        return sum(v == want for v in votes) / len(votes)

    def check(self, image: np.ndarray, t: float, wall: float, capture_mono: float,
              frame_index: int) -> list[CameraTamper]:
        """Measure ``image`` if a check is due at frame time ``t``; return raise/clear events."""
        if self._next_t is not None and t < self._next_t:
            return []
        dt = self.cfg.interval_s if self._last_t is None else t - self._last_t
        self._last_t = t
        self._next_t = t + self.cfg.interval_s
        self.checks += 1
        stats, _grey, grad = self.measure(image)
        self.last = stats
        code = verdict(stats, self._ref_sharpness) if self._ref_grad is not None else None
        if code is None and self.active is None:
            self._learn(grad, stats.sharpness, dt)
        self._votes.append((t, code))
        horizon = max(self.cfg.raise_after_s, self.cfg.clear_after_s)
        while self._votes and self._votes[0][0] <= t - horizon:
            self._votes.popleft()
        base = {"camera": self.name, "t": t, "wall": wall, "capture_mono": capture_mono,
                "frame_index": frame_index}
        out: list[CameraTamper] = []
        if self.active is not None \
                and self._share(t, self.cfg.clear_after_s, None) >= VOTE_FRACTION:
            out.append(self._clear(base, t))
        if code is not None and code != self.active \
                and self._share(t, self.cfg.raise_after_s, code) >= VOTE_FRACTION:
            if self.active is not None:
                out.append(self._clear(base, t))
            self.active, self._active_since = code, t
            out.append(CameraTamper(
                **base, code=code, message=MESSAGES[code].format(name=self.name),
                stats={k: round(v, 3) for k, v in vars_of(stats).items()}))
        return out

    def _clear(self, base: dict[str, object], t: float) -> CameraTamper:
        code, self.active = self.active or "", None
        duration = t - self._active_since
        return CameraTamper(**base, code=code, cleared=True, duration_s=round(duration, 3),  # type: ignore[arg-type]
                            message=f"camera {self.name}: {code} over after {duration:.0f} s")

    def health(self) -> dict[str, object]:
        """The active condition and the last measurements (for the health report)."""
        doc: dict[str, object] = {"active": self.active, "checks": self.checks}
        if self.last is not None:
            doc["last"] = {k: round(v, 3) for k, v in vars_of(self.last).items()}
        return doc


def vars_of(stats: ViewStats) -> dict[str, float]:
    """The statistics as a plain dict."""
    return {"brightness": stats.brightness, "contrast": stats.contrast,
            "sharpness": stats.sharpness, "similarity": stats.similarity}
