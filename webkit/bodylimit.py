"""A cap on request bodies, for both pages (the gateway's and the centre's).

Why: every JSON body is read whole into memory (``await request.json()``), the login's before
anyone is known. Without a cap one client on the network could post a gigabyte to the login
of a gateway page (a Pi with 1-4 GB) and take the gateway down with it. The largest body the
API takes is a camera's zones and lines (a few kilobytes); :data:`MAX_BODY_BYTES` leaves room
for far more than any real site draws.

A body announced larger (``Content-Length``) is refused before it is read; a body sent without
a length (chunked) is counted as it arrives and refused when it passes the cap. Either way the
answer is 413 with a JSON ``error``, as every other API error.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: The largest request body either page accepts.
MAX_BODY_BYTES = 256 * 1024


class BodyLimitMiddleware:
    """ASGI middleware: requests whose body passes ``max_bytes`` get 413."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> str:
        return f"request body over {self.max_bytes // 1024} KiB"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await JSONResponse({"error": self._too_large() if length.isdigit()
                                else "bad Content-Length"},
                               status_code=413 if length.isdigit() else 400)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # raised inside the endpoint's read: the app's HTTPException handler answers
                    raise HTTPException(413, self._too_large())
            return message

        await self.app(scope, counted, send)
