"""CSRF protection: a random token per session, required on every unsafe request.

Why a header token: the pages call the JSON API with ``fetch``; a cross-site form or image
can't set a custom header, and the token is bound to the (signed) session cookie, which is
also ``SameSite=Lax``. Contract: POST, PUT, PATCH and DELETE without the session's token in
``X-CSRF-Token`` get 403 before any route runs.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

HEADER = "x-csrf-token"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def csrf_token(request: Request) -> str:
    """The session's token, created on first use."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


class CSRFMiddleware:
    """Refuses unsafe requests whose header token does not match the session's."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in UNSAFE:
            request = Request(scope)
            expected = request.session.get("csrf") or ""
            given = request.headers.get(HEADER, "")
            if not expected or not hmac.compare_digest(str(expected), given):
                response = JSONResponse({"error": "missing or wrong CSRF token: reload the page"},
                                        status_code=403)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
