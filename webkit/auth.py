"""Users, password hashes (argon2id) and roles for edgepost web pages.

Roles are ordered: ``viewer`` (read-only) < ``operator`` (acknowledges alarms, sends
commands) < ``admin`` (everything). A route names the least role it needs.
"""

from __future__ import annotations

from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.exceptions import HTTPException
from starlette.requests import Request

ROLES = ("viewer", "operator", "admin")
_hasher = PasswordHasher()
# Verified against when the user does not exist, so a wrong name costs the same time as a wrong
# password (no user enumeration by timing).
_DUMMY_HASH = _hasher.hash("not a password")
MIN_PASSWORD = 8


class PasswordPolicyError(ValueError):
    """A new password is too weak; the text says what is needed."""


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (salted; parameters stored in the hash)."""
    if len(password) < MIN_PASSWORD:
        raise PasswordPolicyError(f"choose a password of at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored_hash`` (None: no such user, still costs a hash)."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def role_at_least(role: str | None, needed: str) -> bool:
    """Whether ``role`` includes the rights of ``needed``."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def login(request: Request, name: str, role: str) -> None:
    """Start a session for ``name`` (a fresh session: the old CSRF token is replaced)."""
    request.session.clear()
    request.session.update({"user": name, "role": role})


def logout(request: Request) -> None:
    """End the session."""
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
