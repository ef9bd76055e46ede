"""Errors raised by the event codec. Both are ``ValueError`` so callers can catch one type."""


class EventValidationError(ValueError):
    """An event (or one of its fields) violates the protocol's rules."""


class EventDecodeError(ValueError):
    """Bytes on the wire are not a valid edgepost message; the text says why."""
