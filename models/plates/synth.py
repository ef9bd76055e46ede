"""Synthetic Chinese licence plates: rendering with real CJK fonts and heavy degradation.

Training-time only (needs Pillow + OpenCV + numpy, no TensorFlow). Plates are drawn at
1 px per mm following the GA 36 layout (440x140 mm single-row, 480x140 mm new-energy,
440x220 mm double-row), characters are rendered from system fonts and stretched into the
regulation character box, then warped and degraded like a camera would.

Fonts (Debian packages): ``fonts-noto-cjk``, ``fonts-wqy-zenhei`` (CJK glyphs),
``fonts-dejavu-core`` and ``fonts-dejavu-extra`` (condensed Latin glyphs). The ``more`` font set
(training only, :data:`FONT_SETS`) also needs ``fonts-noto-cjk-extra``, ``fonts-wqy-microhei``
and ``fonts-droid-fallback``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from gateway.plates.charset import DIGITS, LETTERS, PROVINCES

CJK_FONTS: list[tuple[str, int]] = [
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
]
#: more CJK faces for training (Hei weights and two other Hei designs). Why: the province lean
#: to 皖 looks like glyph similarity among the few faces a reader learns rendered glyphs from
#: (MODEL_CARD.md, session 28); more faces may carry better to real plates' own typeface. The
#: evaluation sets keep ``CJK_FONTS`` so that their figures stay comparable across sessions.
EXTRA_CJK_FONTS: list[tuple[str, int]] = [
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Black.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Medium.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
]
#: the CJK faces a renderer draws from, by name. ``unseen`` is for evaluation only: faces no
#: shipped model was trained on, standing in for real plates' own typeface, which none was either
FONT_SETS: dict[str, list[tuple[str, int]]] = {
    "base": CJK_FONTS, "more": CJK_FONTS + EXTRA_CJK_FONTS, "unseen": EXTRA_CJK_FONTS}
LATIN_FONTS: list[tuple[str, int]] = [
    ("/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf", 0),
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", 0),
    ("/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
]

#: Plate kinds the renderer knows; weights used when a kind is drawn at random.
KIND_WEIGHTS: dict[str, float] = {
    "blue": 0.38,
    "yellow": 0.17,
    "green": 0.17,
    "green_large": 0.04,
    "white_police": 0.08,
    "black": 0.08,
    "yellow_special": 0.08,
}
ALNUM = LETTERS + DIGITS


def available_fonts(fonts: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """The subset of ``fonts`` present on this machine."""
    return [f for f in fonts if os.path.exists(f[0])]


def _serial(rng: np.random.Generator, n: int, letter_p: float = 0.3, max_letters: int = 2) -> str:
    out = []
    letters = 0
    for _ in range(n):
        if letters < max_letters and rng.random() < letter_p:
            out.append(LETTERS[rng.integers(len(LETTERS))])
            letters += 1
        else:
            out.append(DIGITS[rng.integers(10)])
    return "".join(out)


def random_text(kind: str, rng: np.random.Generator) -> str:
    """A plausible plate text for ``kind`` (province weighted uniformly)."""
    prov = PROVINCES[rng.integers(len(PROVINCES))]
    letter = LETTERS[rng.integers(len(LETTERS))]
    if kind in ("blue", "yellow", "double_yellow"):
        return prov + letter + _serial(rng, 5)
    if kind == "green":  # small new-energy: D/F + 5 (second may be a letter)
        head = "DF"[rng.integers(2)]
        second = LETTERS if rng.random() < 0.3 else DIGITS
        tail = second[rng.integers(len(second))] + "".join(DIGITS[rng.integers(10)] for _ in range(4))
        return prov + letter + head + tail
    if kind == "green_large":  # large new-energy: 5 digits + D/F
        return prov + letter + "".join(DIGITS[rng.integers(10)] for _ in range(5)) + "DF"[rng.integers(2)]
    if kind == "white_police":
        return prov + letter + _serial(rng, 4, 0.15, 1) + "警"
    if kind == "yellow_special":
        return prov + letter + _serial(rng, 4, 0.15, 1) + "学挂"[rng.integers(2)]
    if kind == "black":
        r = rng.random()
        if r < 0.45:
            return "粤Z" + _serial(rng, 4, 0.2, 1) + "港澳"[rng.integers(2)]
        if r < 0.7:
            return prov + letter + "".join(DIGITS[rng.integers(10)] for _ in range(4)) + "领"
        if r < 0.85:
            return "使" + "".join(DIGITS[rng.integers(10)] for _ in range(6))
        return prov + letter + _serial(rng, 5)
    raise ValueError(kind)


@dataclass
class Plate:
    """A rendered plate: RGB image at 1 px/mm and its text and kind."""

    image: np.ndarray
    text: str
    kind: str


def vary_glyph(glyph: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``glyph`` (a tight 0..255 mask at the renderer's 96-point size) with its strokes
    thickened or thinned by up to two pixels and its shape bent by a smooth random
    displacement of up to about three pixels, cut tight again.

    Why: a reader that learns a province character from a handful of system faces learns those
    faces' drawing of it; real plates use their own typeface, and a reader that never saw a
    province's real glyph read it 78 % right (MODEL_CARD.md, session 28). Varying the strokes
    is meant to teach the character rather than the face."""
    g = cv2.copyMakeBorder(glyph, 6, 6, 6, 6, cv2.BORDER_CONSTANT, value=0)
    k = int(rng.integers(-1, 3))  # -1 thinner, 0 as drawn, 1-2 bolder
    if k:
        op = cv2.dilate if k > 0 else cv2.erode
        g = op(g, np.ones((3, 3), np.uint8), iterations=abs(k))
    h, w = g.shape
    amp = float(rng.uniform(0.0, 3.0))
    if amp > 0.2:
        field = [cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 9)
                 for _ in range(2)]
        dx, dy = (f * (amp / (float(f.std()) + 1e-6)) for f in field)
        xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        g = cv2.remap(g, xs + dx, ys + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                      borderValue=0)
    ys_, xs_ = np.nonzero(g > 40)
    if len(ys_) == 0:  # eroded away (a hairline face): keep the glyph as drawn
        return glyph
    return g[ys_.min() : ys_.max() + 1, xs_.min() : xs_.max() + 1]


