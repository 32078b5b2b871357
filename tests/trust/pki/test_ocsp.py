"""OCSP: responder core, response verification, client over HTTP (POST and GET), openssl as the peer."""

from __future__ import annotations

import base64
import datetime as dt
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from asn1crypto import ocsp as asn1_ocsp
from cryptography.hazmat.primitives import hashes

from trust.pki import TrustPolicy
from trust.services import CertificateAuthority, RevocationReason
from trust.services._bundle import ocsp_responder, timestamp_authority
from trust.pki import cert_pem
from trust.protocol import MemberId, SecurityServerId
from trust.keys import KeyType
from trust.pki import OCSP_REQUEST, OcspCertStatus, verify_ocsp_for_policy, verify_ocsp_response
from trust.pki._ocsp import (
    OcspCertificateMismatch, OcspMalformed, OcspNonceMismatch, OcspResponderNotAuthorised,
    OcspResponseStatusError, OcspSignatureInvalid, OcspStale, OcspUnknownIssuer, build_ocsp_request,
)
from trust.pki import OcspClient
from trust.services import OcspResponder
from trust.services import TrustHttpApp, TrustServer

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
MEMBER = MemberId("EE", "GOV", "70000001")
SERVER = SecurityServerId("EE", "GOV", "70000001", "gw1")


@pytest.fixture(scope="module")
def ca(new_ca: Callable[..., CertificateAuthority]) -> CertificateAuthority:
    return new_ca(now=NOW - dt.timedelta(days=1), intermediate=True)


@pytest.fixture(scope="module")
def other(new_ca: Callable[..., CertificateAuthority]) -> CertificateAuthority:
    return new_ca(now=NOW - dt.timedelta(days=1), key_type=KeyType.EC_P256)


@pytest.fixture(scope="module")
def responder(ca: CertificateAuthority) -> OcspResponder:
    return ocsp_responder(ca)


@pytest.fixture(scope="module")
def server(ca: CertificateAuthority, responder: OcspResponder) -> TrustServer:
    with TrustServer(TrustHttpApp(responder, timestamp_authority(ca))) as running:
        yield running


def _verify(ca: CertificateAuthority, response: bytes, cert, *, at: dt.datetime = NOW, nonce: bytes | None = None,
            freshness: int = 600):
    return verify_ocsp_response(response, cert, ca.issuing_cert, at=at, freshness_seconds=freshness, nonce=nonce)


def test_good_revoked_unknown(ca: CertificateAuthority, responder: OcspResponder, other: CertificateAuthority) -> None:
    cert = ca.issue_auth(SERVER, now=NOW, key_type=KeyType.EC_P256).cert
    good = _verify(ca, responder.respond(build_ocsp_request(cert, ca.issuing_cert, nonce=b"n1"), NOW), cert,
                   nonce=b"n1")
    assert good.status is OcspCertStatus.GOOD and good.serial == cert.serial_number
    assert good.this_update == NOW and good.next_update == NOW + dt.timedelta(hours=1)
    assert good.responder_cert == ca.ocsp_cert and good.revocation_time is None

    revoked_at = NOW + dt.timedelta(minutes=1)
    ca.revoke(cert, at=revoked_at, reason=RevocationReason.KEY_COMPROMISE)
    later = NOW + dt.timedelta(minutes=2)
    revoked = _verify(ca, responder.respond(build_ocsp_request(cert, ca.issuing_cert), later), cert, at=later)
    assert revoked.status is OcspCertStatus.REVOKED
    assert revoked.revocation_time == revoked_at and revoked.revocation_reason == "keyCompromise"
    # asked about a moment before the revocation, the answer is still good
    before = _verify(ca, responder.respond(build_ocsp_request(cert, ca.issuing_cert), NOW), cert)
    assert before.status is OcspCertStatus.GOOD

    # a certificate with our issuer's name and key hashes but a serial we never issued
    foreign = other.issue_sign(MemberId("EE", "GOV", "1"), now=NOW).cert
    req = asn1_ocsp.OCSPRequest.load(build_ocsp_request(cert, ca.issuing_cert))
    req["tbs_request"]["request_list"][0]["req_cert"]["serial_number"] = foreign.serial_number
    unknown = responder.respond(req.dump(force=True), NOW)
    parsed = asn1_ocsp.OCSPResponse.load(unknown)
    single = parsed["response_bytes"]["response"].parsed["tbs_response_data"]["responses"][0]
    assert single["cert_status"].name == "unknown"


