"""The machine line every benchmark report carries (so results name where they ran)."""

from __future__ import annotations

import platform
from pathlib import Path


def cpu_name(cpuinfo: str | None = None) -> str:
    """CPU model from /proc/cpuinfo (or the text ``cpuinfo``), else what ``platform`` knows.

    Cloud hosts often name only the brand ("AMD EPYC"), and two such hosts here ran the same
    plate chain 2.4x apart: the family and model numbers and whether the core has AVX-512 are
    added so that figures from different generations are not compared as one machine."""
    try:
        text = Path("/proc/cpuinfo").read_text() if cpuinfo is None else cpuinfo
    except OSError:
        text = ""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() not in fields:
            fields[key.strip()] = value.strip()
    name = fields.get("model name")
    if not name:
        return platform.processor() or platform.machine()
    extra = [f"{label} {fields[key]}" for key, label in (("cpu family", "family"), ("model", "model"))
             if key in fields]
    if "avx512f" in fields.get("flags", "").split():
        extra.append("AVX-512")
    return f"{name} ({', '.join(extra)})" if extra else name
