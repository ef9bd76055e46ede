"""Configuration models of the vision stack, one per part, mounted per camera by the root config.

All models are StrictModels: a typo in the TOML is an error, not a silent default, and a loaded
configuration is frozen (arrays are tuples, tables read-only mappings).
Coordinates are normalized to the frame: (0, 0) top-left, (1, 1) bottom-right.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator, model_validator

from gateway.camera.config import CameraSourceConfig
from gateway.clips.config import ClipsConfig
from gateway.events.fields import MAX_TEXT
from gateway.inference.config import TfliteModelConfig
from gateway.plates.config import PlatesConfig
from gateway.strict import ReadOnlyDict, StrictModel, revalidated
from gateway.vision.schedule import TimeWindow

# A coordinate is a share of the frame's width or height. Checked (found by probing, session
# 42): pixel coordinates by mistake (a line at y = 360 that nothing crosses) or NaN (valid TOML,
# and what the page's JSON parser accepts: a zone nothing is ever inside) made rules that never
# fired, without a word. A point may lie up to one frame past an edge: a hand-written zone that
# reaches past the edge to cover it worked before, and must still load after an update.
#: the smallest zone (a share of the frame): one millionth, a few pixels of a 1080p frame
MIN_ZONE_AREA = 1e-6
def _share_of_frame(v: float) -> float:
    if not -1.0 <= v <= 2.0:
        raise ValueError(f"{v:g} is not a share of the frame: points are 0..1 of its width and "
                         "height (pixel coordinates? divide by the frame size)")
    return v


Coordinate = Annotated[float, Field(allow_inf_nan=False), AfterValidator(_share_of_frame)]
Point = Annotated[tuple[Coordinate, Coordinate],
                  Field(description="(x, y), normalized 0..1 (shares of the frame's width and "
                                    "height; up to one frame past an edge)")]


class DecoderKind(StrEnum):
    """Layout of the model's outputs."""

    SSD = "ssd"  # TFLite_Detection_PostProcess: boxes, classes, scores, count
    YOLO = "yolo"  # raw [1, N, 4(+1)+C] or [1, 4(+1)+C, N] predictions; NMS done here


class ResizeMode(StrEnum):
    """How a frame is fitted to the model input (as the model card says)."""

    STRETCH = "stretch"  # resize to the input size, aspect ratio not kept (SSD MobileNet)
    LETTERBOX = "letterbox"  # keep aspect ratio, pad with grey (YOLO family)


class Anchor(StrEnum):
    """Which point of a box stands for the object's position in zones and lines."""

    CENTER = "center"
    BOTTOM = "bottom"  # bottom-centre: where a person or vehicle touches the ground


class DetectorConfig(TfliteModelConfig):
    """The TFLite detector: model, runtime and output decoding."""

    model: str = Field(
        description="Path to the .tflite file, or an asset name from models/assets.toml."
    )
    labels: str | None = Field(
        default=None,
        description="Path to the label map (one name per line), or a labels asset name from "
        "models/assets.toml; None: the model asset's own labels, else ids only."
    )
    label_offset: int | None = Field(
        default=None,
        description=(
            "Line of the label map that holds class id 0. None: 1 if the first line is '???' "
            "(TensorFlow COCO label maps, name = labelmap[id + 1]), else 0."
        ),
    )
    decoder: DecoderKind = Field(default=DecoderKind.SSD, description="Output layout: ssd or yolo.")
    resize: ResizeMode = Field(
        default=ResizeMode.STRETCH, description="Preprocessing: stretch or letterbox."
    )
    input_mean: float = Field(
        default=127.5, description="Float models: input = (pixel - mean) / std."
    )
    input_std: float = Field(default=127.5, gt=0, description="Float models: see input_mean.")
    bgr_input: bool = Field(
        default=False, description="Model expects BGR channel order instead of RGB."
    )
    use_xnnpack: bool = Field(
        default=True, description="Use the XNNPACK CPU delegate where the runtime has it."
    )
    min_score: float = Field(
        default=0.5, ge=0, le=1, description="Default score threshold for every class."
    )
    class_thresholds: ReadOnlyDict[str, float] = Field(
        default_factory=dict,
        description="Per-class score thresholds by label (after aliases), overriding min_score.",
    )
    max_detections: int = Field(default=50, ge=1, description="Keep at most this many per frame.")
    nms_iou: float = Field(
        default=0.45, gt=0, le=1, description="YOLO: IoU above which a weaker box is suppressed."
    )
    yolo_objectness: bool | None = Field(
        default=None,
        description="YOLO: rows carry an objectness score (v5 style). None: infer from shape.",
    )

    @field_validator("class_thresholds")
    @classmethod
    def _thresholds_in_range(cls, v: Mapping[str, float]) -> Mapping[str, float]:
        return thresholds_in_range(v)