def test_intermediate_answered_by_root(ca: CertificateAuthority, responder: OcspResponder, tmp_path: Path) -> None:
    request = build_ocsp_request(ca.intermediate_cert, ca.root_cert, nonce=b"int")
    status = verify_ocsp_response(responder.respond(request, NOW), ca.intermediate_cert, ca.root_cert, at=NOW,
                                  freshness_seconds=60, nonce=b"int")
    assert status.status is OcspCertStatus.GOOD and status.responder_cert == ca.root_cert
    # the service certificates are in the register as well
    tsa_status = verify_ocsp_response(responder.respond(build_ocsp_request(ca.tsa_cert, ca.issuing_cert), NOW),
                                      ca.tsa_cert, ca.issuing_cert, at=NOW, freshness_seconds=60)
    assert tsa_status.status is OcspCertStatus.GOOD


def test_responder_status_answers(ca: CertificateAuthority, responder: OcspResponder,
                                  other: CertificateAuthority) -> None:
    result = responder.handle(b"\x30\x02\x05\x00", NOW)
    assert result.status == "malformed_request"
    assert asn1_ocsp.OCSPResponse.load(result.response)["response_status"].native == "malformed_request"
    assert responder.handle(b"", NOW).status == "malformed_request"
    foreign = other.issue_sign(MemberId("EE", "GOV", "1"), now=NOW).cert
    result = responder.handle(build_ocsp_request(foreign, other.issuing_cert), NOW)
    assert result.status == "unauthorized"
    with pytest.raises(OcspResponseStatusError, match="UNAUTHORIZED"):
        _verify(other, result.response, foreign)


def test_verification_failures(ca: CertificateAuthority, responder: OcspResponder,
                               other: CertificateAuthority) -> None:
    cert = ca.issue_sign(MEMBER, now=NOW, key_type=KeyType.EC_P256).cert
    response = responder.respond(build_ocsp_request(cert, ca.issuing_cert, nonce=b"abc"), NOW)
    with pytest.raises(OcspNonceMismatch):
        _verify(ca, response, cert, nonce=b"xyz")
    with pytest.raises(OcspNonceMismatch):
        _verify(ca, responder.respond(build_ocsp_request(cert, ca.issuing_cert), NOW), cert, nonce=b"abc")
    with pytest.raises(OcspStale):
        _verify(ca, response, cert, at=NOW + dt.timedelta(seconds=601))
    with pytest.raises(OcspStale):
        _verify(ca, response, cert, at=NOW - dt.timedelta(hours=1))
    with pytest.raises(OcspStale, match="nextUpdate"):
        _verify(ca, response, cert, at=NOW + dt.timedelta(hours=2), freshness=10**6)
    other_cert = ca.issue_sign(MEMBER, now=NOW, key_type=KeyType.EC_P256).cert
    with pytest.raises(OcspCertificateMismatch):
        _verify(ca, response, other_cert)
    with pytest.raises(OcspMalformed):
        _verify(ca, b"not der", cert)
    tampered = bytearray(response)
    tampered[-40] ^= 0x01  # inside the embedded responder certificate's signature or ours
    with pytest.raises((OcspSignatureInvalid, OcspResponderNotAuthorised, OcspMalformed)):
        _verify(ca, bytes(tampered), cert)
    # flip a byte inside tbsResponseData (the producedAt time)
    parsed = asn1_ocsp.OCSPResponse.load(response)
    basic = parsed["response_bytes"]["response"].parsed
    tbs = basic["tbs_response_data"].dump()
    offset = response.index(tbs) + tbs.index(b"2026")
    forged = bytearray(response)
    forged[offset + 3] = ord("7")
    with pytest.raises(OcspSignatureInvalid):
        _verify(ca, bytes(forged), cert)
    # a responder of another CA, even a valid OCSP signer, is not authorised for this CA
    foreign_responder = OcspResponder(ca.db, ca.issuing_cert, other.token, "ocsp", other.ocsp_cert)
    with pytest.raises(OcspResponderNotAuthorised):
        _verify(ca, foreign_responder.respond(build_ocsp_request(cert, ca.issuing_cert), NOW), cert)
    # ... unless the governing authority listed it for the CA
    listed = verify_ocsp_response(foreign_responder.respond(build_ocsp_request(cert, ca.issuing_cert), NOW), cert,
                                  ca.issuing_cert, at=NOW, freshness_seconds=600, responder_certs=[other.ocsp_cert])
    assert listed.status is OcspCertStatus.GOOD
    # the CA's TSA key is issued by the CA but lacks OCSPSigning: not a delegated responder
    tsa_signed = OcspResponder(ca.db, ca.issuing_cert, ca.token, "tsa", ca.tsa_cert)
    with pytest.raises(OcspResponderNotAuthorised):
        _verify(ca, tsa_signed.respond(build_ocsp_request(cert, ca.issuing_cert), NOW), cert)
    # the CA itself may sign its responses
    ca_signed = OcspResponder(ca.db, ca.issuing_cert, ca.token, "intermediate", ca.issuing_cert)
    assert _verify(ca, ca_signed.respond(build_ocsp_request(cert, ca.issuing_cert), NOW), cert).status is \
        OcspCertStatus.GOOD


