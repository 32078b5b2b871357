"""Fixtures of the adapter tests: a real CA with a signing certificate, the sandbox servers.

The PKI (``adapter_pki.py``) comes from ``trust.services._ca`` (root + issuing intermediate); the EE population
register's sign certificate is issued by it and its key lives in a ``SoftToken``.
Servers run on free loopback ports and are stopped by the fixtures' finalizers.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Iterator

import pytest

from trust.services import CertificateAuthority

from tests.adapters.adapter_pki import ISSUED, PIN, Pki, make_adapter_pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pki]:
    base = tmp_path_factory.mktemp("adapter-pki")
    ca = CertificateAuthority.init(base / "ca", instance="EE", pin=PIN, now=ISSUED, intermediate=True)
    try:
        yield make_adapter_pki(base, ca)
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
