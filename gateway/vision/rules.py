"""Zones and lines: turn track movements into intrusion, loitering, crowd and crossing events.

Zones and lines may be armed only in some hours or at some alert levels: the caller passes the
frame's site-local time and the level in force with every update. A disarmed zone forgets who
is inside it, so when it is armed again (dusk), whoever is inside then raises the alarm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from gateway.vision.config import LineConfig, RulesConfig, ZoneConfig
from gateway.vision.geometry import Pt, anchor_point, point_in_polygon, segments_intersect, signed_distance
from gateway.vision.schedule import in_windows
from gateway.vision.tracker import Track


@dataclass(slots=True)
class ZoneHit:
    """A track entered a zone (intrusion) or stayed too long (loitering)."""

    zone: str
    track: Track
    kind: str  # "intrusion" | "loitering"
    dwell_s: float = 0.0


@dataclass(slots=True)
class LineHit:
    """A track crossed a line."""

    line: str
    track: Track
    direction: str


@dataclass(slots=True)
class CrowdHit:
    """A zone's population reached its threshold."""

    zone: str
    count: int
    threshold: int
    tracks: list[Track]


@dataclass
class _TrackState:
    zones_in: dict[str, float] = field(default_factory=dict)  # zone -> entered at t
    zones_seen: list[str] = field(default_factory=list)
    loiter_done: set[str] = field(default_factory=set)
    intrusion_done: set[str] = field(default_factory=set)
    line_side: dict[str, tuple[int, Pt]] = field(default_factory=dict)  # side, where seen
    lines_crossed: list[str] = field(default_factory=list)
    last_direction: str | None = None
    eligible: bool = False


@dataclass(slots=True)
class RulesOutput:
    """Everything the rules found in one step."""

    zone_hits: list[ZoneHit] = field(default_factory=list)
    line_hits: list[LineHit] = field(default_factory=list)
    crowd_hits: list[CrowdHit] = field(default_factory=list)


