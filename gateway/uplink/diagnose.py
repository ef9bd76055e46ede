"""Name the cause of a failed broker connection, with what to do about it.

Why this module: paho reports a revoked client certificate, a TLS handshake failure, a TLS
client on a plain port (or the reverse) and a wrong port alike, as a failed or lost
connection. A technician then guesses. Here exceptions, CONNACK reason codes and TLS alerts
are mapped, in one place, to one sentence each: what happened and the fix. The gateway's
uplink log and health and ``edgepost events tail`` all use it.

Contract: :func:`explain_exception`, :func:`explain_connack` and :func:`explain_text` never
touch the network. :func:`probe` (used only when those cannot tell, e.g. a connection that
died before CONNACK) opens at most two short connections to the broker: a TCP/TLS handshake
with the configured TLS settings and client certificate, and, when a TLS client meets a
non-TLS port, one plain MQTT CONNECT with a throw-away client id and no credentials. It
never sends the configured password and never uses the configured client id, so it cannot
disturb a session. Its results are cached for :data:`PROBE_CACHE_S` per endpoint and cause.
"""

from __future__ import annotations

import errno
import os
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gateway.config.mqtt import MqttConfig
from gateway.uplink.client import client_tls_context

Kind = Literal["unreachable", "tls", "credentials", "broker", "unknown"]

PROBE_TIMEOUT_S = 1.5  # bounds each probe step: the uplink thread feeds the watchdog
ALERT_WAIT_S = 0.5  # TLS 1.3 sends a refusal of the client certificate after the handshake
PROBE_CACHE_S = 30.0  # one probe per endpoint and symptom per this period, not per retry
TLS_ALERT = "ALERT"  # OpenSSL's reason names of alerts received from the peer contain it


@dataclass(frozen=True)
class Endpoint:
    """Where and how a client connects, plus how its user names the settings (for fixes)."""

    host: str
    port: int
    tls: bool = False
    ca_file: Path | None = None
    certfile: Path | None = None
    keyfile: Path | None = None
    check_hostname: bool = True
    username: str | None = None
    has_password: bool = False
    client_id: str | None = None  # the gateway's: its certificate's CN must equal it
    # How the user spells each setting: config keys for the gateway, flags for the CLI.
    opt_port: str = "mqtt.port"
    opt_tls: str = "an [mqtt.tls] section with ca_file = the site CA"
    opt_ca: str = "mqtt.tls.ca_file"
    opt_cert: str = "mqtt.tls.certfile and keyfile"
    opt_creds: str = "mqtt.username and mqtt.password"
    opt_no_tls: str = "remove [mqtt.tls]"

    @classmethod
    def from_mqtt(cls, cfg: MqttConfig, client_id: str | None = None) -> Endpoint:
        """The gateway's endpoint, from its ``[mqtt]`` section."""
        tls = cfg.tls
        return cls(cfg.host, cfg.port, tls=tls is not None,
                   ca_file=tls.ca_file if tls else None, certfile=tls.certfile if tls else None,
                   keyfile=tls.keyfile if tls else None,
                   check_hostname=not (tls and tls.insecure_skip_hostname_check),
                   username=cfg.username, has_password=cfg.password is not None,
                   client_id=client_id)

    @classmethod
    def for_cli(cls, host: str, port: int, *, ca_file: Path | None, certfile: Path | None,
                keyfile: Path | None, username: str | None, has_password: bool) -> Endpoint:
        """An endpoint given on the command line (mosquitto_sub-style flags)."""
        return cls(host, port, tls=ca_file is not None, ca_file=ca_file, certfile=certfile,
                   keyfile=keyfile, username=username, has_password=has_password,
                   opt_port="-p/--port", opt_tls="--cafile with the site CA",
                   opt_ca="--cafile", opt_cert="--cert and --key",
                   opt_creds="-u/--username and --password-file", opt_no_tls="drop --cafile")

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Diagnosis:
    """A named cause: ``cause`` (stable identifier), ``kind`` and ``message`` (with the fix).

    ``kind``: ``unreachable`` (nothing answers), ``tls`` (TLS settings do not match the
    broker), ``credentials`` (the broker refuses who we are), ``broker`` (the broker is
    there but not serving now), ``unknown``.
    """

    cause: str
    kind: Kind
    message: str

    @property
    def permanent(self) -> bool:
        """Retrying the same settings cannot help: the configuration must change."""
        return self.kind in ("tls", "credentials")


