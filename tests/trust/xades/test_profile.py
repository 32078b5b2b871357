"""Certificate profiles: each X-Road profile maps a sign certificate subject to its member."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from trust.xades import signer_matches, signer_member
from trust.xades import BASIC, DEFAULT, EJBCA, FIVRK, SK_KLASS3
from trust.protocol import MemberId
from trust.xades import SignerMismatch, UnknownCertificateProfile

from tests.support import pki

_KEY = ec.generate_private_key(ec.SECP256R1())


def _cert(*attrs: tuple[x509.ObjectIdentifier, str]) -> x509.Certificate:
    return pki.self_signed(_KEY, pki.name(*attrs), serial=1, not_before=dt.datetime(2026, 1, 1),
                           not_after=dt.datetime(2027, 1, 1))


ORG_ID = x509.ObjectIdentifier("2.5.4.97")
CASES = [
    (EJBCA, _cert((NameOID.COUNTRY_NAME, "EE"), (NameOID.ORGANIZATION_NAME, "GOV"), (NameOID.COMMON_NAME, "70000001")),
     MemberId("EE", "GOV", "70000001")),
    (DEFAULT, _cert((NameOID.COUNTRY_NAME, "EE"), (NameOID.ORGANIZATION_NAME, "GOV"), (NameOID.COMMON_NAME, "7")),
     MemberId("EE", "GOV", "7")),
    (FIVRK, _cert((NameOID.COUNTRY_NAME, "FI"), (NameOID.COMMON_NAME, "4321"), (NameOID.SERIAL_NUMBER, "DEV/ss2/COM")),
     MemberId("DEV", "COM", "4321")),
    (BASIC, _cert((NameOID.BUSINESS_CATEGORY, "COM"), (NameOID.SERIAL_NUMBER, "1234"), (NameOID.COMMON_NAME, "x")),
     MemberId("DEV", "COM", "1234")),
]


@pytest.mark.parametrize(("profile", "cert", "member"), CASES, ids=["ejbca", "default", "fivrk", "basic"])
def test_profiles_name_the_member(profile: str, cert: x509.Certificate, member: MemberId) -> None:
    assert signer_member(cert, profile, "DEV") == member
    signer_matches(cert, profile, member)
    with pytest.raises(SignerMismatch):
        signer_matches(cert, profile, MemberId(member.instance, member.member_class, member.member_code + "9"))


def test_sk_uses_organization_identifier_and_leaves_class_open() -> None:
    cert = _cert((NameOID.COUNTRY_NAME, "EE"), (ORG_ID, "NTREE-10747013"), (NameOID.COMMON_NAME, "Org"))
    assert signer_member(cert, SK_KLASS3, "EE") is None
    signer_matches(cert, SK_KLASS3, MemberId("EE", "COM", "10747013"))
    with pytest.raises(SignerMismatch):
        signer_matches(cert, SK_KLASS3, MemberId("EE", "COM", "10747014"))


def test_fivrk_instance_must_match() -> None:
    cert = CASES[2][1]
    with pytest.raises(SignerMismatch):
        signer_matches(cert, FIVRK, MemberId("EE", "COM", "4321"))


def test_malformed_subject_and_unknown_profile() -> None:
    with pytest.raises(SignerMismatch):
        signer_member(_cert((NameOID.COMMON_NAME, "4321"), (NameOID.SERIAL_NUMBER, "DEV-COM")), FIVRK, "DEV")
    with pytest.raises(UnknownCertificateProfile):
        signer_member(CASES[0][1], "com.example.Unknown", "EE")
