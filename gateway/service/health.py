"""Health registry: counters and gauges from every component, and the periodic report.

Components register a ``snapshot()`` callable under a name; the report is the union of
those plus system facts (uptime, temperature, disk, memory), so one message tells an
operator whether the checkpoint is well.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import shutil
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

THERMAL = Path("/sys/class/thermal/thermal_zone0/temp")
M_ARENA_MAX = -8  # glibc <malloc.h>: the most malloc arenas the process may create
MALLOC_ARENAS = 2  # main + one shared by every other thread


class Counters:
    """Thread-safe named counters, e.g. ``bad_input.serial`` or ``camera.reopen``."""

    def __init__(self) -> None:
        self._values: dict[str, int] = {}
        self._lock = threading.Lock()

    def inc(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._values[name] = self._values.get(name, 0) + n

    def get(self, name: str) -> int:
        with self._lock:
            return self._values.get(name, 0)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._values)


class Health:
    """Collects component snapshots into one health document."""

    def __init__(self, disk_path: Path) -> None:
        self.counters = Counters()
        self._sources: dict[str, Callable[[], dict[str, Any]]] = {}
        self._disk_path = disk_path
        self._started = time.monotonic()

    def register(self, name: str, snapshot: Callable[[], dict[str, Any]]) -> None:
        """Add a component whose ``snapshot()`` appears under ``name`` in each report."""
        self._sources[name] = snapshot

    def report(self, ts_ms: int) -> dict[str, Any]:
        """The current health document (plain types only: it is encoded as CBOR or JSON)."""
        doc: dict[str, Any] = {"ts": ts_ms, "uptime_s": round(time.monotonic() - self._started, 1)}
        doc.update(system_facts(self._disk_path))
        for name, snap in self._sources.items():
            try:
                doc[name] = snap()
            except Exception as exc:  # a broken component must not kill the report
                doc[name] = {"error": f"{type(exc).__name__}: {exc}"}
        doc["counters"] = self.counters.snapshot()
        return doc


def system_facts(disk_path: Path) -> dict[str, Any]:
    """CPU temperature (if the board exposes it), free disk where the spool lives, RSS, load."""
    facts: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):  # only boards with a thermal zone
        facts["temp_c"] = round(int(THERMAL.read_text().strip()) / 1000, 1)
    try:
        usage = shutil.disk_usage(disk_path if disk_path.exists() else disk_path.parent)
        facts["disk_free_mb"] = usage.free // (1024 * 1024)
    except OSError:
        pass
    current, peak = memory_mb()
    if current is not None:
        facts["rss_mb"] = current
    facts["rss_peak_mb"] = peak
    facts["load1"] = round(os.getloadavg()[0], 2)
    return facts


def memory_mb(status: Path = Path("/proc/self/status")) -> tuple[float | None, float]:
    """(current RSS, peak RSS) of this process in MB.

    Current is ``VmRSS`` and peak ``VmHWM`` from /proc (the kernel's own high-water mark);
    off Linux only the peak is known, from getrusage (None for current).
    """
    fields: dict[str, float] = {}
    with contextlib.suppress(OSError, ValueError, IndexError):  # no /proc: not Linux
        for line in status.read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                name, value = line.split(":", 1)
                fields[name] = round(int(value.split()[0]) / 1024, 1)  # kB
    peak = fields.get("VmHWM")
    if peak is None:
        peak = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return fields.get("VmRSS"), peak


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas (as ``MALLOC_ARENA_MAX`` would); True when applied.

    Why: glibc gives each new thread that allocates its own arena, up to 8 per core, and
    each keeps the memory it once held (frames decoded in one thread and freed in another
    are a textbook case); on a Pi 4 that is up to 32 heaps. Call it first thing, before any
    thread starts (numpy's BLAS starts its pool at import): arenas made before stay. An
    explicit ``MALLOC_ARENA_MAX`` in the environment (the systemd unit sets one) wins, and
    off glibc this does nothing.
    """
    if "MALLOC_ARENA_MAX" in os.environ or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 - glibc only (musl's mallopt is a no-op)
        return bool(libc.mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False
