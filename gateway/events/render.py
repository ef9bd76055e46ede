"""Human-readable one-line rendering of events, for ``edgepost events tail`` and logs."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from gateway.events.codec import Format, encode
from gateway.events.envelope import Event
from gateway.events.types import WireEnum


def iso_ms(ts_ms: int) -> str:
    """UTC timestamp with milliseconds, ISO 8601."""
    secs, ms = divmod(ts_ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{ms:03d}Z"


def _short(value: Any) -> str:
    if isinstance(value, WireEnum):
        return value.label
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple) and value and hasattr(value[0], "to_wire"):
        return ",".join(
            f"{r.n}={r.v if r.v is not None else r.vs if r.vs is not None else r.vb}"
            f"{r.u or ''}" for r in value)
    if isinstance(value, tuple):
        return ",".join(_short(v) for v in value)
    return str(value)


def visible(text: str) -> str:
    """``text`` with every character that is not printable (C0 and C1 controls such as ESC,
    line breaks, bidi overrides and other format characters) written as a Python escape.

    Why: the strings in an event or reply are the sending device's (a fault message, a zone
    name); printed raw, a compromised device could drive the operator's terminal (clear it, set
    its title) or forge a whole event line with a line break. CJK plates stay as they are."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def render_line(device: str, event: Event) -> str:
    """``2026-11-28T12:00:00.123Z gw-1 #42 vehicle_passage plate=京A12345 ... @lat,lon``
    (the device's strings made :func:`visible`)."""
    fields = " ".join(f"{k}={_short(v)}" for k, v in event.body.fields().items())
    where = f" @{event.loc.lat:.6f},{event.loc.lon:.6f}" if event.loc else ""
    return visible(f"{iso_ms(event.ts_ms)} {device} #{event.seq} {event.type.label} {fields}{where}")


def render_json(device: str, event: Event) -> str:
    """One JSON line: the JSON wire form plus the device id (bytes fields as base64)."""
    text = encode(event, Format.JSON).decode()
    return '{"device":' + json.dumps(device, ensure_ascii=False) + "," + text[1:]


def event_uuid(event: Event) -> str:
    """The event id in canonical UUID spelling."""
    return str(uuid.UUID(bytes=event.id))

