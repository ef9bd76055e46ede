"""The gateway's own page for the technician at the roadside (issue 16), on :mod:`webkit`.

Off by default (``[web] enabled``), listening only on the configured addresses (loopback by
default), behind a login from the users file that ``edgepost provision gateway`` writes.

- :mod:`gateway.web.recent`: the bounded ring of recent events (with crops) and node facts.
- :mod:`gateway.web.zones`: zones and lines saved to the overlay and swapped in live.
- :mod:`gateway.web.metrics`: ``/metrics`` (Prometheus) from the health report.
- :mod:`gateway.web.app`: the Starlette app (pages, JSON API under ``/api/v1``).
- :mod:`gateway.web.server`: uvicorn on its own thread, a gateway component.
"""
