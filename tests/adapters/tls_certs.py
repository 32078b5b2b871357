"""TLS files for the adapter's loopback servers: a CA, a server certificate for 127.0.0.1, a client certificate.

The layout the adapter tests expect (``<name>.pem``, ``<name>.key``, client keys encrypted
with ``client-key-pass``) made with the tests' one certificate builder
(:mod:`tests.support.pki`). TLS stacks check the wall clock, so these are valid from
2026 for ten years.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.support.pki import TestCa, name, new_key, pem, write_tls_files

START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
CLIENT_KEY_PASSWORD = b"client-key-pass"


def make_ca(tmp: Path, ca_name: str) -> tuple[Any, x509.Certificate]:
    """A CA (path length 0, subject key identifier) written as ``<ca_name>.pem``; returns its key and certificate."""
    ca = TestCa.create(ca_name, START, not_before=START, path_length=0, subject_key_id=True)
    (tmp / f"{ca_name}.pem").write_bytes(pem(ca.cert))
    return ca.key, ca.cert


def make_leaf(tmp: Path, leaf_name: str, ca: tuple[Any, x509.Certificate], server: bool) -> None:
    """A server (for 127.0.0.1, plain key) or client (encrypted key) certificate issued by ``ca``."""
    ca_key, ca_cert = ca
    key = new_key()
    cert = TestCa(ca_key, ca_cert).leaf(
        name(CN=leaf_name), key.public_key(), not_before=START, not_after=START + dt.timedelta(days=3650),
        ca=False, authority_key=ca_key.public_key(),
        eku=[ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH],
        san_ips=["127.0.0.1"] if server else [],
    )
    write_tls_files(tmp, leaf_name, cert, key, None if server else CLIENT_KEY_PASSWORD)
