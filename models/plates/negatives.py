"""Recognizer negatives: crops that are *not* mainland plates, trained towards an empty read.

Why: a CTC recognizer trained on plates only reads *something* off every crop; the
province-balanced candidate of issue 11 read a Danish plate as 豫R68651 and a text panel as
宁Z34568 with confidences ≥ 0.88. Training such crops with an empty target (all frames blank)
teaches the model that a read needs a plate, so the finder's false candidates give no text.

Kinds (all procedural; no image that a test uses is drawn here):

* foreign plates: white or yellow plates with Latin letters (I and O included) and digits in
  European-style layouts ("AB 12 345", "AB12 CDE", "M-AB 1234", "12-ABC-3"), optionally a blue
  EU band at the left, a red or black frame; no province character;
* text panels and signs: random Latin/digit strings or Chinese words on plain panels of any
  colour (white most often), from PIL fonts and OpenCV's Hershey fonts;
* empty plate-coloured panels (blue, yellow, green, white) with a frame and rivets only;
* mainland plates whose province glyph is illegible (erased, a solid block, a smudge; one in
  six a two-row plate as the runtime merges it): no province, no read;
* plain texture: crops of real backgrounds (training-side toll-lane photos away from their
  plate) or procedural ones.

Each is then cut and degraded like a synthetic plate (:func:`models.plates.synth.plate_crop`).
"""

from __future__ import annotations

import string

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from models.plates.synth import (
    Plate,
    PlateRenderer,
    photometric,
    plate_crop,
    random_background,
    random_text,
    swap_province,
)

#: share of each negative kind
KINDS = (("foreign", 0.35), ("text", 0.25), ("panel", 0.1), ("texture", 0.15), ("no_province", 0.15))

_UPPER = string.ascii_uppercase
_CHINESE = "出租车辆公交安全停车限速油电混合动力中国人民保险危险品小心慢行禁止通行收费站入口出口"
_HERSHEY = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_PLAIN,
)


def _pick(rng: np.random.Generator, chars: str, n: int) -> str:
    return "".join(chars[int(rng.integers(len(chars)))] for _ in range(n))


def foreign_text(rng: np.random.Generator) -> str:
    """A European-looking registration (letters, digits, spaces, hyphens)."""
    d = string.digits
    layouts = (
        lambda: f"{_pick(rng, _UPPER, 2)} {_pick(rng, d, 2)} {_pick(rng, d, 3)}",  # DK
        lambda: f"{_pick(rng, _UPPER, 2)}{_pick(rng, d, 2)} {_pick(rng, _UPPER, 3)}",  # UK
        lambda: f"{_pick(rng, _UPPER, int(rng.integers(1, 4)))}-{_pick(rng, _UPPER, 2)} {_pick(rng, d, 4)}",
        lambda: f"{_pick(rng, d, 2)}-{_pick(rng, _UPPER, 3)}-{_pick(rng, d, 1)}",  # NL
        lambda: f"{_pick(rng, _UPPER, 2)}-{_pick(rng, d, 3)}-{_pick(rng, _UPPER, 2)}",  # FR
        lambda: f"{_pick(rng, _UPPER, 3)} {_pick(rng, d, 3)}",
        lambda: _pick(rng, d, int(rng.integers(4, 9))),
        lambda: f"{_pick(rng, d, 4)} {_pick(rng, _UPPER, 3)}",  # ES
    )
    return layouts[int(rng.integers(len(layouts)))]()


def _draw_text(
    img: np.ndarray,
    text: str,
    box: tuple[int, int, int, int],
    colour: tuple[int, int, int],
    rng: np.random.Generator,
    renderer: PlateRenderer,
) -> None:
    """Draw ``text`` filling ``box`` (x0, y0, x1, y1) of ``img`` in place (a PIL or Hershey font)."""
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    if bw < 8 or bh < 6:
        return
    layer = np.zeros((bh * 2, bw * 2), np.uint8)
    if rng.random() < 0.35 and all(ord(c) < 128 for c in text):
        font = _HERSHEY[int(rng.integers(len(_HERSHEY)))]
        th = int(rng.integers(2, 5))
        (tw, tht), base = cv2.getTextSize(text, font, 2.0, th)
        tmp = np.zeros((tht + base + 8, tw + 8), np.uint8)
        cv2.putText(tmp, text, (4, tht + 4), font, 2.0, 255, th)
        layer = tmp
    else:
        fonts = renderer.latin if all(ord(c) < 128 for c in text) else renderer.cjk
        path, index = fonts[int(rng.integers(len(fonts)))]
        f = ImageFont.truetype(path, 64, index=index)
        l_, t_, r_, b_ = f.getbbox(text)
        pil = Image.new("L", (max(1, r_ - l_ + 8), max(1, b_ - t_ + 8)), 0)
        ImageDraw.Draw(pil).text((4 - l_, 4 - t_), text, font=f, fill=255)
        layer = np.asarray(pil)
    fill = rng.uniform(0.7, 1.0)
    tw, th_ = int(bw * fill), int(bh * rng.uniform(0.55, 0.9))
    layer = cv2.resize(layer, (max(1, tw), max(1, th_)), interpolation=cv2.INTER_AREA)
    ox = x0 + (bw - tw) // 2
    oy = y0 + (bh - th_) // 2
    region = img[oy : oy + th_, ox : ox + tw].astype(np.float32)
    a = (layer[: region.shape[0], : region.shape[1]].astype(np.float32) / 255.0)[..., None]
    img[oy : oy + th_, ox : ox + tw] = (region * (1 - a) + np.array(colour, np.float32) * a).astype(np.uint8)


