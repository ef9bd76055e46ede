"""Write docs/vectors/events/*.json from fixed example events.

Run only when the protocol changes on purpose (and bump the schema version then); the tests
check the committed files against the code in both directions, so an accidental change to
the wire format fails them.
"""

from __future__ import annotations

import json
from pathlib import Path

import cbor2

from gateway.events import (
    AlarmKind,
    AlarmState,
    BootCause,
    Checkin,
    ClockSource,
    Crowd,
    DeviceFault,
    Direction,
    Event,
    Format,
    LineCrossing,
    Location,
    Loitering,
    NodeStatus,
    ObjectEvent,
    Phase,
    PlateColour,
    PlateStatus,
    PlateType,
    SenMLRecord,
    SensorAlarm,
    SensorReadings,
    Severity,
    VehiclePassage,
    ZoneIntrusion,
    encode,
)

OUT = Path(__file__).resolve().parent.parent / "docs" / "vectors" / "events"
TS = 1795867200123  # 2026-11-28T08:00:00.123Z
LOC = Location(31.230416, 121.473701)


def eid(n: int) -> bytes:
    return bytes.fromhex("01a2220f2c7b7d96b225") + n.to_bytes(6, "big")


EXAMPLES = {
    "vehicle_passage_blue": (
        "Checkpoint read of a 7-character blue plate with GPS fix; the size budget case.",
        Event(VehiclePassage(plate="京A12345", plate_conf=0.97, plate_colour=PlateColour.BLUE,
                             direction=Direction.INBOUND, zone="lane-1"),
              id=eid(1), ts_ms=TS, seq=123456, loc=LOC)),
    "vehicle_passage_full": (
        "Green new-energy plate with per-character confidence, watch-list hit, no location.",
        Event(VehiclePassage(plate="沪AD12345", plate_conf=0.912,
                             char_conf=(0.99, 0.98, 0.95, 0.97, 0.99, 0.93, 0.96, 0.91),
                             plate_colour=PlateColour.GREEN, plate_type=PlateType.NEW_ENERGY,
                             vehicle_class="car", direction=Direction.OUTBOUND, zone="lane-2",
                             track_id=77, camera="cam-north", watch_match=True, conf=0.88),
              id=eid(2), ts_ms=TS + 1, seq=2)),
    "vehicle_passage_hashed": (
        "Privacy mode: the plate travels as a keyed hash (HMAC-SHA256, first 16 bytes).",
        Event(VehiclePassage(plate_hash=bytes(range(16)), plate_conf=0.955,
                             plate_colour=PlateColour.YELLOW, direction=Direction.UNKNOWN),
              id=eid(3), ts_ms=TS + 2, seq=3, loc=LOC)),
    "object_enter_person": (
        "A person track starts in the reservoir camera's view.",
        Event(ObjectEvent(phase=Phase.ENTER, cls="person", track_id=5, conf=0.81,
                          camera="cam-shore", zone="shoreline"),
              id=eid(4), ts_ms=TS + 3, seq=4, loc=LOC)),
    "object_exit_person": (
        "The same person track ends after 12.5 s.",
        Event(ObjectEvent(phase=Phase.EXIT, cls="person", track_id=5, camera="cam-shore",
                          direction=Direction.OUTBOUND, dwell_ms=12500),
              id=eid(5), ts_ms=TS + 4, seq=5)),
    "line_crossing": (
        "A car crosses the checkpoint line inbound.",
        Event(LineCrossing(line="gate", direction=Direction.INBOUND, cls="car", track_id=9,
                           conf=0.74, camera="cam-lane"),
              id=eid(6), ts_ms=TS + 5, seq=6)),
    "zone_intrusion": (
        "A person inside the protected shoreline zone.",
        Event(ZoneIntrusion(zone="shoreline", cls="person", track_id=11, conf=0.9,
                            camera="cam-shore"),
              id=eid(7), ts_ms=TS + 6, seq=7, loc=LOC)),
    "loitering": (
        "A person stayed in the zone for 2 minutes.",
        Event(Loitering(zone="shoreline", cls="person", track_id=11, dwell_ms=120000),
              id=eid(8), ts_ms=TS + 7, seq=8)),
    "crowd": (
        "Six people in the plaza zone, threshold five.",
        Event(Crowd(cls="person", count=6, threshold=5, zone="plaza", camera="cam-plaza"),
              id=eid(9), ts_ms=TS + 8, seq=9)),
    "sensor_alarm_pir": (
        "A node's PIR sensor raised an alarm.",
        Event(SensorAlarm(node="node-07", kind=AlarmKind.PIR, state=AlarmState.ACTIVE,
                          node_seq=4242),
              id=eid(10), ts_ms=TS + 9, seq=10, loc=LOC)),
    "sensor_alarm_water": (
        "A Modbus level gauge crossed its high threshold.",
        Event(SensorAlarm(node="modbus-3", kind=AlarmKind.WATER_LEVEL, state=AlarmState.ACTIVE,
                          value=2.75, unit="m", sensor="level"),
              id=eid(11), ts_ms=TS + 10, seq=11)),
    "sensor_readings": (
        "A node's scheduled report as SenML records.",
        Event(SensorReadings(node="node-07", node_seq=4243, records=(
            SenMLRecord(n="temp", u="Cel", v=21.5), SenMLRecord(n="batt", u="V", v=3.7),
            SenMLRecord(n="door", vb=False))),
              id=eid(12), ts_ms=TS + 11, seq=12)),
    "device_fault": (
        "A camera stopped delivering frames.",
        Event(DeviceFault(component="camera/cam-lane", code="source_dead",
                          severity=Severity.ERROR, message="no frame for 30 s; reopening"),
              id=eid(13), ts_ms=TS + 12, seq=13)),
    # --- schema v2 (docs/protocol.md section 2.1): written as v2 only because they use it.
    "vehicle_passage_absent": (
        "v2: a truck crossed the checkpoint with no plate to be found (covered or missing).",
        Event(VehiclePassage(plate_status=PlateStatus.ABSENT, vehicle_class="truck",
                             direction=Direction.INBOUND, zone="lane-1", track_id=31,
                             camera="cam-lane", clip="cam-lane-20261128T080000Z-31"),
              id=eid(14), ts_ms=TS + 13, seq=14, loc=LOC)),
    "vehicle_passage_unreadable": (
        "v2: a plate was found but no read was accepted (dirty, too small, blurred).",
        Event(VehiclePassage(plate_status=PlateStatus.UNREADABLE, plate_colour=PlateColour.YELLOW,
                             direction=Direction.OUTBOUND, track_id=32),
              id=eid(15), ts_ms=TS + 14, seq=15)),
    "sensor_alarm_panic": (
        "v2: a panic button pressed at a node, stamped with GPS time (NTP unsynchronised), "
        "at the node's enrolled position.",
        Event(SensorAlarm(node="node-12", kind=AlarmKind.PANIC, state=AlarmState.ACTIVE,
                          sensor="panic", node_seq=77),
              id=eid(16), ts_ms=TS + 15, seq=16, loc=Location(30.512345, 120.123456),
              clock=ClockSource.GPS)),
    "node_status": (
        "v2: a node's status at boot: woken by the watchdog, running on default config.",
        Event(NodeStatus(node="node-12", boot_cause=BootCause.WATCHDOG, fw_version="1.4.0",
                         config_fallback=True, interval_s=900, node_seq=1),
              id=eid(17), ts_ms=TS + 16, seq=17, loc=Location(30.512345, 120.123456))),
    "checkin": (
        "v2: a patrol's card at a duty-point node; only the keyed hash travels.",
        Event(Checkin(node="node-12", card_hash=bytes(range(16, 32)), known=True, node_seq=78),
              id=eid(18), ts_ms=TS + 17, seq=18, loc=Location(30.512345, 120.123456))),
    "device_fault_cleared": (
        "v2: a node that was silent for 45 minutes was heard again; free-running clock.",
        Event(DeviceFault(component="node/node-12", code="silent", severity=Severity.WARNING,
                          cleared=True, duration_ms=2_700_000),
              id=eid(19), ts_ms=TS + 18, seq=19, clock=ClockSource.FREE)),
}



