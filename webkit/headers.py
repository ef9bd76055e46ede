"""Security headers on every response of an edgepost page: no framing, no type sniffing.

Why: the pages act on a click (acknowledge an alarm, save zones, send a command), so another
page must not be able to show them in a frame and steer those clicks (clickjacking). The session
cookie is ``SameSite=Lax``, which keeps it out of cross-site frames, but "site" ignores the port:
any other web tool on the same host (a common sight on a centre's server) counts as the same
site. ``frame-ancestors 'none'`` is the standard answer, ``X-Frame-Options: DENY`` the same for
older browsers. ``nosniff`` keeps a browser from running an evidence crop or a text reply as
something else; ``Referrer-Policy: same-origin`` keeps page addresses (event ids) in the site.
A response that sets its own Content-Security-Policy (an evidence crop) keeps it.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class SecurityHeadersMiddleware:
    """Adds :data:`HEADERS` to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, with_headers)