def thresholds_in_range(v: Mapping[str, float]) -> Mapping[str, float]:
    """Check that every per-class score threshold lies within 0..1."""
    for name, thr in v.items():
        if not 0.0 <= thr <= 1.0:
            raise ValueError(f"threshold for {name!r} must be within 0..1, got {thr}")
    return v


class MotionGateConfig(StrictModel):
    """Cheap low-resolution frame differencing that decides when the detector runs."""

    enabled: bool = Field(default=True, description="False: the detector runs on every slot.")
    width: int = Field(default=160, ge=16, le=1920, description="Analysis width in pixels.")
    blur: int = Field(default=5, ge=1, description="Gaussian blur kernel (odd) against noise.")
    pixel_threshold: int = Field(
        default=25, ge=1, le=255, description="Grey-level change that marks a pixel as moving."
    )
    min_area: float = Field(
        default=0.002, ge=0, le=1, description="Fraction of unmasked pixels that must move."
    )
    background_alpha: float = Field(
        default=0.05,
        gt=0,
        le=1,
        description="Background model learning rate (running average); lower adapts slower.",
    )
    masks: tuple[tuple[Point, ...], ...] = Field(
        default=(),
        description="Polygons (normalized) where motion is ignored: trees, clocks, roads beyond.",
    )


class ScheduleConfig(StrictModel):
    """When the detector runs (the CPU budget)."""

    frame_stride: int = Field(
        default=1, ge=1, description="Look at every n-th frame only (1: all frames)."
    )
    motion_interval_s: float = Field(
        default=0.5, ge=0, description="While there is motion, detect at most this often."
    )
    refresh_interval_s: float = Field(
        default=1.5,
        gt=0,
        description="While tracks are alive and nothing moves, detect this often anyway.",
    )
    idle_interval_s: float | None = Field(
        default=None,
        gt=0,
        description="With no motion and no tracks, detect this often anyway (None: never).",
    )


class TrackerConfig(StrictModel):
    """IoU tracker with constant-velocity prediction."""

    iou_threshold: float = Field(
        default=0.2, ge=0, le=1, description="Minimum IoU of predicted box and detection."
    )
    max_center_distance: float = Field(
        default=1.0,
        ge=0,
        description=(
            "Fallback match when IoU is low: centre distance in units of the track's box "
            "diagonal (covers fast objects between sparse detections)."
        ),
    )
    min_hits: int = Field(
        default=2, ge=1, description="Detections before a track is confirmed (enter event)."
    )
    max_age_s: float = Field(
        default=3.0, gt=0, description="Seconds without a detection before a track ends (exit)."
    )
    velocity_smoothing: float = Field(
        default=0.5, ge=0, le=1, description="Weight of the newest velocity measurement."
    )
    class_agnostic: bool = Field(
        default=True,
        description="Match detections to tracks regardless of class (class is voted per track).",
    )
    edge_exit_margin: float = Field(
        default=0.0,
        ge=0,
        le=0.5,
        description=(
            "If > 0, a track whose box last touched the frame edge within this margin ends "
            "after one missed detection (it left the view) instead of waiting max_age_s."
        ),
    )


