"""The tests' one certificate builder: test CAs, leaf certificates and their PEM files.

Tests need real X.509 certificates with exactly the properties the code under test
checks (key usages, extended key usages, names in an X-Road certificate profile, an IP
address for TLS to 127.0.0.1, validity around a given moment). Before this module each
test area had its own copy of ``x509.CertificateBuilder()`` chains; now they all call
:func:`issue` (or :func:`self_signed`), and :class:`TestCa` is the small CA made from it.

This is test scaffolding made with ``cryptography``, not sild's CA: tests that need
sild's own CA (OCSP, TSA, issuing from CSRs) use ``trust.services.CertificateAuthority``.
Nothing here reads the clock: every validity is given by the caller.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from trust.keys import KeyType, SoftToken

PrivateKey = Union[ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey]

PIN = "1234"
"""PIN of the soft tokens :func:`make_gateway_identity` creates."""

_ATTRIBUTES = {"C": NameOID.COUNTRY_NAME, "O": NameOID.ORGANIZATION_NAME, "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
               "CN": NameOID.COMMON_NAME, "serialNumber": NameOID.SERIAL_NUMBER}
_USAGES = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement",
           "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")


def name(*pairs: tuple[x509.ObjectIdentifier, str], **parts: str) -> x509.Name:
    """A distinguished name, in the given order: ``name(CN="x")`` or ``name((NameOID.COMMON_NAME, "x"))``."""
    attributes = [x509.NameAttribute(oid, value) for oid, value in pairs]
    attributes += [x509.NameAttribute(_ATTRIBUTES[k], v) for k, v in parts.items()]
    return x509.Name(attributes)


def new_key(kind: str = "ec") -> PrivateKey:
    """A fresh EC P-256 (``"ec"``) or RSA 2048 (``"rsa"``) private key."""
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def builder(
    subject: x509.Name, public_key: Any, issuer: x509.Name, *,
    not_before: dt.datetime, not_after: dt.datetime, serial: int | None = None,
    ca: bool | None = None, path_length: int | None = None,
    key_usage: Collection[str] | None = None, eku: Sequence[x509.ObjectIdentifier] = (), eku_critical: bool = False,
    san_ips: Sequence[str] = (), subject_key_id: bool = False, authority_key: Any = None,
) -> x509.CertificateBuilder:
    """An unsigned certificate; see :func:`issue` for the extensions each argument adds."""
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
         .serial_number(x509.random_serial_number() if serial is None else serial)
         .not_valid_before(not_before).not_valid_after(not_after))
    if ca is not None:
        b = b.add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
    if key_usage is not None:
        unknown = set(key_usage) - set(_USAGES)
        assert not unknown, f"unknown key usages {unknown}"
        b = b.add_extension(x509.KeyUsage(**{u: u in key_usage for u in _USAGES}), critical=True)
    if subject_key_id:
        b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    if authority_key is not None:
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(authority_key), critical=False)
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=eku_critical)
    if san_ips:
        b = b.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip)) for ip in san_ips]), critical=False)
    return b


def issue(subject: x509.Name, public_key: Any, issuer: x509.Name, issuer_key: Any, **options: Any) -> x509.Certificate:
    """A certificate for ``public_key`` signed (SHA-256) by ``issuer_key`` under ``issuer``.

    Options (keywords): ``not_before``/``not_after`` (required); ``serial`` (random when
    omitted); ``ca`` adds critical BasicConstraints (``path_length`` its limit), omitted
    when None; ``key_usage``, the names of the usages set, adds a critical KeyUsage;
    ``eku`` adds ExtendedKeyUsage (critical when ``eku_critical``); ``san_ips`` adds
    IP subject alternative names; ``subject_key_id`` adds the subject key identifier and
    ``authority_key``, the issuer's public key, the authority key identifier.
    """
    return builder(subject, public_key, issuer, **options).sign(issuer_key, hashes.SHA256())


def self_signed(key: Any, subject: x509.Name, **options: Any) -> x509.Certificate:
    """A self-signed certificate of ``key`` (options as for :func:`issue`)."""
    return issue(subject, key.public_key(), subject, key, **options)


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def key_pem(key: Any, password: bytes | None = None) -> bytes:
    """PKCS#8 PEM, encrypted when a password is given."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption())
    return bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption))


