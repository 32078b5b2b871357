"""The adapter tests' PKI: sild's CA (root + issuing intermediate) and the population register's sign keys.

The EE population register's RSA and EC sign certificates are issued by the CA and
their keys imported into a ``SoftToken``; the ``pki`` fixture (``conftest.py``) makes
one per session with :func:`make_adapter_pki`. Every certificate is issued at
:data:`ISSUED`; verification happens a day later (:data:`VERIFY_AT`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from trust.keys import KeyType, SoftToken
from trust.protocol import MemberId
from trust.services import CertificateAuthority

# every certificate is issued at this moment; verification happens a day later
ISSUED = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
VERIFY_AT = ISSUED + dt.timedelta(days=1)
PIN = "adapter-test-pin"


@dataclass(frozen=True)
class Pki:
    directory: Path
    root: x509.Certificate
    intermediate: x509.Certificate
    token: SoftToken
    rsa_key_id: str
    rsa_chain: tuple[x509.Certificate, ...]
    ec_key_id: str
    ec_chain: tuple[x509.Certificate, ...]
    root_pem: Path
    intermediate_pem: Path


def _import(token: SoftToken, key_id: str, encrypted_pem: bytes) -> None:
    key = serialization.load_pem_private_key(encrypted_pem, password=PIN.encode())
    token.import_key(key_id, key)  # type: ignore[arg-type]


def make_adapter_pki(base: Path, ca: CertificateAuthority) -> Pki:
    """Issue the population register's sign certificates from ``ca`` and import their keys into a token under ``base``."""
    owner = MemberId("EE", "GOV", "70000002")
    rsa_issued = ca.issue_sign(owner, now=ISSUED, key_type=KeyType.RSA2048)
    ec_issued = ca.issue_sign(owner, now=ISSUED, key_type=KeyType.EC_P256)
    token = SoftToken(base / "token", PIN)
    assert rsa_issued.encrypted_key_pem and ec_issued.encrypted_key_pem
    _import(token, "population-sign", rsa_issued.encrypted_key_pem)
    _import(token, "population-sign-ec", ec_issued.encrypted_key_pem)
    intermediate = ca.intermediates[0]
    root_pem = base / "root.pem"
    root_pem.write_bytes(ca.root_cert.public_bytes(serialization.Encoding.PEM))
    intermediate_pem = base / "intermediate.pem"
    intermediate_pem.write_bytes(intermediate.public_bytes(serialization.Encoding.PEM))
    return Pki(
        directory=base,
        root=ca.root_cert,
        intermediate=intermediate,
        token=token,
        rsa_key_id="population-sign",
        rsa_chain=(rsa_issued.cert, intermediate),
        ec_key_id="population-sign-ec",
        ec_chain=(ec_issued.cert, intermediate),
        root_pem=root_pem,
        intermediate_pem=intermediate_pem,
    )
