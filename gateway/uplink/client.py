"""Build a paho MQTT 5 client from the ``[mqtt]`` configuration (TLS, credentials, LWT)."""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.config.mqtt import MqttConfig

log = logging.getLogger(__name__)
_warned_in_clear: set[tuple[str, int]] = set()  # once per process and broker, not per reconnect
_warn_lock = threading.Lock()


def warn_if_password_in_clear(cfg: MqttConfig) -> bool:
    """Log (once per process and broker) that the configured password travels unencrypted.

    The config refuses this unless ``allow_plaintext_password`` is set; when it is, the
    operator is reminded at every start. Returns True when the warning applies.
    """
    if not cfg.password_in_clear:
        return False
    with _warn_lock:
        if (cfg.host, cfg.port) in _warned_in_clear:
            return True
        _warned_in_clear.add((cfg.host, cfg.port))
    log.warning("mqtt.allow_plaintext_password is set: the password for %s:%d is sent "
                "unencrypted; anyone on the network path can read it. Add [mqtt.tls] to "
                "protect it.", cfg.host, cfg.port)
    return True


def publish_properties(content_type: str) -> Properties:
    """PUBLISH properties naming the payload's content type (JSON is UTF-8 text)."""
    props = Properties(PacketTypes.PUBLISH)
    props.ContentType = content_type
    props.PayloadFormatIndicator = 1 if "json" in content_type else 0
    return props


def set_nodelay(client: mqtt.Client) -> bool:
    """Turn Nagle's algorithm off on the client's connected socket; True when it is set.

    Why: MQTT packets are small and a QoS 1 window sends many of them back to back. With
    Nagle on, each small PUBLISH after the first waits for the previous one's TCP ACK (and
    the broker's delayed ACK), which caps a window at far less than one round trip's worth
    over a WAN. paho does not set it; call this after ``connect()`` (the socket exists then).
    """
    sock = client.socket()
    if sock is None:
        return False
    with contextlib.suppress(OSError, AttributeError):  # e.g. a Unix or WebSocket transport
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return True
    return False


def client_tls_context(ca_file: Path | None, certfile: Path | None = None,
                       keyfile: Path | None = None, check_hostname: bool = True
                       ) -> ssl.SSLContext:
    """The TLS context edgepost clients use (server verified against ``ca_file``)."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH,
                                     cafile=str(ca_file) if ca_file else None)
    if certfile is not None:
        ctx.load_cert_chain(str(certfile), str(keyfile) if keyfile else None)
    if not check_hostname:
        ctx.check_hostname = False
    return ctx


def make_client(cfg: MqttConfig, client_id: str, will: tuple[str, bytes, str] | None = None
                ) -> mqtt.Client:
    """A configured, not yet connected client. ``will`` = (topic, payload, content type)."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=mqtt.MQTTv5)
    client.connect_timeout = cfg.connect_timeout_s
    # The uplink controls its own window; paho must not queue behind our back.
    client.max_inflight_messages_set(cfg.window)
    if cfg.username is not None:
        warn_if_password_in_clear(cfg)
        client.username_pw_set(cfg.username,
                               cfg.password.get_secret_value() if cfg.password else None)
    if cfg.tls is not None:
        client.tls_set_context(client_tls_context(
            cfg.tls.ca_file, cfg.tls.certfile, cfg.tls.keyfile,
            check_hostname=not cfg.tls.insecure_skip_hostname_check))
    if will is not None:
        topic, payload, content_type = will
        client.will_set(topic, payload, qos=1, retain=True,
                        properties=publish_properties(content_type))
    return client
