"""The district web UI and its JSON API (``/api/v1``), served by ``edgepost central``.

Why pages over an API: every page is a thin template whose script calls the documented JSON
API (docs/central.md), so anything the UI shows, a district's own tools can fetch the same
way. Login, sessions, CSRF and roles come from :mod:`webkit` (shared with the gateway page).

Contract: reads need the ``viewer`` role, acknowledging, assigning and commands the
``operator`` role; commands to gateways and acknowledgements are written to the audit log.
``/metrics`` (Prometheus) and ``/api/v1/health`` need no login: they carry no event content.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from central import accounting
from central.config import CentralConfig
from central.grid import Grid, load_grid
from central.privacy import load_plate_key, plate_digest
from central.store import PlateQuery, Store
from central.web.metrics import FleetCollector, LoginCollector
from gateway.events import Format, load_document
from webkit import auth
from webkit.app import load_or_create_secret, make_app
from webkit.session import jpeg_crop, session_routes
from webkit.throttle import LoginThrottle

HERE = Path(__file__).parent
MAX_LIMIT = 1000
HOUR_MS = 3_600_000
PAGES = ("fleet", "alarms", "plates", "counts", "commands")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _event_id(text: str) -> bytes:
    try:
        return uuid.UUID(text).bytes
    except ValueError:
        raise HTTPException(400, f"{text[:40]!r} is not an event id") from None


#: Times (ms since 1970) a query may name: what a 64-bit database integer holds. A larger one
#: reached SQLite as an OverflowError (500), and PostgreSQL compares it as a numeric.
TIME_RANGE_MS = (-(2**63), 2**63 - 1)


def _time_ms(request: Request, name: str, default: int | None = None) -> int | None:
    """Query parameter ``name`` as a time in ms (``default`` when absent); 400 when it is not an
    integer or not a time a database column holds."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise HTTPException(400, f"{name} must be an integer") from None
    if not TIME_RANGE_MS[0] <= value <= TIME_RANGE_MS[1]:
        raise HTTPException(400, f"{name} must be a time in ms since 1970 (a 64-bit integer)")
    return value


def _limit(request: Request, default: int) -> int:
    """The ``limit`` parameter, held to 1..MAX_LIMIT: a negative LIMIT is an error in PostgreSQL
    (it was a 500) and no limit at all in SQLite."""
    raw = request.query_params.get("limit")
    if raw is None or raw == "":
        return default
    try:
        return max(1, min(int(raw), MAX_LIMIT))
    except ValueError:
        raise HTTPException(400, "limit must be an integer") from None


#: publishes a command after ``record(cid)`` wrote it down; returns the cid
SendCommand = Callable[[str, str, dict[str, Any], Callable[[str], None]], str]


