"""Device identities: a private key and a CA-signed certificate whose CN is the device id.

With mosquitto's ``use_identity_as_username`` the CN *is* the MQTT user name, so the ACL
(:mod:`provisioning.acl`) keys off exactly this string; ``use_username_as_clientid`` makes it
the client id too, so each identity is one session (one per subscriber instance).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from provisioning.ca import SiteCA, cert_pem, key_pem, load_cert, new_key
from provisioning.secrets import private_dir, write_public, write_secret

RENEW_BEFORE = dt.timedelta(days=30)


@dataclass(frozen=True)
class Identity:
    """Where an identity's files are and what was done to get them."""

    name: str
    key_path: Path
    cert_path: Path
    ca_path: Path
    serial: str
    created: bool
    replaced_serial: str | None = None


def common_name(cert: x509.Certificate) -> str:
    attrs = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else ""


def _usable(cert_path: Path, key_path: Path, ca: SiteCA, name: str) -> x509.Certificate | None:
    """The existing certificate if it can be kept: same CA, same CN, not near expiry."""
    if not (cert_path.exists() and key_path.exists()):
        return None
    cert = load_cert(cert_path)
    pub = ca.cert.public_key()
    assert isinstance(pub, ec.EllipticCurvePublicKey)
    try:
        from cryptography.hazmat.primitives import hashes
        pub.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return None  # signed by another (older) CA: re-issue
    if common_name(cert) != name:
        return None
    if cert.not_valid_after_utc - dt.datetime.now(dt.UTC) < RENEW_BEFORE:
        return None
    return cert


def ensure_identity(ca: SiteCA, directory: Path, name: str, *, server: bool = False,
                    dns_names: tuple[str, ...] = (), ip_addresses: tuple[str, ...] = (),
                    renew: bool = False, revoked_serials: frozenset[str] = frozenset()) -> Identity:
    """Make (or keep) ``<name>.key``/``<name>.pem`` and a copy of the CA in ``directory``.

    Re-running is safe: a valid certificate is kept, so a re-run does not silently rotate
    a deployed device's identity. ``renew`` (or an unusable/revoked one) issues a new key
    and certificate, and reports the replaced serial so that the caller can revoke it.
    """
    private_dir(directory)
    key_path, cert_path, ca_path = directory / f"{name}.key", directory / f"{name}.pem", directory / "ca.pem"
    write_public(ca_path, cert_pem(ca.cert))
    existing = _usable(cert_path, key_path, ca, name)
    if existing is not None and not renew and format(existing.serial_number, "x") not in revoked_serials:
        if server and set(dns_names) | set(ip_addresses) != _sans(existing):
            existing = None  # host names changed: re-issue
        else:
            return Identity(name, key_path, cert_path, ca_path, format(existing.serial_number, "x"), False)
    old = load_cert(cert_path) if cert_path.exists() else None
    key = new_key()
    cert = ca.issue(name, key.public_key(), server=server, dns_names=dns_names, ip_addresses=ip_addresses)
    write_secret(key_path, key_pem(key))
    write_public(cert_path, cert_pem(cert))
    replaced = format(old.serial_number, "x") if old is not None else None
    return Identity(name, key_path, cert_path, ca_path, format(cert.serial_number, "x"), True, replaced)


def _sans(cert: x509.Certificate) -> set[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return {str(v) for v in ext.get_values_for_type(x509.DNSName)} | {
        str(v) for v in ext.get_values_for_type(x509.IPAddress)}
