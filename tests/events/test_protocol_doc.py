"""docs/protocol.md and the code describe the same wire format."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from gateway.events import BODY_TYPES

DOC = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()


def doc_tables() -> dict[str, tuple[int, list[tuple[str, int, str, bool]]]]:
    tables = {}
    for m in re.finditer(r"### `(\w+)` \(type (\d+)(?:, v2)?\)\n(.*?)(?=\n### |\n## )", DOC, re.S):
        rows = re.findall(r"^\| `(\w+)` \| (\d+) \| ([\w ]+?) \| (yes|no) \| (\*\*v2\*\*)?",
                          m.group(3), re.M)
        tables[m.group(1)] = (int(m.group(2)), [(n, int(k), kind, req == "yes", 2 if v2 else 1)
                                               for n, k, kind, req, v2 in rows])
    return tables


def test_every_event_type_is_documented_exactly() -> None:
    tables = doc_tables()
    assert set(tables) == {t.label for t in BODY_TYPES}
    for event_type, cls in BODY_TYPES.items():
        code, rows = tables[event_type.label]
        assert code == int(event_type)
        expected = []
        for f in dataclasses.fields(cls):
            enum = f.metadata["enum"]
            kind = f"enum {enum.__name__}" if enum else f.metadata["kind"].value
            expected.append((f.name, f.metadata["key"], kind, f.metadata["required"],
                             f.metadata["since"]))
        assert rows == expected, event_type.label


def _fault_section() -> str:
    return DOC[DOC.index("Fault codes in use"):DOC.index("### `node_status`")]


def test_every_fault_code_and_named_counter_is_documented() -> None:
    """A device_fault code or a health counter a gateway can send is in docs/protocol.md (the
    list was a few codes short until session 42: start_failed, crashed, the tamper codes...)."""
    import typing

    from gateway.uplink.spool import SpoolFault
    from gateway.vision.tamper import MESSAGES
    from webkit.throttle import LoginThrottle

    root = Path(__file__).resolve().parents[2] / "gateway"
    source = {p: p.read_text() for p in root.rglob("*.py")}
    codes = set(typing.get_args(typing.get_type_hints(SpoolFault)["code"])) | set(MESSAGES)
    for text in source.values():
        codes |= set(re.findall(r'\bcode="([a-z_]+)"', text))
    cameras = source[root / "service" / "cameras.py"]
    camera_codes = set(re.findall(r'self\._fault\("([a-z_]+)", f"', cameras))
    uplink = re.findall(r'code = "([a-z_]+)" if .+ else "([a-z_]+)"',
                        source[root / "uplink" / "publisher.py"])
    codes |= camera_codes | {c for pair in uplink for c in pair}
    counters = {name for text in source.values()
                for name in re.findall(r'counters\.inc\("([a-z_.]+)"', text)}
    counters |= {f"web.{name}" for name in LoginThrottle().snapshot()}
    section = _fault_section()
    assert len(camera_codes) >= 5 and {"not_authorized", "refused"} <= codes  # the search works
    assert [c for c in sorted(codes) if f"`{c}`" not in section] == []
    assert [c for c in sorted(counters) if f"`{c}`" not in section] == []
