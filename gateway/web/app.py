"""The gateway page and its JSON API (``/api/v1``), on :mod:`webkit` like the centre's UI.

Why pages over an API: the page is static HTML whose script reads the same JSON a
technician's own tools can fetch (docs/web.md). Login, sessions, CSRF and roles are webkit's.

Contract: every route except the login page, ``/api/v1/session`` and ``/api/v1/login`` needs a
logged-in user; saving zones needs the ``operator`` role. ``/metrics`` takes the session or
HTTP Basic with a page login (what a Prometheus ``basic_auth`` scrape sends).
"""

from __future__ import annotations

import base64
import binascii
import threading
import time
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from gateway.config.web import WebConfig
from gateway.events.envelope import now_ms
from gateway.web.metrics import registry_for, render
from gateway.web.users import Users, UsersFileError
from gateway.web.zones import ZoneEditError, rules_of, save_rules
from webkit import auth
from webkit.app import load_or_create_secret, make_app
from webkit.session import jpeg_crop, session_routes, too_many_attempts
from webkit.throttle import LoginThrottle, request_key

STATIC = Path(__file__).parent / "static"
MAX_EVENTS = 200
NO_STORE = {"Cache-Control": "no-store"}  # live frames and health must never come from a cache


class _Rates:
    """Frames per second per camera, from the frame counter between two health reads."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[float, int]] = {}
        self._fps: dict[str, float] = {}
        self._lock = threading.Lock()

    def update(self, cameras: dict[str, Any]) -> dict[str, float]:
        now = time.monotonic()
        with self._lock:
            for name, h in cameras.items():
                frames = h.get("frames")
                if not isinstance(frames, int):
                    continue
                prev = self._last.get(name)
                if prev is None or now - prev[0] >= 1.0:
                    if prev is not None:
                        self._fps[name] = round((frames - prev[1]) / (now - prev[0]), 1)
                    self._last[name] = (now, frames)
            return dict(self._fps)


def build_app(service: Any, cfg: WebConfig) -> Starlette:
    """The ASGI app for ``service`` (a running :class:`~gateway.service.gateway.GatewayService`)."""
    users = Users(cfg.users_file)
    # a Prometheus scrape every 15 s: one argon2 verification per 5 minutes
    basic = auth.RecentlyVerified(absent="gateway")
    # failed logins (page or HTTP Basic) slow down per address; counted as web.login_failed and
    # web.login_refused in health
    throttle = LoginThrottle(count=lambda name: service.health.counters.inc(f"web.{name}"))
    rates = _Rates()
    recent = service.recent
    registry = registry_for(lambda: service.health.report(now_ms()),
                            recent.nodes if recent is not None else None)

    def _user(name: str) -> dict[str, Any] | None:
        try:
            return users.get(name)
        except UsersFileError as exc:
            raise HTTPException(503, str(exc)) from None

    def page(name: str) -> Any:
        def handler(request: Request) -> Response:
            if name != "login" and auth.current_user(request) is None:
                return RedirectResponse("/login", status_code=303)
            return FileResponse(STATIC / f"{name}.html", headers=NO_STORE)
        return handler

    def _camera(name: str) -> Any:
        cam = next((c for c in service.cameras if c.name == name), None)
        if cam is None:
            raise HTTPException(404, f"no camera {name!r}")
        return cam

    def status(request: Request) -> JSONResponse:
        auth.require(request)
        health = service.health.report(now_ms())
        cams = health.get("cameras") or {}
        fps = rates.update(cams)
        sensors = service.sensors
        fix = sensors.location() if sensors is not None else None
        return JSONResponse({
            "device": service.topics.device, "config_hash": service.config_hash,
            "now_ms": now_ms(), "live_interval_s": cfg.live_interval_s,
            "cameras": [{"name": c.name, "error": c.error, "fps": fps.get(c.name),
                         **rules_of(service, c.name)} for c in service.cameras],
            "gps": {"fix": [fix.lat, fix.lon] if fix is not None else None,
                    "configured": sensors is not None and service.config.sensors.gps is not None},
            "nodes": recent.nodes() if recent is not None else {},
            "health": health,
        }, headers=NO_STORE)

    def snapshot(request: Request) -> Response:
        auth.require(request)
        cam = _camera(request.path_params["name"])
        jpeg = cam.pipeline.snapshot() if cam.pipeline is not None else None
        if jpeg is None:
            raise HTTPException(404, f"camera {cam.name} has no frame yet")
        return Response(jpeg, media_type="image/jpeg", headers=NO_STORE)

    def get_rules(request: Request) -> JSONResponse:
        auth.require(request)
        cam = _camera(request.path_params["name"])
        return JSONResponse(rules_of(service, cam.name))

    async def put_rules(request: Request) -> JSONResponse:
        auth.require(request, "operator")
        cam = _camera(request.path_params["name"])
        try:
            body = await request.json()
            zones, lines = body.get("zones", []), body.get("lines", [])
        except (ValueError, AttributeError):
            raise HTTPException(400, "send {\"zones\": [...], \"lines\": [...]}") from None
        if not isinstance(zones, list) or not isinstance(lines, list):
            raise HTTPException(400, "zones and lines must be lists")
        try:
            new_hash = save_rules(service, cam.name, zones, lines)
        except ZoneEditError as exc:
            raise HTTPException(400, str(exc)) from None
        return JSONResponse({"config_hash": new_hash, **rules_of(service, cam.name)})

    def _limit(request: Request, default: int) -> int:
        try:
            return max(1, min(int(request.query_params.get("limit", default)), MAX_EVENTS))
        except ValueError:
            raise HTTPException(400, "limit must be an integer") from None

    def events(request: Request) -> JSONResponse:
        auth.require(request)
        return JSONResponse({"events": recent.events(_limit(request, 50)) if recent else []},
                            headers=NO_STORE)

    def plates(request: Request) -> JSONResponse:
        auth.require(request)
        return JSONResponse({"plates": recent.plates(_limit(request, 20)) if recent else []},
                            headers=NO_STORE)

    def crop(request: Request) -> Response:
        auth.require(request)
        data = recent.crop(request.path_params["event_id"]) if recent is not None else None
        if data is None:
            raise HTTPException(404, "no crop for that event here (only recent events keep one)")
        return jpeg_crop(data)

    def metrics(request: Request) -> Response:
        if auth.current_user(request) is None and not _basic_ok(request):
            return Response("log in: HTTP Basic with a page login\n", status_code=401,
                            headers={"WWW-Authenticate": 'Basic realm="edgepost gateway"'})
        return Response(render(registry), media_type="text/plain; version=0.0.4")

    def _basic_ok(request: Request) -> bool:
        """Whether the request carries a page login as HTTP Basic (429 while its address waits)."""
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return False
        try:
            name, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        user = _user(name)
        key = request_key(request)
        if (wait := throttle.attempt(key)) > 0:
            raise too_many_attempts(wait)
        if not basic.check(name, password, user["hash"] if user else None):
            throttle.failed(key)
            return False
        throttle.succeeded(key)
        return True

    routes = [
        Route("/", page("index")), Route("/login", page("login")),
        *session_routes(_user, lambda: {"device": service.topics.device, "now_ms": now_ms()},
                        profile="gateway", throttle=throttle),
        Route("/api/v1/status", status),
        Route("/api/v1/cameras/{name}/snapshot", snapshot),
        Route("/api/v1/cameras/{name}/rules", get_rules),
        Route("/api/v1/cameras/{name}/rules", put_rules, methods=["PUT"]),
        Route("/api/v1/events", events),
        Route("/api/v1/plates", plates),
        Route("/api/v1/events/{event_id}/crop", crop),
        Route("/metrics", metrics),
        Mount("/static/gateway", app=StaticFiles(directory=str(STATIC)), name="static"),
    ]
    secret_file = cfg.secret_file or service.config.spool.path.parent / "web-secret.key"
    return make_app(routes, load_or_create_secret(secret_file), _user,
                    secure_cookies=cfg.tls is not None, name="edgepost_gateway")
