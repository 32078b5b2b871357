"""RFC 3161: responder core, token verification, client over HTTP, and openssl as the independent peer."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from asn1crypto import cms, tsp

from trust.keys import DigestAlgorithm
from trust.services import CertificateAuthority
from trust.services._bundle import ocsp_responder, timestamp_authority
from trust.pki import cert_pem
from trust.keys import KeyType
from trust.services import TrustHttpApp, TrustServer
from trust.evidence import TIMESTAMP_QUERY, TimestampClient, verify_timestamp_token
from trust.evidence._timestamp import (
    TimestampCertificateInvalid, TimestampFromFuture, TimestampImprintMismatch, TimestampMalformed,
    TimestampRejected, TimestampSignatureInvalid, TimestampUnknownTsa, build_request, parse_reply,
)
from trust.services import TimestampAuthority
from trust.services._tsa import DEFAULT_TSA_POLICY, PersistentSerials

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def ca(new_ca: Callable[..., CertificateAuthority]) -> CertificateAuthority:
    return new_ca(now=NOW - dt.timedelta(days=1), intermediate=True)


@pytest.fixture(scope="module")
def other_ca(new_ca: Callable[..., CertificateAuthority]) -> CertificateAuthority:
    return new_ca(instance="FI", now=NOW - dt.timedelta(days=1), key_type=KeyType.EC_P256)


@pytest.fixture(scope="module")
def tsa(ca: CertificateAuthority) -> TimestampAuthority:
    return timestamp_authority(ca)


@pytest.fixture(scope="module")
def server(ca: CertificateAuthority, tsa: TimestampAuthority) -> TrustServer:
    with TrustServer(TrustHttpApp(ocsp_responder(ca), tsa)) as running:
        yield running


def _token(tsa: TimestampAuthority, data: bytes, alg: DigestAlgorithm = DigestAlgorithm.SHA512,
           nonce: int | None = 7, at: dt.datetime = NOW) -> bytes:
    return parse_reply(tsa.respond(build_request(alg.digest(data), alg, nonce=nonce), at))


@pytest.mark.parametrize("alg", [DigestAlgorithm.SHA256, DigestAlgorithm.SHA512], ids=["sha256", "sha512"])
def test_round_trip(tsa: TimestampAuthority, ca: CertificateAuthority, alg: DigestAlgorithm) -> None:
    token = _token(tsa, b"evidence", alg, nonce=123456789)
    verified = verify_timestamp_token(token, data=b"evidence", tsa_certs=[ca.tsa_cert], at=NOW)
    assert verified.gen_time == NOW and verified.gen_time.tzinfo is not None
    assert verified.hash_algorithm is alg and verified.nonce == 123456789
    assert verified.policy == DEFAULT_TSA_POLICY and verified.tsa_cert == ca.tsa_cert
    assert verified.token_der == token
    by_digest = verify_timestamp_token(token, message_imprint_digest=alg.digest(b"evidence"),
                                       tsa_certs=[ca.tsa_cert], at=NOW)
    assert by_digest.serial == verified.serial


def test_token_structure(tsa: TimestampAuthority, ca: CertificateAuthority) -> None:
    token = _token(tsa, b"x")
    signed = cms.ContentInfo.load(token)["content"]
    attrs = {a["type"].native: a for a in signed["signer_infos"][0]["signed_attrs"]}
    assert {"content_type", "message_digest", "signing_certificate_v2"} <= set(attrs)
    ess = attrs["signing_certificate_v2"]["values"][0]["certs"][0]
    assert ess["cert_hash"].native == hashlib.sha512(ca.tsa_cert.public_bytes(
        __import__("cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]).Encoding.DER)).digest()
    # certReq true: TSA certificate and intermediate included
    assert len(signed["certificates"]) == 2
    no_certs = parse_reply(tsa.respond(build_request(hashlib.sha512(b"x").digest(), cert_req=False), NOW))
    assert cms.ContentInfo.load(no_certs)["content"]["certificates"].native is None


def test_serials_never_repeat_across_restarts(ca: CertificateAuthority, tmp_path: Path) -> None:
    path = tmp_path / "serial"
    first = TimestampAuthority(ca.token, "tsa", ca.tsa_cert, PersistentSerials(path))
    a = {verify_timestamp_token(_token(first, b"a"), data=b"a", tsa_certs=[ca.tsa_cert]).serial for _ in range(3)}
    restarted = TimestampAuthority(ca.token, "tsa", ca.tsa_cert, PersistentSerials(path))
    b = {verify_timestamp_token(_token(restarted, b"a"), data=b"a", tsa_certs=[ca.tsa_cert]).serial for _ in range(3)}
    assert len(a) == 3 and len(b) == 3 and not a & b
    assert min(b) > max(a)
    path.write_text("garbage")
    with pytest.raises(Exception, match="damaged"):
        PersistentSerials(path)


def test_verification_failures(tsa: TimestampAuthority, ca: CertificateAuthority,
                               other_ca: CertificateAuthority) -> None:
    token = _token(tsa, b"data")
    with pytest.raises(TimestampImprintMismatch):
        verify_timestamp_token(token, data=b"other data", tsa_certs=[ca.tsa_cert], at=NOW)
    with pytest.raises(TimestampUnknownTsa):
        verify_timestamp_token(token, data=b"data", tsa_certs=[other_ca.tsa_cert], at=NOW)
    with pytest.raises(TimestampFromFuture):
        verify_timestamp_token(token, data=b"data", tsa_certs=[ca.tsa_cert], at=NOW - dt.timedelta(hours=1))
    with pytest.raises(TimestampMalformed):
        verify_timestamp_token(b"\x30\x03\x02\x01\x01", data=b"data", tsa_certs=[ca.tsa_cert])
    with pytest.raises(TimestampMalformed):
        verify_timestamp_token(token + b"\x00", data=b"data", tsa_certs=[ca.tsa_cert])
    # flip one bit of the signature value (the last bytes of the token)
    broken = bytearray(token)
    broken[-3] ^= 0x01
    with pytest.raises((TimestampSignatureInvalid, TimestampMalformed)):
        verify_timestamp_token(bytes(broken), data=b"data", tsa_certs=[ca.tsa_cert], at=NOW)
    # a token from before the TSA certificate existed
    early = _token(tsa, b"data", at=ca.tsa_cert.not_valid_before_utc - dt.timedelta(days=1))
    with pytest.raises(TimestampCertificateInvalid):
        verify_timestamp_token(early, data=b"data", tsa_certs=[ca.tsa_cert], at=NOW)


def test_tampered_tstinfo_breaks_signature(tsa: TimestampAuthority, ca: CertificateAuthority) -> None:
    token = _token(tsa, b"data", nonce=0x1111)
    info = cms.ContentInfo.load(token)
    signed = info["content"]
    tst = tsp.TSTInfo.load(signed["encap_content_info"]["content"].contents)
    forged = tsp.TSTInfo({**{k: tst[k] for k in ("version", "policy", "message_imprint", "accuracy", "tsa")},
                          "serial_number": 1, "gen_time": NOW - dt.timedelta(days=300), "nonce": 0x1111})
    signed["encap_content_info"]["content"] = forged
    with pytest.raises(TimestampSignatureInvalid):
        verify_timestamp_token(info.dump(force=True), data=b"data", tsa_certs=[ca.tsa_cert], at=NOW)


@pytest.mark.parametrize(
    ("request_der", "fail"),
    [
        (b"garbage", "bad_data_format"),
        (tsp.TimeStampReq({"version": "v1", "message_imprint": {"hash_algorithm": {"algorithm": "sha1"},
                                                                 "hashed_message": b"\x00" * 20}}).dump(), "bad_alg"),
        (tsp.TimeStampReq({"version": "v1", "message_imprint": {"hash_algorithm": {"algorithm": "sha512"},
                                                                 "hashed_message": b"\x00" * 20}}).dump(),
         "bad_data_format"),
        (build_request(b"\x00" * 64, policy="1.2.3.4"), "unaccepted_policy"),
    ],
    ids=["garbage", "sha1", "short-imprint", "other-policy"],
)
def test_rejections(tsa: TimestampAuthority, request_der: bytes, fail: str) -> None:
    result = tsa.handle(request_der, NOW)
    assert result.failure and result.fail_info == fail
    with pytest.raises(TimestampRejected, match=fail):
        parse_reply(result.reply)


def test_client_over_http(server: TrustServer, ca: CertificateAuthority) -> None:
    client = TimestampClient(server.url + "/tsa", [ca.tsa_cert])
    try:
        verified = client.stamp(b"log batch", at=dt.datetime.now(dt.timezone.utc))
        assert verified.nonce is not None
        verify_timestamp_token(verified.token_der, data=b"log batch", tsa_certs=[ca.tsa_cert])
    finally:
        client.close()
    wrong_policy = TimestampClient(server.url + "/tsa", [ca.tsa_cert], policy="1.2.3")
    with pytest.raises(Exception, match="HTTP 400"):
        wrong_policy.stamp(b"x", at=NOW)
    wrong_policy.close()


def _openssl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=30)


@pytest.mark.conformance(area="timestamps", peer="openssl", expected="openssl ts verifies sild's reply")
def test_openssl_query_reply_verify(server: TrustServer, ca: CertificateAuthority, tmp_path: Path) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes(b"message log record\n" * 100)
    (tmp_path / "root.pem").write_bytes(cert_pem(ca.root_cert))
    (tmp_path / "chain.pem").write_bytes(ca.chain_pem)
    assert _openssl("ts", "-query", "-data", "data.bin", "-sha512", "-cert", "-out", "q.tsq", cwd=tmp_path).returncode == 0
    reply = httpx.post(server.url + "/tsa", content=(tmp_path / "q.tsq").read_bytes(),
                       headers={"Content-Type": TIMESTAMP_QUERY})
    assert reply.status_code == 200 and reply.headers["content-type"] == "application/timestamp-reply"
    (tmp_path / "r.tsr").write_bytes(reply.content)
    ok = _openssl("ts", "-verify", "-data", "data.bin", "-in", "r.tsr", "-CAfile", "chain.pem", cwd=tmp_path)
    assert ok.returncode == 0 and "Verification: OK" in ok.stdout, ok.stderr
    ok = _openssl("ts", "-verify", "-data", "data.bin", "-in", "r.tsr", "-CAfile", "root.pem",
                  "-untrusted", "chain.pem", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    text = _openssl("ts", "-reply", "-in", "r.tsr", "-text", cwd=tmp_path).stdout
    assert "Hash Algorithm: sha512" in text and "Status: Granted." in text
    data.write_bytes(data.read_bytes() + b"tampered")
    bad = _openssl("ts", "-verify", "-data", "data.bin", "-in", "r.tsr", "-CAfile", "chain.pem", cwd=tmp_path)
    assert bad.returncode != 0 and "imprint mismatch" in bad.stderr
    # our verifier agrees with openssl on the token inside the reply
    token = parse_reply(reply.content)
    verify_timestamp_token(token, data=b"message log record\n" * 100, tsa_certs=[ca.tsa_cert])


@pytest.mark.conformance(area="timestamps", peer="openssl")
def test_openssl_sha256_without_nonce(server: TrustServer, ca: CertificateAuthority, tmp_path: Path) -> None:
    (tmp_path / "d").write_bytes(b"abc")
    (tmp_path / "chain.pem").write_bytes(ca.chain_pem)
    _openssl("ts", "-query", "-data", "d", "-sha256", "-no_nonce", "-cert", "-out", "q.tsq", cwd=tmp_path)
    reply = httpx.post(server.url + "/tsa", content=(tmp_path / "q.tsq").read_bytes(),
                       headers={"Content-Type": TIMESTAMP_QUERY})
    (tmp_path / "r.tsr").write_bytes(reply.content)
    ok = _openssl("ts", "-verify", "-queryfile", "q.tsq", "-in", "r.tsr", "-CAfile", "chain.pem", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr


@pytest.mark.parametrize(
    ("method", "path", "content_type", "body", "status", "message"),
    [
        ("POST", "/tsa", "text/plain", build_request(b"\x00" * 64), 415, "expected Content-Type"),
        ("POST", "/tsa", TIMESTAMP_QUERY, b"garbage", 400, "bad_data_format"),
        ("POST", "/tsa", TIMESTAMP_QUERY, b"", 400, "empty"),
        ("POST", "/tsa", TIMESTAMP_QUERY, b"\x30" * 70000, 413, "larger than"),
        ("POST", "/tsa", TIMESTAMP_QUERY,
         tsp.TimeStampReq({"version": "v1", "message_imprint": {"hash_algorithm": {"algorithm": "md5"},
                                                                 "hashed_message": b"\x00" * 16}}).dump(),
         400, "bad_alg"),
        ("GET", "/tsa", None, None, 405, "POST"),
        ("PUT", "/", None, None, 405, "GET"),
        ("GET", "/nothing", None, None, 404, "no such resource"),
    ],
    ids=["content-type", "garbage", "empty", "oversized", "md5", "get", "put-root", "unknown-path"],
)
def test_bad_http_input(server: TrustServer, ca: CertificateAuthority, method: str, path: str,
                        content_type: str | None, body: bytes | None, status: int, message: str) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = httpx.request(method, server.url + path, content=body, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/plain")
    assert message in response.text
    # and the server keeps serving
    good = httpx.post(server.url + "/tsa", content=build_request(b"\x01" * 64, nonce=5),
                      headers={"Content-Type": TIMESTAMP_QUERY})
    assert good.status_code == 200
    verify_timestamp_token(parse_reply(good.content), message_imprint_digest=b"\x01" * 64, tsa_certs=[ca.tsa_cert])


# -- X-Road conformance: the batch timestamp of one of X-Road's own ASiC containers ----------


@pytest.mark.conformance(area="timestamps", vector="asic/asic-containers/valid-batch-ts")
def test_xroad_batch_timestamp_verifies(xroad: Path) -> None:
    from trust.pki import load_certificate_file

    container = xroad / "asic" / "asic-containers" / "valid-batch-ts"
    token = (container / "META-INF" / "timestamp.tst").read_bytes()  # BER, indefinite lengths
    tsa_cert = load_certificate_file(xroad / "certs" / "tsp.pem")  # bare base64 DER
    stamped = (container / "ts-hashchainresult.xml").read_bytes()
    verified = verify_timestamp_token(token, data=stamped, tsa_certs=[tsa_cert],
                                      at=dt.datetime(2014, 6, 1, tzinfo=dt.timezone.utc))
    assert verified.gen_time == dt.datetime(2014, 5, 27, 12, 56, 23, tzinfo=dt.timezone.utc)
    assert verified.hash_algorithm is DigestAlgorithm.SHA256 and verified.policy == "1.2.3"
    with pytest.raises(TimestampImprintMismatch):
        verify_timestamp_token(token, data=stamped + b" ", tsa_certs=[tsa_cert])
    with pytest.raises(TimestampFromFuture):
        verify_timestamp_token(token, data=stamped, tsa_certs=[tsa_cert],
                               at=dt.datetime(2014, 5, 1, tzinfo=dt.timezone.utc))