def foreign_plate(rng: np.random.Generator, renderer: PlateRenderer) -> np.ndarray:
    """An RGB image of a non-mainland plate (about 520x110 mm at 0.5 px/mm)."""
    w = int(rng.integers(220, 280))
    h = int(w * rng.uniform(0.2, 0.3))
    r = rng.random()
    if r < 0.6:
        bg = (int(rng.integers(225, 256)),) * 3
    elif r < 0.85:
        bg = (int(rng.integers(220, 256)), int(rng.integers(180, 220)), int(rng.integers(0, 60)))
    else:  # other light colours (pale blue, cream, grey)
        bg = tuple(int(v) for v in rng.integers(150, 256, 3))
    img = np.empty((h, w, 3), np.uint8)
    img[:] = bg
    border = int(rng.integers(1, 5))
    r = rng.random()
    frame = (200, 20, 20) if r < 0.4 else (15, 15, 15) if r < 0.8 else None
    if frame is not None:
        cv2.rectangle(img, (1, 1), (w - 2, h - 2), frame, border)
    x0 = border + 3
    if rng.random() < 0.55:  # EU band
        bw = int(w * rng.uniform(0.07, 0.11))
        cv2.rectangle(img, (border, border), (border + bw, h - border - 1), (20, 50, 160), -1)
        for k in range(int(rng.integers(6, 13))):
            a = 2 * np.pi * k / 12
            c = (int(border + bw / 2 + bw * 0.25 * np.cos(a)), int(h * 0.3 + bw * 0.25 * np.sin(a)))
            cv2.circle(img, c, 1, (240, 220, 30), -1)
        band = (border, int(h * 0.55), border + bw, h - border - 2)
        _draw_text(img, _pick(rng, _UPPER, int(rng.integers(1, 3))), band, (240, 240, 240), rng, renderer)
        x0 = border + bw + 3
    ink = (15, 15, 15) if rng.random() < 0.85 else (150, 20, 20)
    _draw_text(img, foreign_text(rng), (x0, border + 2, w - border - 3, h - border - 2), ink, rng, renderer)
    return img


def text_panel(rng: np.random.Generator, renderer: PlateRenderer) -> np.ndarray:
    """A sign or panel with non-plate text."""
    w = int(rng.integers(120, 320))
    h = int(w * rng.uniform(0.12, 0.5))
    r = rng.random()
    bg = (int(rng.integers(200, 256)),) * 3 if r < 0.5 else tuple(int(v) for v in rng.integers(0, 256, 3))
    img = np.empty((h, w, 3), np.uint8)
    img[:] = bg
    ink = tuple(255 - v for v in bg) if rng.random() < 0.7 else tuple(int(v) for v in rng.integers(0, 256, 3))
    r = rng.random()
    if r < 0.45:
        text = _pick(rng, string.digits + " ", int(rng.integers(3, 12))).strip() or "0"
    elif r < 0.75:
        text = _pick(rng, _UPPER + string.digits + " ", int(rng.integers(3, 11))).strip() or "A"
    else:
        text = _pick(rng, _CHINESE, int(rng.integers(2, 6)))
    _draw_text(img, text, (2, 2, w - 2, h - 2), ink, rng, renderer)  # type: ignore[arg-type]
    return img


def empty_panel(rng: np.random.Generator) -> np.ndarray:
    """A plate-coloured panel without characters (frame and rivets only)."""
    w, h = 220, 70
    cols = [(20, 70, 200), (240, 190, 20), (60, 200, 90), (240, 240, 240), (20, 20, 20)]
    img = np.empty((h, w, 3), np.uint8)
    img[:] = cols[int(rng.integers(len(cols)))]
    if rng.random() < 0.7:
        cv2.rectangle(img, (3, 3), (w - 4, h - 4), (235, 235, 235), int(rng.integers(1, 3)))
    if rng.random() < 0.5:
        for x in (w // 4, 3 * w // 4):
            cv2.circle(img, (x, 8), 3, (180, 180, 180), -1)
    return img


def negative_crop(
    rng: np.random.Generator,
    renderer: PlateRenderer,
    pool: list[np.ndarray] | None = None,
    out_size: tuple[int, int] = (96, 32),
) -> np.ndarray:
    """One negative recognizer sample (RGB ``uint8``, ``out_size`` w x h); its target is empty."""
    kinds = [k for k, _ in KINDS]
    p = np.array([s for _, s in KINDS])
    kind = kinds[int(rng.choice(len(kinds), p=p / p.sum()))]
    if kind == "texture":
        w = int(rng.integers(40, 220))
        h = max(6, int(w * rng.uniform(0.2, 0.5)))
        img = photometric(random_background(h, w, rng, pool), rng)
        interp = cv2.INTER_AREA if w > out_size[0] else cv2.INTER_LINEAR
        return cv2.resize(img, out_size, interpolation=interp)
    if kind == "no_province":
        if rng.random() < 1 / 6:
            from gateway.plates.finder import merge_rows

            two = renderer.render("double_yellow", random_text("double_yellow", rng), rng)
            crop = merge_rows(plate_crop(two, rng, pool, (128, 64)))
            img, _ = swap_province(cv2.resize(crop, (192, 64)), "皖", rng, renderer, blank=True)
            return cv2.resize(img, out_size, interpolation=cv2.INTER_AREA)
        p = renderer.random_plate(rng)
        img, _ = swap_province(p.image, p.text, rng, renderer, blank=True)
        return plate_crop(Plate(img, "", "no_province"), rng, pool, out_size)
    if kind == "foreign":
        img = foreign_plate(rng, renderer)
    elif kind == "text":
        img = text_panel(rng, renderer)
    else:
        img = empty_panel(rng)
    return plate_crop(Plate(img, "", kind), rng, pool, out_size)
