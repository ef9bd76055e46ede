"""The plate chain for one frame: vehicle box -> plate candidates -> reads -> validated observations.

:class:`PlateReader` is what the camera pipeline calls per vehicle track and frame; its
:class:`~gateway.plates.voting.PlateObservation` results go into that track's
:class:`~gateway.plates.voting.PlateVoter`. A candidate becomes an observation only if the
recognizer reads a text that fits a mainland format (after position-based correction) with
every character above the configured confidence — so text on signs, stickers, noise or
non-Chinese plates gives nothing.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np

from gateway.plates.colour import PlateColour, classify_colour, colour_fits, is_monochrome, plate_colour
from gateway.plates.config import PlatesConfig
from gateway.plates.corner_refiner import DEFAULT_CORNER_REFINER, CornerRefiner
from gateway.plates.finder import (
    DEFAULT_FINDER,
    DEFAULT_VEHICLE_FINDER,
    DEFAULT_VEHICLE_WIDE_FINDERS,
    DEFAULT_WIDE_FINDERS,
    FoundPlate,
    PlateFinder,
    merge_rows,
    rectify,
)
from gateway.plates.format import MAX_SERIAL_LETTERS, correct, serial_letters
from gateway.plates.localizer import (
    DEFAULT_LOCALIZER,
    ClassicalLocalizer,
    PlateBox,
    PlateLocalizer,
    nms,
)
from gateway.plates.panel import order_corners, panel_corners
from gateway.plates.province import DEFAULT_PROVINCE_READER, ProvinceReader
from gateway.plates.recognizer import DEFAULT_RECOGNIZER, PlateRead, PlateRecognizer
from gateway.plates.rotated import box_back, lean, read_back, turn
from gateway.plates.second_opinion import DEFAULT_SECOND_READER, SecondReader, combine
from gateway.plates.voting import PlateObservation
from gateway.plates.warp_vote import WARPS, perturb, vote
from gateway.ratelog import RateLimitedLog

Box = tuple[int, int, int, int]

#: Margin of the close cut in which the vehicle finder looks again for a plate read not sure, as
#: a share of the plate box's width and height on each side (pixels past the image's edge are
#: replicated: a plain crop is all plate). The finder was trained on plates in scenes, not on
#: plates that fill the image. Chosen on development sets only (crops: 0.05-0.125 of the width
#: tried; scenes: 0.1/0.2 and 0.25/0.5; MODEL_CARD.md, "Found again, close up").
REFIND_MARGIN = (0.1, 0.2)

log = logging.getLogger(__name__)


def _floor2(p: float) -> str:
    """A probability cut (not rounded) to two decimals: 0.9996 below a minimum of 1 must not
    read as "1.00 is below 1.00"."""
    return f"{math.floor(p * 100) / 100:.2f}"


@dataclass(frozen=True)
class WarpedRead:
    """What the reader made of one finder candidate: the read it judged (the first warp's, or
    the vote over several), the flat crop it was read from, and the observation it accepted
    (None: rejected, see :meth:`PlateReader.rejection`)."""

    read: PlateRead
    flat: np.ndarray
    observation: PlateObservation | None


@dataclass(frozen=True)
class PlateCandidate:
    """A plate-like region the reader looked at, whether or not a read was accepted from it.

    ``source`` is ``"finder"`` (the corner detector, trained on real plates: its score says
    "a plate with characters is here") or ``"localizer"`` (the segmentation model, counted only
    when the finder is off: it also fires on plain plate-shaped patches). The classical
    colour/edge finder's boxes are not candidates: it fires on grilles, lamps and stickers.
    """

    score: float
    #: (x0, y0, x1, y1) in frame pixels
    box: Box
    source: str
    #: plate width along its long edge (px); 0 when unknown
    width: float = 0.0
    #: background colour of the box (:func:`~gateway.plates.colour.classify_colour`): real plates,
    #: even too blurred to read, keep their blue/yellow/green; grilles and logos are black/white
    colour: PlateColour = PlateColour.UNKNOWN
    #: found in a frame without colour (:func:`~gateway.plates.colour.is_monochrome`): its colour
    #: is unknown and says nothing either way
    monochrome: bool = False


@dataclass(frozen=True)
class PlateSight:
    """What one look at a vehicle (or a whole frame) gave: the accepted reads, best first,
    and every plate candidate found, read or not (so a caller can tell "no plate here" from
    "a plate, but no read")."""

    reads: list[PlateObservation] = field(default_factory=list)
    candidates: tuple[PlateCandidate, ...] = ()

    @property
    def best(self) -> PlateCandidate | None:
        """The highest-scoring candidate, or None when none was found."""
        return max(self.candidates, key=lambda c: c.score, default=None)


def best_per_text(observations: Iterable[PlateObservation]) -> list[PlateObservation]:
    """The most confident observation of each text, most confident first."""
    best: dict[str, PlateObservation] = {}
    for o in observations:
        if o.text not in best or o.confidence > best[o.text].confidence:
            best[o.text] = o
    return sorted(best.values(), key=lambda o: -o.confidence)


def _clip_box(b: Box, w: int, h: int) -> Box:
    x0, y0, x1, y1 = b
    return max(0, x0), max(0, y0), min(w, x1), min(h, y1)


#: Crop geometry for localizer boxes, as shares of the box width/height: margin added on each
#: side, and a shift compensating the localizer's measured bias (its boxes sit slightly right
#: of and above the plate). Tuned on composite scenes made of *training-split* crops.
MARGIN_X, MARGIN_Y = 0.02, 0.03
#: a found plate narrower than this (width / height) is a two-row plate (440x220 mm is 2.0,
#: single-row 440x140 mm is 3.1) even when the finder's class says otherwise
DOUBLE_ROW_ASPECT = 2.4
SHIFT_X, SHIFT_Y = -0.02, 0.04
#: a localizer box that gave no read is read again extended to the left by these shares of its
#: length (reader._retry_extended) ...
EXTENDS = (0.3, 0.5)
#: ... when it is shorter than a whole one-row plate (440x140 mm with its rim is about 3.1-3.4
#: long per high): a box as long as that lacks no character, and extending every failed box cost
#: far more on frames without a plate (MODEL_CARD.md, session 21)
EXTEND_BELOW = 3.4

#: a localizer box read from the finder's corners is searched for in a cut this share of its
#: longer side larger on every side (:meth:`PlateReader._retry_cornered`)
CORNER_PAD = 0.5


def plate_crop(frame_bgr: np.ndarray, box: PlateBox, offset: tuple[int, int] = (0, 0)) -> np.ndarray:
    """Cut a plate candidate out of ``frame_bgr`` with the margins the recognizer was trained with,
    straightening a rotated plate. ``offset`` maps ``box`` (crop coordinates) into the frame."""
    import cv2

    fh, fw = frame_bgr.shape[:2]
    ox, oy = offset
    x0, y0, x1, y1 = box.x0 + ox, box.y0 + oy, box.x1 + ox, box.y1 + oy
    w, h = x1 - x0, y1 - y0
    dx, dy = round(SHIFT_X * w), round(SHIFT_Y * h)
    x0, x1, y0, y1 = x0 + dx, x1 + dx, y0 + dy, y1 + dy
    if abs(box.angle) > 3.0 and box.rect_w > 0 and box.rect_h > 0:
        # rotate a padded region about the plate centre so its long axis is horizontal
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        pad = int(max(w, h) * 0.7) + 2
        rx0, ry0, rx1, ry1 = _clip_box((int(cx - pad), int(cy - pad), int(cx + pad), int(cy + pad)), fw, fh)
        region = frame_bgr[ry0:ry1, rx0:rx1]
        if region.size == 0:
            return region
        M = cv2.getRotationMatrix2D((cx - rx0, cy - ry0), box.angle, 1.0)
        region = cv2.warpAffine(
            region, M, (region.shape[1], region.shape[0]), borderMode=cv2.BORDER_REPLICATE
        )
        pw, ph = box.rect_w * (1 + 2 * MARGIN_X), box.rect_h * (1 + 2 * MARGIN_Y)
        lcx, lcy = cx - rx0, cy - ry0
        bx = _clip_box(
            (int(lcx - pw / 2), int(lcy - ph / 2), int(np.ceil(lcx + pw / 2)), int(np.ceil(lcy + ph / 2))),
            region.shape[1],
            region.shape[0],
        )
        return region[bx[1] : bx[3], bx[0] : bx[2]]
    mx, my = round(MARGIN_X * w), round(MARGIN_Y * h)
    cx0, cy0, cx1, cy1 = _clip_box((x0 - mx, y0 - my, x1 + mx, y1 + my), fw, fh)
    return frame_bgr[cy0:cy1, cx0:cx1]


class PlateReader:
    """Localize and read plates; one instance per camera thread (interpreters are not shared)."""

    def __init__(self, config: PlatesConfig | None = None) -> None:
        self.config = config or PlatesConfig()
        rc, lc = self.config.recognizer, self.config.localizer
        province = None
        if rc.province_reader:
            province = ProvinceReader(rc.province_model_path or DEFAULT_PROVINCE_READER, rc.num_threads,
                                      rc.province_weight, rc.province_sure_above)
        self.recognizer = PlateRecognizer(rc.model_path or DEFAULT_RECOGNIZER, rc.num_threads, province,
                                          rc.even_shadows, rc.lift_glare)
        self.localizer = PlateLocalizer(
            lc.model_path or DEFAULT_LOCALIZER, lc.num_threads, lc.threshold, lc.min_area
        )
        self.classical = ClassicalLocalizer(max_candidates=lc.max_candidates)
        self.second: SecondReader | None = None
        if rc.second_reader:
            self.second = SecondReader(rc.second_model_path or DEFAULT_SECOND_READER, rc.num_threads)
        fc = self.config.finder
        self.finder: PlateFinder | None = None
        self.vehicle_finder: PlateFinder | None = None
        if fc.enabled:
            wide = DEFAULT_WIDE_FINDERS if fc.wide_model_paths is None else fc.wide_model_paths
            self.finder = PlateFinder(fc.model_path or DEFAULT_FINDER, fc.num_threads, fc.score_threshold,
                                      fc.double_row_score_threshold, wide)
            vehicle_wide = (DEFAULT_VEHICLE_WIDE_FINDERS if fc.vehicle_wide_model_paths is None
                            else fc.vehicle_wide_model_paths)
            self.vehicle_finder = PlateFinder(
                fc.vehicle_model_path or DEFAULT_VEHICLE_FINDER, fc.num_threads, fc.score_threshold,
                fc.double_row_score_threshold, vehicle_wide,
            )
        self.corner_refiner: CornerRefiner | None = None
        if fc.enabled and fc.refine_corners_below > 0:
            self.corner_refiner = CornerRefiner(
                fc.corner_refiner_path or DEFAULT_CORNER_REFINER, fc.num_threads
            )
        #: failures inside the plate stage (counted for health; each kind logged rate-limited)
        self.errors = 0
        self._ratelog = RateLimitedLog(log)

    def _failed(self, where: str, exc: Exception) -> None:
        self.errors += 1
        self._ratelog.log(logging.WARNING, f"{where}:{type(exc).__name__}",
                          "plate %s failed (%s: %s); input skipped, counted in PlateReader.errors",
                          where, type(exc).__name__, exc)  # fmt: skip
        log.debug("plate %s failed", where, exc_info=exc)

    # ------------------------------------------------------------------ single crops
    def read_plate_crop(
        self, crop_bgr: np.ndarray, t: float = 0.0, box: Box | None = None, monochrome: bool = False,
        refind: bool = True,
    ) -> PlateObservation | None:
        """Read a crop that is (supposed to be) one plate; None unless a valid, confident read.

        The read is compared with the read of the crop warped flat from the plate corners the
        finder finds in it (``plates.finder.refind``; ``refind=False`` skips that here): a crop
        cut along the image axes often holds a tilted plate, and without corners even a sure
        read may come from a slanted one. The more confident read is kept. ``monochrome``: the
        crop comes from a frame without colour (:func:`is_monochrome`)."""
        try:
            read = self.recognizer.read(crop_bgr)
        except Exception as exc:  # a broken crop or model (any error type) must never break the pipeline
            self._failed("recognizer", exc)
            return None
        obs = self.second_opinion(read, crop_bgr, self._validate(read, crop_bgr, t, box, monochrome),
                                  t, box, monochrome)[1]
        if not refind or not self._refinds() or not isinstance(crop_bgr, np.ndarray) or crop_bgr.ndim != 3:
            return obs
        # every plain crop, sure or not (finder candidates only when not sure: they have
        # corners): on development crops and scenes this added 8 right reads and removed 8 wrong
        # ones over asking only unsure crops (MODEL_CARD.md, "Found again, close up")
        h, w = crop_bgr.shape[:2]
        again = self._found_again(crop_bgr, (0.0, 0.0, float(w), float(h)), t, box, monochrome)
        return self._surer(obs, again.observation if again is not None else None)

    def _refinds(self) -> bool:
        """Whether reads are looked at again close up (``plates.finder.refind``, finder loaded)."""
        return self.config.finder.refind and self.vehicle_finder is not None

    def _unsure(self, obs: PlateObservation | None) -> bool:
        """Whether a found plate's judged read is worth finding again."""
        return self._refinds() and self._unsure_read(obs)

    @staticmethod
    def _surer(first: PlateObservation | None, other: PlateObservation | None) -> PlateObservation | None:
        """``other`` if it is a read and more confident than ``first``; else ``first``."""
        if other is not None and (first is None or other.confidence > first.confidence):
            return other
        return first

    def _found_again(
        self, img: np.ndarray, plate_box: tuple[float, float, float, float], t: float, box: Box | None,
        monochrome: bool,
    ) -> WarpedRead | None:
        """The plate at ``plate_box`` (x0, y0, x1, y1 in ``img``) looked for again by the vehicle
        finder in a close cut around it (:data:`REFIND_MARGIN`), warped flat from the corners
        found there and read (vote and second opinion included). None when the finder finds no
        plate centred in the box, or it cannot be read. ``box`` and ``t`` go into the observation."""
        import cv2

        assert self.vehicle_finder is not None
        if img.size == 0:
            return None  # nothing a finder could look at (read_plate_crop takes any input)
        h, w = img.shape[:2]
        x0, y0, x1, y1 = plate_box
        mx, my = int((x1 - x0) * REFIND_MARGIN[0]), int((y1 - y0) * REFIND_MARGIN[1])
        cx0, cy0 = int(x0) - mx, int(y0) - my
        cx1, cy1 = math.ceil(x1) + mx, math.ceil(y1) + my
        try:
            cut = img[max(0, cy0) : min(h, cy1), max(0, cx0) : min(w, cx1)]
            cut = cv2.copyMakeBorder(cut, max(0, -cy0), max(0, cy1 - h), max(0, -cx0), max(0, cx1 - w),
                                     cv2.BORDER_REPLICATE)
            found = self.vehicle_finder.find(cut)
        except Exception as exc:  # OpenCV and the runtime raise many types on odd input: skip it
            self._failed("finder", exc)
            return None
        for q in found[: self.config.finder.max_candidates]:
            qx, qy = q.corners.mean(axis=0) + np.array([cx0, cy0])  # cut -> img pixels
            if x0 <= qx <= x1 and y0 <= qy <= y1:
                return self.warped_read(cut, q, t, box, monochrome, refind=False)
        return None

    def second_opinion(
        self, read: PlateRead, crop_bgr: np.ndarray, obs: PlateObservation | None, t: float = 0.0,
        box: Box | None = None, monochrome: bool = False,
    ) -> tuple[PlateRead, PlateObservation | None]:
        """``read`` of ``crop_bgr`` (judged ``obs``) combined with the second reader's opinion
        when it was rejected or weaker than ``recognizer.second_below`` (second_opinion.py);
        unchanged when it was sure, the second reader is off, or the two differ in length. A
        rejected read becomes a read only if the combined one reaches ``second_below``."""
        rc = self.config.recognizer
        if self.second is None or not read.text or (obs is not None and obs.confidence >= rc.second_below):
            return read, obs  # sure, or nothing read (also every unusable crop): nothing to weigh
        try:
            fused = combine(read, self.second.distributions(crop_bgr), rc.second_weight)
        except Exception as exc:  # as for the recognizer: the first read stands alone
            self._failed("second reader", exc)
            return read, obs
        if fused is None:
            return read, obs
        judged = self._validate(fused, crop_bgr, t, box, monochrome)
        if obs is None and judged is not None and judged.confidence < rc.second_below:
            # a read the first reader rejected is taken only when the two together are sure: on
            # the development scenes accepting it at the plain minimum added about as many wrong
            # reads as right ones (MODEL_CARD.md, "Second opinion")
            return read, obs
        return fused, judged

    def rejection(self, read: PlateRead, crop_bgr: np.ndarray, monochrome: bool = False) -> str | None:
        """Why ``read`` (of ``crop_bgr``) is not accepted as a plate, in words; None if it is.

        These are the reader's own rules (``edgepost plates read`` shows the reason for each
        rejected candidate): a mainland format after position-based correction, every
        character and the province above their minimum confidence, and the crop's colours
        fitting the plate type (not judged for a ``monochrome`` frame's crop, nor for a read sure
        at every character: ``recognizer.colour_check_below``)."""
        if not read.text:
            return "no characters recognised"
        text, ptype = correct(read.text, read.alternatives)
        if ptype is None or len(text) != len(read.char_conf):
            letters = serial_letters(text)
            why = (f" ({letters} letters after the office's letter, {MAX_SERIAL_LETTERS} at most)"
                   if letters > MAX_SERIAL_LETTERS else "")
            return f"'{read.text}' fits no mainland plate format{why}"
        conf = read.char_conf
        rc = self.config.recognizer
        if min(conf) < rc.min_char_confidence:
            i = min(range(len(conf)), key=lambda k: conf[k])
            return (f"character {i + 1} ('{text[i]}') at {_floor2(conf[i])} is below the minimum "
                    f"confidence {rc.min_char_confidence:.2f}")
        if conf[0] < rc.min_province_confidence:
            return (f"province '{text[0]}' at {_floor2(conf[0])} is below the minimum province "
                    f"confidence {rc.min_province_confidence:.2f}")
        if min(conf) < rc.colour_check_below and not colour_fits(crop_bgr, ptype, monochrome):
            # a white, dark-text "plate" read as a non-police type: foreign, or a sign
            return f"'{text}' is read, but the crop's colours do not fit a {ptype.value} plate"
        return None

    def _validate(
        self, read: PlateRead, crop_bgr: np.ndarray, t: float, box: Box | None, monochrome: bool
    ) -> PlateObservation | None:
        if self.rejection(read, crop_bgr, monochrome) is not None:
            return None
        text, ptype = correct(read.text, read.alternatives)
        assert ptype is not None  # rejection() refuses a read that fits no format
        area = (
            float((box[2] - box[0]) * (box[3] - box[1]))
            if box
            else float(crop_bgr.shape[0] * crop_bgr.shape[1])
        )
        return PlateObservation(text, tuple(read.char_conf), ptype,
                                plate_colour(crop_bgr, ptype, monochrome), t, box, area)

    # ------------------------------------------------------------------ vehicles and frames
    def read_vehicle(
        self, frame_bgr: np.ndarray, vehicle_box: Box | None = None, t: float = 0.0
    ) -> list[PlateObservation]:
        """Plates on one vehicle. ``vehicle_box`` (x0, y0, x1, y1) in frame pixels; None = whole image.

        Returns validated observations (best first, one per distinct text; usually 0 or 1).
        Never raises on bad input: unusable images give ``[]``.
        """
        # the candidates' colours are for plate status only: not worked out for reads alone
        return self._inspect(frame_bgr, vehicle_box, t, colour_candidates=False).reads

    def read_frame(self, frame_bgr: np.ndarray, t: float = 0.0) -> list[PlateObservation]:
        """Plates anywhere in a whole close-up frame (lane camera)."""
        return self.read_vehicle(frame_bgr, None, t)

    def inspect_vehicle(
        self, frame_bgr: np.ndarray, vehicle_box: Box | None = None, t: float = 0.0
    ) -> PlateSight:
        """As :meth:`read_vehicle`, with the plate candidates found as well (also when no read was
        accepted), each with its colour. Little more cost: the candidates are those the read
        already looked at."""
        return self._inspect(frame_bgr, vehicle_box, t, colour_candidates=True)

    def _inspect(
        self, frame_bgr: np.ndarray, vehicle_box: Box | None, t: float, colour_candidates: bool,
        tilt: float | None = None,
    ) -> PlateSight:
        """``tilt``: degrees to turn the region back by first (None: ``config.plate_tilt``)."""
        if (
            not isinstance(frame_bgr, np.ndarray)
            or frame_bgr.ndim != 3
            or frame_bgr.shape[2] != 3
            or frame_bgr.size == 0
        ):
            return PlateSight()
        fh, fw = frame_bgr.shape[:2]
        lc = self.config.localizer
        if vehicle_box is None:
            vb: Box = (0, 0, fw, fh)
        else:
            x0, y0, x1, y1 = (int(v) for v in vehicle_box)
            px, py = int((x1 - x0) * lc.vehicle_pad), int((y1 - y0) * lc.vehicle_pad)
            vb = _clip_box((x0 - px, y0 - py, x1 + px, y1 + py), fw, fh)
        crop = frame_bgr[vb[1] : vb[3], vb[0] : vb[2]]
        if crop.shape[0] < 8 or crop.shape[1] < 8:
            return PlateSight()
        tilt = self.config.plate_tilt if tilt is None else tilt
        if tilt:
            return self._inspect_turned(crop, vb, vehicle_box is not None, (fw, fh), t,
                                        colour_candidates, tilt)
        size = lc.vehicle_input_size if vehicle_box is not None else lc.frame_input_size
        finder = self.vehicle_finder if vehicle_box is not None else self.finder
        seen: list[PlateCandidate] = []
        # an infrared or black-and-white camera's frame: its plates have no colour to judge
        mono = is_monochrome(frame_bgr)
        reads = self._read_region(frame_bgr, crop, (vb[0], vb[1]), size, t, finder, seen, mono)
        # detector boxes may run a little past the image: keep them cuttable
        clipped = (replace(c, box=_clip_box(c.box, fw, fh)) for c in seen)
        if not colour_candidates:
            return PlateSight(reads, tuple(clipped))
        return PlateSight(reads, tuple(self._coloured(frame_bgr, c, mono) for c in clipped))

    def _inspect_turned(
        self, region: np.ndarray, vb: Box, vehicle: bool, frame_size: tuple[int, int], t: float,
        colour_candidates: bool, tilt: float,
    ) -> PlateSight:
        """The look of :meth:`_inspect` at ``region`` (frame box ``vb``) turned back by ``tilt``
        degrees (``PlatesConfig.plate_tilt``: plates leaning that much come out level), every
        box mapped back into the frame (the box around the turned one, clipped)."""
        canvas, m = turn(region, -tilt)
        # frame -> canvas: cut at vb, then turned
        m_frame = m.copy()
        m_frame[:, 2] -= m[:, :2] @ np.array([vb[0], vb[1]], np.float64)
        ch, cw = canvas.shape[:2]
        sight = self._inspect(canvas, (0, 0, cw, ch) if vehicle else None, t, colour_candidates, tilt=0.0)
        fw, fh = frame_size
        return PlateSight([read_back(o, m_frame, fw, fh, -tilt) for o in sight.reads],
                          tuple(replace(c, box=box_back(c.box, m_frame, fw, fh)) for c in sight.candidates))

    def _coloured(self, frame: np.ndarray, c: PlateCandidate, monochrome: bool) -> PlateCandidate:
        if monochrome:
            return replace(c, monochrome=True)  # colour unknown
        x0, y0, x1, y1 = c.box
        try:
            return replace(c, colour=classify_colour(frame[y0:y1, x0:x1]))
        except Exception as exc:  # OpenCV raises many types on odd input: the colour stays unknown
            self._failed("colour", exc)
            return c

    def inspect_frame(self, frame_bgr: np.ndarray, t: float = 0.0) -> PlateSight:
        """As :meth:`read_frame`, with the plate candidates found (see :meth:`inspect_vehicle`)."""
        return self.inspect_vehicle(frame_bgr, None, t)

    def _read_region(
        self,
        frame: np.ndarray,
        crop: np.ndarray,
        offset: tuple[int, int],
        size: int,
        t: float,
        finder: PlateFinder | None = None,
        seen: list[PlateCandidate] | None = None,
        mono: bool = False,
    ) -> list[PlateObservation]:
        """Reads in ``crop`` (at ``offset`` in ``frame``); candidates found are appended to ``seen``."""
        if finder is not None:
            found = self._read_found(finder, crop, offset, t, size if finder is self.finder else 0, seen,
                                     mono)
            if found or not self.config.finder.fallback:
                return found
        lc = self.config.localizer
        try:
            cands = self.localizer.locate(crop, size)
        except Exception as exc:  # OpenCV and the runtime raise many types on odd input: skip it
            self._failed("localizer", exc)
            cands = []
        cands = cands[: lc.max_candidates]
        firsts = list(cands)
        if lc.refine:
            cands = [self._refine(crop, b, i) for i, b in enumerate(cands)]
        if finder is None and seen is not None:
            # Without the finder the localizer's model boxes are the only plate evidence there
            # is. With it they are not counted: on real vehicles whose plate was painted over the
            # localizer still fired (0.5-0.9) on the patch or the bumper, the finder did not.
            ox, oy = offset
            seen.extend(PlateCandidate(float(b.score), (b.x0 + ox, b.y0 + oy, b.x1 + ox, b.y1 + oy),
                                       "localizer", float(b.rect_w or b.width))
                        for b in cands if b.source == "model")
        results = self._read_candidates(frame, cands, offset, t, mono)
        if not results and lc.refine and lc.retry_unrefined:
            unrefined = [b for b, r in zip(firsts, cands, strict=True) if b != r]
            # the corner retry inside keeps its own, higher floor (_kept_retry)
            floor = lc.unrefined_min_confidence
            results = [o for o in self._read_candidates(frame, unrefined, offset, t, mono)
                       if o.confidence >= floor]
        if not results and lc.classical_fallback:
            try:
                found = self.classical.locate(crop)
            except Exception as exc:  # OpenCV raises many types on odd input: skip the fallback
                self._failed("classical", exc)
                found = []
            extra = [b for b in found if all(b.iou(c) < 0.5 for c in cands)]
            results = self._read_candidates(frame, nms(extra, 0.4)[: lc.max_candidates], offset, t, mono)
        return best_per_text(results)

    def _read_found(
        self,
        finder: PlateFinder,
        crop: np.ndarray,
        offset: tuple[int, int],
        t: float,
        search_size: int = 0,
        seen: list[PlateCandidate] | None = None,
        mono: bool = False,
    ) -> list[PlateObservation]:
        """The corner detector's candidates, each warped flat from its corners and read.

        ``search_size`` (frames: ``localizer.frame_input_size``) above the finder's 320 px
        searches the frame in tiles at that resolution."""
        fc = self.config.finder
        # whole frames only: a vehicle box is searched at a scale where its plate is large
        # enough, and there the lower floor would cost time for no read measured (session 33)
        floor = fc.faint_score if fc.faint_score and finder is self.finder and self._refinds() else None
        try:
            if search_size:
                found = finder.find_tiled(crop, search_size, floor)
            else:
                found = finder.find(crop) if floor is None else finder.find(crop, floor)
        except Exception as exc:  # OpenCV and the runtime raise many types on odd input: skip it
            self._failed("finder", exc)
            return []
        faint = [p for p in found if not finder.passes(p)][: fc.faint_candidates]
        found = [p for p in found if finder.passes(p)][: fc.max_candidates]
        if seen is not None:
            ox, oy = offset
            seen.extend(PlateCandidate(float(p.score), (int(p.box[0]) + ox, int(p.box[1]) + oy,
                                                        int(np.ceil(p.box[2])) + ox,
                                                        int(np.ceil(p.box[3])) + oy), "finder", p.width)
                        for p in found)
        reads = [o for o in (self._read_warped(crop, p, offset, t, mono) for p in found) if o is not None]
        if not reads and faint:
            reads = [o for o in (self._read_faint(crop, p, offset, t, mono) for p in faint) if o is not None]
        return best_per_text(reads)

    def _read_faint(
        self, crop: np.ndarray, p: FoundPlate, offset: tuple[int, int], t: float, mono: bool
    ) -> PlateObservation | None:
        """A faint candidate (``plates.finder.faint_score``) read only if the vehicle finder finds
        a plate on it close up (:meth:`_found_again`)."""
        ox, oy = offset
        bx0, by0, bx1, by1 = p.box
        x0, y0, x1, y1 = _clip_box((int(bx0), int(by0), int(np.ceil(bx1)), int(np.ceil(by1))),
                                   crop.shape[1], crop.shape[0])
        again = self._found_again(crop, p.box, t, (x0 + ox, y0 + oy, x1 + ox, y1 + oy), mono)
        if again is None or again.observation is None:
            return None
        return replace(again.observation, tilt=round(lean(p.corners), 1))

    def _read_warped(
        self, crop: np.ndarray, p: FoundPlate, offset: tuple[int, int], t: float, mono: bool
    ) -> PlateObservation | None:
        ox, oy = offset
        # the detector's box may run a little past the searched region: the read's box stays in it
        bx0, by0, bx1, by1 = p.box
        x0, y0, x1, y1 = _clip_box((int(bx0), int(by0), int(np.ceil(bx1)), int(np.ceil(by1))),
                                   crop.shape[1], crop.shape[0])
        fb = (x0 + ox, y0 + oy, x1 + ox, y1 + oy)
        judged = self.warped_read(crop, p, t, fb, mono)
        if judged is None or judged.observation is None:
            return None
        return replace(judged.observation, tilt=round(lean(p.corners), 1))

    def warped_read(
        self, crop: np.ndarray, p: FoundPlate, t: float = 0.0, box: Box | None = None,
        monochrome: bool = False, refind: bool = True,
    ) -> WarpedRead | None:
        """Read finder candidate ``p`` of ``crop`` as the reader does: warped flat from its
        corners, and, when that first read is rejected or not sure, read from more warps and
        voted (warp_vote.py); when still not sure, combined with the second reader's opinion
        (second_opinion.py); when still not sure, found again close up (``plates.finder.refind``,
        skipped for ``refind=False``) and the more confident read kept. None when it is too small
        or its corners cannot be warped.

        A plate the finder calls one-row but whose corners are narrow enough for a two-row plate
        (or the reverse) is read as the shape says; when that read is not sure, it is also read
        the other way and the more confident read kept (a one-row plate seen from the side is
        narrow: MODEL_CARD.md, "Plates seen from the side").

        ``box`` (frame pixels) and ``t`` go into the observation; ``monochrome``: ``crop`` is of
        a frame without colour (:func:`is_monochrome`)."""
        if p.width < 16 or p.height < 6:
            return None
        two_rows = p.double_row or p.width / p.height < DOUBLE_ROW_ASPECT
        best = self._warped_as(crop, p, t, box, monochrome, refind, two_rows)
        fc = self.config.finder
        if fc.panel_corners and self._unsure_read(best.observation if best else None):
            best = self._panel_read(crop, p, t, box, monochrome, best, two_rows)
        if two_rows == p.double_row or not (best is None or self._unsure_read(best.observation)):
            return best
        first = best.observation if best is not None else None
        other = self._warped_as(crop, p, t, box, monochrome, False, not two_rows)
        if other is not None and self._surer(first, other.observation) is not first:
            return other
        return best

    def _panel_read(
        self, crop: np.ndarray, p: FoundPlate, t: float, box: Box | None, monochrome: bool,
        first: WarpedRead | None, two_rows: bool,
    ) -> WarpedRead | None:
        """A plate read not sure, read again (in the layout ``two_rows``) warped from the corners of
        its own coloured panel (panel.py); the more confident read is kept. ``first`` when no
        panel is found or its read is no surer."""
        try:
            corners = panel_corners(crop, p.corners)
        except Exception as exc:  # OpenCV raises many types on odd input: the first read stands
            self._failed("panel", exc)
            return first
        if corners is None:
            return first
        other = self._warped_as(crop, replace(p, corners=corners), t, box, monochrome, False, two_rows)
        kept = first.observation if first is not None else None
        if other is not None and self._surer(kept, other.observation) is not kept:
            return other
        return first

    def _unsure_read(self, obs: PlateObservation | None) -> bool:
        """Whether a judged read is missing or weaker than ``plates.finder.vote_below``."""
        return obs is None or obs.confidence < self.config.finder.vote_below

    def _warped_as(
        self, crop: np.ndarray, p: FoundPlate, t: float, box: Box | None, monochrome: bool, refind: bool,
        two_rows: bool,
    ) -> WarpedRead | None:
        """:meth:`warped_read` with the layout given: ``two_rows`` reads the plate's rows side by side."""
        fc = self.config.finder
        # warp at the plate's own size: the recognizer then downsizes with area averaging
        size = (max(16, round(p.width)), max(6, round(p.height)))

        def flat_at(corners: np.ndarray) -> np.ndarray:
            flat = rectify(crop, corners, size, (fc.margin_x, fc.margin_y))
            # the single-row reader reads the two rows of a two-row plate side by side
            return merge_rows(flat) if two_rows else flat

        try:
            flat = flat_at(p.corners)
        except Exception as exc:  # degenerate corners make OpenCV raise: skip that candidate
            self._failed("rectify", exc)
            return None
        try:
            first = self.recognizer.read(flat)
        except Exception as exc:  # a broken crop or model (any error type) must never break the pipeline
            self._failed("recognizer", exc)
            return None
        read, obs = first, self._validate(first, flat, t, box, monochrome)
        if fc.vote_warps and (obs is None or obs.confidence < fc.vote_below):
            # not sure: read it again from slightly different warps and vote (warp_vote.py)
            try:
                reads = [first] + [self.recognizer.read(flat_at(perturb(p.corners, w)))
                                   for w in WARPS[: fc.vote_warps]]
                voted = vote(reads)
                read, obs = voted, self._validate(voted, flat, t, box, monochrome)
            except Exception as exc:  # as above: the first read stands alone
                self._failed("warp vote", exc)
        # still not sure: ask the second reader (second_opinion.py)
        read, obs = self.second_opinion(read, flat, obs, t, box, monochrome)
        here = WarpedRead(read, flat, obs)
        if refind and self._refines(p) and self._unsure_read(obs):
            # a small plate read not sure: read it again from corners moved onto its edges
            # (corner_refiner.py); the more confident read stands
            q = self._refined(crop, p)
            if q is not p:
                other = self._warped_as(crop, q, t, box, monochrome, False, two_rows)
                if other is not None and self._surer(obs, other.observation) is not obs:
                    here, obs = other, other.observation
        if refind and (self._unsure(obs) or (self._refinds() and p.width < fc.refind_below_width)):
            # corners found on a small plate are coarse: look again in a close cut around it
            again = self._found_again(crop, p.box, t, box, monochrome)
            if again is not None and self._surer(obs, again.observation) is not obs:
                return again
        return here

    def _refines(self, p: FoundPlate) -> bool:
        """Whether ``p`` is small enough to have its corners refined (``finder.refine_corners_below``)."""
        return self.corner_refiner is not None and p.width < self.config.finder.refine_corners_below

    def _refined(self, crop: np.ndarray, p: FoundPlate) -> FoundPlate:
        """``p`` with its corners moved onto the plate's edges (corner_refiner.py); ``p`` as it
        was when the regressor fails or returns corners that do not make a plate."""
        import cv2

        assert self.corner_refiner is not None
        if not cv2.isContourConvex(np.asarray(p.corners, np.float32).reshape(-1, 1, 2)):
            return p  # no plate shape to cut around (a degenerate quad has no homography)
        try:
            corners = self.corner_refiner.refine(crop, p.corners)
        except Exception as exc:  # OpenCV and the runtime raise many types on odd input
            self._failed("corner refiner", exc)
            return p
        if not (np.isfinite(corners).all() and cv2.isContourConvex(corners.reshape(-1, 1, 2))):
            return p
        return replace(p, corners=corners)

    def _refine(self, crop: np.ndarray, box: PlateBox, rank: int) -> PlateBox:
        # zoom in on the two best candidates only: a second invoke each (~1 ms)
        if rank >= 2:
            return box
        try:
            return self.localizer.refine(crop, box, self.config.localizer.vehicle_input_size)
        except Exception as exc:  # the refinement is optional: any failure keeps the first box
            self._failed("refine", exc)
            return box

    def _read_candidates(
        self, frame: np.ndarray, boxes: list[PlateBox], offset: tuple[int, int], t: float, mono: bool
    ) -> list[PlateObservation]:
        out: list[PlateObservation] = []
        for b in boxes:
            if b.double_row:
                # no corners: read only if its own coloured panel gives them (panel.py)
                obs = self._read_panel_box(frame, b, offset, t, mono)
            else:
                pc = plate_crop(frame, b, offset)
                if pc.size == 0 or pc.shape[0] < 6 or pc.shape[1] < 16:
                    continue
                fb = _clip_box((b.x0 + offset[0], b.y0 + offset[1], b.x1 + offset[0], b.y1 + offset[1]),
                               frame.shape[1], frame.shape[0])
                obs = self.read_plate_crop(pc, t, fb, mono)
                if obs is None and self.config.localizer.retry_trims:
                    obs = self._retry_trimmed(pc, t, fb, mono)
            if obs is None and self.config.localizer.retry_extends and b.aspect < EXTEND_BELOW:
                obs = self._retry_extended(frame, b, offset, t, mono)
            if obs is None and self.config.localizer.retry_corners:
                obs = self._kept_retry(self._retry_cornered(frame, b, offset, t, mono))
            if obs is not None:
                out.append(obs)
        return out

    @staticmethod
    def _box_quad(b: PlateBox, offset: tuple[int, int]) -> np.ndarray:
        """The plate quadrilateral (lt rt rb lb, frame pixels) of localizer box ``b``: its rotated
        rectangle where it has one, else the box itself."""
        import cv2

        ox, oy = offset
        centre = ((b.x0 + b.x1) / 2 + ox, (b.y0 + b.y1) / 2 + oy)
        if b.rect_w > 0 and b.rect_h > 0:
            return order_corners(cv2.boxPoints((centre, (b.rect_w, b.rect_h), b.angle)))
        x0, y0, x1, y1 = b.x0 + ox, b.y0 + oy, b.x1 + ox, b.y1 + oy
        return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)

    def _retry_extended(
        self, frame: np.ndarray, b: PlateBox, offset: tuple[int, int], t: float, mono: bool
    ) -> PlateObservation | None:
        """A localizer box that gave no read, read again as a one-row plate extended to the left by
        EXTENDS of its length (its boxes often stop short of the province character, the
        glyph least like the plate's other marks; on a two-row box's panel that did not read,
        extending makes a one-row plate's proportions). The most confident read is kept."""
        fc = self.config.finder
        quad = self._box_quad(b, offset)
        height = float(np.linalg.norm(quad[3] - quad[0]))
        best: PlateObservation | None = None
        for ext in EXTENDS:
            q = quad.copy()
            q[0] += (quad[0] - quad[1]) * ext
            q[3] += (quad[3] - quad[2]) * ext
            size = (max(16, round(float(np.linalg.norm(q[1] - q[0])))), max(6, round(height)))
            xs, ys = q[:, 0], q[:, 1]
            fb = _clip_box((int(xs.min()), int(ys.min()), math.ceil(xs.max()), math.ceil(ys.max())),
                           frame.shape[1], frame.shape[0])
            try:
                flat = rectify(frame, q, size, (fc.margin_x, fc.margin_y))
            except Exception as exc:  # degenerate corners make OpenCV raise: no read
                self._failed("rectify", exc)
                continue
            # one read (and the second reader's when not sure), not the warp vote: this runs on
            # every short box that gave nothing, most of them on frames without a plate
            best = self._surer(best, self.read_plate_crop(flat, t, fb, mono, refind=False))
        return best

    def _kept_retry(self, obs: PlateObservation | None) -> PlateObservation | None:
        """``obs``, a read of the corner retry (:meth:`_retry_cornered`), when it reaches
        ``plates.localizer.retry_min_confidence``; else None."""
        if obs is None or obs.confidence < self.config.localizer.retry_min_confidence:
            return None
        return obs

    def _retry_cornered(
        self, frame: np.ndarray, b: PlateBox, offset: tuple[int, int], t: float, mono: bool
    ) -> PlateObservation | None:
        """A localizer box that gave no read, looked for again by the vehicle finder in a cut
        around it (:data:`CORNER_PAD` of its longer side on every side), and the best plate found
        there warped flat from its corners and read. The localizer's box is an outline only: on a
        tilted or small plate it cuts characters off or takes in the surroundings, where the
        finder's corners follow the plate (MODEL_CARD.md, "Session 23")."""
        if self.vehicle_finder is None:
            return None
        fh, fw = frame.shape[:2]
        ox, oy = offset
        pad = max(b.x1 - b.x0, b.y1 - b.y0) * CORNER_PAD
        x0, y0, x1, y1 = _clip_box((int(b.x0 + ox - pad), int(b.y0 + oy - pad), math.ceil(b.x1 + ox + pad),
                                    math.ceil(b.y1 + oy + pad)), fw, fh)
        cut = frame[y0:y1, x0:x1]
        if cut.shape[0] < 8 or cut.shape[1] < 8:
            return None
        try:
            found = self.vehicle_finder.find(cut)
        except Exception as exc:  # OpenCV and the runtime raise many types on odd input: skip it
            self._failed("finder", exc)
            return None
        # the best plate only: this runs for every box that gave nothing, mostly on frames
        # without a plate
        return self._read_warped(cut, found[0], (x0, y0), t, mono) if found else None

    def _read_panel_box(
        self, frame: np.ndarray, b: PlateBox, offset: tuple[int, int], t: float, mono: bool
    ) -> PlateObservation | None:
        """A two-row localizer box read from the corners of its coloured panel, when one is found
        (``plates.finder.panel_corners``; the finder's corners were not there to use)."""
        if not self.config.finder.panel_corners:
            return None
        try:
            corners = panel_corners(frame, self._box_quad(b, offset))
        except Exception as exc:  # OpenCV raises many types on odd input: no read
            self._failed("panel", exc)
            return None
        if corners is None:
            return None
        xs, ys = corners[:, 0], corners[:, 1]
        found = FoundPlate(float(b.score), corners, (float(xs.min()), float(ys.min()), float(xs.max()),
                                                     float(ys.max())), double_row=True)
        fb = _clip_box((int(xs.min()), int(ys.min()), math.ceil(xs.max()), math.ceil(ys.max())),
                       frame.shape[1], frame.shape[0])
        judged = self._warped_as(frame, found, t, fb, mono, False, True)
        return judged.observation if judged is not None else None

    def _retry_trimmed(self, pc: np.ndarray, t: float, fb: Box, mono: bool) -> PlateObservation | None:
        """Boxes that run past one end of the plate (bumper, lamp) read badly: retry the crop
        trimmed by 10 % on the left, on the right, and 6 % on both sides; keep the most
        confident valid read (only tried when the untrimmed crop gave none)."""
        w = pc.shape[1]
        best: PlateObservation | None = None
        for left, right in ((0.10, 0.0), (0.0, 0.10), (0.06, 0.06)):
            sub = pc[:, int(w * left) : w - int(w * right)]
            obs = self.read_plate_crop(sub, t, fb, mono, refind=False)  # found again once already
            if obs is not None and (best is None or obs.confidence > best.confidence):
                best = obs
        return best

    def locate(self, frame_bgr: np.ndarray, vehicle_box: Box | None = None) -> list[PlateBox]:
        """Plate candidates only (model first, then classical), in frame coordinates — also two-row plates."""
        if not isinstance(frame_bgr, np.ndarray) or frame_bgr.ndim != 3 or frame_bgr.size == 0:
            return []
        fh, fw = frame_bgr.shape[:2]
        vb = _clip_box(vehicle_box, fw, fh) if vehicle_box else (0, 0, fw, fh)
        crop = frame_bgr[vb[1] : vb[3], vb[0] : vb[2]]
        size = (
            self.config.localizer.vehicle_input_size
            if vehicle_box
            else self.config.localizer.frame_input_size
        )
        boxes = self.localizer.locate(crop, size)
        if self.config.localizer.classical_fallback:
            boxes = nms(boxes + self.classical.locate(crop), 0.4)
        return [
            PlateBox(
                b.x0 + vb[0],
                b.y0 + vb[1],
                b.x1 + vb[0],
                b.y1 + vb[1],
                b.score,
                b.angle,
                b.source,
                b.rect_w,
                b.rect_h,
            )
            for b in boxes
        ]