class ZoneConfig(StrictModel):
    """A polygon of interest and the rules that apply inside it."""

    # an event's text fields hold at most MAX_TEXT characters: a longer name made every event of
    # the zone fail to encode, so its alarms were dropped (found by probing, session 42)
    name: str = Field(min_length=1, max_length=MAX_TEXT,
                      description=f"Zone name used in events (unique per camera; 1-{MAX_TEXT} characters).")
    # bounded: every track is tested against every vertex on every frame, in Python, and the
    # page lets an operator save what it likes (a hand-drawn zone has a few dozen at most)
    polygon: tuple[Point, ...] = Field(min_length=3, max_length=100,
                                       description="Vertices, normalized, in order (3 to 100).")
    classes: tuple[str, ...] = Field(
        default=(), description="Classes the zone applies to (empty: all tracked)."
    )
    anchor: Anchor = Field(default=Anchor.BOTTOM, description="Box point tested against the zone.")
    intrusion: bool = Field(
        default=False, description="Emit a zone_intrusion event when an object enters the zone."
    )
    loiter_s: float | None = Field(
        default=None, gt=0, description="Emit a loitering event after this dwell (None: off)."
    )
    crowd_threshold: int | None = Field(
        default=None, ge=1, description="Emit a crowd event when this many objects are inside."
    )
    hours: tuple[TimeWindow, ...] = Field(
        default=(), description="Armed only inside these windows (site time; empty: always), "
        "e.g. [{start = '19:00', end = '06:00'}] for dusk to dawn.")
    levels: tuple[str, ...] = Field(
        default=(), description="Armed only at these alert levels (empty: at every level).")

    @model_validator(mode="after")
    def _has_area(self) -> ZoneConfig:
        # shoelace formula: a polygon whose vertices all lie on one line has no inside
        pts = self.polygon
        twice_area = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1], strict=True))
        if abs(twice_area) < MIN_ZONE_AREA * 2:
            raise ValueError(f"zone {self.name!r}: its polygon has no area (all its vertices lie "
                             "on one line or point): nothing could ever be inside it")
        return self


class LineConfig(StrictModel):
    """A counting line; crossing it in either direction is an event."""

    name: str = Field(min_length=1, max_length=MAX_TEXT,
                      description=f"Line name used in events (unique per camera; 1-{MAX_TEXT} characters).")
    a: Point = Field(description="First end point, normalized.")
    b: Point = Field(description="Second end point, normalized.")
    inbound_side: Point = Field(
        description=(
            "Any point on the inbound side of the line: an object moving to this side is "
            "'inbound', away from it 'outbound'."
        )
    )
    classes: tuple[str, ...] = Field(
        default=(), description="Classes counted (empty: all tracked)."
    )
    anchor: Anchor = Field(default=Anchor.CENTER, description="Box point that must cross.")
    hysteresis: float = Field(
        default=0.02,
        ge=0,
        le=0.5,
        description="Distance (normalized) beyond the line before a side counts; stops jitter.",
    )
    hours: tuple[TimeWindow, ...] = Field(
        default=(), description="Counted only inside these windows (site time; empty: always).")
    levels: tuple[str, ...] = Field(
        default=(), description="Counted only at these alert levels (empty: at every level).")

    @model_validator(mode="after")
    def _check(self) -> LineConfig:
        if self.a == self.b:
            raise ValueError(f"line {self.name!r}: a and b must differ")
        (ax, ay), (bx, by), (px, py) = self.a, self.b, self.inbound_side
        if abs((bx - ax) * (py - ay) - (by - ay) * (px - ax)) < 1e-9:
            raise ValueError(f"line {self.name!r}: inbound_side lies on the line")
        return self


class CropConfig(StrictModel):
    """Optional small JPEG evidence crop attached to events."""

    enabled: bool = Field(default=False, description="Attach a crop to enter/crossing events.")
    max_bytes: int = Field(default=16_000, ge=1_000, description="Upper bound of the JPEG size.")
    max_side: int = Field(default=224, ge=32, description="Longest side of the crop in pixels.")
    padding: float = Field(default=0.1, ge=0, le=1, description="Margin around the box (ratio).")


def untracked(what: str, classes: tuple[str, ...], tracked: tuple[str, ...]) -> None:
    """Refuse a zone or line that watches classes the camera does not track: only tracked
    objects reach the rules, so it would never see them (a typo such as 'persons' made an
    intrusion zone that never fired, without a word; found by probing, session 42)."""
    unknown = sorted(set(classes) - set(tracked))
    if unknown:
        raise ValueError(f"{what} watches {unknown}, which rules.classes does not track "
                         f"({sorted(tracked)}): add them there, or correct the name")


