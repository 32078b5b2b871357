"""The gateway's internal TLS certificate: what information systems see on the HTTPS IS port.

Like X-Road's internal TLS certificate it needs no CA: the key is made in the token on
first use and certified by itself (:func:`trust.pki.self_signed_certificate`, through
the Signer), and operators pin the certificate in their information systems.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from trust.keys import DigestAlgorithm, KeyType, Signer, SoftToken, write_atomic
from trust.pki import self_signed_certificate

from gateway.settings import NodeSettings

INTERNAL_KEY = "internal"


def make_self_signed(signer: Signer, key_id: str, subject: x509.Name, *, now: dt.datetime,
                     days: int = 3650) -> bytes:
    """A self-signed certificate (PEM) for ``key_id``, signed through the token.

    The gateway's *internal* TLS certificate (what information systems see on the
    HTTPS IS port, as X-Road's internal TLS certificate) needs no CA: operators pin it
    in their IS, as they do with X-Road's.
    """
    der = self_signed_certificate(signer, key_id, subject, not_before=now - dt.timedelta(minutes=5),
                                  not_after=now + dt.timedelta(days=days), digest=DigestAlgorithm.SHA256,
                                  extended_key_usage=["server_auth"])
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)


def ensure_internal_tls(directory: Path, *, pin: str, now: dt.datetime) -> Path:
    """The internal TLS key and self-signed certificate (created on first use)."""
    directory = Path(directory)
    path = directory / "certs" / "internal.pem"
    if path.is_file():
        return path
    settings = NodeSettings.load(directory)
    token = SoftToken(directory / "token", pin)
    if not token.has_key(INTERNAL_KEY):
        token.generate(INTERNAL_KEY, KeyType(settings.key_type))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, settings.server),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sild gateway internal TLS")])
    write_atomic(path, make_self_signed(token, INTERNAL_KEY, subject, now=now))
    return path