def test_verify_for_policy(ca: CertificateAuthority, responder: OcspResponder, other: CertificateAuthority) -> None:
    cert = ca.issue_auth(SERVER, now=NOW, key_type=KeyType.EC_P256).cert
    response = responder.respond(build_ocsp_request(cert, ca.issuing_cert), NOW)
    policy = TrustPolicy(instance="EE", cas=(other.approved_ca(), ca.approved_ca()), ocsp_freshness_seconds=300)
    assert verify_ocsp_for_policy(response, cert, policy, at=NOW + dt.timedelta(seconds=299)).status is \
        OcspCertStatus.GOOD
    with pytest.raises(OcspStale):
        verify_ocsp_for_policy(response, cert, policy, at=NOW + dt.timedelta(seconds=301))
    with pytest.raises(OcspUnknownIssuer):
        verify_ocsp_for_policy(response, cert, TrustPolicy(instance="EE", cas=(other.approved_ca(),)), at=NOW)


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_client_over_http_and_cache(server: TrustServer, ca: CertificateAuthority, method: str) -> None:
    cert = ca.issue_auth(SERVER, now=NOW, key_type=KeyType.EC_P256).cert
    client = OcspClient()
    try:
        at = dt.datetime.now(dt.timezone.utc)
        status = client.status(cert, ca.issuing_cert, server.url + "/ocsp", at=at, freshness_seconds=60,
                               method=method)
        assert status.status is OcspCertStatus.GOOD
        assert client.status(cert, ca.issuing_cert, server.url + "/ocsp", at=at, freshness_seconds=60,
                             method=method) is status
        ca.revoke(cert, at=at - dt.timedelta(seconds=1))
        # still cached while fresh; a later moment past freshness fetches again and sees the revocation
        assert client.status(cert, ca.issuing_cert, server.url + "/ocsp", at=at, freshness_seconds=60) is status
        fresh = client.fetch(cert, ca.issuing_cert, server.url + "/ocsp", at=dt.datetime.now(dt.timezone.utc),
                             freshness_seconds=60, method=method)
        assert fresh.status is OcspCertStatus.REVOKED
    finally:
        client.close()


def _openssl_ocsp(ca: CertificateAuthority, cert_path: Path, url: str, tmp_path: Path, *extra: str) -> str:
    (tmp_path / "issuer.pem").write_bytes(cert_pem(ca.issuing_cert))
    (tmp_path / "root.pem").write_bytes(cert_pem(ca.root_cert))
    result = subprocess.run(
        ["openssl", "ocsp", "-issuer", str(tmp_path / "issuer.pem"), "-cert", str(cert_path), "-url", url,
         "-CAfile", str(tmp_path / "root.pem"), *extra],
        capture_output=True, text=True, timeout=30)
    return result.stdout + result.stderr