class RulesConfig(StrictModel):
    """What counts as an object of interest and which events the camera emits."""

    classes: tuple[str, ...] = Field(
        default=("person", "car", "truck", "bus", "motorcycle", "bicycle"),
        description="Labels (after aliases) that are tracked; all other detections are dropped.",
    )
    class_aliases: ReadOnlyDict[str, str] = Field(
        default_factory=dict,
        description=(
            "Rename model labels for this camera's view, e.g. {'cell phone' = 'car'} for an "
            "overhead camera where COCO SSD mislabels cars."
        ),
    )
    max_box_area: float = Field(
        default=0.6, gt=0, le=1, description="Drop boxes larger than this fraction of the frame."
    )
    merge_iou: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="After aliasing, merge same-class boxes overlapping more than this (IoU).",
    )
    merge_containment: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="Also merge when this fraction of the smaller box lies inside the larger.",
    )
    require_zones: tuple[str, ...] = Field(
        default=(),
        description="Only objects that enter one of these zones produce events (empty: all).",
    )
    enter_exit: bool = Field(default=True, description="Emit object_enter / object_exit events.")
    zones: tuple[ZoneConfig, ...] = Field(default=(), max_length=32,
                                          description="Zones of this camera (at most 32).")
    lines: tuple[LineConfig, ...] = Field(default=(), max_length=32,
                                          description="Counting lines (at most 32).")

    @model_validator(mode="after")
    def _names(self) -> RulesConfig:
        zone_names = [z.name for z in self.zones]
        if len(set(zone_names)) != len(zone_names):
            raise ValueError("zone names must be unique per camera")
        unknown = set(self.require_zones) - set(zone_names)
        if unknown:
            raise ValueError(f"require_zones names unknown zones: {sorted(unknown)}")
        line_names = [ln.name for ln in self.lines]
        if len(set(line_names)) != len(line_names):
            raise ValueError("line names must be unique per camera")
        for kind, item in (*(("zone", z) for z in self.zones), *(("line", ln) for ln in self.lines)):
            untracked(f"{kind} {item.name!r}", item.classes, self.classes)
        return self



class ZoneLevelConfig(StrictModel):
    """A zone's rules at one alert level; a field left out keeps the zone's own value."""

    intrusion: bool | None = Field(default=None, description="Intrusion alerts on or off.")
    loiter_s: float | None = Field(default=None, gt=0, description="Loitering dwell, seconds.")
    crowd_threshold: int | None = Field(default=None, ge=1, description="Crowd threshold.")
    classes: tuple[str, ...] | None = Field(default=None, description="Classes the zone watches.")


class LevelConfig(StrictModel):
    """What changes on one camera at one alert level (lower thresholds when heightened)."""

    min_score: float | None = Field(
        default=None, ge=0, le=1, description="Detector score threshold at this level.")
    class_thresholds: ReadOnlyDict[str, float] = Field(
        default_factory=dict,
        description="Per-class thresholds at this level, over the detector's own ones.")
    zones: ReadOnlyDict[str, ZoneLevelConfig] = Field(
        default_factory=dict, description="Zone rules at this level, by zone name.")

    @field_validator("class_thresholds")
    @classmethod
    def _thresholds_in_range(cls, v: Mapping[str, float]) -> Mapping[str, float]:
        return thresholds_in_range(v)


class TamperConfig(StrictModel):
    """Camera tamper checks (thresholds: module constants in gateway/vision/tamper.py)."""

    enabled: bool = Field(default=True, description="Check the view for tamper.")
    interval_s: float = Field(
        default=0.5, gt=0, le=10, description="Check one frame this often (frame time).")
    raise_after_s: float = Field(
        default=4.0, gt=0, le=60,
        description="A condition must last this long before it is a fault; longer than a "
        "lorry filling the view while it passes.")
    clear_after_s: float = Field(
        default=3.0, gt=0, le=60, description="The view must be normal this long to clear.")
    snapshot_side: int = Field(
        default=320, ge=64, le=1280, description="Longest side of the fault's snapshot JPEG.")


