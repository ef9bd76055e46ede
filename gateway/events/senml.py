"""SenML records (RFC 8428) as carried inside ``sensor_readings`` events.

Only the fields a sensor node needs are supported: name, unit, numeric/string/boolean value
and a relative time. CBOR uses the RFC's integer labels, JSON its short names.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.events.errors import EventValidationError
from gateway.events.numbers import finite_float

# RFC 8428 section 6 CBOR labels.
LABELS = {"n": 0, "u": 1, "v": 2, "vs": 3, "vb": 4, "t": 6}
NAMES = {v: k for k, v in LABELS.items()}
MAX_NAME = 64


@dataclass(frozen=True, slots=True)
class SenMLRecord:
    """One measurement: exactly one of ``v`` (number), ``vs`` (text) or ``vb`` (bool)."""

    n: str
    v: float | None = None
    u: str | None = None
    vs: str | None = None
    vb: bool | None = None
    t: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.n, str) or not 0 < len(self.n) <= MAX_NAME:
            raise EventValidationError(f"SenML name must be 1..{MAX_NAME} characters")
        values = [x for x in (self.v, self.vs, self.vb) if x is not None]
        if len(values) != 1:
            raise EventValidationError(f"SenML record {self.n!r} needs exactly one of v, vs, vb")
        if self.v is not None:
            object.__setattr__(self, "v", finite_float(
                self.v, f"SenML v of {self.n!r} must be a finite number"))
        if self.vb is not None and not isinstance(self.vb, bool):
            raise EventValidationError(f"SenML vb of {self.n!r} must be a boolean")
        for name in ("u", "vs"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or len(value) > MAX_NAME):
                raise EventValidationError(f"SenML {name} of {self.n!r} must be text <= 64")
        if self.t is not None:
            object.__setattr__(self, "t", finite_float(
                self.t, f"SenML t of {self.n!r} must be a finite number"))

    def to_wire(self, cbor: bool) -> dict[object, object]:
        """Return the record as a map with CBOR labels or JSON names."""
        out: dict[object, object] = {}
        for name in ("n", "u", "v", "vs", "vb", "t"):
            value = getattr(self, name)
            if value is not None:
                out[LABELS[name] if cbor else name] = value
        return out

    @classmethod
    def from_wire(cls, raw: object) -> SenMLRecord:
        """Parse one record from either wire form; raise ``EventValidationError`` if bad."""
        if not isinstance(raw, dict):
            raise EventValidationError("SenML record must be a map")
        kwargs: dict[str, object] = {}
        for key, value in raw.items():
            name = NAMES.get(key) if isinstance(key, int) else key
            if name not in LABELS:
                raise EventValidationError(f"unknown SenML label {key!r}")
            kwargs[name] = value
        if "n" not in kwargs:
            raise EventValidationError("SenML record without a name")
        try:
            return cls(**kwargs)  # type: ignore[arg-type]
        except TypeError as exc:
            raise EventValidationError(f"bad SenML record: {exc}") from None
