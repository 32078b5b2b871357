"""X-Road message signatures: X-Road's vectors verify, sild's signatures have X-Road's exact
structure, and every kind of bad signature is refused with its own code."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12
from lxml import etree

from tests.support import pki as certs
from tests.support.evidence_pki import EJBCA, EvidencePki, make_pki
from trust.keys import KeyType
from trust.pki import ApprovedCa, OcspResponderInfo, TrustPolicy
from trust.xades import signer_member
from trust.evidence import timestamp_single
from trust.xades import SIG_HASH_CHAIN_RESULT
from trust.protocol import MemberId, SubsystemId
from trust.xades import SignedPart, create_signature, sign_batch
from trust.xades._layout import java_base64, rfc2253_name
from trust.xades import (
    BadSignatureValue, HashChainBroken, DigestMismatch, MissingReference, OcspRevoked, OcspStale,
    SignatureMalformed, SignerMismatch, UntrustedChain, CertificateUsage,
)
from trust.pki import ValidationCache
from trust.xades import parse_signature
from trust.xades import check_cryptography, verify_signature

UTC = dt.timezone.utc
AT = dt.datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CLIENT = SubsystemId("DEV", "COM", "4321", "TestClient")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> EvidencePki:
    pki = make_pki(tmp_path_factory.mktemp("pki"))
    pki.issue_sign_cert("rsa", "COM", "4321")
    pki.issue_sign_cert("ec", "COM", "4321", ecdsa=True)
    return pki


@pytest.fixture(scope="module")
def message(xroad: Path) -> bytes:
    with zipfile.ZipFile(xroad / "asic" / "valid-signed-message.asice") as z:
        return z.read("message.xml")


def _vector_signature(xroad: Path, container: str) -> bytes:
    with zipfile.ZipFile(xroad / "asic" / container) as z:
        return z.read("META-INF/signatures.xml")


def _sign(pki: EvidencePki, parts: list[SignedPart], key: str = "rsa", at: dt.datetime = AT) -> bytes:
    cert = pki.sign_certs[key]
    return create_signature(parts, signer=pki.token, key_id=key, certificate=cert, signing_time=at,
                            ocsp_responses=[pki.ocsp(cert, at - dt.timedelta(minutes=1))])


# -- X-Road's own signature ----------------------------------------------------------------------

@pytest.mark.conformance(area="xades", vector="signatures/sign-0.xml")
def test_sign0_verifies_over_message0(xroad: Path) -> None:
    signature = (xroad / "signatures" / "sign-0.xml").read_bytes()
    message = (xroad / "signatures" / "message-0.xml").read_bytes()
    parsed, chain = check_cryptography(signature, {"/message.xml": message})
    assert chain is None
    assert parsed.signing_time == dt.datetime(2017, 9, 8, 9, 15, 11, 580000, tzinfo=UTC)
    assert parsed.certificate.subject.rfc4514_string().startswith("1.2.840.113549.1.9.1=aaa@bbb.ccc,CN=consumer")
    # the IssuerSerial name is Java's RFC 2253 form, which sild reproduces
    assert rfc2253_name(parsed.certificate) in signature.decode()


@pytest.mark.conformance(area="xades", vector="signatures/sign-0.xml")
def test_sign0_one_changed_byte_is_a_digest_error(xroad: Path) -> None:
    signature = (xroad / "signatures" / "sign-0.xml").read_bytes()
    message = bytearray((xroad / "signatures" / "message-0.xml").read_bytes())
    message[message.index(b"getState>") + 9] ^= 0x01
    with pytest.raises(DigestMismatch) as info:
        check_cryptography(signature, {"/message.xml": bytes(message)})
    assert info.value.code == "trust.signature.digest_mismatch"


@pytest.mark.conformance(area="xades", vector="signatures/sign-0.xml")
def test_sign0_old_format_verifies(xroad: Path) -> None:
    signature = (xroad / "signatures" / "sign-0-old-format.xml").read_bytes()
    message = (xroad / "signatures" / "message-0.xml").read_bytes()
    check_cryptography(signature, {"/message.xml": message})


def test_sign0_signer_is_named_by_the_ejbca_profile(xroad: Path) -> None:
    """Under the EJBCA profile sign-0's certificate names EE/Cybernetica/consumer, so a claim by
    EE/BUSINESS/consumer (the client in message-0.xml) is refused."""
    parsed = parse_signature((xroad / "signatures" / "sign-0.xml").read_bytes())
    assert signer_member(parsed.certificate, EJBCA, "EE") == MemberId("EE", "Cybernetica", "consumer")
    root = pkcs12.load_key_and_certificates((xroad / "certs" / "root-ca.p12").read_bytes(), b"test")[1]
    assert root is not None
    policy = TrustPolicy("EE", cas=(ApprovedCa("Cyber", root, ocsp_responders=(OcspResponderInfo("http://x"),)),))
    with pytest.raises((SignerMismatch, UntrustedChain)):
        # sign-0's chain is SHA-1 signed: refused by path validation or, if accepted, by the profile
        verify_signature((xroad / "signatures" / "sign-0.xml").read_bytes(),
                         {"/message.xml": (xroad / "signatures" / "message-0.xml").read_bytes()},
                         policy=policy, signer=MemberId("EE", "BUSINESS", "consumer"))


# -- byte layout identical to X-Road's -----------------------------------------------------------

_VARIABLE = ("ds:DigestValue", "ds:SignatureValue", "ds:X509Certificate", "xades:SigningTime",
             "ds:X509IssuerName", "ds:X509SerialNumber", "xades:EncapsulatedOCSPValue", "xades:EncapsulatedTimeStamp")


def skeleton(xml: bytes) -> str:
    """The document with every value that differs between signatures replaced by ``*``."""
    text = xml.decode("utf-8")
    for tag in _VARIABLE:
        text = re.sub(rf"(<{tag}(?: [^>]*)?>)[^<]*(</{tag}>)", r"\1*\2", text)
    return text


def assert_same_structure(ours: bytes, theirs: bytes) -> None:
    """Element by element: name, namespace prefix, attributes (values except Ids of variable
    data), then the whole text with values masked."""
    mine = list(etree.fromstring(ours).iter())
    other = list(etree.fromstring(theirs).iter())
    assert [(e.tag, e.prefix) for e in mine] == [(e.tag, e.prefix) for e in other]
    for a, b in zip(mine, other):
        assert dict(a.attrib) == dict(b.attrib), a.tag
        assert dict(a.nsmap) == dict(b.nsmap), a.tag
    assert skeleton(ours) == skeleton(theirs)


@pytest.mark.conformance(area="xades", vector="signatures/sign-0.xml")
def test_single_signature_has_sign0_structure(pki: EvidencePki, message: bytes, xroad: Path) -> None:
    ours = _sign(pki, [SignedPart("/message.xml", data=message)])
    assert_same_structure(ours, (xroad / "signatures" / "sign-0.xml").read_bytes())


@pytest.mark.conformance(area="xades", vector="asic/valid-signed-message.asice")
def test_timestamped_signature_has_container_structure(pki: EvidencePki, message: bytes, xroad: Path) -> None:
    ours = timestamp_single(_sign(pki, [SignedPart("/message.xml", data=message)]), pki, at=AT).signature_xml
    assert_same_structure(ours, _vector_signature(xroad, "valid-signed-message.asice"))


@pytest.mark.conformance(area="xades", vector="asic/valid-non-batch-soap-attachments.asice")
def test_multi_part_signature_has_attachment_container_structure(pki: EvidencePki, message: bytes, xroad: Path) -> None:
    ours = _sign(pki, [SignedPart("/message.xml", data=message), SignedPart("/attachment1", data=b"a" * 100),
                       SignedPart("/attachment2", data=b"b" * 50)])
    assert_same_structure(ours, _vector_signature(xroad, "valid-non-batch-soap-attachments.asice"))


@pytest.mark.conformance(area="xades", vector="asic/valid-signed-hashchain.asice")
def test_hash_chain_signature_has_signed_hashchain_structure(pki: EvidencePki, message: bytes, xroad: Path) -> None:
    [record] = sign_batch([[SignedPart("/message.xml", data=message), SignedPart("/attachment1", data=b"x")]],
                          signer=pki.token, key_id="rsa", certificate=pki.sign_certs["rsa"], signing_time=AT,
                          ocsp_responses=[pki.ocsp(pki.sign_certs["rsa"], AT)])
    ours = timestamp_single(record.signature_xml, pki, at=AT).signature_xml
    with zipfile.ZipFile(xroad / "asic" / "valid-signed-hashchain.asice") as z:
        assert_same_structure(ours, z.read("META-INF/signatures.xml"))
        mask = re.compile(r"<DigestValue>[^<]*</DigestValue>")
        assert mask.sub("*", record.hash_chain.decode()) == mask.sub("*", z.read("sig-hashchain.xml").decode())
        assert mask.sub("*", record.hash_chain_result.decode()) == mask.sub("*", z.read("sig-hashchainresult.xml").decode())


def test_java_base64_wraps_like_x_road() -> None:
    assert java_base64(bytes(64)) == "A" * 76 + "&#13;\n" + "A" * 10 + "=="


# -- round trips and refusals --------------------------------------------------------------------

@pytest.mark.parametrize("key", ["rsa", "ec"], ids=["rsa-sha512", "ecdsa-sha512"])
def test_round_trip(pki: EvidencePki, message: bytes, key: str) -> None:
    signature = _sign(pki, [SignedPart("/message.xml", data=message)], key)
    verified = verify_signature(signature, {"/message.xml": message}, policy=pki.policy(), signer=CLIENT)
    assert verified.message == message
    assert verified.signer == MemberId("DEV", "COM", "4321")
    assert verified.signer_certificate == pki.sign_certs[key]
    assert verified.ocsp_status == "good"
    assert verified.signing_time == AT
    if key == "ec":
        assert len(parse_signature(signature).signature_value) == 64  # raw r||s, not DER


def test_batch_one_operation_many_messages(pki: EvidencePki, message: bytes) -> None:
    messages = [message.replace(b"dd19fe68", f"{i:08x}".encode()) for i in range(5)]
    records = sign_batch([[SignedPart("/message.xml", data=m)] for m in messages], signer=pki.token, key_id="rsa",
                         certificate=pki.sign_certs["rsa"], signing_time=AT,
                         ocsp_responses=[pki.ocsp(pki.sign_certs["rsa"], AT)])
    assert len({r.signature_xml for r in records}) == 1
    assert parse_signature(records[0].signature_xml).external_uris() == (SIG_HASH_CHAIN_RESULT,)
    for m, r in zip(messages, records):
        v = verify_signature(r.signature_xml, {"/message.xml": m}, policy=pki.policy(), signer=CLIENT,
                             hash_chain_result=r.hash_chain_result, hash_chain=r.hash_chain)
        assert v.hash_chain is not None and "/message.xml" in v.hash_chain.covered
    with pytest.raises(HashChainBroken):  # the chain of message 0 does not lead to message 1
        verify_signature(records[0].signature_xml, {"/message.xml": messages[1]}, policy=pki.policy(), signer=CLIENT,
                         hash_chain_result=records[0].hash_chain_result, hash_chain=records[0].hash_chain)


def test_bad_signature_value(pki: EvidencePki, message: bytes) -> None:
    signature = _sign(pki, [SignedPart("/message.xml", data=message)])
    value = parse_signature(signature).signature_value
    forged = bytes([value[0] ^ 1]) + value[1:]
    tampered = signature.replace(java_base64(value).encode(), java_base64(forged).encode())
    with pytest.raises(BadSignatureValue):
        verify_signature(tampered, {"/message.xml": message}, policy=pki.policy(), signer=CLIENT)


def test_tampered_signed_properties(pki: EvidencePki, message: bytes) -> None:
    signature = _sign(pki, [SignedPart("/message.xml", data=message)])
    with pytest.raises(DigestMismatch):
        verify_signature(signature.replace(b"2026-06-01T12:00:00.000Z", b"2026-06-01T11:00:00.000Z"),
                         {"/message.xml": message}, policy=pki.policy(), signer=CLIENT)


def test_signer_of_another_member(pki: EvidencePki, message: bytes) -> None:
    signature = _sign(pki, [SignedPart("/message.xml", data=message)])
    with pytest.raises(SignerMismatch):
        verify_signature(signature, {"/message.xml": message}, policy=pki.policy(),
                         signer=SubsystemId("DEV", "COM", "1234", "TestService"))


def test_untrusted_chain(pki: EvidencePki, message: bytes, tmp_path: Path) -> None:
    other = make_pki(tmp_path)
    signature = _sign(pki, [SignedPart("/message.xml", data=message)])
    with pytest.raises(UntrustedChain):
        verify_signature(signature, {"/message.xml": message}, policy=other.policy(), signer=CLIENT)


def test_revoked(pki: EvidencePki, message: bytes) -> None:
    cert = pki.sign_certs["rsa"]
    signature = create_signature([SignedPart("/message.xml", data=message)], signer=pki.token, key_id="rsa",
                                 certificate=cert, signing_time=AT, ocsp_responses=[pki.ocsp(cert, AT, revoked=True)])
    with pytest.raises(OcspRevoked):
        verify_signature(signature, {"/message.xml": message}, policy=pki.policy(), signer=CLIENT)


def test_stale_ocsp(pki: EvidencePki, message: bytes) -> None:
    cert = pki.sign_certs["rsa"]
    signature = create_signature([SignedPart("/message.xml", data=message)], signer=pki.token, key_id="rsa",
                                 certificate=cert, signing_time=AT,
                                 ocsp_responses=[pki.ocsp(cert, AT - dt.timedelta(hours=3), valid_for=dt.timedelta(days=1))])
    with pytest.raises(OcspStale):
        verify_signature(signature, {"/message.xml": message}, policy=pki.policy(), signer=CLIENT)


def test_certificate_without_non_repudiation(pki: EvidencePki, message: bytes) -> None:
    pki.issue_sign_cert("nonrep", "COM", "4321", non_repudiation=False)
    signature = _sign(pki, [SignedPart("/message.xml", data=message)], "nonrep")
    with pytest.raises(CertificateUsage):
        verify_signature(signature, {"/message.xml": message}, policy=pki.policy(), signer=CLIENT)


def test_unsigned_attachment_is_refused(pki: EvidencePki, message: bytes) -> None:
    signature = _sign(pki, [SignedPart("/message.xml", data=message)])
    with pytest.raises(MissingReference):
        verify_signature(signature, {"/message.xml": message, "/attachment1": b"smuggled"}, policy=pki.policy(),
                         signer=CLIENT)


def test_wrapping_by_duplicate_id_is_refused(pki: EvidencePki, message: bytes) -> None:
    signature = _sign(pki, [SignedPart("/message.xml", data=message)])
    doubled = signature.replace(b"<ds:Object>", b'<ds:Object><xades:SignedProperties Id="signed-properties"/>', 1)
    with pytest.raises(SignatureMalformed):
        verify_signature(doubled, {"/message.xml": message}, policy=pki.policy(), signer=CLIENT)


def test_naive_signing_time_refused(pki: EvidencePki, message: bytes) -> None:
    with pytest.raises(ValueError):
        _sign(pki, [SignedPart("/message.xml", data=message)], at=dt.datetime(2026, 6, 1, 12))


def test_second_signed_properties_is_refused(pki: EvidencePki, message: bytes) -> None:
    """A forged, unsigned SignedProperties (with another SigningTime) must not be read."""
    signature = _sign(pki, [SignedPart("/message.xml", data=message)])
    forged = signature.replace(
        b'<ds:Object><xades:QualifyingProperties Target="#signature">',
        b'<ds:Object><xades:QualifyingProperties Target="#signature"><xades:SignedProperties Id="forged">'
        b"<xades:SignedSignatureProperties><xades:SigningTime>2030-01-01T00:00:00.000Z</xades:SigningTime>"
        b"</xades:SignedSignatureProperties></xades:SignedProperties>", 1)
    with pytest.raises(SignatureMalformed):
        verify_signature(forged, {"/message.xml": message}, policy=pki.policy(), signer=CLIENT)


def test_hand_c14n_equals_lxml_c14n(pki: EvidencePki, message: bytes, tmp_path: Path) -> None:
    """The writer canonicalises its own fragments without parsing; it must agree with lxml,
    also for issuer names that need escaping."""
    from cryptography.x509.oid import NameOID

    from trust.xades._layout import c14n_by_parsing, canonical_fragment

    issuer = certs.name((NameOID.ORGANIZATION_NAME, 'A&B <x> "q"; +1'), (NameOID.EMAIL_ADDRESS, "ca@example.org"))
    pki.token.generate("odd", KeyType.EC_P256)
    cert = certs.issue(certs.name(CN="4321"), pki.token.public_key("odd"), issuer, certs.new_key(), serial=7,
                       not_before=AT - dt.timedelta(days=1), not_after=AT + dt.timedelta(days=1))
    for parts in ([SignedPart("/message.xml", data=message)],
                  [SignedPart("/message.xml", data=message), SignedPart("/attachment1", data=b"x", mime_type="a/b&c")]):
        document = create_signature(parts, signer=pki.token, key_id="odd", certificate=cert, signing_time=AT).decode()
        for pattern in (r"<ds:SignedInfo>.*?</ds:SignedInfo>", r"<xades:SignedProperties .*?</xades:SignedProperties>"):
            match = re.search(pattern, document, re.S)
            assert match is not None
            assert canonical_fragment(match.group(0)) == c14n_by_parsing(match.group(0))
        check_cryptography(document.encode(), {p.uri: p.data or b"" for p in parts})


# -- the hot path's memos never change an answer -----------------------------------------------

def _warm(pki: EvidencePki, message: bytes, key: str = "rsa", freshness: int = 600) -> tuple[bytes, TrustPolicy, ValidationCache]:
    """A signature (OCSP thisUpdate = AT, nextUpdate = AT + 1 h) verified once at AT through a cache."""
    cert = pki.sign_certs[key]
    signature = create_signature([SignedPart("/message.xml", data=message)], signer=pki.token, key_id=key,
                                 certificate=cert, signing_time=AT, ocsp_responses=[pki.ocsp(cert, AT)])
    policy = pki.policy(freshness=freshness)
    cache = ValidationCache()
    verified = verify_signature(signature, {"/message.xml": message}, policy=policy, signer=CLIENT, at=AT, cache=cache)
    assert verified.signer == CLIENT.member and verified.verified_at == AT
    return signature, policy, cache


def test_cached_decision_still_checks_every_byte(pki: EvidencePki, message: bytes) -> None:
    signature, policy, cache = _warm(pki, message)
    changed = message.replace(b"<", b" <", 1) if message.startswith(b"<") else b" " + message
    with pytest.raises(DigestMismatch):
        verify_signature(signature, {"/message.xml": changed}, policy=policy, signer=CLIENT, at=AT, cache=cache)
    value = parse_signature(signature).signature_value
    forged = signature.replace(java_base64(value).encode(), java_base64(bytes([value[0] ^ 1]) + value[1:]).encode())
    with pytest.raises(BadSignatureValue):
        verify_signature(forged, {"/message.xml": message}, policy=policy, signer=CLIENT, at=AT, cache=cache)
    with pytest.raises(DigestMismatch):  # the signed properties are hashed afresh too
        verify_signature(signature.replace(b"2026-06-01T12:00:00.000Z", b"2026-06-01T11:00:00.000Z"),
                         {"/message.xml": message}, policy=policy, signer=CLIENT, at=AT, cache=cache)
    with pytest.raises(SignerMismatch):  # the claimed signer is part of the decision
        verify_signature(signature, {"/message.xml": message}, policy=policy,
                         signer=SubsystemId("DEV", "COM", "1234", "TestService"), at=AT, cache=cache)
    verify_signature(signature, {"/message.xml": message}, policy=policy, signer=CLIENT, at=AT, cache=cache)


def test_cached_decision_does_not_cover_another_certificate(pki: EvidencePki, message: bytes) -> None:
    from trust.pki import cert_der

    signature, policy, cache = _warm(pki, message)
    _warm(pki, message, key="ec")
    rsa_text = java_base64(cert_der(pki.sign_certs["rsa"])).encode()
    ec_text = java_base64(cert_der(pki.sign_certs["ec"])).encode()
    assert rsa_text in signature
    swapped = signature.replace(rsa_text, ec_text)
    with pytest.raises(SignatureMalformed, match="SigningCertificate"):
        verify_signature(swapped, {"/message.xml": message}, policy=policy, signer=CLIENT, at=AT, cache=cache)
    broken = signature.replace(rsa_text[:40], b"!" + rsa_text[1:40])
    with pytest.raises(SignatureMalformed):
        verify_signature(broken, {"/message.xml": message}, policy=policy, signer=CLIENT, at=AT, cache=cache)


@pytest.mark.parametrize(("offset", "ok"), [
    (dt.timedelta(seconds=600), True),  # thisUpdate + ocspFreshnessSeconds: still fresh
    (dt.timedelta(seconds=600, microseconds=1), False),
    (-dt.timedelta(minutes=5), True),  # thisUpdate - clock skew
    (-dt.timedelta(minutes=5, microseconds=1), False),
], ids=["fresh-edge", "stale", "skew-edge", "before-this-update"])
def test_cached_decision_respects_ocsp_freshness(pki: EvidencePki, message: bytes, offset: dt.timedelta,
                                                 ok: bool) -> None:
    signature, policy, cache = _warm(pki, message)
    moment = AT + offset
    if ok:
        verified = verify_signature(signature, {"/message.xml": message}, policy=policy, signer=CLIENT, at=moment,
                                    cache=cache)
        assert verified.verified_at == moment
    else:
        with pytest.raises(OcspStale):
            verify_signature(signature, {"/message.xml": message}, policy=policy, signer=CLIENT, at=moment,
                             cache=cache)


def test_cached_decision_respects_next_update_and_certificate_expiry(pki: EvidencePki, message: bytes) -> None:
    # freshness longer than the response's own validity: nextUpdate (+ skew) bounds it
    signature, policy, cache = _warm(pki, message, freshness=4 * 3600)
    parts = {"/message.xml": message}
    verify_signature(signature, parts, policy=policy, signer=CLIENT, at=AT + dt.timedelta(minutes=65), cache=cache)
    with pytest.raises(OcspStale):
        verify_signature(signature, parts, policy=policy, signer=CLIENT, at=AT + dt.timedelta(minutes=65, seconds=1),
                         cache=cache)
    cert = pki.issue_sign_cert("short", "COM", "4321", ecdsa=True, not_after=AT + dt.timedelta(minutes=30))
    short = create_signature([SignedPart("/message.xml", data=message)], signer=pki.token, key_id="short",
                             certificate=cert, signing_time=AT, ocsp_responses=[pki.ocsp(cert, AT)])
    verify_signature(short, parts, policy=policy, signer=CLIENT, at=AT, cache=cache)
    with pytest.raises(UntrustedChain, match="expired"):
        verify_signature(short, parts, policy=policy, signer=CLIENT, at=AT + dt.timedelta(minutes=31), cache=cache)


def test_cached_decision_is_per_policy_and_per_ocsp_response(pki: EvidencePki, message: bytes, tmp_path: Path) -> None:
    signature, policy, cache = _warm(pki, message)
    with pytest.raises(UntrustedChain):  # a new configuration that no longer approves the CA
        verify_signature(signature, {"/message.xml": message}, policy=make_pki(tmp_path).policy(), signer=CLIENT,
                         at=AT, cache=cache)
    cert = pki.sign_certs["rsa"]
    revoked = create_signature([SignedPart("/message.xml", data=message)], signer=pki.token, key_id="rsa",
                               certificate=cert, signing_time=AT, ocsp_responses=[pki.ocsp(cert, AT, revoked=True)])
    with pytest.raises(OcspRevoked):
        verify_signature(revoked, {"/message.xml": message}, policy=policy, signer=CLIENT, at=AT, cache=cache)


def test_decision_max_age_bounds_reuse(pki: EvidencePki, message: bytes) -> None:
    """With ``decision_max_age`` a decision older than that is made again (and then holds again)."""
    signature, policy, _ = _warm(pki, message)
    cache = ValidationCache(decision_max_age=60)
    parts = {"/message.xml": message}
    verify_signature(signature, parts, policy=policy, signer=CLIENT, at=AT, cache=cache)
    decisions = dict(cache._decisions)  # noqa: SLF001 - observing the memo is the point of this test
    verify_signature(signature, parts, policy=policy, signer=CLIENT, at=AT + dt.timedelta(seconds=30), cache=cache)
    assert dict(cache._decisions) == decisions  # noqa: SLF001 - reused: no new entry
    verify_signature(signature, parts, policy=policy, signer=CLIENT, at=AT + dt.timedelta(seconds=90), cache=cache)
    (renewed,) = cache._decisions.values()  # noqa: SLF001
    assert getattr(renewed, "decided_at") == AT + dt.timedelta(seconds=90)


def test_signed_parts_refuse_what_c14n_would_rewrite() -> None:
    with pytest.raises(ValueError):
        SignedPart("/message\n.xml", data=b"x")
    with pytest.raises(ValueError):
        SignedPart('/a"b', data=b"x")


@pytest.mark.parametrize("key", ["rsa", "ec"])
def test_signed_canonical_forms_are_lxml_c14n_of_the_document(pki: EvidencePki, message: bytes, key: str) -> None:
    """What the writer hashed and signed is exactly lxml's C14N of the document it returns."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

    parts = [SignedPart("/message.xml", data=message), SignedPart("/attachment1", data=b"a", mime_type="a/b&c<d>")]
    signature = _sign(pki, parts, key)
    root = etree.fromstring(signature)
    ns = {"ds": "http://www.w3.org/2000/09/xmldsig#", "xades": "http://uri.etsi.org/01903/v1.3.2#"}
    signed_info = etree.tostring(root.find("ds:Signature/ds:SignedInfo", ns), method="c14n")
    props = etree.tostring(root.find(".//xades:SignedProperties", ns), method="c14n")
    import base64
    import hashlib

    sp_digest = root.find("ds:Signature/ds:SignedInfo/ds:Reference[@URI='#signed-properties']/ds:DigestValue", ns).text
    assert base64.b64decode("".join(sp_digest.split())) == hashlib.sha512(props).digest()
    value = base64.b64decode("".join(root.find("ds:Signature/ds:SignatureValue", ns).text.split()))
    public = pki.sign_certs[key].public_key()
    if key == "ec":
        half = len(value) // 2
        der = utils.encode_dss_signature(int.from_bytes(value[:half], "big"), int.from_bytes(value[half:], "big"))
        public.verify(der, signed_info, ec.ECDSA(hashes.SHA512()))
    else:
        public.verify(value, signed_info, padding.PKCS1v15(), hashes.SHA512())


def test_first_children_takes_the_first_of_each_kind_in_one_pass() -> None:
    from trust.xades._parse import _first_children

    parent = etree.fromstring(b"<p><a n='1'/><!-- note --><b n='1'/><a n='2'/><c/></p>")
    first_a, first_b, missing = _first_children(parent, "a", "b", "d")
    assert (first_a.get("n"), first_b.get("n"), missing) == ("1", "1", None)  # type: ignore[union-attr]