@pytest.mark.conformance(area="ocsp", peer="openssl", expected="openssl ocsp reads good, then revoked")
def test_openssl_good_then_revoked(server: TrustServer, ca: CertificateAuthority, tmp_path: Path) -> None:
    cert = ca.issue_auth(SERVER, now=NOW, key_type=KeyType.EC_P256).cert
    path = tmp_path / "gw.pem"
    path.write_bytes(cert_pem(cert))
    out = _openssl_ocsp(ca, path, server.url + "/ocsp", tmp_path)
    assert "Response verify OK" in out and f"{path}: good" in out, out
    # the intermediate too, answered by the root
    (tmp_path / "int.pem").write_bytes(cert_pem(ca.intermediate_cert))
    (tmp_path / "root.pem").write_bytes(cert_pem(ca.root_cert))
    int_out = subprocess.run(["openssl", "ocsp", "-issuer", str(tmp_path / "root.pem"), "-cert",
                              str(tmp_path / "int.pem"), "-url", server.url + "/ocsp", "-CAfile",
                              str(tmp_path / "root.pem")], capture_output=True, text=True, timeout=30)
    assert "Response verify OK" in int_out.stdout + int_out.stderr and ": good" in int_out.stdout, int_out
    ca.revoke(cert, at=dt.datetime.now(dt.timezone.utc), reason=RevocationReason.SUPERSEDED)
    out = _openssl_ocsp(ca, path, server.url + "/ocsp", tmp_path)
    assert "Response verify OK" in out and f"{path}: revoked" in out and "Reason: superseded" in out, out
    # the responder certificate alone does not make the answer trusted: a foreign root fails
    (tmp_path / "wrong-root.pem").write_bytes(cert_pem(ca.tsa_cert))
    bad = subprocess.run(["openssl", "ocsp", "-issuer", str(tmp_path / "issuer.pem"), "-cert", str(path),
                          "-url", server.url + "/ocsp", "-CAfile", str(tmp_path / "wrong-root.pem")],
                         capture_output=True, text=True, timeout=30)
    assert "Response Verify Failure" in bad.stdout + bad.stderr


@pytest.mark.parametrize(
    ("method", "path", "content_type", "body", "status", "message"),
    [
        ("POST", "/ocsp", "text/plain", b"x", 415, "expected Content-Type"),
        ("POST", "/ocsp", OCSP_REQUEST, b"garbage", 400, "malformed OCSP request"),
        ("POST", "/ocsp", OCSP_REQUEST, b"\x30" * 70000, 413, "larger than"),
        ("GET", "/ocsp/not*base64", None, None, 400, "not base64"),
        ("GET", "/ocsp/" + base64.b64encode(b"junk").decode(), None, None, 400, "malformed"),
        ("GET", "/ocsp", None, None, 405, "POST"),
        ("DELETE", "/ocsp", None, None, 405, "POST"),
    ],
    ids=["content-type", "garbage", "oversized", "get-not-base64", "get-garbage", "get-bare", "delete"],
)
def test_bad_http_input(server: TrustServer, ca: CertificateAuthority, method: str, path: str,
                        content_type: str | None, body: bytes | None, status: int, message: str) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = httpx.request(method, server.url + path, content=body, headers=headers)
    assert response.status_code == status and message in response.text
    cert = ca.issue_sign(MEMBER, now=NOW, key_type=KeyType.EC_P256).cert
    good = httpx.post(server.url + "/ocsp", content=build_ocsp_request(cert, ca.issuing_cert, hash_algorithm=hashes.SHA256()),
                      headers={"Content-Type": OCSP_REQUEST})
    assert good.status_code == 200 and good.headers["content-type"] == "application/ocsp-response"
    assert verify_ocsp_response(good.content, cert, ca.issuing_cert, at=dt.datetime.now(dt.timezone.utc),
                                freshness_seconds=60).status is OcspCertStatus.GOOD


# -- X-Road conformance: an OCSP response out of one of X-Road's own ASiC containers --------


