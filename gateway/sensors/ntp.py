"""Whether the kernel clock is NTP-disciplined: the one probe both the event clock and GPS use.

Kept apart from the GPS reader so that a gateway without a GPS receiver does not import the
serial and NMEA stack just to ask the kernel (issue 16: every megabyte of a Pi's RSS counts).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys


def ntp_synchronized() -> bool | None:
    """Whether the kernel clock is NTP-disciplined (adjtimex), None where unknown.

    adjtimex(2) with modes=0 only reads; it returns TIME_ERROR (5) while unsynchronised.
    This works under any NTP client (systemd-timesyncd, chrony, ntpd) without D-Bus.
    """
    if not sys.platform.startswith("linux"):
        return None
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return None
    buf = ctypes.create_string_buffer(512)  # >= sizeof(struct timex); modes (offset 0) = 0
    state = ctypes.CDLL(libc_name, use_errno=True).adjtimex(buf)
    if state < 0:
        return None
    return state != 5
