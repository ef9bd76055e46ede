"""Reading the plates in image files, with the reason when nothing is read (``edgepost plates read``).

Why a module of its own: the camera pipeline only needs accepted reads, but a technician
checking an installation needs to know *why* an image gave none: nothing plate-like was found,
or candidates were found and each was rejected (too small, two-row, a text that fits no plate
format, a character below the confidence threshold). That explanation is computed here, only
for images without a read, from the reader's public parts (``locate``, ``plate_crop``, the
recognizer and the format rules), so the per-frame path stays as lean as it is.

Contract: :func:`read_plate_image` never raises for a bad file: a file that cannot be decoded
gives an outcome with status ``rejected`` and the decoder's one-line reason (see
:mod:`gateway.camera.imageio`: empty, truncated, not an image, a header claiming more than
``MAX_PIXELS``, a directory).
"""

from __future__ import annotations

import contextlib
import os
import re
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from gateway.camera.imageio import ImageDecodeError, read_image_info

if TYPE_CHECKING:
    import numpy as np

    from gateway.plates.config import PlatesConfig
    from gateway.plates.reader import PlateReader
    from gateway.plates.recognizer import PlateRead
    from gateway.plates.voting import PlateObservation

#: Candidates explained per image; the reader itself reads at most a handful per frame.
MAX_EXPLAINED = 8
#: Smallest crop the reader hands to the recognizer (px): the same bound as the reader's.
MIN_CROP_W, MIN_CROP_H = 16, 6
#: Lines the TFLite runtimes print on the C stderr while loading a model ("INFO: Created
#: TensorFlow Lite XNNPACK delegate for CPU."): information for runtime developers, noise here.
RUNTIME_INFO = re.compile(r"^(INFO|VERBOSE): ")

READ, NO_READ, REJECTED = "read", "no_read", "rejected"


@dataclass(frozen=True)
class PlateResult:
    """One accepted plate read."""

    text: str
    confidence: float
    char_conf: tuple[float, ...]
    plate_type: str
    colour: str
    box: tuple[int, int, int, int] | None
    #: how far the plate leans, degrees counter-clockwise (what ``plates.plate_tilt`` takes for a
    #: camera whose plates all lean so); None when unknown
    tilt: float | None = None


@dataclass(frozen=True)
class CandidateResult:
    """A plate candidate that gave no accepted read, and why."""

    box: tuple[int, int, int, int]
    score: float
    #: which finder proposed it ("model", "classical", ...)
    source: str
    #: what the recognizer read in it ("" when it was not read)
    text: str
    #: the weakest character's confidence of that read (0 when not read)
    confidence: float
    reason: str


@dataclass
class ImageOutcome:
    """What happened to one image file."""

    image: str
    #: ``read``, ``no_read`` or ``rejected``
    status: str
    plates: list[PlateResult] = field(default_factory=list)
    #: for ``no_read``: ``nothing found`` or ``candidates rejected``; for ``rejected``: the error
    reason: str = ""
    candidates: list[CandidateResult] = field(default_factory=list)
    width: int = 0
    height: int = 0
    format: str = ""
    #: ``opencv`` or ``pillow``
    decoder: str = ""
    #: decode and read time, milliseconds (the explanation of a no-read is not counted)
    ms: float = 0.0
    #: warnings the decoders printed about this file (e.g. libjpeg's "Corrupt JPEG data")
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        return asdict(self)


@dataclass
class Summary:
    """Counts over all images of one call."""

    images: int = 0
    read: int = 0
    no_read: int = 0
    rejected: int = 0
    #: accepted plate reads over all images (an image may hold more than one plate)
    plates: int = 0
    #: files inside the given folders skipped because their name is not an image's
    skipped: int = 0
    ms_median: float = 0.0
    ms_max: float = 0.0

    @classmethod
    def of(cls, outcomes: Iterable[ImageOutcome], skipped: int = 0) -> Summary:
        """Summarise ``outcomes``; timings over the images that were decoded."""
        s = cls(skipped=skipped)
        times = []
        for o in outcomes:
            s.images += 1
            if o.status == READ:
                s.read += 1
            elif o.status == NO_READ:
                s.no_read += 1
            else:
                s.rejected += 1
            s.plates += len(o.plates)
            if o.status != REJECTED:
                times.append(o.ms)
        if times:
            s.ms_median = round(statistics.median(times), 1)
            s.ms_max = round(max(times), 1)
        return s

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def image_extensions() -> frozenset[str]:
    """Lower-case file extensions of the image formats Pillow can open (".jpg", ".png", ...)."""
    from PIL import Image

    Image.init()  # registers every plugin, so the list is complete
    return frozenset(ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN)


