"""Names that travel in events fit an event's text fields, or the configuration says no.

Found by probing (session 42): a zone or line named with more than 64 characters was accepted
(by the file and by the page), and then every event naming it failed to encode and was lost,
alarms included; a camera named with 58 to 63 characters did the same to its device_fault
events (``camera/<name>``); a model label longer than 64 characters to every event of its class.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config.loader import ConfigError, load_config
from gateway.events.bodies import DeviceFault
from gateway.events.codec import decode, encode
from gateway.events.envelope import Event
from gateway.events.fields import MAX_TEXT
from gateway.events.types import Severity
from gateway.service.vision_events import to_body
from gateway.vision import events as ve

CAMERA = """
[cameras.{cam}]
source = {{ uri = "v4l2:///dev/video0" }}
detector = {{ model = "m.tflite" }}
[[cameras.{cam}.rules.zones]]
name = "{zone}"
polygon = [[0, 0], [1, 0], [1, 1]]
intrusion = true
[[cameras.{cam}.rules.lines]]
name = "{line}"
a = [0, 0.5]
b = [1, 0.5]
inbound_side = [0.5, 1]
"""


def _load(tmp_path: Path, cam: str = "gate", zone: str = "shore", line: str = "road") -> object:
    path = tmp_path / "edgepost.toml"
    path.write_text(CAMERA.format(cam=cam, zone=zone, line=line))
    return load_config(path)


def _roundtrip(body: object) -> None:
    event = Event.new(body, ts_ms=1_700_000_000_000).with_seq(1)  # type: ignore[arg-type]
    assert decode(encode(event)).body == body


def test_zone_and_line_names_longer_than_an_event_field_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"rules\.zones\.0\.name") as err:
        _load(tmp_path, zone="z" * (MAX_TEXT + 1))
    assert f"at most {MAX_TEXT} characters" in str(err.value)
    with pytest.raises(ConfigError, match=r"rules\.lines\.0\.name"):
        _load(tmp_path, line="l" * (MAX_TEXT + 1))
    with pytest.raises(ConfigError, match=r"rules\.zones\.0\.name"):
        _load(tmp_path, zone="")
    _load(tmp_path, zone="水" * MAX_TEXT, line="l" * MAX_TEXT)  # the longest: accepted...
    intrusion = ve.ZoneIntrusion(camera="gate", t=1.0, wall=1.7e9, capture_mono=1.0, frame_index=1,
                                 track_id=3, label="person", zone="水" * MAX_TEXT)
    crossing = ve.LineCrossing(camera="gate", t=1.0, wall=1.7e9, capture_mono=1.0, frame_index=1,
                               track_id=3, label="car", line="l" * MAX_TEXT, direction="inbound")
    _roundtrip(to_body(intrusion))  # ...and its events encode
    _roundtrip(to_body(crossing))


def test_camera_names_leave_room_for_their_fault_component(tmp_path: Path) -> None:
    longest = "c" * (MAX_TEXT - len("camera/"))
    with pytest.raises(ConfigError, match=f"at most {len(longest)} characters"):
        _load(tmp_path, cam=longest + "c")
    _load(tmp_path, cam=longest)
    _roundtrip(DeviceFault(component=f"camera/{longest}", code="tamper",
                           severity=Severity.WARNING, message="view blocked"))


def test_a_label_longer_than_an_event_field_is_cut_not_lost() -> None:
    label = "a very long class name from a site's own labels file, " * 3
    ev = ve.ZoneIntrusion(camera="gate", t=1.0, wall=1.7e9, capture_mono=1.0, frame_index=1,
                          track_id=3, label=label, zone="shore")
    body = to_body(ev)
    _roundtrip(body)
    assert body.cls == label[:MAX_TEXT]  # type: ignore[union-attr]
