"""Fixtures of the adapter tests: a real CA with a signing certificate, the sandbox servers.

The PKI comes from ``trust.services._ca`` (root + issuing intermediate); the EE population
register's sign certificate is issued by it and its key lives in a ``SoftToken``.
Servers run on free loopback ports and are stopped by the fixtures' finalizers.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from trust.services import CertificateAuthority
from trust.protocol import MemberId
from trust.keys import KeyType, SoftToken

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


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pki]:
    base = tmp_path_factory.mktemp("adapter-pki")
    ca = CertificateAuthority.init(base / "ca", instance="EE", pin=PIN, now=ISSUED, intermediate=True)
    try:
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
        yield Pki(
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
    finally:
        ca.close()


@pytest.fixture(scope="session")
def sandbox(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from adapters.sandbox_backends import start_all

    servers = start_all(tmp_path_factory.mktemp("sandbox"), pki.token, pki.rsa_key_id, pki.rsa_chain)
    try:
        yield servers
    finally:
        servers.close()


@pytest.fixture(scope="session")
def xmlsec1() -> str:
    """Debian's xmlsec1, installed on first use when missing (the Makefile installs it for CI)."""
    path = shutil.which("xmlsec1")
    if path is None:
        try:
            subprocess.run(["apt-get", "install", "-y", "-qq", "xmlsec1"], check=True, capture_output=True, timeout=300)
        except (OSError, subprocess.SubprocessError):
            subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True, timeout=300)
            subprocess.run(["apt-get", "install", "-y", "-qq", "xmlsec1"], check=False, capture_output=True,
                           timeout=300)
        path = shutil.which("xmlsec1")
    if path is None:
        pytest.fail("xmlsec1 is not installed and could not be installed (apt-get install xmlsec1)")
    return path
