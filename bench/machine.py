"""The machine line every benchmark report carries (so results name where they ran)."""

from __future__ import annotations

import platform
from pathlib import Path


def cpu_name() -> str:
    """CPU model from /proc/cpuinfo, else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
