"""TLS contexts for the gateway-to-gateway port, keys taken from a :class:`SoftToken`.

X-Road decides trust between gateways in the application, not in the TLS stack
(NOTES 7): the peer's auth certificate must chain to an approved CA, have a fresh
``good`` OCSP answer and be registered for the right server in the global
configuration. The stack only has to complete a mutual handshake and hand the peer
certificate over; the application then calls
:func:`trust.pki._pathvalidation.validate_certificate` on it.

What Python's ``ssl`` allows (researched for cheroot's builtin adapter):

* a **client** can accept any server certificate: ``CERT_NONE`` and no hostname
  check; ``getpeercert(binary_form=True)`` still returns the DER, which the
  application validates (:func:`peer_certificate`, :func:`httpx_peer_certificate`);
* a **server** cannot: the stdlib has no verify callback, a server with
  ``CERT_NONE`` never asks for a client certificate, and with ``CERT_OPTIONAL`` or
  ``CERT_REQUIRED`` OpenSSL aborts the handshake for a certificate it cannot chain.
  So :func:`server_context` requires a client certificate chaining to
  ``client_cas`` (the top and intermediate certificates of every approved CA of the
  own and federated instances, see :func:`trust_anchors`), which the application
  would demand anyway; everything else (OCSP, registration) is checked afterwards.
  When the approved CAs change, build a new context (or adapter) for new connections.

TLS 1.2 and 1.3 are enabled; for 1.2 the cipher list leads with X-Road's suites
(ECDHE with AES-256, including the CBC-SHA384 ones X-Road 7 still uses) so older
X-Road peers can connect. Private keys stay in the token's encrypted file and are
loaded by OpenSSL with the PIN; no key object leaves ``trust``.
"""

from __future__ import annotations

import os
import ssl
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NotRequired, TypedDict, Unpack

from cryptography import x509

from ._approved import TrustPolicy
from ._certs import cert_pem, certs_pem
from trust.errors import TrustError
from trust.keys import SoftToken

# TLS 1.2 suites: AEAD first, then X-Road's defaults (NOTES 7) for compatibility.
TLS12_CIPHERS = ":".join([
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES256-SHA384",
    "ECDHE-ECDSA-AES256-SHA384",
    "DHE-RSA-AES256-SHA256",
])


class TlsError(TrustError):
    code = "trust.tls.error"


@contextmanager
def _pem_file(certs: Sequence[x509.Certificate]) -> Iterator[Path]:
    """A private temporary PEM file (``load_cert_chain`` only takes paths)."""
    fd, name = tempfile.mkstemp(prefix="sild-chain-", suffix=".pem")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(certs_pem(certs))
        yield Path(name)
    finally:
        os.unlink(name)


def _base(purpose: int, token: SoftToken, key_id: str, cert_chain: Sequence[x509.Certificate],
          tls13: bool) -> ssl.SSLContext:
    if not cert_chain:
        raise TlsError("a TLS context needs the certificate (and its chain)")
    context = ssl.SSLContext(purpose)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.maximum_version = ssl.TLSVersion.TLSv1_3 if tls13 else ssl.TLSVersion.TLSv1_2
    context.set_ciphers(TLS12_CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION
    keyfile, pin = token.key_file(key_id)
    with _pem_file(cert_chain) as chain_path:
        try:
            context.load_cert_chain(str(chain_path), str(keyfile), password=pin)
        except ssl.SSLError as exc:
            raise TlsError(f"key {key_id!r} does not match the certificate: {exc.reason}") from exc
    return context


def trust_anchors(*policies: TrustPolicy) -> list[x509.Certificate]:
    """Top and intermediate certificates of every approved CA of ``policies``."""
    out: list[x509.Certificate] = []
    for policy in policies:
        for ca in policy.cas:
            for cert in (ca.top_cert, *ca.intermediates):
                if cert not in out:
                    out.append(cert)
    return out


def server_context(
    token: SoftToken,
    key_id: str,
    cert_chain: Sequence[x509.Certificate],
    *,
    client_cas: Iterable[x509.Certificate],
    tls13: bool = True,
) -> ssl.SSLContext:
    """Server side of the mutual-TLS port: a client certificate is required and must
    chain to ``client_cas``; the application validates it fully afterwards."""
    anchors = list(client_cas)
    if not anchors:
        raise TlsError("a mutual-TLS server needs the approved CA certificates to ask clients for")
    context = _base(ssl.PROTOCOL_TLS_SERVER, token, key_id, cert_chain, tls13)
    context.verify_mode = ssl.CERT_REQUIRED
    # intermediates of an approved CA are anchors in their own right
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    context.verify_flags &= ~ssl.VERIFY_X509_STRICT
    context.load_verify_locations(cadata=b"".join(cert_pem(c) for c in anchors).decode("ascii"))
    return context


def client_context(
    token: SoftToken,
    key_id: str,
    cert_chain: Sequence[x509.Certificate],
    *,
    tls13: bool = True,
) -> ssl.SSLContext:
    """Client side: presents the auth certificate, accepts any server certificate
    (no hostname check); validate :func:`peer_certificate` before sending anything."""
    context = _base(ssl.PROTOCOL_TLS_CLIENT, token, key_id, cert_chain, tls13)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def peer_certificate(sock: ssl.SSLSocket | ssl.SSLObject) -> x509.Certificate | None:
    der = sock.getpeercert(True)  # positional: httpcore hands out the C-level _ssl._SSLSocket
    return x509.load_der_x509_certificate(der) if der else None


def peer_certificate_from_environ(environ: dict[str, Any]) -> x509.Certificate | None:
    """The client certificate cheroot's builtin adapter put into the WSGI environ."""
    pem = environ.get("SSL_CLIENT_CERT")
    if not pem:
        return None
    return x509.load_pem_x509_certificate(str(pem).encode("ascii"))


def httpx_peer_certificate(response: Any) -> x509.Certificate | None:
    """The server certificate behind an ``httpx.Response`` (via httpcore's network stream)."""
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    ssl_object = stream.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    return peer_certificate(ssl_object)


class _ServerOptions(TypedDict):
    """:func:`server_context`'s keyword arguments (see there for the default)."""

    client_cas: Iterable[x509.Certificate]
    tls13: NotRequired[bool]


def cheroot_adapter(token: SoftToken, key_id: str, cert_chain: Sequence[x509.Certificate],
                    **server: Unpack[_ServerOptions]) -> Any:
    """A cheroot ``BuiltinSSLAdapter`` using :func:`server_context` (``server`` is what
    that takes besides the key); it passes the client certificate to the WSGI app as
    ``SSL_CLIENT_CERT``."""
    from cheroot.ssl.builtin import BuiltinSSLAdapter

    context = server_context(token, key_id, cert_chain, **server)
    keyfile, pin = token.key_file(key_id)
    with _pem_file(cert_chain) as chain_path:
        adapter = BuiltinSSLAdapter(str(chain_path), str(keyfile), private_key_password=pin)
    adapter.context = context
    return adapter