class PlateRenderer:
    """Renders plates with glyphs from the system fonts (cached per font, char and box)."""

    def __init__(self, fonts: str = "base", vary_glyphs: bool = False) -> None:
        #: training only: every CJK glyph drawn through :func:`vary_glyph` (thicker or thinner
        #: strokes, a little bent). The default draws no extra random numbers, so every set
        #: rendered without it stays the same
        self.vary_glyphs = vary_glyphs
        self.cjk = available_fonts(FONT_SETS[fonts])
        self.latin = available_fonts(LATIN_FONTS)
        if not self.cjk or not self.latin:
            raise RuntimeError("CJK fonts missing: apt-get install -y fonts-noto-cjk fonts-wqy-zenhei")
        if fonts != "base" and len(self.cjk) < len(FONT_SETS[fonts]):
            # a training set silently drawn from fewer faces would not be the one asked for
            missing = sorted({f for f, _ in FONT_SETS[fonts]} - {f for f, _ in self.cjk})
            raise RuntimeError(f"font set {fonts!r} incomplete, missing: {', '.join(missing)}")
        self._font_cache: dict[tuple[str, int], ImageFont.FreeTypeFont] = {}
        self._glyph_cache: dict[tuple[str, int, str], np.ndarray] = {}

    def _glyph(self, font: tuple[str, int], ch: str) -> np.ndarray:
        key = (font[0], font[1], ch)
        g = self._glyph_cache.get(key)
        if g is None:
            f = self._font_cache.get(font)
            if f is None:
                f = ImageFont.truetype(font[0], 96, index=font[1])
                self._font_cache[font] = f
            im = Image.new("L", (160, 160), 0)
            ImageDraw.Draw(im).text((20, 10), ch, font=f, fill=255)
            a = np.asarray(im)
            ys, xs = np.nonzero(a > 40)
            g = a[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].copy()
            self._glyph_cache[key] = g
        return g

    def _char_mask(self, ch: str, w: int, h: int, rng: np.random.Generator, cjk_font, lat_font) -> np.ndarray:
        is_cjk = ord(ch) > 0x2E80
        g = self._glyph(cjk_font if is_cjk else lat_font, ch)
        if is_cjk and self.vary_glyphs:
            g = vary_glyph(g, rng)
        if ch == "1" or (not is_cjk and g.shape[1] < g.shape[0] * 0.35):
            # narrow glyphs keep their width and are centred in the box
            gw = max(3, round(g.shape[1] * h / g.shape[0]))
            gw = min(gw, w)
            m = np.zeros((h, w), np.uint8)
            r = cv2.resize(g, (gw, h), interpolation=cv2.INTER_AREA)
            x0 = (w - gw) // 2
            m[:, x0 : x0 + gw] = r
            return m
        return cv2.resize(g, (w, h), interpolation=cv2.INTER_AREA)

    def render(self, kind: str, text: str, rng: np.random.Generator, scale: float = 0.5) -> Plate:
        """Draw ``text`` as a plate of ``kind`` (single-row kinds and ``double_yellow``).

        ``scale`` is pixels per millimetre (0.5 gives a 220x70 single-row plate).
        """
        cjk_font = self.cjk[rng.integers(len(self.cjk))]
        lat_font = self.latin[rng.integers(len(self.latin))]
        red_last = False
        if kind == "blue":
            bg = np.array([rng.integers(0, 40), rng.integers(40, 100), rng.integers(150, 235)])
            fg = np.array([245, 245, 245])
        elif kind in ("yellow", "yellow_special", "double_yellow"):
            bg = np.array([rng.integers(215, 255), rng.integers(165, 215), rng.integers(0, 50)])
            fg = np.array([15, 15, 15])
            red_last = kind == "yellow_special" and text[-1] == "学" and rng.random() < 0.5
        elif kind in ("green", "green_large"):
            bg = None
            fg = np.array([10, 10, 10])
        elif kind == "white_police":
            bg = np.array([240, 240, 240]) - rng.integers(0, 25)
            fg = np.array([10, 10, 10])
            red_last = True
        elif kind == "black":
            bg = np.array([15, 15, 15]) + rng.integers(0, 25)
            fg = np.array([240, 240, 240])
        else:
            raise ValueError(kind)

        if kind == "double_yellow":
            H, W = 220, 440
        elif kind in ("green", "green_large"):
            H, W = 140, 480
        else:
            H, W = 140, 440

        H, W = int(H * scale), int(W * scale)
        if bg is None:
            t = np.linspace(0, 1, H)[:, None]
            top = np.array([235, 250, 235], float)
            bot = np.array(
                [40 + rng.integers(0, 40), 190 + rng.integers(0, 40), 90 + rng.integers(0, 40)], float
            )
            col = top * (1 - t) + bot * t  # H x 3
            img = np.repeat(col[:, None, :], W, axis=1).astype(np.float32)
            if kind == "green_large":
                img[:, : int(W * 0.27)] = np.array([240, 200, 20])
        else:
            img = np.empty((H, W, 3), np.float32)
            img[:] = bg
        img += rng.normal(0, 4, (1, 1, 3)).astype(np.float32)

        text_mask = np.zeros((H, W), np.float32)
        red_mask = np.zeros((H, W), np.float32)
        boxes: list[tuple[int, int, int, int]] = []
        if kind == "double_yellow":
            # top row: province + letter, smaller; bottom row: 5 large characters
            boxes = [(110, 15, 80, 60), (250, 15, 80, 60)]
            x = 27
            for _ in range(5):
                boxes.append((x, 90, 65, 110))
                x += 80
        elif kind in ("green", "green_large"):
            x = 15
            for i in range(8):
                boxes.append((x, 25, 43, 90))
                x += 43 + (49 if i == 1 else 9)
        else:
            x = 15
            for i in range(7):
                boxes.append((x, 25, 45, 90))
                x += 45 + (34 if i == 1 else 12)
        # small per-plate jitter in character box size (font width varies between makers)
        sx = rng.uniform(0.9, 1.05)
        boxes = [
            (int(bx * scale), int(by * scale), int(bw * scale), int(bh * scale)) for bx, by, bw, bh in boxes
        ]
        for i, (ch, (bx, by, bw, bh)) in enumerate(zip(text, boxes, strict=True)):
            w2 = max(4, int(bw * sx))
            m = self._char_mask(ch, w2, bh, rng, cjk_font, lat_font).astype(np.float32) / 255.0
            ox = bx + (bw - w2) // 2
            target = red_mask if (red_last and i == len(text) - 1) else text_mask
            target[by : by + bh, ox : ox + w2] = np.maximum(target[by : by + bh, ox : ox + w2], m)
        # separator dot
        if kind != "double_yellow" and not text.startswith("使"):
            cx = (boxes[1][0] + boxes[1][2] + boxes[2][0]) // 2
            cv2.circle(text_mask, (cx, H // 2), max(1, int(5 * scale)), 1.0, -1)
        # stroke weight variation
        if rng.random() < 0.5:
            k = np.ones((2, 2) if scale >= 0.75 else (1, 2), np.uint8)
            text_mask = (cv2.dilate if rng.random() < 0.5 else cv2.erode)(text_mask, k)
        # border
        border = np.zeros((H, W), np.float32)
        b = max(1, int(4 * scale))
        cv2.rectangle(border, (b, b), (W - b - 1, H - b - 1), 1.0, max(1, int(3 * scale)))
        if rng.random() < 0.85:
            text_mask = np.maximum(text_mask, border)
        m3 = text_mask[..., None]
        img = img * (1 - m3) + fg[None, None, :] * m3
        r3 = red_mask[..., None]
        img = img * (1 - r3) + np.array([200, 20, 20])[None, None, :] * r3
        # rivets
        if rng.random() < 0.6:
            for rx in (int(W * 0.2), int(W * 0.8)):
                cv2.circle(img, (rx, int(12 * scale)), max(1, int(5 * scale)), (180, 180, 180), -1)
        # dirt / uneven illumination
        if rng.random() < 0.5:
            gx = np.linspace(-0.5, 0.5, W, dtype=np.float32)[None, :]
            gy = np.linspace(-0.5, 0.5, H, dtype=np.float32)[:, None]
            shade = 1 + np.float32(rng.uniform(-0.25, 0.25)) * gx + np.float32(rng.uniform(-0.2, 0.2)) * gy
            img = img * shade[..., None]
        return Plate(np.clip(img, 0, 255).astype(np.uint8), text, kind)

    def random_plate(self, rng: np.random.Generator, kind: str | None = None) -> Plate:
        """A random plate of a random (weighted) or given kind."""
        if kind is None:
            kinds = list(KIND_WEIGHTS)
            p = np.array([KIND_WEIGHTS[k] for k in kinds])
            kind = kinds[rng.choice(len(kinds), p=p / p.sum())]
        text = random_text(kind, rng)
        return self.render(kind, text, rng)


# ----------------------------------------------------------------------------- degradation


def random_background(
    h: int, w: int, rng: np.random.Generator, pool: list[np.ndarray] | None = None
) -> np.ndarray:
    """A background patch: a crop of a real image from ``pool`` or a procedural car-body texture."""
    if pool and rng.random() < 0.6:
        src = pool[rng.integers(len(pool))]
        if src.shape[0] > h + 1 and src.shape[1] > w + 1:
            y = rng.integers(0, src.shape[0] - h)
            x = rng.integers(0, src.shape[1] - w)
            return src[y : y + h, x : x + w].copy()
        return cv2.resize(src, (w, h))
    H0, W0 = h, w
    h, w = max(8, h // 3), max(8, w // 3)
    base = rng.integers(0, 256, 3).astype(np.float32)
    img = np.empty((h, w, 3), np.float32)
    img[:] = base
    gy = np.linspace(-1, 1, h, dtype=np.float32)[:, None, None]
    img += gy * np.float32(rng.uniform(-60, 60))
    for _ in range(rng.integers(0, 6)):
        c = rng.integers(0, 256, 3).tolist()
        p1 = (int(rng.integers(-w // 2, w)), int(rng.integers(-h // 2, h)))
        p2 = (int(p1[0] + rng.integers(5, w)), int(p1[1] + rng.integers(2, h)))
        if rng.random() < 0.5:
            cv2.rectangle(img, p1, p2, c, -1 if rng.random() < 0.6 else int(rng.integers(1, 4)))
        else:
            cv2.line(img, p1, p2, c, int(rng.integers(1, 6)))
    img += rng.normal(0, rng.uniform(1, 15), img.shape).astype(np.float32)
    return cv2.resize(np.clip(img, 0, 255).astype(np.uint8), (W0, H0), interpolation=cv2.INTER_LINEAR)


def photometric(
    img: np.ndarray, rng: np.random.Generator, strength: float = 1.0, blur_scale: float | None = None
) -> np.ndarray:
    """Blur, motion blur, low light, gamma, colour cast, glare, noise and JPEG artefacts."""
    out = img.astype(np.float32)
    h, w = out.shape[:2]
    if rng.random() < 0.6 * strength:
        s = rng.uniform(0.3, 1.0) * (blur_scale if blur_scale is not None else max(1.0, min(h, w) / 40))
        out = cv2.GaussianBlur(out, (0, 0), s)
    if rng.random() < 0.2 * strength:
        k = int(rng.integers(3, 7))
        ker = np.zeros((k, k), np.float32)
        if rng.random() < 0.5:
            ker[k // 2, :] = 1.0 / k
        else:
            np.fill_diagonal(ker, 1.0 / k)
        out = cv2.filter2D(out, -1, ker)
    # low light / overexposure / contrast
    if rng.random() < 0.5 * strength:
        gain = rng.uniform(0.2, 1.0) if rng.random() < 0.6 else rng.uniform(1.0, 1.6)
        out = out * gain
    if rng.random() < 0.4 * strength:
        c = rng.uniform(0.5, 1.0)
        out = (out - out.mean()) * c + out.mean()
    if rng.random() < 0.3 * strength:
        g = rng.uniform(0.6, 1.6)
        out = 255.0 * (np.clip(out, 0, 255) / 255.0) ** g
    if rng.random() < 0.4 * strength:
        out = out * rng.uniform(0.8, 1.2, (1, 1, 3))
    if rng.random() < 0.2 * strength:  # glare blob
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        sy, sx = rng.uniform(0.2, 0.8) * h, rng.uniform(0.1, 0.5) * w
        gy, gx = np.mgrid[0:h, 0:w]
        blob = np.exp(-(((gy - cy) / sy) ** 2 + ((gx - cx) / sx) ** 2))
        out = out + blob[..., None] * rng.uniform(60, 200)
    if rng.random() < 0.6 * strength:
        out = out + rng.normal(0, rng.uniform(2, 14), out.shape)
    out = np.clip(out, 0, 255).astype(np.uint8)
    if rng.random() < 0.6 * strength:
        q = int(rng.integers(15, 90))
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, q])
        if ok:
            out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return out


def plate_crop(
    plate: Plate,
    rng: np.random.Generator,
    pool: list[np.ndarray] | None = None,
    out_size: tuple[int, int] = (96, 32),
) -> np.ndarray:
    """A recognizer training sample: the plate as a localiser would crop it, degraded, resized.

    Returns an RGB ``uint8`` array of shape ``(out_size[1], out_size[0], 3)``.
    """
    P = plate.image
    # target plate size in the camera image
    wt = rng.uniform(40, 220)
    f = min(1.0, 2.0 * wt / P.shape[1])
    if f < 1.0:
        P = cv2.resize(P, (int(P.shape[1] * f), int(P.shape[0] * f)), interpolation=cv2.INTER_AREA)
    H, W = P.shape[:2]
    pad = int(0.4 * H)
    canvas = random_background(H + 2 * pad, W + 2 * pad, rng, pool)
    canvas[pad : pad + H, pad : pad + W] = P
    ht = wt * H / W * rng.uniform(0.85, 1.2)
    ml, mr = rng.uniform(-0.02, 0.08, 2)
    mt, mb = rng.uniform(-0.04, 0.15, 2)
    ow = max(8, round(wt * (1 + ml + mr)))
    oh = max(4, round(ht * (1 + mt + mb)))
    x0, y0 = ml * wt, mt * ht
    j = 0.05 * ht
    shear = rng.uniform(-0.18, 0.18) * ht
    dst = np.array(
        [
            [x0 + shear / 2, y0],
            [x0 + wt + shear / 2, y0],
            [x0 + wt - shear / 2, y0 + ht],
            [x0 - shear / 2, y0 + ht],
        ],
        np.float32,
    )
    dst += rng.uniform(-j, j, dst.shape).astype(np.float32)
    # small rotation about the centre
    ang = np.deg2rad(rng.normal(0, 3))
    c = dst.mean(0)
    R = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]], np.float32)
    dst = (dst - c) @ R.T + c
    src = np.array([[pad, pad], [pad + W, pad], [pad + W, pad + H], [pad, pad + H]], np.float32)
    M = cv2.getPerspectiveTransform(src, dst)
    out = cv2.warpPerspective(canvas, M, (ow, oh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    out = photometric(out, rng)
    return cv2.resize(out, out_size, interpolation=cv2.INTER_AREA if ow > out_size[0] else cv2.INTER_LINEAR)


def augment_real(
    img: np.ndarray,
    rng: np.random.Generator,
    out_size: tuple[int, int] = (96, 32),
    pool: list[np.ndarray] | None = None,
) -> np.ndarray:
    """Geometric + photometric augmentation of a real (tight) plate crop.

    Half of the samples get localiser-like margins (-3..+10 % across, -5..+20 % vertical)
    filled with a real or procedural background, and 30 % are shrunk to 36-80 px wide first
    (small, distant plates).
    """
    h, w = img.shape[:2]
    if rng.random() < 0.3:
        nw = int(rng.integers(36, 81))
        nh = max(8, round(h * nw / w * rng.uniform(0.9, 1.1)))
        img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)
        h, w = img.shape[:2]
    ml, mr = (rng.uniform(-0.03, 0.10, 2) * w) if rng.random() < 0.5 else (0.0, 0.0)
    mt, mb = (rng.uniform(-0.05, 0.20, 2) * h) if rng.random() < 0.5 else (0.0, 0.0)
    W2, H2 = max(8, round(w + ml + mr)), max(6, round(h + mt + mb))
    s = rng.uniform(0.95, 1.04)
    ang = rng.normal(0, 2)
    M = cv2.getRotationMatrix2D((w / 2, h / 2), ang, s)
    M[0, 2] += ml + rng.uniform(-0.02, 0.02) * w
    M[1, 2] += mt + rng.uniform(-0.05, 0.05) * h
    if rng.random() < 0.3:
        M[0, 1] += rng.uniform(-0.15, 0.15)
    if (ml > 0 or mr > 0 or mt > 0 or mb > 0) and rng.random() < 0.6:
        out = random_background(H2, W2, rng, pool)
        warped = cv2.warpAffine(img, M, (W2, H2), borderMode=cv2.BORDER_CONSTANT)
        inside = cv2.warpAffine(np.full((h, w), 255, np.uint8), M, (W2, H2), flags=cv2.INTER_NEAREST) > 0
        out[inside] = warped[inside]
    else:
        out = cv2.warpAffine(img, M, (W2, H2), borderMode=cv2.BORDER_REPLICATE)
    out = photometric(out, rng, strength=0.6)
    return cv2.resize(out, out_size, interpolation=cv2.INTER_AREA if out_size[0] < W2 else cv2.INTER_LINEAR)


# ----------------------------------------------------------------------------- localiser scenes


def _car_background(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A crude vehicle front/rear: body, window, lights, bumper, grille."""
    img = random_background(h, w, rng, None).astype(np.float32)
    body = rng.integers(0, 256, 3).tolist()
    x0, x1 = int(w * rng.uniform(0, 0.15)), int(w * rng.uniform(0.85, 1))
    y0, y1 = int(h * rng.uniform(0, 0.3)), int(h * rng.uniform(0.85, 1))
    cv2.rectangle(img, (x0, y0), (x1, y1), body, -1)
    wy1 = int(y0 + (y1 - y0) * rng.uniform(0.25, 0.45))
    cv2.rectangle(
        img, (x0 + (x1 - x0) // 8, y0), (x1 - (x1 - x0) // 8, wy1), rng.integers(0, 90, 3).tolist(), -1
    )
    ly = int(y0 + (y1 - y0) * rng.uniform(0.45, 0.6))
    lw = int((x1 - x0) * rng.uniform(0.1, 0.2))
    lc = [int(rng.integers(150, 256)), int(rng.integers(0, 120)), int(rng.integers(0, 80))]
    if rng.random() < 0.5:
        lc = [230, 230, 230]
    cv2.rectangle(img, (x0 + 4, ly), (x0 + 4 + lw, ly + max(3, h // 14)), lc, -1)
    cv2.rectangle(img, (x1 - 4 - lw, ly), (x1 - 4, ly + max(3, h // 14)), lc, -1)
    if rng.random() < 0.6:  # grille lines
        gy0 = ly + h // 12
        for k in range(int(rng.integers(2, 7))):
            yy = gy0 + k * max(2, h // 40)
            cv2.line(img, (x0 + lw + 8, yy), (x1 - lw - 8, yy), rng.integers(0, 256, 3).tolist(), 1)
    img += rng.normal(0, 5, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


_DISTRACTOR_TEXT = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789出租车辆公交安全停车限速油电混合动力中国人民保险"


def _distractor(img: np.ndarray, rng: np.random.Generator, renderer: PlateRenderer) -> None:
    """Paint non-plate text / stripes / stickers (negatives for the localiser) in place."""
    h, w = img.shape[:2]
    pw = int(w * rng.uniform(0.1, 0.5))
    ph = int(pw * rng.uniform(0.1, 0.6))
    x = int(rng.integers(0, max(1, w - pw)))
    y = int(rng.integers(0, max(1, h - ph)))
    if ph < 4 or pw < 8:
        return
    r = rng.random()
    if r < 0.6:  # text on a plain patch
        bgc = rng.integers(0, 256, 3)
        fgc = 255 - bgc
        pil = Image.new("RGB", (pw * 4, ph * 4), tuple(int(v) for v in bgc))
        n = int(rng.integers(2, 10))
        s = "".join(_DISTRACTOR_TEXT[rng.integers(len(_DISTRACTOR_TEXT))] for _ in range(n))
        font = ImageFont.truetype(renderer.cjk[0][0], max(8, ph * 3), index=renderer.cjk[0][1])
        ImageDraw.Draw(pil).text((2, 0), s, font=font, fill=tuple(int(v) for v in fgc))
        patch = cv2.resize(np.asarray(pil), (pw, ph), interpolation=cv2.INTER_AREA)
        img[y : y + ph, x : x + pw] = patch
    elif r < 0.8:  # stripes / barcode-like
        for _ in range(int(rng.integers(3, 12))):
            xx = x + int(rng.integers(0, pw))
            cv2.line(img, (xx, y), (xx, y + ph), rng.integers(0, 256, 3).tolist(), int(rng.integers(1, 3)))
    else:  # solid plate-coloured patch without characters (blue/yellow panel)
        col = [(20, 70, 200), (240, 190, 20), (60, 200, 90)][rng.integers(3)]
        cv2.rectangle(img, (x, y), (x + pw, y + ph), col, -1)


def localiser_scene(
    renderer: PlateRenderer,
    rng: np.random.Generator,
    size: int = 160,
    pool: list[np.ndarray] | None = None,
    real_plates: list[np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A vehicle crop / close-up frame with 0-2 plates; returns (RGB image, plate mask 0/1)."""
    S = size
    if pool and rng.random() < 0.45:
        img = random_background(S, S, rng, pool)
        if rng.random() < 0.5:  # zoom into a random real region
            src = pool[rng.integers(len(pool))]
            sh, sw = src.shape[:2]
            cs = int(rng.integers(min(sh, sw) // 6, min(sh, sw)))
            y, x = rng.integers(0, sh - cs + 1), rng.integers(0, sw - cs + 1)
            img = cv2.resize(src[y : y + cs, x : x + cs], (S, S), interpolation=cv2.INTER_AREA)
    else:
        img = _car_background(S, S, rng)
    img = img.copy()
    for _ in range(int(rng.integers(0, 3))):
        _distractor(img, rng, renderer)
    mask = np.zeros((S, S), np.uint8)
    r = rng.random()
    n_plates = 0 if r < 0.15 else (1 if r < 0.9 else 2)
    for _ in range(n_plates):
        if real_plates and rng.random() < 0.3:
            P = real_plates[rng.integers(len(real_plates))]
        else:
            kind = "double_yellow" if rng.random() < 0.08 else None
            P = (
                renderer.random_plate(rng, kind).image
                if kind is None
                else renderer.render(kind, random_text("blue", rng), rng).image
            )
        ph0, pw0 = P.shape[:2]
        wt = S * rng.uniform(0.12, 0.72)
        ht = wt * ph0 / pw0 * rng.uniform(0.8, 1.2)
        cx = rng.uniform(wt / 2, S - wt / 2)
        cy = rng.uniform(ht / 2, S - ht / 2)
        shear = rng.uniform(-0.2, 0.2) * ht
        dst = np.array(
            [
                [cx - wt / 2 + shear / 2, cy - ht / 2],
                [cx + wt / 2 + shear / 2, cy - ht / 2],
                [cx + wt / 2 - shear / 2, cy + ht / 2],
                [cx - wt / 2 - shear / 2, cy + ht / 2],
            ],
            np.float32,
        )
        dst += rng.uniform(-0.06 * ht, 0.06 * ht, dst.shape).astype(np.float32)
        ang = np.deg2rad(float(np.clip(rng.normal(0, 7), -20, 20)))
        c = dst.mean(0)
        R = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]], np.float32)
        dst = (dst - c) @ R.T + c
        f = min(1.0, 2.0 * wt / pw0)
        if f < 1.0:
            P = cv2.resize(P, (max(2, int(pw0 * f)), max(2, int(ph0 * f))), interpolation=cv2.INTER_AREA)
        ph1, pw1 = P.shape[:2]
        src = np.array([[0, 0], [pw1, 0], [pw1, ph1], [0, ph1]], np.float32)
        M = cv2.getPerspectiveTransform(src, dst)
        warped = cv2.warpPerspective(P, M, (S, S), flags=cv2.INTER_LINEAR)
        m = np.zeros((S, S), np.uint8)
        cv2.fillConvexPoly(m, np.round(dst).astype(np.int32), 1)
        inner = cv2.warpPerspective(np.ones((ph1, pw1), np.uint8), M, (S, S), flags=cv2.INTER_NEAREST)
        img[inner > 0] = warped[inner > 0]
        mask = np.maximum(mask, m)
    img = photometric(img, rng, strength=0.8, blur_scale=1.2)
    return img, mask


# ----------------------------------------------------------------------------- province swap


def swap_province(
    img: np.ndarray, text: str, rng: np.random.Generator, renderer: PlateRenderer, blank: bool = False
) -> tuple[np.ndarray, str]:
    """A real tight plate crop (RGB) with its province character replaced by another one.

    Why: the real training crops are mostly of one or two provinces (皖 in dev_crops, 浙 in the
    toll-lane photos), so a model learns "real-looking plate -> 皖/浙" as a prior. Repainting the
    province glyph (found as the ink blob in the crop's left sixth, erased with the plate's
    background colour, redrawn from a CJK font in the crop's ink colour at the crop's own
    resolution) keeps the real rest of the plate while making the first character carry no
    prior. Returns the input unchanged when no glyph blob is found.

    ``blank``: leave the province illegible instead (erased, a solid block or a smudge) and
    return the empty text: a negative, so that a plate without a legible province gives no read
    rather than a province guessed from the rest of the plate."""
    from gateway.plates.charset import PROVINCES

    h, w = img.shape[:2]
    if h < 10 or w < 40 or not text or text[0] not in PROVINCES:
        return img, text
    x1 = max(4, int(w * 0.17))
    y0, y1 = int(h * 0.08), max(int(h * 0.08) + 4, int(h * 0.92))
    region = img[y0:y1, :x1]
    gray = cv2.cvtColor(region, cv2.COLOR_RGB2GRAY)
    _, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if ink.mean() > 127:  # the characters are the minority class
        ink = 255 - ink
    # cut at the emptiest column between the first and second character (tight crops reach
    # into the second character's left edge)
    cols = ink.sum(0)
    lo = int(w * 0.11)
    cut = lo + int(np.argmin(cols[lo:x1])) if x1 - lo >= 2 else x1
    ink[:, cut:] = 0
    ys, xs = np.nonzero(ink)
    if len(xs) < 8:
        return img, text
    # the glyph: the columns holding ink, trimmed of stray edge pixels
    gx0, gx1 = int(np.percentile(xs, 2)), int(np.percentile(xs, 98)) + 1
    gy0, gy1 = int(np.percentile(ys, 2)), int(np.percentile(ys, 98)) + 1
    if gx1 - gx0 < 3 or gy1 - gy0 < 5:
        return img, text
    bg = region[ink == 0].reshape(-1, 3).mean(0)
    inked = region[ink > 0].reshape(-1, 3).astype(np.float32)
    dist = np.abs(inked - bg).sum(1)
    fg = inked[dist >= np.median(dist)].mean(0)  # the glyph's core, not its antialiased edge
    out = img.astype(np.float32)
    pad = max(1, round(0.06 * h))
    ex0, ex1 = max(0, gx0 - pad), min(cut, gx1 + pad)
    ey0, ey1 = max(0, y0 + gy0 - pad), min(h, y0 + gy1 + pad)
    out[ey0:ey1, ex0:ex1] = bg + rng.normal(0, 3, (ey1 - ey0, ex1 - ex0, 3))
    if blank:
        r = rng.random()
        if r < 0.35:  # a solid block in the ink colour
            out[y0 + gy0 : y0 + gy1, gx0:gx1] = fg
        elif r < 0.7:  # dirt: a dark, blurred smudge
            smudge = cv2.GaussianBlur(rng.uniform(0, 1, (ey1 - ey0, ex1 - ex0)).astype(np.float32), (0, 0), 2)
            a = np.clip(smudge * rng.uniform(1.0, 2.0), 0, 1)[..., None]
            out[ey0:ey1, ex0:ex1] = out[ey0:ey1, ex0:ex1] * (1 - a) + rng.uniform(10, 70) * a
        return np.clip(out, 0, 255).astype(np.uint8), ""
    new = PROVINCES[int(rng.integers(len(PROVINCES)))]
    font = renderer.cjk[int(rng.integers(len(renderer.cjk)))]
    # render large, then shrink to the blob's size: antialiased like a real low-resolution glyph
    mask = renderer._char_mask(new, (gx1 - gx0) * 4, (gy1 - gy0) * 4, rng, font, font)
    mask = cv2.resize(mask, (gx1 - gx0, gy1 - gy0), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    a = mask[..., None]
    sl = out[y0 + gy0 : y0 + gy1, gx0:gx1]
    out[y0 + gy0 : y0 + gy1, gx0:gx1] = sl * (1 - a) + fg * a
    out = cv2.GaussianBlur(out, (0, 0), 0.4) if rng.random() < 0.5 else out
    return np.clip(out, 0, 255).astype(np.uint8), new + text[1:]