class Rules:
    """Per-camera zone and line logic over tracker output."""

    def __init__(self, cfg: RulesConfig) -> None:
        self._state: dict[int, _TrackState] = {}
        self._crowd_active: set[str] = set()
        self.reconfigure(cfg)

    def reconfigure(self, cfg: RulesConfig) -> None:
        """Use ``cfg`` from the next update on (an alert level, an edited zone), keeping what
        is known of the live tracks: who is in which zone since when, which side of a line."""
        self.cfg = cfg
        self._inbound_sign = {
            ln.name: 1 if signed_distance(ln.inbound_side, ln.a, ln.b) > 0 else -1
            for ln in cfg.lines
        }

    @staticmethod
    def armed(item: ZoneConfig | LineConfig, local: datetime | None, level: str | None) -> bool:
        """Whether a zone or line is armed at site time ``local`` and alert ``level`` (None:
        not constrained by that)."""
        if level is not None and item.levels and level not in item.levels:
            return False
        return local is None or in_windows(item.hours, local)

    def _disarm(self, zone: str) -> None:
        for st in self._state.values():
            st.zones_in.pop(zone, None)
            st.loiter_done.discard(zone)
            st.intrusion_done.discard(zone)
        self._crowd_active.discard(zone)

    def state(self, track: Track) -> _TrackState:
        """Rule state of ``track`` (created on first use)."""
        st = self._state.get(track.track_id)
        if st is None:
            st = self._state[track.track_id] = _TrackState(eligible=not self.cfg.require_zones)
        return st

    def zones_of(self, track: Track) -> list[str]:
        """Zones the track is in now."""
        return list(self.state(track).zones_in)

    @staticmethod
    def _applies(classes: list[str], label: str) -> bool:
        return not classes or label in classes

    def _zone(self, z: ZoneConfig, tr: Track, st: _TrackState, t: float, out: RulesOutput) -> None:
        inside = point_in_polygon(anchor_point(tr.box, z.anchor), z.polygon)
        if inside and z.name not in st.zones_in:
            st.zones_in[z.name] = t
            if z.name not in st.zones_seen:
                st.zones_seen.append(z.name)
            if z.name in self.cfg.require_zones:
                st.eligible = True
        elif not inside and z.name in st.zones_in:
            del st.zones_in[z.name]
            st.loiter_done.discard(z.name)
            st.intrusion_done.discard(z.name)
        # Reported once per visit, as soon as the track is confirmed (it may have entered
        # while still tentative).
        if inside and z.intrusion and tr.confirmed and st.eligible \
                and z.name not in st.intrusion_done:
            st.intrusion_done.add(z.name)
            out.zone_hits.append(ZoneHit(z.name, tr, "intrusion"))
        if inside and z.loiter_s is not None and tr.confirmed and z.name not in st.loiter_done:
            dwell = t - st.zones_in[z.name]
            if dwell >= z.loiter_s and st.eligible:
                st.loiter_done.add(z.name)
                out.zone_hits.append(ZoneHit(z.name, tr, "loitering", dwell))

    def _line(self, ln: LineConfig, tr: Track, st: _TrackState, out: RulesOutput) -> None:
        p = anchor_point(tr.box, ln.anchor)
        d = signed_distance(p, ln.a, ln.b)
        if abs(d) < ln.hysteresis:
            return  # too close to call: wait until the object is clearly on one side
        side = 1 if d > 0 else -1
        prev = st.line_side.get(ln.name)
        if prev is None:
            st.line_side[ln.name] = (side, p)
            return
        if side == prev[0]:
            st.line_side[ln.name] = (side, p)
            return
        if not (tr.confirmed and st.eligible):
            return  # keep the old side: the crossing is reported once the track is confirmed
        st.line_side[ln.name] = (side, p)
        if not segments_intersect(prev[1], p, ln.a, ln.b):
            return  # passed beside the end of a finite line
        direction = "inbound" if side == self._inbound_sign[ln.name] else "outbound"
        st.lines_crossed.append(ln.name)
        st.last_direction = direction
        out.line_hits.append(LineHit(ln.name, tr, direction))

    def update(self, tracks: list[Track], t: float, local: datetime | None = None,
               level: str | None = None) -> RulesOutput:
        """Evaluate the tracks seen at time ``t`` (call after every tracker update).

        ``local`` is the frame's site-local time and ``level`` the alert level in force; zones
        and lines outside their hours or levels are disarmed."""
        out = RulesOutput()
        zones = []
        for z in self.cfg.zones:
            if self.armed(z, local, level):
                zones.append(z)
            else:
                self._disarm(z.name)
        lines = []
        for ln in self.cfg.lines:
            if self.armed(ln, local, level):
                lines.append(ln)
            else:  # a crossing while disarmed must not count when the line is armed again
                for st in self._state.values():
                    st.line_side.pop(ln.name, None)
        for tr in tracks:
            if not self._applies(self.cfg.classes, tr.label):
                continue
            st = self.state(tr)
            for z in zones:
                if self._applies(z.classes, tr.label):
                    self._zone(z, tr, st, t, out)
            for ln in lines:
                if self._applies(ln.classes, tr.label):
                    self._line(ln, tr, st, out)
        for z in zones:
            if z.crowd_threshold is None:
                continue
            inside = [
                tr for tr in tracks
                if tr.confirmed and self._applies(z.classes, tr.label)
                and z.name in self.state(tr).zones_in
            ]
            if len(inside) >= z.crowd_threshold and z.name not in self._crowd_active:
                self._crowd_active.add(z.name)
                out.crowd_hits.append(CrowdHit(z.name, len(inside), z.crowd_threshold, inside))
            elif len(inside) < z.crowd_threshold:
                self._crowd_active.discard(z.name)
        return out

    def forget(self, track: Track) -> _TrackState:
        """Drop the state of an ended track and return it (for the exit event)."""
        return self._state.pop(track.track_id, None) or _TrackState()
