"""Site certificate authority: ECDSA P-256 key, self-signed root, leaf issuing, CRL.

The CA key never leaves the technician's laptop. If ``EDGEPOST_CA_PASSPHRASE`` is set when
the CA is created, the key is stored encrypted with it and the same variable must be set to
issue or revoke (a passphrase is never taken on the command line, where ``ps`` shows it).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.textfile import read_utf8
from provisioning.secrets import (
    InsecurePermissionsError,
    check_private,
    private_dir,
    write_public,
    write_secret,
)

ENV_PASSPHRASE = "EDGEPOST_CA_PASSPHRASE"
CA_DAYS = 3650
LEAF_DAYS = 825
# An expired CRL makes mosquitto (OpenSSL) refuse *every* client, so it is long-lived and
# re-issued by every revoke and by `edgepost provision crl`.
CRL_DAYS = 365


class CAError(RuntimeError):
    """The CA is missing, unreadable or not safe to use."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_key() -> ec.EllipticCurvePrivateKey:
    """A fresh ECDSA P-256 private key."""
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey, passphrase: bytes | None = None) -> bytes:
    """PKCS#8 PEM of ``key``, encrypted when a passphrase is given."""
    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase
        else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 fingerprint, colon-separated hex (as ``openssl x509 -fingerprint`` shows it)."""
    return ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256()))


def _passphrase() -> bytes | None:
    value = os.environ.get(ENV_PASSPHRASE)
    return value.encode() if value else None


@dataclass
class SiteCA:
    """A loaded site CA that can issue leaf certificates and CRLs."""

    directory: Path
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @property
    def cert_path(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def crl_path(self) -> Path:
        return self.directory / "crl.pem"

    def issue(self, common_name: str, public_key: ec.EllipticCurvePublicKey, *, server: bool = False,
              dns_names: tuple[str, ...] = (), ip_addresses: tuple[str, ...] = (),
              days: int = LEAF_DAYS) -> x509.Certificate:
        """Sign a leaf certificate. Clients get clientAuth only, servers serverAuth + SANs.

        Extended key usage is narrow on purpose: a stolen gateway key cannot be used to
        impersonate the broker, and the broker certificate cannot log in as a device.
        """
        import ipaddress

        now = _now()
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))  # tolerate a Pi's clock skew
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False,
                                         content_commitment=False, data_encipherment=False,
                                         key_agreement=True, key_cert_sign=False, crl_sign=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                           critical=False)
        )
        if server:
            sans: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
            sans += [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_addresses]
            if sans:
                builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return builder.sign(self.key, hashes.SHA256())

    def _next_crl_number(self) -> int:
        """One more than the last CRL's number (kept in ``crl_number``), 1 for the first."""
        path = self.directory / "crl_number"
        if not path.exists():
            return 1
        try:
            return int(read_utf8(path).strip()) + 1
        except (OSError, ValueError) as exc:
            # a CRL number must only grow (RFC 5280): never guess one
            raise CAError(f"{path} is damaged ({exc}); write the last CRL's number in it, in "
                          f"decimal (`openssl crl -in {self.directory / 'crl.pem'} -noout "
                          "-crlnumber` prints it in hex), and run again") from None

    def write_crl(self, revoked: list[tuple[int, dt.datetime]], days: int = CRL_DAYS) -> Path:
        """Write ``crl.pem`` listing ``(serial, revocation time)``; returns its path."""
        now = _now()
        number = self._next_crl_number()
        builder = (x509.CertificateRevocationListBuilder()
                   .issuer_name(self.cert.subject)
                   .last_update(now - dt.timedelta(minutes=5))
                   .next_update(now + dt.timedelta(days=days))
                   .add_extension(x509.CRLNumber(number), critical=False))
        for serial, when in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build())
        crl = builder.sign(self.key, hashes.SHA256())
        write_public(self.crl_path, crl.public_bytes(serialization.Encoding.PEM))
        write_public(self.directory / "crl_number", str(number))
        return self.crl_path


def init_ca(directory: Path, name: str = "edgepost site CA", days: int = CA_DAYS) -> tuple[SiteCA, bool]:
    """Create the CA in ``directory`` unless one is there; returns (ca, created).

    Idempotent: an existing CA is loaded, never replaced, because every issued identity
    and every broker trusts it.
    """
    if (directory / "ca.key").exists():
        return load_ca(directory), False
    private_dir(directory)
    key = new_key()
    now = _now()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, key_encipherment=False,
                                     content_commitment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=True, crl_sign=True,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_secret(directory / "ca.key", key_pem(key, _passphrase()))
    write_public(directory / "ca.pem", cert_pem(cert))
    ca = SiteCA(directory, key, cert)
    ca.write_crl([])  # mosquitto's crlfile must exist and be valid from the start
    return ca, True


def load_ca(directory: Path) -> SiteCA:
    """Load the CA; refuses a key file or folder that others can read."""
    key_path = directory / "ca.key"
    if not key_path.exists():
        raise CAError(f"no site CA in {directory}: run `edgepost provision ca init` first")
    try:
        check_private(directory)
        check_private(key_path)
    except InsecurePermissionsError as exc:
        raise CAError(str(exc)) from None
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), _passphrase())
    except TypeError:
        raise CAError(f"the CA key is encrypted: set {ENV_PASSPHRASE}") from None
    except ValueError:
        # The message of cryptography's error could in theory echo key material: keep ours.
        raise CAError(f"cannot decrypt the CA key in {directory} (wrong {ENV_PASSPHRASE}?)") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CAError(f"{key_path} is not an ECDSA key")
    cert = x509.load_pem_x509_certificate((directory / "ca.pem").read_bytes())
    return SiteCA(directory, key, cert)


def load_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())
