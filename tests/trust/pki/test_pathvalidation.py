"""Certificate validation against a TrustPolicy: every failure has its own error."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from trust.pki import TrustPolicy
from trust.services import CertificateAuthority, RevocationReason
from trust.services._bundle import ocsp_responder
from trust.protocol import MemberId, SecurityServerId
from trust.keys import KeyType
from trust.pki import verify_ocsp_response
from trust.pki._ocsp import build_ocsp_request
from trust.services import OcspResponder
from trust.pki import Purpose, ValidationCache, validate_certificate
from trust.pki._pathvalidation import (
    CertificateExpired, CertificateNotYetValid, CertificateRevoked, CertificateStale,
    CertificateStatusUnknown, OcspInvalid, OcspMissing, UnknownIssuer, WrongKeyUsage,
)

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
PIN = "test-pin"
MEMBER = MemberId("EE", "GOV", "70000001")
SERVER = SecurityServerId("EE", "GOV", "70000001", "gw1")


@pytest.fixture(scope="module")
def ca(new_ca: Callable[..., CertificateAuthority]) -> CertificateAuthority:
    return new_ca(now=NOW - dt.timedelta(days=30), intermediate=True, key_type=KeyType.EC_P256)


@pytest.fixture(scope="module")
def stranger(new_ca: Callable[..., CertificateAuthority]) -> CertificateAuthority:
    return new_ca(now=NOW - dt.timedelta(days=30), key_type=KeyType.EC_P256)


@pytest.fixture(scope="module")
def responder(ca: CertificateAuthority) -> OcspResponder:
    return ocsp_responder(ca)


@pytest.fixture(scope="module")
def policy(ca: CertificateAuthority) -> TrustPolicy:
    return TrustPolicy(instance="EE", cas=(ca.approved_ca(),), ocsp_freshness_seconds=600)


def _ocsp(responder: OcspResponder, ca: CertificateAuthority, cert, at: dt.datetime = NOW) -> bytes:
    return responder.respond(build_ocsp_request(cert, ca.issuing_cert), at)


def test_valid_auth_and_sign(ca: CertificateAuthority, responder: OcspResponder, policy: TrustPolicy) -> None:
    auth = ca.issue_auth(SERVER, now=NOW - dt.timedelta(days=1)).cert
    verified = validate_certificate(auth, policy, at=NOW, ocsp=_ocsp(responder, ca, auth), purpose="auth")
    assert verified.purpose is Purpose.AUTH and verified.ca.name == policy.cas[0].name
    assert verified.chain == (ca.intermediate_cert, ca.root_cert)
    assert verified.ocsp.serial == auth.serial_number
    sign = ca.issue_sign(MEMBER, now=NOW - dt.timedelta(days=1)).cert
    assert validate_certificate(sign, policy, at=NOW, ocsp=_ocsp(responder, ca, sign), purpose=Purpose.SIGN).cert == sign


def test_time_checks(ca: CertificateAuthority, responder: OcspResponder, policy: TrustPolicy) -> None:
    cert = ca.issue_sign(MEMBER, now=NOW, validity_days=10).cert
    with pytest.raises(CertificateNotYetValid):
        validate_certificate(cert, policy, at=NOW - dt.timedelta(days=1), ocsp=None, purpose="sign")
    with pytest.raises(CertificateExpired):
        validate_certificate(cert, policy, at=NOW + dt.timedelta(days=11), ocsp=None, purpose="sign")
    with pytest.raises(Exception, match="timezone"):
        validate_certificate(cert, policy, at=NOW.replace(tzinfo=None), ocsp=None, purpose="sign")


def test_unknown_issuer(stranger: CertificateAuthority, policy: TrustPolicy) -> None:
    cert = stranger.issue_sign(MEMBER, now=NOW - dt.timedelta(days=1)).cert
    with pytest.raises(UnknownIssuer):
        validate_certificate(cert, policy, at=NOW, ocsp=None, purpose="sign")


def test_same_names_other_key_is_unknown_issuer(ca: CertificateAuthority, tmp_path, policy: TrustPolicy) -> None:
    # a CA with the very same names but its own keys must not pass as the approved one
    twin = CertificateAuthority.init(tmp_path / "twin", instance="EE", pin=PIN, now=NOW - dt.timedelta(days=30),
                                     intermediate=True, key_type=KeyType.EC_P256)
    try:
        assert twin.issuing_cert.subject == ca.issuing_cert.subject
        cert = twin.issue_sign(MEMBER, now=NOW - dt.timedelta(days=1)).cert
        with pytest.raises(UnknownIssuer):
            validate_certificate(cert, policy, at=NOW, ocsp=None, purpose="sign")
    finally:
        twin.close()


def test_wrong_key_usage(ca: CertificateAuthority, responder: OcspResponder, policy: TrustPolicy) -> None:
    auth = ca.issue_auth(SERVER, now=NOW - dt.timedelta(days=1)).cert
    sign = ca.issue_sign(MEMBER, now=NOW - dt.timedelta(days=1)).cert
    with pytest.raises(WrongKeyUsage, match="nonRepudiation"):
        validate_certificate(auth, policy, at=NOW, ocsp=_ocsp(responder, ca, auth), purpose="sign")
    with pytest.raises(WrongKeyUsage, match="clientAuth"):
        validate_certificate(sign, policy, at=NOW, ocsp=_ocsp(responder, ca, sign), purpose="auth")
    # the TSA certificate has digitalSignature but an EKU without clientAuth
    tsa_policy = TrustPolicy(instance="EE", cas=(ca.approved_ca(),))
    with pytest.raises(WrongKeyUsage):
        validate_certificate(ca.tsa_cert, tsa_policy, at=NOW, ocsp=None, purpose="auth")


def test_ocsp_outcomes(ca: CertificateAuthority, responder: OcspResponder, policy: TrustPolicy,
                       stranger: CertificateAuthority) -> None:
    cert = ca.issue_auth(SERVER, now=NOW - dt.timedelta(days=1)).cert
    with pytest.raises(OcspMissing):
        validate_certificate(cert, policy, at=NOW, ocsp=None, purpose="auth")
    response = _ocsp(responder, ca, cert)
    with pytest.raises(CertificateStale):
        validate_certificate(cert, policy, at=NOW + dt.timedelta(seconds=601), ocsp=response, purpose="auth")
    with pytest.raises(OcspInvalid):
        validate_certificate(cert, policy, at=NOW, ocsp=b"junk", purpose="auth")
    other = ca.issue_auth(SERVER, now=NOW - dt.timedelta(days=1)).cert
    with pytest.raises(OcspInvalid):
        validate_certificate(other, policy, at=NOW, ocsp=response, purpose="auth")
    foreign = OcspResponder(ca.db, ca.issuing_cert, stranger.token, "ocsp", stranger.ocsp_cert)
    with pytest.raises(OcspInvalid, match="authorised"):
        validate_certificate(cert, policy, at=NOW, ocsp=foreign.respond(build_ocsp_request(cert, ca.issuing_cert), NOW),
                             purpose="auth")
    ca.revoke(cert, at=NOW - dt.timedelta(minutes=1), reason=RevocationReason.KEY_COMPROMISE)
    with pytest.raises(CertificateRevoked, match="keyCompromise"):
        validate_certificate(cert, policy, at=NOW, ocsp=_ocsp(responder, ca, cert), purpose="auth")


def test_unknown_status(ca: CertificateAuthority, policy: TrustPolicy, tmp_path) -> None:
    from trust.services._ca_db import CaDatabase

    cert = ca.issue_sign(MEMBER, now=NOW - dt.timedelta(days=1)).cert
    empty = CaDatabase(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        blind = OcspResponder(empty, ca.issuing_cert, ca.token, "ocsp", ca.ocsp_cert)
        with pytest.raises(CertificateStatusUnknown):
            validate_certificate(cert, policy, at=NOW, ocsp=_ocsp(blind, ca, cert), purpose="sign")
    finally:
        empty.close()


def test_verified_status_and_cache(ca: CertificateAuthority, responder: OcspResponder, policy: TrustPolicy) -> None:
    cert = ca.issue_sign(MEMBER, now=NOW - dt.timedelta(days=1)).cert
    response = _ocsp(responder, ca, cert)
    status = verify_ocsp_response(response, cert, ca.issuing_cert, at=NOW, freshness_seconds=600)
    assert validate_certificate(cert, policy, at=NOW, ocsp=status, purpose="sign").ocsp is status
    other = ca.issue_sign(MEMBER, now=NOW - dt.timedelta(days=1)).cert
    with pytest.raises(OcspInvalid):
        validate_certificate(other, policy, at=NOW, ocsp=status, purpose="sign")

    cache = ValidationCache(max_entries=4)
    first = validate_certificate(cert, policy, at=NOW, ocsp=response, purpose="sign", cache=cache)
    second = validate_certificate(cert, policy, at=NOW + dt.timedelta(seconds=10), ocsp=response, purpose="sign",
                                  cache=cache)
    assert second.ocsp is first.ocsp  # the OCSP signature was not checked again
    # cached entries still get the time checks
    with pytest.raises(CertificateStale):
        validate_certificate(cert, policy, at=NOW + dt.timedelta(seconds=700), ocsp=response, purpose="sign",
                             cache=cache)
    # and a different policy is a different entry: the cached chain does not leak across policies
    with pytest.raises(UnknownIssuer):
        validate_certificate(cert, TrustPolicy(instance="EE"), at=NOW, ocsp=response, purpose="sign", cache=cache)


def test_intermediate_ocsp_when_asked(ca: CertificateAuthority, responder: OcspResponder, policy: TrustPolicy) -> None:
    """X-Road checks OCSP for every certificate but the root; ``chain_ocsp`` does the same."""
    cert = ca.issue_sign(MEMBER, now=NOW - dt.timedelta(days=1)).cert
    leaf = _ocsp(responder, ca, cert)
    inter = responder.respond(build_ocsp_request(ca.intermediate_cert, ca.root_cert), NOW)
    verified = validate_certificate(cert, policy, at=NOW, ocsp=leaf, purpose="sign", chain_ocsp=[leaf, inter])
    assert verified.chain[0] == ca.intermediate_cert
    with pytest.raises(OcspMissing, match="intermediate"):
        validate_certificate(cert, policy, at=NOW, ocsp=leaf, purpose="sign", chain_ocsp=[leaf])
    # an intermediate revoked later: checks at a moment after that fail
    later = NOW + dt.timedelta(days=11)
    ca.revoke(ca.intermediate_cert, at=NOW + dt.timedelta(days=10), reason=RevocationReason.CA_COMPROMISE)
    leaf_later = _ocsp(responder, ca, cert, later)
    inter_later = responder.respond(build_ocsp_request(ca.intermediate_cert, ca.root_cert), later)
    with pytest.raises(CertificateRevoked, match="cACompromise"):
        validate_certificate(cert, policy, at=later, ocsp=leaf_later, purpose="sign", chain_ocsp=[inter_later])
    # without chain_ocsp only the end entity is checked
    assert validate_certificate(cert, policy, at=later, ocsp=leaf_later, purpose="sign").cert == cert