def write_tls_files(directory: Path, stem: str, cert: x509.Certificate, key: Any,
                    password: bytes | None = None) -> tuple[Path, Path]:
    """``<stem>.pem`` and ``<stem>.key`` (PKCS#8) in ``directory``; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
    cert_path.write_bytes(pem(cert))
    key_path.write_bytes(key_pem(key, password))
    return cert_path, key_path


@dataclass
class TestCa:
    """A self-signed EC P-256 CA (keyCertSign + cRLSign) that issues leaf certificates."""

    __test__ = False  # a helper, not a test class

    key: Any
    cert: x509.Certificate

    @classmethod
    def create(cls, common_name: str, now: dt.datetime, *, days: int = 3650, not_before: dt.datetime | None = None,
               path_length: int | None = None, subject_key_id: bool = False) -> "TestCa":
        """Valid from ``not_before`` (default: a day before ``now``) to ``now`` plus ``days``."""
        key = new_key()
        subject = name(CN=common_name)
        cert = self_signed(key, subject, not_before=not_before or now - dt.timedelta(days=1),
                           not_after=now + dt.timedelta(days=days), ca=True, path_length=path_length,
                           key_usage={"key_cert_sign", "crl_sign"}, subject_key_id=subject_key_id)
        return cls(key, cert)

    def leaf(self, subject: x509.Name, public_key: Any, **options: Any) -> x509.Certificate:
        """A certificate issued by this CA (options as for :func:`issue`)."""
        return issue(subject, public_key, self.cert.subject, self.key, **options)

    def issue(self, public_key: Any, subject: x509.Name, now: dt.datetime, *, auth: bool) -> x509.Certificate:
        """An X-Road gateway certificate valid for a year: auth (TLS client and server) or sign (non-repudiation)."""
        if auth:
            return self.leaf(subject, public_key, not_before=now - dt.timedelta(days=1),
                             not_after=now + dt.timedelta(days=365), key_usage={"digital_signature", "key_encipherment"},
                             eku=[ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH])
        return self.leaf(subject, public_key, not_before=now - dt.timedelta(days=1),
                         not_after=now + dt.timedelta(days=365), key_usage={"content_commitment"})

    def tls_server(self, directory: Path, stem: str, common_name: str, *, not_before: dt.datetime,
                   not_after: dt.datetime, ip: str = "127.0.0.1") -> tuple[Path, Path]:
        """A server certificate for ``ip`` with an unencrypted key, written as ``<stem>.pem``/``.key``."""
        key = new_key()
        cert = self.leaf(name(CN=common_name), key.public_key(), not_before=not_before, not_after=not_after,
                         san_ips=[ip])
        return write_tls_files(directory, stem, cert, key)

    @property
    def pem(self) -> bytes:
        return pem(self.cert)


def make_gateway_identity(ca: TestCa, directory: Path, server_text: str, now: dt.datetime) -> dict[str, Path]:
    """Auth key/cert (TLS) and sign key/cert for one gateway ``INSTANCE/CLASS/CODE/SERVER``; returns file paths.

    The keys live in a :class:`SoftToken` (PIN :data:`PIN`); the auth certificate carries
    the X-Road server identity in its serialNumber, the sign certificate the member.
    """
    inst, cls_, code, server = server_text.split("/")
    token = SoftToken(directory / "token", PIN)
    auth_pub = token.generate("auth", KeyType.EC_P256)
    sign_pub = token.generate("sign", KeyType.EC_P256)
    auth = ca.issue(auth_pub, name(C=inst, O=cls_, CN=code, serialNumber=f"{inst}/{server}/{cls_}"), now, auth=True)
    sign = ca.issue(sign_pub, name(C=inst, O=cls_, CN=code), now, auth=False)
    out = {"token": directory / "token", "auth_cert": directory / "auth.pem", "sign_cert": directory / "sign.pem"}
    out["auth_cert"].write_bytes(pem(auth))
    out["sign_cert"].write_bytes(pem(sign))
    return out


def self_signed_tls_files(directory: Path, *, stem: str, common_name: str, not_before: dt.datetime,
                          not_after: dt.datetime, ip: str | None = None) -> tuple[Path, Path, x509.Certificate]:
    """A self-signed EC certificate (with ``ip`` as subject alternative name if given) and its key as PEM files."""
    key = new_key()
    cert = self_signed(key, name(CN=common_name), not_before=not_before, not_after=not_after,
                       san_ips=[ip] if ip else [])
    cert_path, key_path = write_tls_files(directory, stem, cert, key)
    return cert_path, key_path, cert