def collect_images(paths: Iterable[Path]) -> tuple[list[Path], int]:
    """Expand files and folders into image files, in the given order, folders recursively in
    name order. Files named explicitly are always kept (their content decides, and a missing
    one is reported by the reader); inside folders only files with an image extension are
    taken, hidden files and folders are skipped. Returns ``(files, skipped_in_folders)``."""
    exts = image_extensions()
    files: list[Path] = []
    skipped = 0
    for p in paths:
        if not p.is_dir():
            files.append(p)
            continue
        for root, dirs, names in os.walk(p):  # does not follow symlinked folders: no loops
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(names):
                if name.startswith("."):
                    continue
                if Path(name).suffix.lower() in exts:
                    files.append(Path(root) / name)
                else:
                    skipped += 1
    return files, skipped


@contextlib.contextmanager
def captured_native_stderr(drop: re.Pattern[str] = RUNTIME_INFO) -> Iterator[list[str]]:
    """Capture what C libraries (TFLite, libjpeg) write to file descriptor 2 while the block
    runs; yields a list that receives the captured lines, minus those matching ``drop``.

    Only for single-threaded command-line use: the descriptor is swapped for the whole
    process, so a thread logging meanwhile would be captured too.
    """
    lines: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield lines
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            text = tmp.read().decode("utf-8", errors="replace")
            lines.extend(ln for ln in text.splitlines() if ln.strip() and not drop.match(ln))


def quiet_reader(config: Any = None) -> PlateReader:
    """A :class:`PlateReader` built without the runtimes' INFO lines on stderr; anything else
    they print (a real error) is passed on."""
    from gateway.plates.reader import PlateReader

    with captured_native_stderr() as lines:
        reader = PlateReader(config)
    for line in lines:
        print(line, file=sys.stderr)
    return reader


def _box(b: Any) -> tuple[int, int, int, int]:
    return int(b.x0), int(b.y0), int(b.x1), int(b.y1)


def _enum_name(v: Any) -> str:
    return "unknown" if v is None else str(getattr(v, "value", v))


def _judge(reader: PlateReader, read: PlateRead, crop: np.ndarray, base: dict[str, Any],
           cut: str, mono: bool) -> CandidateResult:
    """Say why ``read`` (of one candidate's crop) is not accepted, by the reader's own rules."""
    conf = round(min(read.char_conf), 3) if read.char_conf else 0.0
    reason = reader.rejection(read, crop, mono)
    if reason is None:
        # The reader cuts and refines boxes a little differently; say so rather than hide it.
        reason = (f"reads as '{read.text}' from this box, but the reader's own cut of it ({cut}) "
                  "gave no accepted read")
    return CandidateResult(**base, text=read.text, confidence=conf, reason=reason)


def _shape_reason(
    bw: int, bh: int, crop_w: int, crop_h: int, double_row: bool, panel: bool, extends: bool = False
) -> str | None:
    if crop_w < MIN_CROP_W or crop_h < MIN_CROP_H:
        return f"too small to read ({bw}x{bh} px; needs {MIN_CROP_W}x{MIN_CROP_H})"
    if double_row:
        # a two-row box without corners is read from its own panel's (reader._read_panel_box),
        # then as a one-row plate extended to the left (reader._retry_extended)
        also = " and as a one-row plate extended to the left" if extends else ""
        if panel:
            return (f"a two-row plate's shape ({bw}x{bh} px): read from its own coloured panel's "
                    f"corners{also}, and none gave an accepted read")
        tried = "; read as a one-row plate extended to the left, and no read was accepted" if extends else ""
        return (f"a two-row plate's shape ({bw}x{bh} px): its own coloured panel's corners were not "
                f"tried (plates.finder.panel_corners turns off){tried}")
    return None


