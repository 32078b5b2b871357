"""OCSP and RFC 3161 timestamp responses from outside, from sild's own responder and TSA, mutated.

A peer's gateway hands over OCSP responses inside every message; a TSA answers over plain
HTTP. DER has lengths everywhere, so byte mutations reach the ASN.1 decoder's corners
(lengths past the end, indefinite lengths, wrong tags) as well as the checks after it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import given, strategies as st
from cryptography import x509

from trust.evidence import verify_timestamp_token
from trust.evidence._timestamp import build_request, parse_reply
from trust.keys import DigestAlgorithm, KeyType
from trust.pki import verify_ocsp_response
from trust.pki._ocsp import build_ocsp_request
from trust.protocol import SecurityServerId
from trust.services import CertificateAuthority
from trust.services._bundle import ocsp_responder, timestamp_authority

from tests.fuzz.support import Seeds, answers, mutated

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
DATA = b"evidence"


@dataclass(frozen=True)
class Answers:
    cert: x509.Certificate
    issuer: x509.Certificate
    tsa_cert: x509.Certificate
    ocsp: Seeds
    replies: Seeds
    tokens: Seeds


@pytest.fixture(scope="module")
def answers_of(new_ca: Callable[..., CertificateAuthority]) -> Answers:
    ca = new_ca(now=NOW - dt.timedelta(days=1), intermediate=True)
    cert = ca.issue_auth(SecurityServerId("EE", "GOV", "70000001", "gw1"), now=NOW, key_type=KeyType.EC_P256).cert
    responder, tsa = ocsp_responder(ca), timestamp_authority(ca)
    ocsp = [responder.respond(build_ocsp_request(cert, ca.issuing_cert, nonce=nonce), NOW) for nonce in (None, b"n")]
    replies = [tsa.respond(build_request(alg.digest(DATA), alg, nonce=7), NOW)
               for alg in (DigestAlgorithm.SHA256, DigestAlgorithm.SHA512)]
    tokens = [parse_reply(reply) for reply in replies]
    return Answers(cert, ca.issuing_cert, ca.tsa_cert, Seeds("OCSP responses", ocsp), Seeds("TSA replies", replies),
                   Seeds("timestamp tokens", tokens))


_DER_TOKENS = (b"\x30\x80", b"\x30\x84\xff\xff\xff\xff", b"\x00\x00", b"\x02\x01\x00", b"\x05\x00", b"\xa0\x00",
               b"\x06\x00", b"\x18\x0f99991231235959Z", b"\x17\x0d000000000000Z", b"\x03\x01\x07")


@given(data=st.data())
def test_ocsp_responses_verify_or_answer_an_ocsp_error(answers_of: Answers, data: st.DataObject) -> None:
    response = data.draw(mutated(answers_of.ocsp, tokens=_DER_TOKENS))
    answers(verify_ocsp_response, response, answers_of.cert, answers_of.issuer, at=NOW, freshness_seconds=600)


@given(data=st.data())
def test_timestamp_replies_parse_or_answer_a_timestamp_error(answers_of: Answers, data: st.DataObject) -> None:
    answers(parse_reply, data.draw(mutated(answers_of.replies, tokens=_DER_TOKENS)))


@given(data=st.data())
def test_timestamp_tokens_verify_or_answer_a_timestamp_error(answers_of: Answers, data: st.DataObject) -> None:
    token = data.draw(mutated(answers_of.tokens, tokens=_DER_TOKENS))
    answers(verify_timestamp_token, token, data=DATA, tsa_certs=[answers_of.tsa_cert], at=NOW)


# -- what the properties found: damaged DER that escaped as another exception -----------------

RSA_ENCRYPTION = bytes.fromhex("06092a864886f70d010101")  # OID 1.2.840.113549.1.1.1 in DER
SHA256_WITH_RSA = bytes.fromhex("06092a864886f70d01010b")


def _damaged(data: bytes, at: int, value: int = 0) -> bytes:
    assert 0 <= at < len(data)
    return data[:at] + bytes([value]) + data[at + 1:]


def test_a_reply_whose_certificate_key_is_damaged_is_malformed(answers_of: Answers) -> None:
    from trust.evidence._timestamp import TimestampMalformed

    reply = answers_of.replies[0]
    key = reply.find(RSA_ENCRYPTION)
    assert key > 0
    # the key's algorithm OID made unknown (was KeyError), the length of its BIT STRING made 0 (was IndexError)
    for damaged in (_damaged(reply, key + 2), _damaged(reply, key + len(RSA_ENCRYPTION) + 3)):
        with pytest.raises(TimestampMalformed):
            parse_reply(damaged)


def test_an_ocsp_response_with_an_unknown_algorithm_is_malformed(answers_of: Answers) -> None:
    from trust.pki._ocsp import OcspMalformed

    response = answers_of.ocsp[0]
    # the signature algorithm, the embedded responder certificate's key type (cryptography's
    # UnsupportedAlgorithm escaped before)
    for oid in (SHA256_WITH_RSA, RSA_ENCRYPTION):
        at = response.find(oid)
        assert at > 0
        with pytest.raises(OcspMalformed):
            verify_ocsp_response(_damaged(response, at + 2), answers_of.cert, answers_of.issuer, at=NOW,
                                 freshness_seconds=600)


def test_a_certificate_of_another_x509_version_is_refused_as_a_sild_error(answers_of: Answers) -> None:
    """cryptography's InvalidVersion is not a ValueError: it escaped every reader that caught only that."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from federation.model import load_certificate
    from trust.errors import SildError
    from trust.pki import load_certificates

    der = answers_of.tsa_cert.public_bytes(Encoding.DER)
    version = bytes.fromhex("a003020102")  # [0] EXPLICIT INTEGER 2: X.509 v3
    assert der.count(version) == 1
    v2 = der.replace(version, bytes.fromhex("a003020101"))
    for read in (load_certificates, load_certificate):
        with pytest.raises(SildError):
            read(v2)
    token = answers_of.tokens[1]
    assert token.count(der) == 1  # the token embeds the TSA certificate
    result = answers(verify_timestamp_token, token.replace(der, v2), data=DATA, tsa_certs=[answers_of.tsa_cert], at=NOW)
    assert not isinstance(result, Exception)  # a damaged embedded copy is skipped; the trusted one is used