def _xroad_policy(xroad: Path) -> TrustPolicy:
    from lxml import etree

    from trust.pki import ApprovedCa, OcspResponderInfo
    from trust.pki import load_certificate

    shared = xroad / "globalconf" / "parsed" / "globalconf_good2_v3" / "DEV" / "shared-params.xml"
    root = etree.parse(str(shared)).getroot()
    cas = []
    for approved in root.iter("approvedCA"):
        top = approved.find("topCA")
        responders = tuple(
            OcspResponderInfo(url=o.findtext("url") or "",
                              cert=load_certificate(o.findtext("cert").encode()) if o.findtext("cert") else None)
            for o in top.findall("ocsp"))
        cas.append(ApprovedCa(name=approved.findtext("name"), top_cert=load_certificate(top.findtext("cert").encode()),
                              ocsp_responders=responders))
    freshness = int(root.findtext("globalSettings/ocspFreshnessSeconds"))
    return TrustPolicy(instance="DEV", cas=tuple(cas), ocsp_freshness_seconds=freshness)


def _xroad_container(xroad: Path) -> tuple[bytes, bytes]:
    from lxml import etree

    path = xroad / "asic" / "asic-containers" / "valid-signed-message" / "META-INF" / "signatures.xml"
    root = etree.parse(str(path)).getroot()  # a trusted vector; base64 carries &#13; entities

    def first(local: str) -> bytes:
        element = next(e for e in root.iter() if isinstance(e.tag, str) and etree.QName(e).localname == local)
        return base64.b64decode("".join((element.text or "").split()))

    return first("EncapsulatedOCSPValue"), first("X509Certificate")


@pytest.mark.conformance(area="ocsp", vector="asic/asic-containers/valid-signed-message",
                         expected="X-Road's OCSP response verifies against globalconf_good2_v3")
def test_xroad_container_ocsp_verifies(xroad: Path) -> None:
    from cryptography import x509
    from cryptography.x509 import ocsp as crypto_ocsp

    policy = _xroad_policy(xroad)
    response, cert_der = _xroad_container(xroad)
    cert = x509.load_der_x509_certificate(cert_der)
    produced = crypto_ocsp.load_der_ocsp_response(response).produced_at_utc
    status = verify_ocsp_for_policy(response, cert, policy, at=produced + dt.timedelta(minutes=10))
    assert status.status is OcspCertStatus.GOOD and status.serial == cert.serial_number
    assert status.responder_cert.subject.rfc4514_string() == "CN=Test OCSP,O=Test"
    # an hour and more later it is no longer fresh under ocspFreshnessSeconds=3600
    with pytest.raises(OcspStale):
        verify_ocsp_for_policy(response, cert, policy, at=produced + dt.timedelta(seconds=3700))
    # one changed byte in the signed part breaks it
    forged = bytearray(response)
    forged[response.index(b"2024") + 3] ^= 0x01
    with pytest.raises((OcspSignatureInvalid, OcspMalformed)):
        verify_ocsp_for_policy(bytes(forged), cert, policy, at=produced)


def test_concurrent_requests_while_issuing_and_revoking(server: TrustServer, ca: CertificateAuthority) -> None:
    """The register is read by several responder threads while the CA writes to it."""
    from concurrent.futures import ThreadPoolExecutor

    certs = [ca.issue_sign(MEMBER, now=NOW, key_type=KeyType.EC_P256).cert for _ in range(4)]

    def ask(index: int) -> OcspCertStatus:
        cert = certs[index % len(certs)]
        with httpx.Client(trust_env=False) as client:
            reply = client.post(server.url + "/ocsp", content=build_ocsp_request(cert, ca.issuing_cert),
                                headers={"Content-Type": OCSP_REQUEST})
        assert reply.status_code == 200
        return verify_ocsp_response(reply.content, cert, ca.issuing_cert, at=dt.datetime.now(dt.timezone.utc),
                                    freshness_seconds=60).status

    def write(index: int) -> None:
        issued = ca.issue_auth(SERVER, now=NOW, key_type=KeyType.EC_P256).cert
        if index % 2:
            ca.revoke(issued, at=dt.datetime.now(dt.timezone.utc))

    with ThreadPoolExecutor(max_workers=6) as pool:
        writes = [pool.submit(write, i) for i in range(6)]
        reads = [pool.submit(ask, i) for i in range(40)]
        assert {f.result() for f in reads} == {OcspCertStatus.GOOD}
        for f in writes:
            f.result()
