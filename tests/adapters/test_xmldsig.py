"""Payload signatures: made through a Signer, verified by xmlsec1 and signxml, broken by one character."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest
from lxml import etree
from signxml import SignatureConfiguration, XMLVerifier
from signxml.exceptions import InvalidSignature

from adapters.xmldsig import (
    DS_NS,
    PayloadSignatureError,
    PayloadSigner,
    SignatureMode,
    SignatureTrust,
    verify_payload,
)
from trust.keys import SignatureAlgorithm

from tests.adapters.adapter_pki import VERIFY_AT, Pki
from tests.adapters.xroad_messages import POPULATION_NS, POPULATION_SERVICE, body_payload, get_person, xroad_request

RECORD = (
    '<r:response xmlns:r="urn:test:registry"><r:person>'
    "<r:code>39001011237</r:code><r:name>Matti Meikäläinen</r:name>"
    "</r:person></r:response>"
)


def _xmlsec_verify(xmlsec1: str, pki: Pki, document: bytes, tmp_path: Path, element: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "signed.xml"
    path.write_bytes(document)
    return subprocess.run(
        [xmlsec1, "--verify", "--trusted-pem", str(pki.root_pem), "--untrusted-pem", str(pki.intermediate_pem),
         "--id-attr:Id", element, "--verification-time", "2026-06-02 12:00:00", str(path)],
        capture_output=True, text=True, timeout=60,
    )


def _signxml_verify(pki: Pki, document: bytes) -> None:
    from adapters.xmldsig import _ca_policy, _ee_policy

    config = SignatureConfiguration(expect_references=1, verification_time=VERIFY_AT)
    XMLVerifier().verify(
        document,
        ca_pem_file=str(pki.root_pem),
        id_attribute="Id",
        expect_config=config,
        ee_policy=_ee_policy(),  # X-Road sign certificates carry nonRepudiation
        ca_policy=_ca_policy(),
    )


def _tamper(document: bytes) -> bytes:
    # one character of the signed data
    assert b"Meik\xc3\xa4l\xc3\xa4inen" in document
    return document.replace(b"Meik\xc3\xa4l\xc3\xa4inen", b"Meik\xc3\xa4l\xc3\xa4inan", 1)


CASES = [
    ("rsa-sha256-enveloped", "rsa", SignatureAlgorithm.RSA_SHA256, SignatureMode.ENVELOPED),
    ("rsa-sha512-detached", "rsa", SignatureAlgorithm.RSA_SHA512, SignatureMode.DETACHED),
    ("ecdsa-sha256-enveloped", "ec", SignatureAlgorithm.ECDSA_SHA256, SignatureMode.ENVELOPED),
    ("ecdsa-sha512-detached", "ec", SignatureAlgorithm.ECDSA_SHA512, SignatureMode.DETACHED),
]


@pytest.mark.parametrize(("kind", "algorithm", "mode"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
@pytest.mark.conformance(area="xmldsig", peer="xmlsec1",
                         expected="xmlsec1 and signxml verify; one changed character breaks it")
def test_signature_verifies_with_xmlsec1_and_signxml_and_breaks_on_one_character(
    pki: Pki, xmlsec1: str, tmp_path: Path, kind: str, algorithm: SignatureAlgorithm, mode: SignatureMode
) -> None:
    key_id, chain = (pki.rsa_key_id, pki.rsa_chain) if kind == "rsa" else (pki.ec_key_id, pki.ec_chain)
    root = etree.fromstring(RECORD.encode())
    person = root[0]
    signer = PayloadSigner(pki.token, key_id, chain, algorithm=algorithm, mode=mode)
    signature = signer.sign(person)
    assert (signature.getparent() is person) == (mode is SignatureMode.ENVELOPED)
    document = etree.tostring(root, encoding="UTF-8")

    result = _xmlsec_verify(xmlsec1, pki, document, tmp_path, "urn:test:registry:person")
    assert result.returncode == 0, result.stderr
    _signxml_verify(pki, document)
    verified = verify_payload(person, SignatureTrust(ca_certificates=(pki.root, pki.intermediate)), at=VERIFY_AT)
    assert verified.element.findtext("{urn:test:registry}name") == "Matti Meikäläinen"

    broken = _tamper(document)
    result = _xmlsec_verify(xmlsec1, pki, broken, tmp_path, "urn:test:registry:person")
    assert result.returncode != 0
    with pytest.raises(InvalidSignature):
        _signxml_verify(pki, broken)
    broken_person = etree.fromstring(broken)[0]
    with pytest.raises(PayloadSignatureError):
        verify_payload(broken_person, SignatureTrust(ca_certificates=(pki.root, pki.intermediate)), at=VERIFY_AT)


def test_adapter_signed_person_record_verifies_against_the_issuing_ca(
    sandbox: object, pki: Pki, xmlsec1: str, tmp_path: Path
) -> None:
    """The getPerson answer of the sandbox adapter, as it leaves the adapter, verifies; a tampered copy does not."""
    url = sandbox["population"]  # type: ignore[index]
    response = httpx.post(f"{url}/soap", content=xroad_request(POPULATION_SERVICE, get_person("39001011237")),
                          headers={"Content-Type": "text/xml"})
    assert response.status_code == 200
    envelope = etree.fromstring(response.content)
    person = body_payload(envelope).find(f"{{{POPULATION_NS}}}person")
    assert person is not None and person.find(f"{{{DS_NS}}}Signature") is not None
    # the whole SOAP answer verifies as received (the reference is by Id, C14N is exclusive)
    result = _xmlsec_verify(xmlsec1, pki, response.content, tmp_path, f"{POPULATION_NS}:person")
    assert result.returncode == 0, result.stderr
    _signxml_verify(pki, response.content)
    # and so does the record cut out of the envelope, as a consumer would store it
    record = etree.tostring(person, encoding="UTF-8")
    assert _xmlsec_verify(xmlsec1, pki, record, tmp_path, f"{POPULATION_NS}:person").returncode == 0
    _signxml_verify(pki, record)

    broken = _tamper(response.content)
    assert _xmlsec_verify(xmlsec1, pki, broken, tmp_path, f"{POPULATION_NS}:person").returncode != 0
    with pytest.raises(InvalidSignature):
        _signxml_verify(pki, broken)


def test_verification_refuses_untrusted_signer(pki: Pki) -> None:
    from datetime import timedelta

    from trust.services import CertificateAuthority

    root = etree.fromstring(RECORD.encode())
    PayloadSigner(pki.token, pki.rsa_key_id, pki.rsa_chain).sign(root[0])
    # trusting only the signer's own certificate works (pinning) ...
    verify_payload(root[0], SignatureTrust(pinned_certificates=(pki.rsa_chain[0],)), at=VERIFY_AT)
    # ... trusting another certificate does not
    with pytest.raises(PayloadSignatureError):
        verify_payload(root[0], SignatureTrust(pinned_certificates=(pki.ec_chain[0],)), at=VERIFY_AT)
    # ... and an expired moment does not
    with pytest.raises(PayloadSignatureError):
        verify_payload(root[0], SignatureTrust(ca_certificates=(pki.root,)), at=VERIFY_AT + timedelta(days=3650))
    del CertificateAuthority


def test_signer_refuses_algorithm_that_does_not_fit_the_key(pki: Pki) -> None:
    with pytest.raises(PayloadSignatureError):
        PayloadSigner(pki.token, pki.rsa_key_id, pki.rsa_chain, algorithm=SignatureAlgorithm.ECDSA_SHA256)


def test_signature_value_comes_from_the_signer(pki: Pki) -> None:
    """Signing goes through Signer.sign with a digest: a recording signer sees exactly one call."""
    calls: list[tuple[str, SignatureAlgorithm, int]] = []

    class Recording:
        def sign(self, key_id: str, algorithm: SignatureAlgorithm, digest: bytes) -> bytes:
            calls.append((key_id, algorithm, len(digest)))
            return pki.token.sign(key_id, algorithm, digest)

        def public_key(self, key_id: str):  # type: ignore[no-untyped-def]
            return pki.token.public_key(key_id)

    root = etree.fromstring(RECORD.encode())
    PayloadSigner(Recording(), pki.rsa_key_id, pki.rsa_chain, algorithm=SignatureAlgorithm.RSA_SHA512).sign(root[0])
    assert calls == [(pki.rsa_key_id, SignatureAlgorithm.RSA_SHA512, 64)]
    verify_payload(root[0], SignatureTrust(ca_certificates=(pki.root,)), at=VERIFY_AT)


def test_duplicate_id_is_refused(pki: Pki) -> None:
    """A second element with the signed Id (signature wrapping) is refused before any check."""
    root = etree.fromstring(RECORD.encode())
    person = root[0]
    PayloadSigner(pki.token, pki.rsa_key_id, pki.rsa_chain).sign(person)
    decoy = etree.SubElement(person, "{urn:test:registry}decoy")
    decoy.set("Id", person.get("Id", ""))
    with pytest.raises(PayloadSignatureError, match="more than once"):
        verify_payload(person, SignatureTrust(ca_certificates=(pki.root,)), at=VERIFY_AT)


def test_rest_face_gives_the_signed_record_when_xml_is_asked_for(sandbox: object, pki: Pki, xmlsec1: str,
                                                                  tmp_path: Path) -> None:
    url = sandbox["population"]  # type: ignore[index]
    response = httpx.get(f"{url}/rest/persons/39001011237", headers={"Accept": "application/xml"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/xml")
    assert _xmlsec_verify(xmlsec1, pki, response.content, tmp_path, f"{POPULATION_NS}:person").returncode == 0
    missing = httpx.get(f"{url}/rest/persons/50001010006", headers={"Accept": "application/xml"})
    assert missing.status_code == 404 and etree.fromstring(missing.content).findtext("type") == "not_found"


def test_key_and_certificate_must_belong_together(pki: Pki) -> None:
    with pytest.raises(PayloadSignatureError, match="does not belong"):
        PayloadSigner(pki.token, pki.rsa_key_id, pki.ec_chain)