def _explain_finder(reader: PlateReader, frame: np.ndarray, mono: bool) -> list[CandidateResult]:
    """Candidates of the corner finder, when the configuration enables it."""
    finder = getattr(reader, "finder", None)
    if finder is None:
        return []
    out = []
    for p in finder.find(frame)[:MAX_EXPLAINED]:
        box = tuple(round(float(v)) for v in p.box)
        base = {"box": box, "score": round(float(p.score), 3), "source": "finder"}
        # the read the reader itself judged: the same warp, and the same vote when it votes
        judged = reader.warped_read(frame, p, monochrome=mono)
        if judged is None:
            bw, bh = round(float(p.width)), round(float(p.height))
            reason = (f"too small to read ({bw}x{bh} px)" if p.width < 16 or p.height < 6
                      else "its corners cannot be warped flat")
            out.append(CandidateResult(**base, text="", confidence=0.0, reason=reason))
            continue
        out.append(_judge(reader, judged.read, judged.flat, base, "warped from its corners", mono))
    return out


def _localizer_boxes(reader: PlateReader, frame: np.ndarray) -> list[Any]:
    """The boxes the reader itself reads in a whole frame, in its order: the localizer's best
    (the top two refined, as the reader does), then the classical finder's that overlap none."""
    from gateway.plates.localizer import nms

    lc = reader.config.localizer
    cands = reader.localizer.locate(frame, lc.frame_input_size)[: lc.max_candidates]
    if lc.refine:
        cands = [reader.localizer.refine(frame, b, lc.vehicle_input_size) if i < 2 else b
                 for i, b in enumerate(cands)]
    if not lc.classical_fallback:
        return cands
    extra = [b for b in reader.classical.locate(frame) if all(b.iou(c) < 0.5 for c in cands)]
    return cands + nms(extra, 0.4)[: lc.max_candidates]


def explain_no_read(reader: PlateReader, frame: np.ndarray) -> tuple[str, list[CandidateResult]]:
    """Why ``reader.read_frame(frame)`` gave nothing: ``("nothing found", [])`` or
    ``("candidates rejected", [each candidate with its reason])``. The candidates are those the
    reader tried, in its order: the corner finder's (when enabled), the localizer's, then the
    classical finder's."""
    from gateway.plates.colour import is_monochrome
    from gateway.plates.reader import plate_crop

    mono = is_monochrome(frame)  # as the reader judges the frame
    out = _explain_finder(reader, frame, mono)
    for b in _localizer_boxes(reader, frame)[: MAX_EXPLAINED - len(out)]:
        base = {"box": _box(b), "score": round(float(b.score), 3), "source": str(b.source)}
        crop = plate_crop(frame, b)
        lc = reader.config.localizer
        reason = _shape_reason(int(b.x1 - b.x0), int(b.y1 - b.y0), crop.shape[1], crop.shape[0],
                               b.double_row, reader.config.finder.panel_corners, lc.retry_extends)
        if reason is not None:
            out.append(CandidateResult(**base, text="", confidence=0.0, reason=reason))
            continue
        retries = ", ".join(r for r, on in (
            ("trimmed", lc.retry_trims),
            ("extended to the left", lc.retry_extends),
            ("as first located", lc.refine and lc.retry_unrefined),
            ("from the corners the vehicle finder finds around it", lc.retry_corners),
        ) if on)
        cut = f"its box's cut and retries: {retries}" if retries else "its box's cut"
        out.append(_judge(reader, reader.recognizer.read(crop), crop, base, cut, mono))
    return ("candidates rejected", out) if out else ("nothing found", [])


def _strip_path(msg: str, path: Path) -> str:
    prefix = f"{path}: "
    return msg[len(prefix):] if msg.startswith(prefix) else msg


#: a finer search is only worth its tiles when it is at least this much finer than the last
FINER_STEP = 1.25


