"""PolicyAuthCheck: a peer's auth certificate decision is remembered only while its inputs hold."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from trust.protocol import XRoadFault
from gateway.signing import PolicyAuthCheck
from tests.support.evidence_pki import EvidencePki, make_pki
from tests.support.pki import name

T0 = dt.datetime(2027, 3, 1, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> EvidencePki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def auth_der(pki: EvidencePki) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = pki.issue(name(CN="peer gateway"), key.public_key(), key_usage={"digital_signature"},
                     eku=[ExtendedKeyUsageOID.CLIENT_AUTH])
    return cert.public_bytes(serialization.Encoding.DER)


def _cert(pki: EvidencePki, der: bytes):  # noqa: ANN202, ARG001 - a cryptography certificate
    from cryptography import x509

    return x509.load_der_x509_certificate(der)


def test_a_remembered_decision_ends_with_the_ocsp_freshness(pki: EvidencePki, auth_der: bytes) -> None:
    policy = pki.policy(freshness=600)
    check = PolicyAuthCheck(lambda instance, at: policy, decision_ttl=60)
    # fresh for 10 more seconds at T0 (thisUpdate + ocspFreshnessSeconds)
    ocsp = pki.ocsp(_cert(pki, auth_der), T0 - dt.timedelta(seconds=590))
    check.check(auth_der, [ocsp], instance=pki.instance, at=T0)
    check.check(auth_der, [ocsp], instance=pki.instance, at=T0 + dt.timedelta(seconds=5))  # still fresh
    with pytest.raises(XRoadFault) as info:  # within the 60 s, but the response is no longer fresh
        check.check(auth_der, [ocsp], instance=pki.instance, at=T0 + dt.timedelta(seconds=20))
    assert info.value.fault_code == "ssl_authentication_failed"


def test_a_new_trust_policy_means_a_new_decision(pki: EvidencePki, auth_der: bytes) -> None:
    current = {"policy": pki.policy()}
    check = PolicyAuthCheck(lambda instance, at: current["policy"], decision_ttl=60)
    ocsp = pki.ocsp(_cert(pki, auth_der), T0)
    check.check(auth_der, [ocsp], instance=pki.instance, at=T0)
    current["policy"] = dataclasses.replace(current["policy"], cas=())  # the CA is no longer approved
    with pytest.raises(XRoadFault, match="approved CA"):
        check.check(auth_der, [ocsp], instance=pki.instance, at=T0 + dt.timedelta(seconds=1))


def test_refusals_are_never_remembered(pki: EvidencePki, auth_der: bytes) -> None:
    policy = pki.policy()
    check = PolicyAuthCheck(lambda instance, at: policy, decision_ttl=60)
    revoked = pki.ocsp(_cert(pki, auth_der), T0, revoked=True)
    for _ in range(2):
        with pytest.raises(XRoadFault, match="revoked"):
            check.check(auth_der, [revoked], instance=pki.instance, at=T0)
    good = pki.ocsp(_cert(pki, auth_der), T0)
    check.check(auth_der, [good], instance=pki.instance, at=T0)
    with pytest.raises(XRoadFault, match="no OCSP"):
        check.check(auth_der, [], instance=pki.instance, at=T0)
    late = T0 + dt.timedelta(seconds=61)  # past the decision's time to live: checked again, still good
    check.check(auth_der, [good], instance=pki.instance, at=late)

