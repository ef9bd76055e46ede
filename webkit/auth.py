"""Users, password hashes (argon2id) and roles for edgepost web pages.

Roles are ordered: ``viewer`` (read-only) < ``operator`` (acknowledges alarms, sends
commands) < ``admin`` (everything). A route names the least role it needs.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import secrets
import threading
import time
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.exceptions import HTTPException
from starlette.requests import Request

from webkit.session_check import user_stamp

ROLES = ("viewer", "operator", "admin")
# argon2id profiles. "central": argon2-cffi's default (RFC 9106 low-memory: 64 MiB, t=3, p=4),
# for the centre's servers. "gateway": OWASP's minimum for argon2id (19 MiB, t=2, p=1): a
# login on a Pi must not cost 64 MiB of a ~150 MB gateway (measured: the page's first login
# raised the gateway's peak RSS from 128 to 199 MB). A hash carries its own parameters, so
# verification needs no profile and older hashes keep working.
_HASHERS = {"central": PasswordHasher(), "gateway": PasswordHasher(time_cost=2, memory_cost=19_456,
                                                                   parallelism=1)}
_hasher = _HASHERS["central"]
Profile = Literal["central", "gateway"]
MIN_PASSWORD = 8
# One verification at a time: each allocates its hash's whole memory cost, so a burst of login
# attempts (or of scrapes with HTTP Basic) served by a thread pool would multiply it; serialised,
# a flood costs time (each attempt waits its turn) but never more than one hash's memory.
_VERIFY_LOCK = threading.Lock()


class PasswordPolicyError(ValueError):
    """A new password is too weak; the text says what is needed."""


@functools.cache
def _dummy_hash(profile: Profile) -> str:
    """Verified against when the user does not exist, so a wrong name costs the same time as a
    wrong password (no user enumeration by timing). Made on first use, not at import: hashing
    costs the profile's memory (importing this module raised a gateway's peak RSS by 64 MiB)."""
    return _HASHERS[profile].hash("not a password")


def hash_password(password: str, profile: Profile = "central") -> str:
    """An argon2id hash of ``password`` (salted; parameters stored in the hash).

    ``profile="gateway"`` for logins verified on a Raspberry Pi (19 MiB per verification
    instead of 64 MiB)."""
    if len(password) < MIN_PASSWORD:
        raise PasswordPolicyError(f"choose a password of at least {MIN_PASSWORD} characters")
    return _HASHERS[profile].hash(password)


def verify_password(stored_hash: str | None, password: str, absent: Profile = "central") -> bool:
    """True when ``password`` matches ``stored_hash``.

    None (no such user) still costs a hash of the ``absent`` profile: the one the site's real
    logins use, so that the time does not tell which names exist."""
    with _VERIFY_LOCK:
        try:
            return (_hasher.verify(stored_hash or _dummy_hash(absent), password)
                    and stored_hash is not None)
        except (VerificationError, InvalidHashError):
            return False


class RecentlyVerified:
    """Credentials that passed :func:`verify_password` lately, so a scraper sending HTTP Basic
    on every request (Prometheus, every 15 s) costs one argon2 verification per ``ttl_s``, not
    one per scrape.

    Entries are keyed by an HMAC (a random per-process key) of name, password and the stored
    hash: no password is kept, a changed password or users file misses, and failures are never
    remembered (each wrong guess still pays the full hash).
    """

    def __init__(self, ttl_s: float = 300.0, size: int = 16, absent: Profile = "central") -> None:
        self.ttl_s, self.size, self.absent = ttl_s, size, absent
        self.hits = 0  # checks answered without hashing (health, tests)
        self._key = os.urandom(32)
        self._until: dict[bytes, float] = {}
        self._lock = threading.Lock()

    def check(self, name: str, password: str, stored_hash: str | None) -> bool:
        """Like ``verify_password(stored_hash, password)``, remembering successes for a while."""
        if stored_hash is None:
            return verify_password(None, password, self.absent)
        key = hmac.new(self._key, "\0".join((name, password, stored_hash)).encode(),
                       hashlib.sha256).digest()
        now = time.monotonic()
        with self._lock:
            if self._until.get(key, 0.0) > now:
                self.hits += 1
                return True
        if not verify_password(stored_hash, password):
            return False
        with self._lock:
            if len(self._until) >= self.size:  # drop the expired, then the oldest
                self._until = {k: t for k, t in self._until.items() if t > now}
                while len(self._until) >= self.size:
                    self._until.pop(next(iter(self._until)))
            self._until[key] = now + self.ttl_s
        return True


def role_at_least(role: str | None, needed: str) -> bool:
    """Whether ``role`` includes the rights of ``needed``."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def login(request: Request, user: dict[str, Any]) -> None:
    """Start a session for ``user`` (``{"name", "role", "hash"}`` as stored; a fresh session:
    the old CSRF token is replaced). The session holds a stamp of the stored hash and role, so
    a later change to either ends it, and a random id that its logout revokes everywhere
    (:mod:`webkit.session_check`)."""
    request.session.clear()
    request.session.update({"user": user["name"], "role": user["role"], "stamp": user_stamp(user),
                            "sid": secrets.token_urlsafe(16)})


def logout(request: Request) -> None:
    """End the session: in this browser, and for any copy of its cookie (the id is revoked)."""
    request.session.clear()


def current_user(request: Request) -> dict[str, Any] | None:
    """The logged-in user as ``{"name", "role"}``, or None."""
    name = request.session.get("user")
    return {"name": name, "role": request.session.get("role")} if name else None


def require(request: Request, role: str = "viewer") -> dict[str, Any]:
    """The logged-in user if they have at least ``role``; else 401 (not logged in) or 403."""
    user = current_user(request)
    if user is None:
        raise HTTPException(401, "log in first")
    if not role_at_least(user["role"], role):
        raise HTTPException(403, f"this needs the {role} role; you are {user['role']}")
    return user
