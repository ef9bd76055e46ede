"""Label maps: class id -> name."""

from __future__ import annotations

from pathlib import Path

from gateway.textfile import read_utf8


class LabelMap:
    """Names for class ids; unknown ids read as ``"class_<id>"``."""

    def __init__(self, names: list[str]) -> None:
        self.names = names

    @classmethod
    def load(cls, path: str | Path, offset: int | None = None) -> LabelMap:
        """Read one label per line.

        TensorFlow's COCO label maps start with a ``???`` placeholder line (background), so
        class id ``i`` is on line ``i + 1``; ``offset=None`` detects that.
        """
        lines = [ln.strip() for ln in read_utf8(path).splitlines()]
        while lines and not lines[-1]:
            lines.pop()
        if offset is None:
            offset = 1 if lines and lines[0] == "???" else 0
        return cls(lines[offset:])

    def name(self, class_id: int) -> str:
        """Name of ``class_id``."""
        if 0 <= class_id < len(self.names) and self.names[class_id] not in ("", "???"):
            return self.names[class_id]
        return f"class_{class_id}"

    def __len__(self) -> int:
        return len(self.names)