class VisionCameraConfig(StrictModel):
    """Everything one camera's pipeline needs: source, detector, gate, tracker, rules."""

    source: CameraSourceConfig = Field(description="Where frames come from.")
    detector: DetectorConfig = Field(description="Model and decoding.")
    motion: MotionGateConfig = Field(
        default_factory=MotionGateConfig, description="Motion gate in front of the detector."
    )
    schedule: ScheduleConfig = Field(
        default_factory=ScheduleConfig, description="When the detector runs."
    )
    tracker: TrackerConfig = Field(default_factory=TrackerConfig, description="Tracker.")
    rules: RulesConfig = Field(default_factory=RulesConfig, description="Classes, zones, lines.")
    crops: CropConfig = Field(default_factory=CropConfig, description="Evidence crops.")
    plates: PlatesConfig | None = Field(
        default=None,
        description="Read licence plates on this camera's vehicle tracks (omit: no plate reading).")
    hours: tuple[TimeWindow, ...] = Field(
        default=(), description="The detector runs and events are made only inside these "
        "windows (site time; empty: always). Tamper checks and clips run at all hours.")
    levels: tuple[str, ...] = Field(
        default=(), description="The camera detects only at these alert levels (empty: at "
        "every level), e.g. ['heightened'] for a checkpoint manned in sensitive periods.")
    level_overrides: ReadOnlyDict[str, LevelConfig] = Field(
        default_factory=dict,
        description="Thresholds and zone rules per alert level ([cameras.<name>."
        "level_overrides.heightened]); levels not named here run the camera's own values.")
    tamper: TamperConfig = Field(
        default_factory=lambda: TamperConfig(),
        description="Covered, defocused, moved or dark camera as a device_fault.")
    clips: ClipsConfig = Field(
        default_factory=lambda: ClipsConfig(),
        description="Evidence clips around alarms (a ring of recent frames, kept as JPEG).")

    @model_validator(mode="after")
    def _level_overrides_name_known_zones(self) -> VisionCameraConfig:
        zones = {z.name for z in self.rules.zones}
        for level, override in self.level_overrides.items():
            unknown = sorted(set(override.zones) - zones)
            if unknown:
                raise ValueError(f"level_overrides.{level} names unknown zones {unknown}; "
                                 f"zones: {sorted(zones)}")
            for name, zone in override.zones.items():
                untracked(f"level_overrides.{level}.zones.{name}", zone.classes or (),
                          self.rules.classes)
        return self

    def levels_used(self) -> set[str]:
        """Every alert level this camera names (checked against [site] levels by the root)."""
        used = set(self.levels) | set(self.level_overrides)
        for item in (*self.rules.zones, *self.rules.lines):
            used |= set(item.levels)
        return used

    def for_level(self, level: str) -> VisionCameraConfig:
        """This camera's configuration at alert ``level``: a new, fully validated object with
        the level's thresholds and zone rules applied (``self`` is not changed)."""
        override = self.level_overrides.get(level)
        if override is None:
            return self
        detector = revalidated(
            self.detector,
            min_score=self.detector.min_score if override.min_score is None
            else override.min_score,
            class_thresholds={**self.detector.class_thresholds, **override.class_thresholds})
        zones = [
            z.model_dump() | (override.zones[z.name].model_dump(exclude_none=True)
                              if z.name in override.zones else {})
            for z in self.rules.zones
        ]
        return revalidated(self, detector=detector, rules=revalidated(self.rules, zones=zones))

    def detector_floor(self) -> DetectorConfig:
        """The detector configuration with, per class, the lowest threshold of any level.

        The detector decodes at this floor once; the pipeline then applies the current level's
        own thresholds, so a level change needs no new interpreter."""
        configs = [self.for_level(level).detector for level in ("", *self.level_overrides)]
        names = {n for c in configs for n in c.class_thresholds}
        return revalidated(
            self.detector, min_score=min(c.min_score for c in configs),
            class_thresholds={n: min(c.class_thresholds.get(n, c.min_score) for c in configs)
                              for n in names})
