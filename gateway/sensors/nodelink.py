"""Node-link decoder: bytes from a serial/radio link -> NodeReading / NodeAlarm / NodeStatus /
NodeCheckin.

Every byte that is not part of a valid frame is counted as garbage, every rejected block is
counted under its reason (``cobs``, ``short``, ``crc``, ``version``, ``unknown_node``,
``tag``, ``replay``, ``type``, ``payload``, ``oversize``); nothing raises to the caller.
A node repeats a panic frame with the same seq on purpose: such byte-identical copies of its
last accepted frame are rejected as replays like any other, but also counted as ``repeats``
and not logged as a problem.

``admit(node_id, name, frame_type)``, when given, is asked after a frame proved authentic and
fresh and before the replay window remembers it: a frame it refuses (the node's flood budget,
gateway/sensors/budget.py) is dropped and counted as ``over_budget`` without moving the window,
so a flooding node costs no replay-state write (an fsync each) per frame. It is asked only for
fresh frames, so replaying a node's recorded frames cannot spend that node's budget. The price:
a fresh frame dropped over budget is not remembered as seen, so a recording of it could still be
delivered once, late, while within the window.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from gateway.sensors import frames
from gateway.sensors.cobs import CobsError, cobs_decode
from gateway.sensors.counters import Counters
from gateway.sensors.deframer import Deframer
from gateway.sensors.frames import CardKind, FrameError, FrameType, KeyLookup, StatusFlag
from gateway.sensors.quantities import ALARM_KINDS, quantity
from gateway.sensors.records import (
    Measurement,
    NodeAlarm,
    NodeCheckin,
    NodeReading,
    NodeStatus,
)
from gateway.sensors.replay import ReplayWindow

log = logging.getLogger(__name__)

# What a technician should look at, logged once per reason.
_HINTS = {
    "crc": "line noise or wrong baud rate on the link",
    "cobs": "line noise or a non-node device on the link",
    "short": "line noise or truncated frames",
    "oversize": "wrong baud rate or a non-node device on the link",
    "version": "node firmware newer than this gateway",
    "unknown_node": "node not enrolled: add its id and key to the node key file",
    "tag": "node key mismatch (re-enrol the node) or forged frames",
    "replay": "replayed frames, or a node whose sequence counter was reset",
    "type": "node firmware newer than this gateway",
    "payload": "node firmware bug or version mismatch",
}


def _utcnow() -> datetime:
    return datetime.now(UTC)


class NodeLinkDecoder:
    """Feed it raw link bytes; it calls ``on_reading``/``on_alarm``/``on_status``.

    One decoder per link (serial port). The replay window may be shared between links
    when one node can be heard on several radios.
    """

    def __init__(
        self,
        keys: KeyLookup,
        on_reading: Callable[[NodeReading], None] | None = None,
        on_alarm: Callable[[NodeAlarm], None] | None = None,
        on_status: Callable[[NodeStatus], None] | None = None,
        *,
        on_checkin: Callable[[NodeCheckin], None] | None = None,
        on_frame: Callable[[int, str | None], None] | None = None,
        admit: Callable[[int, str | None, int], bool] | None = None,
        window: ReplayWindow | None = None,
        source: str = "",
        clock: Callable[[], datetime] = _utcnow,
        counters: Counters | None = None,
    ) -> None:
        self.keys = keys
        self.on_reading = on_reading
        self.on_alarm = on_alarm
        self.on_status = on_status
        self.on_checkin = on_checkin
        # Called with (node_id, name) for every accepted (authenticated and fresh) frame,
        # before its records: the liveness check's evidence that the node is alive.
        self.on_frame = on_frame
        self.admit = admit
        self._last_raw: dict[int, bytes] = {}
        self.window = window if window is not None else ReplayWindow()
        self.source = source
        self.clock = clock
        self.counters = counters if counters is not None else Counters()
        self._deframer = Deframer()
        self._logged: set[str] = set()
        self._lock = threading.Lock()

    # -- public ---------------------------------------------------------------------
    def feed(self, data: bytes) -> int:
        """Process bytes from the link; return how many frames were accepted."""
        with self._lock:
            before = self._deframer.oversize_bytes, self._deframer.oversize_blocks
            blocks = self._deframer.feed(data)
            grown = self._deframer.oversize_bytes - before[0]
            if grown:
                self.counters.add("garbage_bytes", grown)
                new_blocks = self._deframer.oversize_blocks - before[1]
                if new_blocks:
                    self._reject("oversize", new_blocks)
            accepted = 0
            for block in blocks:
                if self._handle_block(block):
                    accepted += 1
            return accepted

    def stats(self) -> dict[str, int]:
        """Counters: frames_ok, garbage_bytes, rejected_<reason>, callback_errors..."""
        return self.counters.snapshot()

    # -- internals ------------------------------------------------------------------
    def _reject(self, reason: str, n: int = 1, detail: str = "") -> None:
        self.counters.add(f"rejected_{reason}", n)
        if reason not in self._logged:
            self._logged.add(reason)
            log.warning(
                "node link %s: rejected frame (%s%s); likely cause: %s. Further ones are "
                "only counted.",
                self.source or "-",
                reason,
                f", {detail}" if detail else "",
                _HINTS.get(reason, "unknown"),
            )

    def _handle_block(self, block: bytes) -> bool:
        try:
            raw = cobs_decode(block)
        except CobsError:
            self.counters.add("garbage_bytes", len(block))
            self._reject("cobs")
            return False
        try:
            frame = frames.check_raw(raw, self.keys)
        except FrameError as exc:
            self.counters.add("garbage_bytes", len(block))
            detail = str(exc).partition(": ")[2] if exc.reason == "unknown_node" else ""
            self._reject(exc.reason, detail=detail)
            return False
        fresh = self.window.is_fresh(frame.node_id, frame.seq)
        if fresh and self.admit is not None and not self.admit(
                frame.node_id, self._name(frame.node_id), frame.type):
            self.counters.add("over_budget")
            return False
        if not (fresh and self.window.check_and_mark(frame.node_id, frame.seq)):
            if self._last_raw.get(frame.node_id) == raw:
                # The node's own repeat (panic): dropped, counted, not a warning.
                self.counters.add("rejected_replay")
                self.counters.add("repeats")
            else:
                self._reject("replay")
            return False
        self._last_raw[frame.node_id] = raw
        if self.on_frame is not None:
            self._call(self.on_frame, frame.node_id, self._name(frame.node_id))
        try:
            self._dispatch(frame)
        except FrameError as exc:
            self._reject(exc.reason)
            return False
        self.counters.add("frames_ok")
        return True

    def _dispatch(self, frame: frames.RawFrame) -> None:
        now = self.clock()
        name = self._name(frame.node_id)
        if frame.type == FrameType.READINGS:
            ms = []
            for code, raw in frames.parse_readings(frame.payload):
                q = quantity(code)
                ms.append(Measurement(q.name, q.unit, raw * q.scale, raw))
            rec = NodeReading(frame.node_id, name, frame.seq, now, tuple(ms), self.source)
            self._call(self.on_reading, rec)
        elif frame.type == FrameType.ALARM:
            for code, raised, raw in frames.parse_alarms(frame.payload):
                kind, qcode = ALARM_KINDS.get(code, (f"unknown_{code}", 0))
                q = quantity(qcode)
                value = Measurement(q.name, q.unit, raw * q.scale, raw) if qcode else None
                alarm = NodeAlarm(
                    frame.node_id, name, frame.seq, now, kind, raised, value, self.source
                )
                self._call(self.on_alarm, alarm)
        elif frame.type == FrameType.STATUS:
            wake, flags, major, minor, interval = frames.parse_status(frame.payload)
            flag_names = frozenset(f.name.lower() for f in StatusFlag if flags & f.value)
            status = NodeStatus(
                frame.node_id,
                name,
                frame.seq,
                now,
                frames.WAKE_CAUSES.get(wake, f"unknown_{wake}"),
                flag_names,
                f"{major}.{minor}",
                self.source,
                interval,
            )
            self._call(self.on_status, status)
        elif frame.type == FrameType.CHECKIN:
            kind_code, card_id = frames.parse_checkin(frame.payload)
            try:
                kind = CardKind(kind_code).name.lower()
            except ValueError:
                kind = f"unknown_{kind_code}"
            checkin = NodeCheckin(frame.node_id, name, frame.seq, now, kind, card_id,
                                  self.source)
            self._call(self.on_checkin, checkin)
        else:
            raise FrameError("type", str(frame.type))
        self.counters.add(f"frames_{FrameType(frame.type).name.lower()}")

    def _name(self, node_id: int) -> str | None:
        name_for = getattr(self.keys, "name_for", None)
        return name_for(node_id) if name_for is not None else None

    def _call(self, cb: Callable[..., None] | None, *args: object) -> None:
        if cb is None:
            return
        try:
            cb(*args)
        except Exception:  # a consumer bug must not stop the link: counted and logged
            self.counters.add("callback_errors")
            log.exception("node link %s: callback failed", self.source or "-")
