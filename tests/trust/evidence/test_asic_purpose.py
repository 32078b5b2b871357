"""The declared purpose in evidence (issue 20): part of the signed message.xml, shown by the
verifier, and any change to it breaks the signature."""

from __future__ import annotations

import re

import pytest

from tests.support.evidence_pki import EvidencePki
from tests.trust.evidence import test_asic as asic
from trust.errors import SildError
from trust.evidence import verify_container, write_container
from trust.protocol import SILD_NS
from trust.xades import SignedPart

AT, _policies, _signed = asic.AT, asic._policies, asic._signed
pki, soap = asic.pki, asic.soap  # the same module-scoped fixtures: a PKI and X-Road's SOAP message

REST_REQUEST = (
    b"GET\r\n/r1/DEV/COM/1234/TestService/mock1\r\nX-Sild-Purpose:tax-assessment\r\n"
    b"x-road-client:DEV/COM/4321/TestClient\r\nx-road-id:DEV-1\r\nx-road-request-id:78b890f3"
)


def _with_purpose(message: bytes, code: str) -> bytes:
    close = re.search(rb"</([A-Za-z_][\w.-]*:)?Header>", message)
    assert close is not None
    element = f'<sild:purpose xmlns:sild="{SILD_NS}">{code}</sild:purpose>'.encode()
    return message[:close.start()] + element + message[close.start():]


def _container(pki: EvidencePki, message: bytes, signed: bytes | None = None) -> bytes:
    signature = _signed(pki, "client", [SignedPart("/message.xml", data=signed or message)])
    return write_container(message=message, signature_xml=signature, created=AT)


def test_soap_purpose_verifies_with_the_message_and_is_shown(pki: EvidencePki, soap: bytes) -> None:
    message = _with_purpose(soap, "tax-assessment")
    verified = verify_container(_container(pki, message), _policies(pki))
    assert verified.identity.purpose == "tax-assessment"
    assert "declared purpose: tax-assessment (signed, in the message)" in verified.describe()


def test_rest_purpose_verifies_with_the_header_part(pki: EvidencePki) -> None:
    verified = verify_container(_container(pki, REST_REQUEST), _policies(pki))
    assert verified.identity.purpose == "tax-assessment"


@pytest.mark.parametrize("change", ["swap", "strip"])
def test_a_changed_purpose_breaks_the_signature(pki: EvidencePki, soap: bytes, change: str) -> None:
    signed = _with_purpose(soap, "tax-assessment")
    shown = _with_purpose(soap, "marketing") if change == "swap" else soap
    with pytest.raises(SildError) as info:
        verify_container(_container(pki, shown, signed=signed), _policies(pki))
    assert info.value.code == "trust.signature.digest_mismatch"


def test_container_without_purpose_shows_none(pki: EvidencePki, soap: bytes) -> None:
    verified = verify_container(_container(pki, soap), _policies(pki))
    assert verified.identity.purpose is None
    assert not any(line.startswith("declared purpose") for line in verified.describe())
