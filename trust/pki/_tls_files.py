"""A management port's TLS: a self-signed certificate made on first use, and clients that pin it.

The gateway's admin port and the authority's management port carry API keys, so they
speak HTTPS; like X-Road's management UI certificate, the default one needs no CA. It
is an ECDSA P-256 key and a self-signed certificate in two files (the key a plain PEM
file of mode 0600, as X-Road keeps its UI key, because the TLS stack reads a file and
the key is no X-Road identity), naming every host and address clients use as
subjectAltName entries, so host-name checks pass. Clients trust exactly that file
(:func:`pinned_client_context`), which also pins an operator's CA-issued certificate.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path
from typing import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from trust.infra import write_atomic

VALID_DAYS = 3650  # pinned, not judged by a browser's 398-day rule
WILDCARDS = ("", "0.0.0.0", "::")


def _general_names(names: Iterable[str]) -> list[x509.GeneralName]:
    out: list[x509.GeneralName] = []
    for text in dict.fromkeys(n.strip() for n in names):
        if text in WILDCARDS:
            continue
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(text)))
        except ValueError:
            out.append(x509.DNSName(text))
    return out


def _covers(cert: Path, names: list[x509.GeneralName]) -> bool:
    try:
        loaded = x509.load_pem_x509_certificate(cert.read_bytes())
        have = set(loaded.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except (ValueError, x509.ExtensionNotFound):
        return False
    return set(names) <= have


def ensure_self_signed_tls(cert: Path, key: Path, *, names: Iterable[str], common_name: str, organisation: str,
                           now: dt.datetime) -> bool:
    """Make the pair unless it exists and names every one of ``names``; True when made.

    A pair that no longer names every address a client uses (a listen address changed,
    the directory moved to another host) is made again; wildcard addresses are skipped.
    """
    wanted = _general_names(names)
    if cert.is_file() and key.is_file() and _covers(cert, wanted):
        return False
    private = ec.generate_private_key(ec.SECP256R1())
    write_atomic(key, private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()), mode=0o600)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation)])
    certificate = (x509.CertificateBuilder()
                   .subject_name(subject).issuer_name(subject)
                   .public_key(private.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(minutes=5))
                   .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.SubjectAlternativeName(wanted), critical=False)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                   .sign(private, hashes.SHA256()))
    write_atomic(cert, certificate.public_bytes(serialization.Encoding.PEM))
    return True


def file_server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A TLS 1.2+ server context from PEM files (``OSError``/``ssl.SSLError`` when they do not fit)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert), str(key))
    return context


def pinned_client_context(cert: Path) -> ssl.SSLContext:
    """A client context that trusts exactly the certificate(s) in ``cert``; host names are still checked.

    Partial-chain verification makes the file's leaf a trust anchor, so a self-signed
    certificate and an operator's CA-issued one are pinned alike.
    """
    context = ssl.create_default_context(cafile=str(cert))
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    return context
