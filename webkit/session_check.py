"""Every request's session checked against the user as stored now, so a change ends old sessions.

Why: a session is a signed cookie that names the user and role, valid for a shift (12 h). Without
this, a login removed from the users file or the centre's database, a password reset after a leak,
or a role taken away changed nothing for a browser already logged in: it kept its old role until
the cookie expired. Now each request looks the user up again (a dictionary on a gateway, one
indexed row at the centre) and a session whose user is gone, or whose password or role changed,
is ended: the request goes on as not logged in (401, or the login page).

A logout ends the session everywhere, not only in the browser that asked: each login gets a
random session id, and a request that ends or replaces its session (logout, a new login, a stamp
that no longer matches) revokes that id before its response leaves, so a copy of the cookie taken
earlier (a shared laptop, a proxy log) is refused too. Revoked ids are kept in memory for as long
as a cookie signed with them could still be valid (:data:`SESSION_MAX_AGE_S` after the logout):
a restart forgets them (limit: rotate the site's session secret file to end every session).

Contract: :func:`user_stamp` and a session id are stored in the session at login
(:func:`webkit.auth.login`); the lookup is the site's ``find_user``. When the lookup itself
fails (a damaged users file: 503), the request is answered with that error, never let through on
the old cookie.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UserLookup = Callable[[str], dict[str, Any] | None]
SESSION_MAX_AGE_S = 12 * 3600  # one shift: how long a signed session cookie stays valid
#: revoked session ids remembered at most (a logout needs a valid login, so only logged-in users
#: add to it; past this the oldest are dropped, which is counted in ``RevokedSessions.dropped``)
REVOKED_LIMIT = 65536


def user_stamp(user: dict[str, Any]) -> str:
    """A short digest of a user's stored hash and role: it changes when either does.

    Kept in the (signed, readable) session cookie, so it is a digest of the argon2 hash, never
    the hash itself."""
    return hashlib.sha256(f"{user['role']}\0{user['hash']}".encode()).hexdigest()[:24]


class RevokedSessions:
    """Session ids that were logged out or replaced, each until no cookie of it can be valid."""

    def __init__(self, max_age_s: float = SESSION_MAX_AGE_S, limit: int = REVOKED_LIMIT,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age_s, self.limit, self.clock = max_age_s, limit, clock
        self._until: OrderedDict[str, float] = OrderedDict()  # oldest revocation first
        self._lock = threading.Lock()
        self.dropped = 0  # revocations forgotten early because the limit was reached

    def revoke(self, sid: str) -> None:
        """End ``sid`` everywhere: requests carrying it are treated as not logged in."""
        with self._lock:
            self._expire()
            self._until[sid] = self.clock() + self.max_age_s
            self._until.move_to_end(sid)
            while len(self._until) > self.limit:
                self._until.popitem(last=False)
                self.dropped += 1

    def __contains__(self, sid: object) -> bool:
        with self._lock:
            self._expire()
            return sid in self._until

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._until)

    def _expire(self) -> None:
        now = self.clock()
        while self._until and next(iter(self._until.values())) <= now:
            self._until.popitem(last=False)


class SessionCheckMiddleware:
    """Ends sessions whose user no longer exists, whose password or role changed, or whose id
    was revoked; revokes the id of a session a request ends or replaces."""

    def __init__(self, app: ASGIApp, find_user: UserLookup,
                 revoked: RevokedSessions | None = None) -> None:
        self.app, self.find_user = app, find_user
        self.revoked = revoked if revoked is not None else RevokedSessions()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        session = scope.get("session") if scope["type"] == "http" else None
        name = session.get("user") if session else None
        sid = session.get("sid") if session else None
        if session is not None and name:
            try:
                # in a worker thread: at the centre the lookup is a database query
                user = await run_in_threadpool(self.find_user, str(name))
            except HTTPException as exc:
                await JSONResponse({"error": exc.detail}, status_code=exc.status_code)(scope, receive, send)
                return
            # a session without an id was made before ids existed: it cannot be revoked, so ended
            if (user is None or user_stamp(user) != session.get("stamp") or not sid
                    or sid in self.revoked):
                session.clear()
        if session is None or not sid:
            await self.app(scope, receive, send)
            return

        async def revoking_send(message: Message) -> None:
            # before the response leaves: a copy used the moment logout answers is refused too
            if message["type"] == "http.response.start" and session.get("sid") != sid:
                self.revoked.revoke(str(sid))
            await send(message)

        await self.app(scope, receive, revoking_send)
