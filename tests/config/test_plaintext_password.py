"""A password never crosses the network in clear text unless the config says so (issue 10,
item 7): refused at validation, allowed only with ``allow_plaintext_password``."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.config import ConfigError, parse_config
from gateway.config.mqtt import is_loopback

CREDS = {"username": "cp-north-1", "password": "s3cret-horse"}


@pytest.mark.parametrize("host", ["broker.site", "10.0.0.2", "2001:db8::1", "localhost.evil.org"])
def test_password_without_tls_to_another_host_is_refused(host: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({"mqtt": {"host": host, **CREDS}})
    text = str(err.value)
    assert f"password would be sent in clear text to {host}" in text
    assert "[mqtt.tls]" in text and "allow_plaintext_password = true" in text
    assert "s3cret-horse" not in text


@pytest.mark.parametrize("host", ["127.0.0.1", "127.3.2.1", "::1", "localhost", "LOCALHOST"])
def test_password_to_this_machine_needs_no_tls(host: str) -> None:
    assert not parse_config({"mqtt": {"host": host, **CREDS}}).mqtt.password_in_clear


def test_explicit_opt_in_and_tls_are_accepted(tmp_path: Path) -> None:
    allowed = parse_config({"mqtt": {"host": "broker.site", "allow_plaintext_password": True,
                                     **CREDS}})
    assert allowed.mqtt.password_in_clear
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    tls = parse_config({"mqtt": {"host": "broker.site", "port": 8883,
                                 "tls": {"ca_file": str(ca)}, **CREDS}})
    assert not tls.mqtt.password_in_clear
    # A username alone (certificate or anonymous brokers) carries no secret.
    assert not parse_config({"mqtt": {"host": "broker.site", "username": "gw"}}).mqtt.password_in_clear


@given(st.ip_addresses())
def test_loopback_is_exactly_the_loopback_addresses(addr: ipaddress.IPv4Address
                                                    | ipaddress.IPv6Address) -> None:
    assert is_loopback(str(addr)) == addr.is_loopback


@given(st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,20}){0,3}", fullmatch=True))
def test_host_names_other_than_localhost_are_not_loopback(name: str) -> None:
    expected = name == "localhost" or name.endswith(".localhost") or name == "localhost.localdomain"
    assert is_loopback(name) == expected
