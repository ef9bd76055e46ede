"""Every request's session checked against the user as stored now, so a change ends old sessions.

Why: a session is a signed cookie that names the user and role, valid for a shift (12 h). Without
this, a login removed from the users file or the centre's database, a password reset after a leak,
or a role taken away changed nothing for a browser already logged in: it kept its old role until
the cookie expired. Now each request looks the user up again (a dictionary on a gateway, one
indexed row at the centre) and a session whose user is gone, or whose password or role changed,
is ended: the request goes on as not logged in (401, or the login page).

Contract: :func:`user_stamp` is stored in the session at login (:func:`webkit.auth.login`); the
lookup is the site's ``find_user``. When the lookup itself fails (a damaged users file: 503),
the request is answered with that error, never let through on the old cookie.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

UserLookup = Callable[[str], dict[str, Any] | None]


def user_stamp(user: dict[str, Any]) -> str:
    """A short digest of a user's stored hash and role: it changes when either does.

    Kept in the (signed, readable) session cookie, so it is a digest of the argon2 hash, never
    the hash itself."""
    return hashlib.sha256(f"{user['role']}\0{user['hash']}".encode()).hexdigest()[:24]


class SessionCheckMiddleware:
    """Ends sessions whose user no longer exists or whose password or role changed."""

    def __init__(self, app: ASGIApp, find_user: UserLookup) -> None:
        self.app, self.find_user = app, find_user

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        session = scope.get("session") if scope["type"] == "http" else None
        name = session.get("user") if session else None
        if session is not None and name:
            try:
                # in a worker thread: at the centre the lookup is a database query
                user = await run_in_threadpool(self.find_user, str(name))
            except HTTPException as exc:
                await JSONResponse({"error": exc.detail}, status_code=exc.status_code)(scope, receive, send)
                return
            if user is None or user_stamp(user) != session.get("stamp"):
                session.clear()
        await self.app(scope, receive, send)