def _mutated(**changes: object) -> str:
    """The blue vehicle-passage vector with envelope keys changed (None deletes a key)."""
    doc = cbor2.loads(encode(EXAMPLES["vehicle_passage_blue"][1]))
    for key, value in changes.items():
        k = int(key[1:])
        if value is None:
            doc.pop(k)
        else:
            doc[k] = value
    return cbor2.dumps(doc, canonical=True).hex()


# name -> (payload hex, text the error message must contain)
INVALID = {
    "empty": (lambda: "", "empty payload"),
    "truncated": (lambda: encode(EXAMPLES["vehicle_passage_blue"][1])[:-5].hex(), "not valid cbor"),
    "trailing_garbage": (lambda: encode(EXAMPLES["vehicle_passage_blue"][1]).hex() + "00",
                         "trailing bytes"),
    "not_a_map": (lambda: "83010203", "expected a map"),
    "unknown_type": (lambda: _mutated(k4=99), "unknown event type"),
    "future_schema": (lambda: _mutated(k0=3), "schema version 3 is not supported"),
    "v1_with_v2_field": (lambda: _mutated(k6={1: "京A12345", 16: 3}),
                         "vehicle_passage.plate_status needs schema v2"),
    "v1_with_v2_clock": (lambda: _mutated(k7=2), "envelope field clk needs schema v2"),
    "unknown_clock": (lambda: _mutated(k0=2, k7=9), "unknown clock source"),
    "missing_seq": (lambda: _mutated(k2=None), "missing envelope field(s): seq"),
    "bad_conf": (lambda: _mutated(k6={3: 1500}), "permille"),
    "json_unknown_field": (lambda: b'{"v":1,"bogy":{}}'.hex(), "unknown envelope field"),
    "json_nan": (lambda: b'{"v":NaN}'.hex(), "NaN"),
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.json"):
        old.unlink()
    for name, (comment, event) in EXAMPLES.items():
        cbor = encode(event, Format.CBOR)
        js = encode(event, Format.JSON)
        doc = {"name": name, "comment": comment, "event": json.loads(js), "cbor_hex": cbor.hex(),
               "cbor_size": len(cbor), "json_size": len(js)}
        (OUT / f"{name}.json").write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    invalid = [{"name": name, "hex": make(), "error_contains": error}
               for name, (make, error) in INVALID.items()]
    (OUT / "invalid.json").write_text(json.dumps(invalid, indent=2) + "\n")
    print(f"wrote {len(EXAMPLES)} vectors and {len(invalid)} invalid cases to {OUT}")


if __name__ == "__main__":
    main()
