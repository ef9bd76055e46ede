"""The page's HTTP server: uvicorn on its own thread, a component of the gateway service.

Why sockets bound here: the page listens on exactly the configured addresses (loopback by
default), each with its own socket, and a port that cannot be bound is reported at start as
one clear line (the rest of the gateway keeps running: the page is a convenience, the events
are the job). Contract: :meth:`WebServer.start` returns once the sockets are bound
(``ports`` says where); :meth:`stop` closes them within a few seconds.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import ssl
import threading
from typing import Any

from gateway.config.web import WebConfig

log = logging.getLogger(__name__)
STOP_TIMEOUT_S = 5.0


class WebServerError(RuntimeError):
    """The page cannot listen where configured; the text says what to change."""


class WebServer:
    """Serves :func:`gateway.web.app.build_app` on the ``[web]`` addresses."""

    def __init__(self, service: Any, cfg: WebConfig) -> None:
        self.service, self.cfg = service, cfg
        self.ports: list[tuple[str, int]] = []
        self.error: str | None = None
        # addresses off this machine where logins travel in clear (no [web.tls])
        self.cleartext: list[str] = []
        self._server: Any = None
        self._thread: threading.Thread | None = None
        service.health.register("web", self.health)

    def _sockets(self) -> list[socket.socket]:
        socks: list[socket.socket] = []
        try:
            for addr in self.cfg.bind:
                family = socket.AF_INET6 if ipaddress.ip_address(addr).version == 6 else socket.AF_INET
                s = socket.socket(family, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                socks.append(s)
                s.bind((addr, self.cfg.port))
                s.listen(64)
                self.ports.append((addr, s.getsockname()[1]))
        except OSError as exc:
            for s in socks:
                s.close()
            raise WebServerError(f"[web] cannot listen on {addr}:{self.cfg.port}: {exc.strerror}; "
                                 "pick another port or an address this machine has") from None
        return socks

    def start(self) -> None:
        """Bind and serve; a failure is logged and kept in health, never raised."""
        import uvicorn

        from gateway.web.app import build_app

        try:
            socks = self._sockets()
            app = build_app(self.service, self.cfg)
        except (WebServerError, OSError) as exc:
            self.error = str(exc)
            log.error("gateway page not started: %s", exc)
            return
        tls: dict[str, Any] = {}
        if self.cfg.tls is not None:
            tls = {"ssl_certfile": str(self.cfg.tls.certfile), "ssl_keyfile": str(self.cfg.tls.keyfile)}
            if self.cfg.tls.client_ca_file is not None:
                tls |= {"ssl_ca_certs": str(self.cfg.tls.client_ca_file),
                        "ssl_cert_reqs": ssl.CERT_REQUIRED}
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                proxy_headers=False, server_header=False, **tls)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, args=(socks,), name="web", daemon=True)
        self._thread.start()
        where = ", ".join(f"{'https' if tls else 'http'}://{a}:{p}/" for a, p in self.ports)
        log.info("gateway page on %s", where)
        if not tls:
            self.cleartext = [f"{a}:{p}" for a, p in self.ports
                              if not ipaddress.ip_address(a).is_loopback]
        if self.cleartext:
            # allowed (a closed service LAN may accept it), but never silently
            log.warning("gateway page on %s without TLS: passwords and session cookies cross the "
                        "network in clear; set [web.tls] (a certificate from the site CA), or bind "
                        "loopback only and reach it through ssh -L", ", ".join(self.cleartext))

    def _serve(self, socks: list[socket.socket]) -> None:
        try:
            self._server.run(sockets=socks)
        except Exception as exc:  # the page dying must not touch cameras, spool or uplink
            self.error = f"{type(exc).__name__}: {exc}"
            log.exception("gateway page stopped")
        finally:
            for s in socks:
                s.close()

    def stop(self) -> None:
        """Ask uvicorn to finish and wait for its thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT_S)

    def health(self) -> dict[str, Any]:
        """Where the page listens, why not if it does not, and where logins cross the network
        without TLS."""
        return {"listening": [f"{a}:{p}" for a, p in self.ports] if self.error is None else [],
                **({"error": self.error} if self.error else {}),
                **({"cleartext_logins": self.cleartext} if self.cleartext else {})}