def build_app(cfg: CentralConfig, store: Store,
              ingest_health: Callable[[], dict[str, Any]] | None = None,
              send_command: SendCommand | None = None,
              grid: Grid | None = None) -> Starlette:
    """The ASGI app. ``store`` is this app's own connection (requests are serialised on it).

    ``send_command`` publishes a command, after its ``record`` argument wrote it down, and
    returns its correlation id (:meth:`central.service.CentralService.send_command`); ``grid`` defaults to
    the configured cells file. A configured plate-hash key that can't be read raises
    :class:`central.privacy.PlateKeyError` here, at start-up.
    """
    if grid is None and cfg.grid.cells_file is not None:
        grid = load_grid(cfg.grid.cells_file, cfg.grid.id_property)
    plate_key = load_plate_key(cfg.plates.hash_key_file) if cfg.plates.hash_key_file else None
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    throttle = LoginThrottle()  # failed logins slow down per address (webkit.throttle)
    registry = CollectorRegistry()
    registry.register(FleetCollector(store, ingest_health))  # type: ignore[arg-type]
    registry.register(LoginCollector(throttle))  # type: ignore[arg-type]

    def page(name: str) -> Callable[[Request], Response]:
        def handler(request: Request) -> Response:
            user = auth.current_user(request)
            if user is None:
                return RedirectResponse("/login", status_code=303)
            return templates.TemplateResponse(request, f"{name}.html",
                                              {"page": name, "user": user, "pages": PAGES,
                                               "ack_within_s": cfg.alarms.ack_within_s})
        return handler

    def login_page(request: Request) -> Response:
        return templates.TemplateResponse(request, "login.html", {"page": "login", "user": None,
                                                                  "pages": PAGES})

    def home(request: Request) -> Response:
        return RedirectResponse("/fleet", status_code=303)

    # --- reads -------------------------------------------------------------------------
    def fleet(request: Request) -> JSONResponse:
        auth.require(request)
        devices = store.fleet()
        for d in devices:
            d.pop("health", None)
        return JSONResponse({"now_ms": _now_ms(), "devices": devices})

    def alarms(request: Request) -> JSONResponse:
        auth.require(request)
        open_only = request.query_params.get("open") in ("1", "true")
        limit = _limit(request, 200)
        return JSONResponse({"now_ms": _now_ms(), "ack_within_s": cfg.alarms.ack_within_s,
                             "alarms": store.alarms(open_only=open_only, limit=limit)})

    def event(request: Request) -> JSONResponse:
        auth.require(request)
        ev = store.event(_event_id(request.path_params["event_id"]))
        if ev is None:
            raise HTTPException(404, "no such event")
        return JSONResponse(ev)

    def crop(request: Request) -> Response:
        auth.require(request)
        data = store.crop(_event_id(request.path_params["event_id"]))
        if data is None:
            raise HTTPException(404, "this event has no crop")
        return jpeg_crop(data)

    def _plate_query(request: Request) -> PlateQuery:
        text = request.query_params.get("plate") or request.query_params.get("q")
        hash_hex = request.query_params.get("hash")
        plate_hash = None
        if hash_hex:
            try:
                plate_hash = bytes.fromhex(hash_hex)
            except ValueError:
                raise HTTPException(400, "hash must be hex") from None
        if not text and plate_hash is None:
            raise HTTPException(400, "give plate=TEXT (wildcards * and ?) or hash=HEX")
        if text and len(text) > 32:
            raise HTTPException(400, "plate text is at most 32 characters")
        text_hash = None
        if text and plate_key is not None and "*" not in text and "?" not in text:
            # the site hashes plates: also find passages sent as HMAC(site key, text)
            text_hash = plate_digest(text, plate_key, cfg.plates.hash_bytes)
        return PlateQuery(text=text or None, plate_hash=plate_hash, text_hash=text_hash,
                          since_ms=_time_ms(request, "since"),
                          until_ms=_time_ms(request, "until"),
                          limit=_limit(request, 200))

    def plates(request: Request) -> JSONResponse:
        auth.require(request)
        q = _plate_query(request)
        return JSONResponse({"query": {"plate": q.text, "wildcard": q.wildcard,
                                       "hash_of_text": q.text_hash.hex() if q.text_hash else None,
                                       "hashed_plates_searchable": plate_key is not None},
                             "passages": store.plates(q)})

    def trajectory(request: Request) -> JSONResponse:
        auth.require(request)
        q = _plate_query(request)
        if q.wildcard:
            raise HTTPException(400, "a trajectory is for one plate: no wildcards")
        shown_hash = q.plate_hash or q.text_hash
        return JSONResponse({"plate": q.text, "hash": shown_hash.hex() if shown_hash else None,
                             "points": store.trajectory(q)})

    def counts(request: Request) -> JSONResponse:
        auth.require(request)
        until = _time_ms(request, "until", (_now_ms() // HOUR_MS + 1) * HOUR_MS) or 0
        since = _time_ms(request, "since", max(until - 24 * HOUR_MS, TIME_RANGE_MS[0])) or 0
        return JSONResponse({"since_ms": since, "until_ms": until, "counts": store.counts(since, until)})

    def cells(request: Request) -> JSONResponse:
        auth.require(request)
        until = _time_ms(request, "until", (_now_ms() // HOUR_MS + 1) * HOUR_MS) or 0
        since = _time_ms(request, "since", max(until - 24 * HOUR_MS, TIME_RANGE_MS[0])) or 0
        per_cell: dict[str, dict[str, Any]] = {}
        for r in store.cell_counts(since, until):
            c = per_cell.setdefault(r["cell"], {"cell": r["cell"], "n": 0, "by_type": {}})
            c["n"] += r["n"]
            c["by_type"][r["type"]] = r["n"]
        out: dict[str, Any] = {"since_ms": since, "until_ms": until, "grid": grid is not None,
                               "counts": sorted(per_cell.values(), key=lambda c: c["cell"])}
        if request.query_params.get("outline") in ("1", "true") and grid is not None:
            out["cells"] = grid.outline()
        return JSONResponse(out)

    def nodes(request: Request) -> JSONResponse:
        auth.require(request)
        return JSONResponse({"now_ms": _now_ms(), "nodes": store.nodes()})

    def commands(request: Request) -> JSONResponse:
        auth.require(request)
        limit = _limit(request, 50)
        return JSONResponse({"commands": store.commands(limit), "replies": store.replies(limit)})

    def command_one(request: Request) -> JSONResponse:
        auth.require(request)
        found = store.commands(1, cid=request.path_params["cid"])
        if not found:
            raise HTTPException(404, "no such command")
        return JSONResponse(found[0])

    def gaps(request: Request) -> JSONResponse:
        auth.require(request)
        return JSONResponse(accounting.summary(store))

    def quarantine(request: Request) -> JSONResponse:
        auth.require(request)
        return JSONResponse({"totals": store.totals()["quarantined"],
                             "recent": store.quarantine(_limit(request, 100))})

    def health(request: Request) -> JSONResponse:
        body: dict[str, Any] = {"now_ms": _now_ms()}
        if ingest_health is not None:
            body["ingest"] = ingest_health()
        return JSONResponse(body)

    def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type="text/plain; version=0.0.4")

    # --- operator actions --------------------------------------------------------------------
    def ack(request: Request) -> JSONResponse:
        user = auth.require(request, "operator")
        event_id = _event_id(request.path_params["event_id"])
        if store.alarm(event_id) is None:
            raise HTTPException(404, "no such alarm")
        changed = store.ack_alarm(event_id, user["name"], _now_ms())
        if changed:
            store.audit(user["name"], "ack", request.path_params["event_id"])
        return JSONResponse({"acknowledged": changed, "alarm": store.alarm(event_id)})

    async def assign(request: Request) -> JSONResponse:
        user = auth.require(request, "operator")
        event_id = _event_id(request.path_params["event_id"])
        try:
            to = str((await request.json())["to"])[:64]
        except (ValueError, KeyError, TypeError):
            raise HTTPException(400, "send {\"to\": NAME}") from None
        if not store.assign_alarm(event_id, to):
            raise HTTPException(404, "no such alarm")
        store.audit(user["name"], "assign", f"{request.path_params['event_id']} -> {to}")
        return JSONResponse({"alarm": store.alarm(event_id)})

    async def command(request: Request) -> JSONResponse:
        user = auth.require(request, "operator")
        if send_command is None:
            raise HTTPException(503, "this instance is not connected to the broker")
        device, name = request.path_params["device"], request.path_params["name"]
        body = await request.body()
        try:
            # strict JSON as on the wire: NaN and Infinity (which Python's parser takes) are no
            # JSON, and the archive's JSON column refused them only after the command went out
            args = load_document(body, Format.JSON) if body else {}
        except ValueError:
            raise HTTPException(400, "command arguments must be a JSON object "
                                     "(numbers finite: NaN and Infinity are not JSON)") from None
        if not isinstance(args, dict):
            raise HTTPException(400, "command arguments must be a JSON object")

        def record(cid: str) -> None:  # before the command is published (no command unaudited)
            store.record_command(cid, user["name"], device, name, args, _now_ms())
            store.audit(user["name"], "command", f"{device} {name} {json.dumps(args)[:200]} cid={cid}")

        try:
            cid = await run_in_threadpool(send_command, device, name, args, record)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        return JSONResponse({"sent": True, "device": device, "command": name, "cid": cid})

    def api_index(request: Request) -> JSONResponse:
        return JSONResponse({"version": 1, "documentation": "docs/central.md",
                             "endpoints": [r.path for r in api_routes]})

    api_routes = [
        Route("/api/v1", api_index),
        *session_routes(store.user, lambda: {"now_ms": _now_ms()}, throttle=throttle),
        Route("/api/v1/fleet", fleet),
        Route("/api/v1/alarms", alarms),
        Route("/api/v1/alarms/{event_id}/ack", ack, methods=["POST"]),
        Route("/api/v1/alarms/{event_id}/assign", assign, methods=["POST"]),
        Route("/api/v1/events/{event_id}", event),
        Route("/api/v1/events/{event_id}/crop", crop),
        Route("/api/v1/plates", plates),
        Route("/api/v1/trajectory", trajectory),
        Route("/api/v1/counts", counts),
        Route("/api/v1/cells", cells),
        Route("/api/v1/nodes", nodes),
        Route("/api/v1/commands", commands),
        Route("/api/v1/commands/{cid}", command_one),
        Route("/api/v1/gaps", gaps),
        Route("/api/v1/quarantine", quarantine),
        Route("/api/v1/health", health),
        Route("/api/v1/devices/{device}/cmd/{name}", command, methods=["POST"]),
    ]
    routes = [
        Route("/", home), Route("/login", login_page),
        *[Route(f"/{p}", page(p)) for p in PAGES],
        *api_routes,
        Route("/metrics", metrics),
        Mount("/static/central", app=StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    secret = load_or_create_secret(cfg.web.secret_file)
    def unavailable(exc: BaseException) -> str | None:
        if not store.is_connection_error(exc):
            return None
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return (f"the archive database cannot be reached now ({why[:200]}); events wait in the "
                "broker meanwhile - try again shortly, and see the central's log")

    return make_app(routes, secret, store.user, secure_cookies=cfg.web.secure_cookies,
                    name="edgepost_central", unavailable=unavailable)
