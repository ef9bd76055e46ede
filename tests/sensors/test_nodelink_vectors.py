"""The shared node-link vectors, checked in CPython in both directions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.sensors import frames
from gateway.sensors.keys import NodeKeyRegistry
from gateway.sensors.nodelink import NodeLinkDecoder
from gateway.sensors.records import NodeAlarm, NodeCheckin, NodeReading, NodeStatus

VECTORS = Path(__file__).resolve().parents[2] / "docs" / "vectors" / "nodelink"
VALID = [v for f in ("readings.json", "alarms.json", "status.json", "checkin.json")
         for v in json.loads((VECTORS / f).read_text())["vectors"]]
REJECTS = json.loads((VECTORS / "rejects.json").read_text())["vectors"]


def test_vector_files_match_generator() -> None:
    import nodelink_vectors

    for name, text in nodelink_vectors.render().items():
        assert (VECTORS / name).read_text() == text, f"{name}: regenerate or fix the encoder"


@pytest.mark.parametrize("v", VALID, ids=lambda v: v["name"])
def test_encode_matches_vector(v: dict) -> None:
    f = v["fields"]
    key = bytes.fromhex(v["key"])
    if f["type"] == "readings":
        ftype = frames.FrameType.READINGS
        payload = frames.readings_payload([(r["code"], r["raw"]) for r in f["readings"]])
    elif f["type"] == "alarm":
        ftype = frames.FrameType.ALARM
        payload = frames.alarm_payload([(a["code"], a["raised"], a["raw"]) for a in f["alarms"]])
    elif f["type"] == "checkin":
        c = f["checkin"]
        ftype = frames.FrameType.CHECKIN
        payload = frames.checkin_payload(c["kind_code"], bytes.fromhex(c["card_id_hex"]))
    else:
        s = f["status"]
        ftype = frames.FrameType.STATUS
        payload = frames.status_payload(s["wake_code"], s["flags_byte"], *s["firmware"],
                                        s.get("interval_s"))
    wire = frames.build_frame(ftype, f["node_id"], f["seq"], payload, key)
    assert wire.hex() == v["wire_hex"]
    assert len(wire) == v["wire_len"]


@pytest.mark.parametrize("v", VALID, ids=lambda v: v["name"])
def test_decode_matches_vector(v: dict) -> None:
    f = v["fields"]
    out: list[object] = []
    reg = NodeKeyRegistry({f["node_id"]: (bytes.fromhex(v["key"]), "n")})
    dec = NodeLinkDecoder(reg, out.append, out.append, out.append, on_checkin=out.append)
    assert dec.feed(bytes.fromhex(v["wire_hex"])) == 1, dec.stats()
    assert all(r.node_id == f["node_id"] and r.seq == f["seq"] for r in out)
    if f["type"] == "readings":
        (rec,) = out
        assert isinstance(rec, NodeReading)
        assert [(m.name, m.unit, m.raw) for m in rec.measurements] == [
            (r["quantity"], r["unit"], r["raw"]) for r in f["readings"]]
        assert [m.value for m in rec.measurements] == pytest.approx(
            [r["value"] for r in f["readings"]])
    elif f["type"] == "alarm":
        assert all(isinstance(r, NodeAlarm) for r in out)
        assert [(r.kind, r.raised, r.value.raw, r.value.unit) for r in out] == [
            (a["kind"], a["raised"], a["raw"], a["unit"]) for a in f["alarms"]]
        assert [r.value.value for r in out] == pytest.approx([a["value"] for a in f["alarms"]])
    elif f["type"] == "checkin":
        (rec,) = out
        c = f["checkin"]
        assert isinstance(rec, NodeCheckin)
        assert (rec.card_kind, rec.card_id.hex()) == (c["kind"], c["card_id_hex"])
        assert c["card_id_hex"] not in repr(rec)  # the raw id stays out of logs
    else:
        (rec,) = out
        s = f["status"]
        assert isinstance(rec, NodeStatus)
        assert rec.wake_cause == s["wake"] and rec.flags == frozenset(s["flags"])
        assert rec.firmware == "{}.{}".format(*s["firmware"])
        assert rec.interval_s == s.get("interval_s")


@pytest.mark.parametrize("v", REJECTS, ids=lambda v: v["name"])
def test_reject_vectors(v: dict) -> None:
    out: list[object] = []
    reg = NodeKeyRegistry({v["node_id"]: (bytes.fromhex(v["key"]), None)})
    dec = NodeLinkDecoder(reg, out.append, out.append, out.append, on_checkin=out.append)
    accepted = sum(dec.feed(bytes.fromhex(w)) for w in v["wire_hex"])
    stats = dec.stats()
    assert accepted == len(v["wire_hex"]) - 1, stats  # all but the last (replay: first ok)
    assert stats.get(f"rejected_{v['reject']}") == 1, stats
    assert sum(n for k, n in stats.items() if k.startswith("rejected_")) == 1


def test_size_budget() -> None:
    by_name = {v["name"]: v["wire_len"] for v in VALID}
    assert by_name["alarm_motion_raised"] <= 32
    # every new kind of firmware 1.1 fits the single-alarm budget too
    for name in ("alarm_panic", "checkin_em4100", "checkin_nfc_uid_10",
                 "status_periodic_with_interval"):
        assert by_name[name] <= 32, (name, by_name[name])
    assert by_name["readings_typical"] <= 48
    assert max(by_name.values()) == frames.MAX_WIRE_LEN
