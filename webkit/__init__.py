"""Reusable web parts for edgepost's pages: login with hashed passwords, sessions, CSRF, roles.

Why a package of its own: the central station's UI (``central/web``) and the gateway's own page
(``gateway/web``) use the same parts, so neither copies the other's security code. It depends
on Starlette (sessions signed with ``itsdangerous``) and argon2-cffi.

- :mod:`webkit.auth`: password hashes, roles, the logged-in user, role checks.
- :mod:`webkit.csrf`: per-session CSRF token, checked on every unsafe request.
- :mod:`webkit.headers`: no framing (clickjacking), no type sniffing, on every response.
- :mod:`webkit.session_check`: each request's session checked against the stored user.
- :mod:`webkit.throttle`: failed logins slow down per client address (429 with Retry-After).
- :mod:`webkit.bodylimit`: a cap on request bodies (413), so no client can fill the memory.
- :mod:`webkit.app`: an app factory that wires sessions, CSRF, the cap and the kit's static files
  (``/static/kit/kit.js``: a fetch helper that sends the CSRF token).
"""
