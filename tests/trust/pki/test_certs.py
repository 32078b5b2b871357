"""The strict certificate reader: what is handed over is read as exactly that, or refused with one error."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.x509.oid import NameOID

from tests.support.pki import der, name, new_key, pem, self_signed
from trust.pki import CertificateError, read_certificate, read_certificates


@pytest.fixture(scope="module")
def pair():
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    span = {"not_before": start, "not_after": start + dt.timedelta(days=365)}
    one = self_signed(new_key(), name((NameOID.COMMON_NAME, "one")), **span)
    two = self_signed(new_key(), name((NameOID.COMMON_NAME, "two")), **span)
    return one, two


def test_pem_and_der_read_as_the_same_certificate(pair) -> None:
    one, _ = pair
    assert read_certificate(pem(one)) == read_certificate(der(one)) == one


def test_a_pem_chain_keeps_its_order_and_one_certificate_is_demanded_where_asked(pair) -> None:
    one, two = pair
    assert read_certificates(pem(one) + pem(two)) == [one, two]
    with pytest.raises(CertificateError, match="expected one certificate, found 2"):
        read_certificate(pem(one) + pem(two))


def test_der_only_refuses_pem(pair) -> None:
    with pytest.raises(CertificateError, match="cannot parse"):
        read_certificate(pem(pair[0]), der_only=True)


@pytest.mark.parametrize("data", [b"", b"   ", b"not a certificate", b"\x30\x03\x02\x01\x05"])
def test_garbage_is_one_error(data: bytes) -> None:
    with pytest.raises(CertificateError):
        read_certificate(data)


def test_base64_is_not_guessed(pair) -> None:
    import base64

    with pytest.raises(CertificateError):
        read_certificate(base64.b64encode(der(pair[0])))


def test_an_unknown_version_is_a_certificate_error_not_invalid_version(pair) -> None:
    """cryptography raises ``InvalidVersion`` (no ``ValueError``) for a version field of 3; callers see one error."""
    data = bytearray(der(pair[0]))
    marker = bytes.fromhex("a003020102")  # [0] EXPLICIT INTEGER 2 (v3)
    at = data.index(marker)
    data[at + 4] = 3
    with pytest.raises(CertificateError):
        read_certificate(bytes(data))