def finer_search_sizes(long_side: int, sizes: Sequence[int], first: int) -> list[int]:
    """The frame sizes searched in turn after ``first`` reads nothing in a photo whose longest
    side is ``long_side``: each of ``sizes`` above ``first``, above 640 px capped at the
    photo's own size (a multiple of 8: a search finer than the photo only magnifies it), and
    each at least :data:`FINER_STEP` times the size searched before it."""
    out: list[int] = []
    for size in sizes:
        if size > 640:
            size = min(size, max(640, long_side // 8 * 8))
        last = max([first, *out])
        if size >= FINER_STEP * last:
            out.append(size)
    return out


def finer_readers(config: PlatesConfig,
                  build: Callable[[PlatesConfig], PlateReader] | None = None) -> Callable[[int], PlateReader]:
    """``finer`` for :func:`read_still`: ``finer(size)`` is a reader configured as ``config`` but
    searching whole frames at ``size`` px, built by ``build`` (default :class:`PlateReader`) on
    first need and kept."""
    import functools

    from gateway.plates.reader import PlateReader

    make = build or PlateReader

    @functools.cache
    def finer(size: int) -> PlateReader:
        raw = config.model_dump()
        raw["localizer"]["frame_input_size"] = size
        return make(type(config).model_validate(raw))

    return finer


def read_still(reader: PlateReader, frame: np.ndarray, *,
               finer: Callable[[int], PlateReader] | None = None, finer_sizes: Sequence[int] = (),
               framed: bool = False, turn_degrees: float = 0.0) -> tuple[list[PlateObservation], str | None]:
    """The plates of a still image, and a note on which extra search read them (None: the first).

    While nothing is read: ``finer_sizes``, searched in turn (:func:`finer_search_sizes`) with
    the reader ``finer(size)`` gives (small plates in large photos); then, when ``framed``, the
    image framed in grey (:mod:`gateway.plates.framed`: a plate that fills the picture); then,
    when ``turn_degrees``, the image turned by that many degrees either way
    (:mod:`gateway.plates.rotated`: tilted plates), the most confident read of each text kept.
    For stills, where more searches cost only time; a gateway's frames never take them (most
    of them hold no plate at all)."""
    from gateway.plates.framed import read_framed
    from gateway.plates.reader import best_per_text
    from gateway.plates.rotated import read_turned

    reads = reader.read_frame(frame)
    if reads:
        return reads, None
    first = reader.config.localizer.frame_input_size
    sizes = finer_search_sizes(max(frame.shape[:2]), finer_sizes, first) if finer is not None else []
    for size in sizes:
        assert finer is not None  # sizes is empty without it
        reads = finer(size).read_frame(frame)
        if reads:
            return reads, f"read by a finer search ({size} px)"
    if framed:
        reads = read_framed(reader, frame)
        if reads:
            return reads, "read with the image framed in grey (a plate that fills the picture)"
    if turn_degrees:
        turned = best_per_text(read_turned(reader, frame, turn_degrees)
                               + read_turned(reader, frame, -turn_degrees))
        if turned:
            return turned, f"read in the image turned by {turn_degrees:g} degrees either way"
    return [], None


def read_plate_image(reader: PlateReader, path: Path, *, explain: bool = True,
                     finer: Callable[[int], PlateReader] | None = None,
                     finer_sizes: Sequence[int] = (), framed: bool = False,
                     turn_degrees: float = 0.0) -> ImageOutcome:
    """Decode ``path`` and read its plates (whole image, as a close-up lane frame); the extra
    searches while nothing is read are :func:`read_still`'s."""
    outcome = ImageOutcome(image=str(path), status=REJECTED)
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught, captured_native_stderr() as lines:
        warnings.simplefilter("always")  # every file's warnings, not only the first file's
        # ...except the one our own pixel limit already turns into a clear refusal
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            decoded = read_image_info(path)
        except ImageDecodeError as exc:
            decoded = None
            outcome.reason = _strip_path(str(exc), path)
        if decoded is not None:
            frame = decoded.image
            h, w = frame.shape[:2]
            outcome.width, outcome.height = w, h
            outcome.format, outcome.decoder = decoded.header.format, decoded.decoder
            reads, note = read_still(reader, frame, finer=finer, finer_sizes=finer_sizes,
                                     framed=framed, turn_degrees=turn_degrees)
            if note:
                outcome.notes.append(note)
            outcome.ms = round((time.perf_counter() - t0) * 1000, 1)
            outcome.plates = [
                PlateResult(o.text, round(o.confidence, 3), tuple(round(c, 3) for c in o.char_conf),
                            _enum_name(o.plate_type), _enum_name(o.colour),
                            tuple(int(v) for v in o.box) if o.box else None,  # type: ignore[arg-type]
                            o.tilt)
                for o in reads
            ]
            if reads:
                outcome.status = READ
            else:
                outcome.status = NO_READ
                outcome.reason = "no plate read"
                if explain:
                    try:
                        outcome.reason, outcome.candidates = explain_no_read(reader, frame)
                    except Exception as exc:  # the explanation is a diagnostic: never lose the result for it
                        outcome.notes.append(f"no explanation ({type(exc).__name__}: {exc})")
    outcome.notes += [*lines, *(f"{wm.category.__name__}: {wm.message}" for wm in caught)]
    return outcome
