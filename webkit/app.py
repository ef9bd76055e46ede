"""App factory: security headers, sessions (signed cookie) checked against the users, CSRF, a body
cap, the kit's static files, JSON API errors."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from webkit.bodylimit import BodyLimitMiddleware
from webkit.csrf import CSRFMiddleware
from webkit.headers import SecurityHeadersMiddleware
from webkit.session_check import SESSION_MAX_AGE_S, SessionCheckMiddleware, UserLookup

STATIC = Path(__file__).parent / "static"


def load_or_create_secret(path: Path) -> str:
    """The session signing key from ``path``; a new random one (mode 0600) if it is missing."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key + "\n")
        return key


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith("/api/") or exc.status_code not in (401, 403):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)
    return RedirectResponse("/login", status_code=303)  # a page: go and log in


def make_app(routes: Sequence[BaseRoute], secret_key: str, find_user: UserLookup,
             secure_cookies: bool = False, name: str = "edgepost",
             unavailable: Callable[[BaseException], str | None] | None = None) -> Starlette:
    """A Starlette app with sessions, CSRF and ``/static/kit``; API errors come back as JSON.

    ``find_user`` is the site's user lookup (as for :func:`webkit.session.session_routes`): each
    request's session is checked against it (:mod:`webkit.session_check`). ``unavailable(exc)``
    names a failure that is a service outage (the centre's archive unreachable): such a request
    is answered 503 with that text; any other unexpected failure is a JSON 500 (details in the
    log), never a bare "Internal Server Error"."""

    async def server_error(request: Request, exc: Exception) -> Response:
        why = unavailable(exc) if unavailable is not None else None
        if why is not None:
            return JSONResponse({"error": why}, status_code=503, headers={"Retry-After": "5"})
        return JSONResponse({"error": "internal error: the server's log has the details"},
                            status_code=500)

    middleware = [
        Middleware(SecurityHeadersMiddleware),
        Middleware(SessionMiddleware, secret_key=secret_key, session_cookie=f"{name}_session",
                   max_age=SESSION_MAX_AGE_S, same_site="lax", https_only=secure_cookies),
        Middleware(SessionCheckMiddleware, find_user=find_user),
        Middleware(CSRFMiddleware),
        Middleware(BodyLimitMiddleware),
    ]
    all_routes = [*routes, Mount("/static/kit", app=StaticFiles(directory=STATIC), name="kit")]
    return Starlette(routes=all_routes, middleware=middleware,
                     exception_handlers={HTTPException: _http_error, Exception: server_error})