# --- pure mappings ---------------------------------------------------------------------------

def explain_exception(exc: BaseException, ep: Endpoint) -> Diagnosis | None:
    """Map an exception of a connect attempt; None when it does not identify the cause."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _server_cert(exc.verify_message or str(exc), ep)
    if isinstance(exc, ssl.SSLError):
        return _ssl_reason(exc.reason or str(exc), str(exc), ep)
    if isinstance(exc, socket.gaierror):
        return _dns(ep)
    if isinstance(exc, ConnectionRefusedError):
        return _refused(ep)
    if isinstance(exc, TimeoutError):
        return _timeout(ep)
    if isinstance(exc, OSError) and exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return _no_route(ep)
    return None  # e.g. a reset during the TLS handshake: only a probe can tell


def explain_text(why: str, ep: Endpoint) -> Diagnosis | None:
    """Map the text of a failure as paho or the uplink wrote it ("ExcName: message")."""
    name, _, rest = why.partition(": ")
    low = why.lower()
    if TLS_ALERT.lower() in low or "wrong version number" in low:
        match = _SSL_REASON.search(why)
        return _ssl_reason(match.group(1) if match else rest, rest, ep)
    if name == "SSLCertVerificationError" or "certificate verify failed" in low:
        return _server_cert(rest, ep)
    if name == "gaierror" or "name or service not known" in low or "temporary failure in name" in low:
        return _dns(ep)
    if name == "ConnectionRefusedError" or "connection refused" in low:
        return _refused(ep)
    if name in ("TimeoutError", "timeout") or "timed out" in low:
        return _timeout(ep)
    if "network is unreachable" in low or "no route to host" in low:
        return _no_route(ep)
    return None


_SSL_REASON = re.compile(r"\[SSL: ([A-Z0-9_]+)\]")  # "[SSL: TLSV1_ALERT_UNKNOWN_CA] ..."
_SSL_LOCATION = re.compile(r"\s*\(_ssl\.c:\d+\)")


def explain_connack(reason: object, ep: Endpoint) -> Diagnosis:
    """Map a CONNACK refusal (MQTT 5 reason code, or an MQTT 3.1.1 return code 1..5)."""
    code = int(getattr(reason, "value", reason))  # type: ignore[call-overload]
    text = f"reason code {code}"
    if code in (134, 4):
        return Diagnosis("bad_credentials", "credentials",
                         f"refused the connection: bad username or password ({text}) - check "
                         f"{ep.opt_creds} against the broker's password file")
    if code in (135, 5):
        who = []
        if ep.username is not None:
            who.append(ep.opt_creds)
        if ep.certfile is not None:
            cn = f" (its CN must be {ep.client_id!r})" if ep.client_id else ""
            who.append(f"the client certificate {ep.certfile}{cn}")
        if not who:
            who.append(f"whether the broker requires a username ({ep.opt_creds}) or a client "
                       f"certificate ({ep.opt_cert})")
        return Diagnosis("not_authorized", "credentials",
                         f"refused the connection: not authorized ({text}) - check "
                         + " and ".join(who) + ", and the broker's password file and ACL")
    if code in (133, 2):
        return Diagnosis("client_id_rejected", "credentials",
                         f"refused the connection: client id not valid ({text}) - the device id "
                         "must be a name the broker accepts (letters, digits, - and _)")
    if code == 138:
        return Diagnosis("banned", "credentials",
                         f"refused the connection: this client is banned ({text}) - ask the "
                         "broker's operator")
    if code == 140:
        return Diagnosis("bad_auth_method", "credentials",
                         f"refused the connection: authentication method not supported ({text})"
                         " - use a username/password or a client certificate")
    if code in (136, 137, 159, 3):
        return Diagnosis("broker_unavailable", "broker",
                         f"refused the connection: broker unavailable or busy ({text}) - it "
                         "should recover by itself; retrying")
    if code in (132, 1):
        return Diagnosis("protocol_version", "broker",
                         f"refused the connection: MQTT version not supported ({text}) - the "
                         "broker must support MQTT 5 (mosquitto >= 1.6)")
    return Diagnosis("connack_refused", "broker",
                     f"refused the connection: {reason} ({text}) - see the broker's log")


def closed_before_connack(ep: Endpoint) -> Diagnosis:
    """The fallback when a connection ended before CONNACK and no probe could say why."""
    if ep.tls:
        return Diagnosis("closed", "unknown",
                         f"closed the connection before answering - if it is a TLS listener "
                         f"that refuses the client certificate, the broker's log says why; "
                         f"check {ep.opt_cert} and {ep.opt_port}")
    return Diagnosis("closed", "unknown",
                     f"closed the connection before answering - check {ep.opt_port} and the "
                     "broker's log")


def _refused(ep: Endpoint) -> Diagnosis:
    return Diagnosis("connection_refused", "unreachable",
                     f"unreachable: nothing is listening on port {ep.port} (connection "
                     f"refused) - check {ep.opt_port} (1883 plain MQTT, 8883 TLS) and that "
                     "the broker is running")


def _timeout(ep: Endpoint) -> Diagnosis:
    return Diagnosis("timeout", "unreachable",
                     f"unreachable: no answer from {ep.where} in time - check the host "
                     "address, the network link and firewalls")


def _dns(ep: Endpoint) -> Diagnosis:
    return Diagnosis("dns", "unreachable",
                     f"unreachable: host name {ep.host!r} cannot be resolved - check the "
                     "host name and DNS")


def _no_route(ep: Endpoint) -> Diagnosis:
    return Diagnosis("no_route", "unreachable",
                     f"unreachable: no route to {ep.host} - check the network link and address")


def _server_cert(detail: str, ep: Endpoint) -> Diagnosis:
    # Keep OpenSSL's verify message only: "... verify failed: <this> (_ssl.c:1006)".
    detail = _SSL_LOCATION.sub("", detail.rpartition("verify failed: ")[2]).strip()
    low = detail.lower()
    if "hostname mismatch" in low or "ip address mismatch" in low:
        return Diagnosis("hostname_mismatch", "tls",
                         f"TLS handshake failed: the broker's certificate is not valid for "
                         f"{ep.host!r} - connect with a name or address listed in it, or "
                         "re-issue it with that name (edgepost provision broker --dns/--ip)")
    if "expired" in low or "not yet valid" in low:
        return Diagnosis("server_cert_expired", "tls",
                         "TLS handshake failed: the broker's certificate has expired or is not "
                         "yet valid - renew it, and check this machine's clock")
    return Diagnosis("server_untrusted", "tls",
                     f"TLS handshake failed: the broker's certificate is not signed by the CA "
                     f"in {ep.ca_file} ({detail or 'verify failed'}) - set {ep.opt_ca} "
                     "to the site CA that signed the broker's certificate")


_ALERTS: dict[str, tuple[str, str]] = {
    # OpenSSL reason (from the peer's alert) -> (cause, what it means and the fix)
    "CERTIFICATE_REVOKED": ("cert_revoked", "the broker refused the client certificate "
                            "{cert}: it is revoked - install a new identity for this device "
                            "(edgepost provision gateway <id> --renew)"),
    "UNKNOWN_CA": ("cert_unknown_ca", "the broker does not trust the client certificate "
                   "{cert}: it was issued by another CA - use a certificate from the site CA "
                   "(edgepost provision gateway <id>)"),
    "CERTIFICATE_REQUIRED": ("cert_required", "the broker requires a client certificate - "
                             "set {opt_cert}"),
    "CERTIFICATE_EXPIRED": ("cert_expired", "the broker says the client certificate {cert} "
                            "has expired (or its CRL has) - renew the identity, and check the "
                            "broker's clock"),
    "BAD_CERTIFICATE": ("cert_rejected", "the broker rejected the client certificate {cert} "
                        "- check {opt_cert} (key and certificate must belong together)"),
    "UNSUPPORTED_CERTIFICATE": ("cert_rejected", "the broker rejected the client certificate "
                                "{cert} (wrong key usage) - issue it as a client certificate"),
    "PROTOCOL_VERSION": ("tls_version", "no common TLS version with the broker - it needs "
                         "TLS 1.2 or newer on both sides"),
}


def _ssl_reason(reason: str, detail: str, ep: Endpoint) -> Diagnosis:
    upper = reason.upper()
    for key, (cause, text) in _ALERTS.items():
        if key in upper:
            fix = text.format(cert=ep.certfile or "(none)", opt_cert=ep.opt_cert)
            return Diagnosis(cause, "credentials" if cause.startswith("cert_") else "tls",
                             f"TLS handshake failed: {fix}")
    if "HANDSHAKE_FAILURE" in upper and ep.tls and ep.certfile is None:
        # TLS 1.2 brokers answer a missing client certificate with a bare handshake failure.
        return Diagnosis("cert_required", "credentials",
                         f"TLS handshake failed: the broker probably requires a client "
                         f"certificate - set {ep.opt_cert}")
    if "WRONG_VERSION_NUMBER" in upper or "RECORD_LAYER" in upper:
        return _not_tls(ep)
    if "CERTIFICATE_VERIFY_FAILED" in upper:
        return _server_cert(detail, ep)
    return Diagnosis("tls_failed", "tls",
                     f"TLS handshake failed ({reason}) - check that {ep.opt_ca}, "
                     f"{ep.opt_cert} and {ep.opt_port} match the broker's TLS listener")


def _not_tls(ep: Endpoint) -> Diagnosis:
    return Diagnosis("not_tls", "tls",
                     f"TLS handshake failed: port {ep.port} speaks plain MQTT, not TLS - use "
                     f"the broker's TLS port (usually 8883) in {ep.opt_port}, or {ep.opt_no_tls}")


def _tls_expected(ep: Endpoint) -> Diagnosis:
    return Diagnosis("tls_expected", "tls",
                     f"closed the connection: port {ep.port} expects TLS but this client "
                     f"speaks plain MQTT - add {ep.opt_tls} (or use the plain port, usually "
                     "1883)")


# --- probing ------------------------------------------------------------------------------------

_cache: dict[tuple[Endpoint, str], tuple[float, Diagnosis | None]] = {}
_cache_lock = threading.Lock()


def probe(ep: Endpoint, symptom: str = "", timeout: float = PROBE_TIMEOUT_S
          ) -> Diagnosis | None:
    """Reproduce a failed connection's transport steps to name its cause (see module doc).

    Returns None when every step works (the cause is then above TLS: see the broker's log).
    Cached per endpoint and ``symptom`` for :data:`PROBE_CACHE_S`.
    """
    key = (ep, symptom)
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and now - hit[0] < PROBE_CACHE_S:
            return hit[1]
    found = _probe(ep, timeout)
    with _cache_lock:
        _cache[key] = (time.monotonic(), found)
    return found


def explain(ep: Endpoint, failure: BaseException | str | None) -> Diagnosis:
    """Best explanation of a failed attempt: mapping first, probing when it is ambiguous."""
    found: Diagnosis | None
    if isinstance(failure, BaseException):
        found = explain_exception(failure, ep)
        symptom = type(failure).__name__
    elif failure:
        found = explain_text(failure, ep)
        symptom = failure.partition(":")[0]
    else:
        found, symptom = None, "lost"
    if found is None or found.cause == "tls_failed":
        found = probe(ep, symptom) or found
    if found is None and isinstance(failure, str) and failure.startswith("no CONNACK"):
        return Diagnosis("no_connack", "unknown",
                         f"accepted the connection but sent no CONNACK in time - check that "
                         f"{ep.opt_port} is the broker's MQTT port and whether the broker is "
                         "overloaded (its log)")
    return found if found is not None else closed_before_connack(ep)


def _probe(ep: Endpoint, timeout: float) -> Diagnosis | None:
    try:
        sock = socket.create_connection((ep.host, ep.port), timeout=timeout)
    except OSError as exc:
        return explain_exception(exc, ep) or Diagnosis(
            "connect_failed", "unreachable", f"unreachable: {exc} - check host and port")
    with sock:
        if not ep.tls:
            return _tls_expected(ep) if _speaks_tls(ep, timeout) else None
        try:
            ctx = client_tls_context(ep.ca_file, ep.certfile, ep.keyfile, ep.check_hostname)
        except (OSError, ValueError) as exc:
            return Diagnosis("tls_files", "tls",
                             f"cannot use the TLS files ({exc}) - check {ep.opt_ca} and "
                             f"{ep.opt_cert}")
        try:
            with ctx.wrap_socket(sock, server_hostname=ep.host) as tls:
                # TLS 1.3: a refused client certificate arrives as an alert after the
                # handshake. A healthy broker sends nothing before CONNECT: the read times out.
                tls.settimeout(ALERT_WAIT_S)
                try:
                    data = tls.recv(1)
                except TimeoutError:
                    return None
                if not data:
                    return closed_before_connack(ep)
                return None
        except (ssl.SSLError, OSError) as exc:
            found = explain_exception(exc, ep)
            if found is not None and found.cause != "tls_failed":
                return found
            if _speaks_plain_mqtt(ep, timeout):
                return _not_tls(ep)
            return found or Diagnosis("tls_failed", "tls",
                                      f"TLS handshake failed ({exc}) - check {ep.opt_ca}, "
                                      f"{ep.opt_cert} and {ep.opt_port}")


def _speaks_tls(ep: Endpoint, timeout: float) -> bool:
    """True when ``ep`` answers a TLS ClientHello with TLS (a ServerHello or a TLS alert)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # only asking whether the port speaks TLS at all
    try:
        with socket.create_connection((ep.host, ep.port), timeout=timeout) as sock, \
                ctx.wrap_socket(sock, server_hostname=ep.host):
            return True
    except ssl.SSLError as exc:
        return TLS_ALERT in (exc.reason or "")
    except OSError:
        return False


_MQTT_CONNECT_HEAD = b"\x00\x04MQTT\x04\x02\x00\x0a"  # MQTT 3.1.1, clean session, keepalive 10


def _speaks_plain_mqtt(ep: Endpoint, timeout: float) -> bool:
    """True when ``ep`` answers a plain MQTT CONNECT (throw-away id, no credentials)."""
    client_id = f"edgepost-probe-{os.urandom(4).hex()}".encode()
    body = _MQTT_CONNECT_HEAD + len(client_id).to_bytes(2, "big") + client_id
    packet = bytes([0x10, len(body)]) + body
    try:
        with socket.create_connection((ep.host, ep.port), timeout=timeout) as sock:
            sock.sendall(packet)
            head = sock.recv(2)
            if head[:1] == b"\x20":  # CONNACK, whatever it says
                sock.sendall(b"\xe0\x00")  # DISCONNECT
                return True
            return False
    except OSError:
        return False
