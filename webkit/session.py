"""The session API every edgepost web app serves: ``/api/v1/session``, ``login``, ``logout``.

Why shared: the centre's UI and the gateway page log users in the same way (argon2 hashes,
a fresh session per login, the CSRF token handed back), and only differ in where a user record
comes from and what extra fields the session document carries. Keeping one copy means a fix to
login (timing, session fixation) lands in both.

Contract: ``find_user(name)`` returns ``{"name", "role", "hash"}`` or None (it may raise
:class:`~starlette.exceptions.HTTPException` itself, e.g. 503 when the users file is broken);
an unknown name and a wrong password give the same 401 and cost the same time. After too many
failures from one address, attempts from it are a 429 until its wait is over (:mod:`webkit.throttle`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from webkit import auth
from webkit.csrf import csrf_token
from webkit.session_check import UserLookup
from webkit.throttle import LoginThrottle, request_key


def session_routes(find_user: UserLookup, extra: Callable[[], dict[str, Any]] | None = None,
                   profile: auth.Profile = "central", *,
                   throttle: LoginThrottle) -> list[Route]:
    """Routes for the session document, login and logout; ``extra()`` adds session fields.

    ``profile``: the argon2 profile of the site's logins (see :mod:`webkit.auth`); ``throttle``:
    the site's failed-login limit (its counters belong in the site's health or metrics)."""

    def session(request: Request) -> JSONResponse:
        body = {"user": auth.current_user(request), "csrf": csrf_token(request)}
        return JSONResponse({**body, **(extra() if extra is not None else {})})

    async def do_login(request: Request) -> JSONResponse:
        try:
            body = await request.json()
            name, password = str(body["name"]), str(body["password"])
        except (ValueError, KeyError, TypeError):
            raise HTTPException(400, "send {\"name\": ..., \"password\": ...}") from None
        user = find_user(name)
        key = request_key(request)
        if (wait := throttle.attempt(key)) > 0:
            raise too_many_attempts(wait)
        # in a worker thread: a hash takes ~0.1 s, and the event loop serves everyone else
        if not await run_in_threadpool(auth.verify_password, user["hash"] if user else None,
                                       password, profile):
            throttle.failed(key)
            raise HTTPException(401, "wrong user name or password")
        assert user is not None
        throttle.succeeded(key)
        auth.login(request, user)
        return JSONResponse({"user": auth.current_user(request), "csrf": csrf_token(request)})

    def do_logout(request: Request) -> JSONResponse:
        auth.logout(request)
        return JSONResponse({"ok": True})

    return [
        Route("/api/v1/session", session),
        Route("/api/v1/login", do_login, methods=["POST"]),
        Route("/api/v1/logout", do_logout, methods=["POST"]),
    ]


def too_many_attempts(wait_s: float) -> HTTPException:
    """The 429 for an address that must wait ``wait_s`` before its next login attempt."""
    seconds = max(1, math.ceil(wait_s))
    return HTTPException(429, f"too many failed logins from this address: try again in {seconds} s",
                         headers={"Retry-After": str(seconds)})


def jpeg_crop(data: bytes) -> Response:
    """An evidence crop: private, cacheable for an hour, and never run as active content."""
    return Response(data, media_type="image/jpeg",
                    headers={"Cache-Control": "private, max-age=3600",
                             "Content-Security-Policy": "default-src 'none'"})
