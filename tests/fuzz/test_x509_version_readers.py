"""A certificate of another X.509 version at the readers that load operator or peer input.

cryptography raises ``InvalidVersion`` (not a ``ValueError``) for a certificate whose
version field is neither v1 nor v3. The fuzzing of trust's parsers found readers that
caught only ``ValueError``; these are the same pattern in the authority's registry, the
gateway's server configuration and its certificate import: each must answer its own
sild error, never let cryptography's exception escape.
"""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from trust.errors import SildError

NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.timezone.utc)
V3 = bytes.fromhex("a003020102")  # [0] EXPLICIT INTEGER 2: X.509 v3
V2 = bytes.fromhex("a003020101")


@pytest.fixture(scope="module")
def v2_der(new_ca) -> bytes:  # type: ignore[no-untyped-def]
    ca = new_ca(now=NOW)
    der = ca.root_cert.public_bytes(Encoding.DER)
    assert der.count(V3) == 1
    return der.replace(V3, V2)


def test_the_registry_refuses_it_as_an_invalid_certificate(v2_der: bytes) -> None:
    from federation.central.registry import load_der_certificate

    with pytest.raises(SildError, match="not an X.509 certificate"):
        load_der_certificate(v2_der, "the CA certificate")


def test_the_server_configuration_refuses_it_as_invalid_input(v2_der: bytes) -> None:
    from gateway.serverconf._parse import cert_sha256

    with pytest.raises(SildError):
        cert_sha256(v2_der)
