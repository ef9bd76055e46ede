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
