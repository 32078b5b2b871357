"""ASiC-E containers: X-Road's containers verify (or are refused for the right reason) against
``globalconf_good2_v3``; containers written by sild verify with sild, keep X-Road's layout and
stay verifiable after their certificates expire."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Callable

import pytest

from tests.support.evidence_pki import EvidencePki, make_pki, policies_for_tree
from trust.pki import TrustPolicy
from trust.evidence import read_container, verify_container, write_container
from trust.errors import SildError
from trust.evidence import timestamp_batch, timestamp_single
from trust.protocol import MemberId, SubsystemId
from trust.xades import SignedPart, create_signature, sign_batch

UTC = dt.timezone.utc
AT = dt.datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

# X-Road's containers and what sild must say about them. X-Road's own verifier accepts
# invalid-not-signed-hashchain ("the hash chain is not verified"); sild refuses any entry
# that neither the signature nor the timestamp covers. attachments.asice is a pre-6.0
# container without message.xml.
VECTORS = [
    ("valid-signed-message", None, "DEV/COM/4321/TestClient", "single"),
    ("valid-non-batch-rest", None, "DEV/COM/1234/TestService", "batch"),
    ("valid-non-batch-soap-attachments", None, "DEV/COM/4321/TestClient", "batch"),
    ("valid-signed-hashchain", None, "DEV/COM/4321/TestClient", "single"),
    ("valid-batch-ts", None, "DEV/COM/4321/TestClient", "batch"),
    ("wrong-message", "trust.signature.digest_mismatch", None, None),
    ("invalid-digest", "trust.signature.digest_mismatch", None, None),
    ("invalid-signed-hashchain", "trust.signature.hash_chain_broken", None, None),
    ("invalid-hashchain-modified-message", "trust.signature.hash_chain_unused_input", None, None),
    ("invalid-not-signed-hashchain", "trust.asic.unsigned_entry", None, None),
    ("invalid-incorrect-references", "trust.signature.missing_reference", None, None),
    ("invalid-ts-hashchainresult", "trust.evidence.hash_chain_broken", None, None),
    ("attachments", "trust.asic.missing_entry", None, None),
]


@pytest.fixture(scope="module")
def good2_v3(xroad: Path) -> dict[str, TrustPolicy]:
    return policies_for_tree(xroad / "globalconf" / "parsed" / "globalconf_good2_v3")


@pytest.mark.parametrize(("name", "error", "signer", "timestamp"), VECTORS, ids=[v[0] for v in VECTORS])
@pytest.mark.conformance(area="asic", vector="asic/{name}.asice",
                         expected=lambda p: f"verifies, signed by {p['signer']}" if p["error"] is None else f"refused: {p['error']}")
def test_x_road_containers(
    xroad: Path, good2_v3: dict[str, TrustPolicy], name: str, error: str | None, signer: str | None, timestamp: str | None,
    record_property: Callable[[str, object], None],
) -> None:
    data = (xroad / "asic" / f"{name}.asice").read_bytes()
    if error is not None:
        with pytest.raises(SildError) as info:
            verify_container(data, good2_v3)
        record_property("observed", f"refused: {info.value.code}")  # what the conformance report shows
        assert info.value.code == error, str(info.value)
        return
    verified = verify_container(data, good2_v3)
    record_property("observed", f"verifies, signed by {verified.signer.to_text()}")
    assert verified.signer.to_text() == signer
    assert verified.signature.ocsp_status == "good"
    assert verified.timestamp is not None
    assert ("batch" if verified.timestamp.batch else "single") == timestamp
    assert verified.evidence_time == verified.timestamp.gen_time
    assert verified.message == read_container(data).entries["message.xml"]
    assert verified.describe()[0].startswith(f"signer: {signer}")


def test_x_road_container_needs_the_right_instance(xroad: Path, good2_v3: dict[str, TrustPolicy]) -> None:
    data = (xroad / "asic" / "valid-signed-message.asice").read_bytes()
    with pytest.raises(SildError) as info:
        verify_container(data, {"OTHER": next(iter(good2_v3.values()))})
    assert info.value.code == "trust.asic.unknown_instance"


# -- sild's own containers -----------------------------------------------------------------------

CLIENT = SubsystemId("DEV", "COM", "4321", "TestClient")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> EvidencePki:
    pki = make_pki(tmp_path_factory.mktemp("asic-pki"))
    pki.issue_sign_cert("client", "COM", "4321")
    pki.issue_sign_cert("provider", "COM", "1234", ecdsa=True)
    # valid for one month only: its containers must verify long after
    pki.issue_sign_cert("short", "COM", "4321", not_before=dt.datetime(2026, 5, 15, tzinfo=UTC),
                        not_after=dt.datetime(2026, 6, 15, tzinfo=UTC))
    return pki


@pytest.fixture(scope="module")
def soap(xroad: Path) -> bytes:
    with zipfile.ZipFile(xroad / "asic" / "valid-batch-ts.asice") as z:
        return z.read("message.xml")


REST_RESPONSE = (
    b"200\r\nOK\r\nContent-Type:application/json\r\nx-road-id:DEV-1\r\nx-road-client:DEV/COM/4321/TestClient\r\n"
    b"x-road-service:DEV/COM/1234/TestService/mock1\r\nx-road-request-id:78b890f3"
)


def _policies(pki: EvidencePki) -> dict[str, TrustPolicy]:
    return {"DEV": pki.policy()}


def _signed(pki: EvidencePki, key: str, parts: list[SignedPart], at: dt.datetime = AT) -> bytes:
    cert = pki.sign_certs[key]
    return create_signature(parts, signer=pki.token, key_id=key, certificate=cert, signing_time=at,
                            ocsp_responses=[pki.ocsp(cert, at - dt.timedelta(seconds=30))])


def test_single_round_trip_and_layout(pki: EvidencePki, soap: bytes) -> None:
    signature = timestamp_single(_signed(pki, "client", [SignedPart("/message.xml", data=soap)]), pki, at=AT).signature_xml
    data = write_container(message=soap, signature_xml=signature, created=AT)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        first = z.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        assert z.read("mimetype") == b"application/vnd.etsi.asic-e+zip"
        assert z.namelist() == ["mimetype", "message.xml", "META-INF/signatures.xml", "META-INF/manifest.xml"]
    assert data == write_container(message=soap, signature_xml=signature, created=AT)  # reproducible
    verified = verify_container(data, _policies(pki), require_timestamp=True)
    assert verified.signer == CLIENT
    assert verified.signature.signer == MemberId("DEV", "COM", "4321")
    assert verified.timestamp is not None and not verified.timestamp.batch


def test_rest_response_with_body(pki: EvidencePki) -> None:
    body = b'{"answer": 42}'
    signature = _signed(pki, "provider", [SignedPart("/message.xml", data=REST_RESPONSE),
                                          SignedPart("/attachment1", data=body, mime_type="application/octet-stream")])
    signature = timestamp_single(signature, pki, at=AT).signature_xml
    data = write_container(message=REST_RESPONSE, signature_xml=signature, attachments=[body], created=AT)
    verified = verify_container(data, _policies(pki))
    assert verified.signer.to_text() == "DEV/COM/1234/TestService"
    assert verified.identity.kind == "rest" and verified.identity.is_response
    assert verified.attachments == {"/attachment1": body}


def test_soap_with_attachments_and_tampered_attachment(pki: EvidencePki, soap: bytes) -> None:
    atts = [b"first attachment", b"second"]
    parts = [SignedPart("/message.xml", data=soap)] + [SignedPart(f"/attachment{i}", data=a) for i, a in enumerate(atts, 1)]
    signature = timestamp_single(_signed(pki, "client", parts), pki, at=AT).signature_xml
    verify_container(write_container(message=soap, signature_xml=signature, attachments=atts, created=AT), _policies(pki))
    bad = write_container(message=soap, signature_xml=signature, attachments=[atts[0], b"SECOND"], created=AT)
    with pytest.raises(SildError) as info:
        verify_container(bad, _policies(pki))
    assert info.value.code == "trust.signature.digest_mismatch"


@pytest.mark.parametrize("size", [2, 5], ids=["batch-2", "batch-5"])
def test_batch_signature_and_batch_timestamp(pki: EvidencePki, soap: bytes, size: int) -> None:
    messages = [soap.replace(b"366462d3", f"{i:08x}".encode()) for i in range(size)]
    records = sign_batch([[SignedPart("/message.xml", data=m)] for m in messages], signer=pki.token, key_id="client",
                         certificate=pki.sign_certs["client"], signing_time=AT,
                         ocsp_responses=[pki.ocsp(pki.sign_certs["client"], AT)])
    stamped = timestamp_batch([r.signature_xml for r in records], pki, at=AT + dt.timedelta(seconds=10))
    assert len({s.timestamp_token for s in stamped}) == 1  # one TSA request for the batch
    containers = []
    for m, r, s in zip(messages, records, stamped):
        data = write_container(message=m, signature_xml=s.signature_xml, created=AT,
                               sig_hash_chain_result=r.hash_chain_result, sig_hash_chain=r.hash_chain,
                               timestamp_token=s.timestamp_token, ts_hash_chain_result=s.ts_hash_chain_result,
                               ts_hash_chain=s.ts_hash_chain)
        verified = verify_container(data, _policies(pki))
        assert verified.timestamp is not None and verified.timestamp.batch
        assert verified.signature.hash_chain is not None
        containers.append(data)
    assert len(set(containers)) == size


def test_swapped_timestamp_chain_is_refused(pki: EvidencePki, soap: bytes) -> None:
    messages = [soap.replace(b"366462d3", f"{i:08x}".encode()) for i in range(3)]
    signatures = [_signed(pki, "client", [SignedPart("/message.xml", data=m)]) for m in messages]
    stamped = timestamp_batch(signatures, pki, at=AT + dt.timedelta(seconds=10))
    ok = write_container(message=messages[0], signature_xml=signatures[0], created=AT,
                         timestamp_token=stamped[0].timestamp_token, ts_hash_chain_result=stamped[0].ts_hash_chain_result,
                         ts_hash_chain=stamped[0].ts_hash_chain)
    assert verify_container(ok, _policies(pki)).timestamp is not None
    swapped = write_container(message=messages[0], signature_xml=signatures[0], created=AT,
                              timestamp_token=stamped[0].timestamp_token,
                              ts_hash_chain_result=stamped[0].ts_hash_chain_result, ts_hash_chain=stamped[1].ts_hash_chain)
    with pytest.raises(SildError) as info:
        verify_container(swapped, _policies(pki))
    assert info.value.code == "trust.evidence.hash_chain_broken"


def test_old_container_verifies_after_certificate_expiry(pki: EvidencePki, soap: bytes) -> None:
    """Evidence is judged when it was made: the certificate expired on 2026-06-15, the
    container is verified with the same policy afterwards (verification takes no 'now')."""
    at = dt.datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    signature = timestamp_single(_signed(pki, "short", [SignedPart("/message.xml", data=soap)], at=at), pki, at=at)
    data = write_container(message=soap, signature_xml=signature.signature_xml, created=at)
    verified = verify_container(data, _policies(pki))
    assert verified.evidence_time < pki.sign_certs["short"].not_valid_after_utc


def test_signature_after_certificate_expiry_is_refused(pki: EvidencePki, soap: bytes) -> None:
    at = dt.datetime(2026, 7, 1, tzinfo=UTC)
    signature = timestamp_single(_signed(pki, "short", [SignedPart("/message.xml", data=soap)], at=at), pki, at=at)
    data = write_container(message=soap, signature_xml=signature.signature_xml, created=at)
    with pytest.raises(SildError) as info:
        verify_container(data, _policies(pki))
    assert info.value.code == "trust.signature.untrusted_chain"


def test_unsigned_extra_entry_is_refused(pki: EvidencePki, soap: bytes) -> None:
    signature = _signed(pki, "client", [SignedPart("/message.xml", data=soap)])
    data = write_container(message=soap, signature_xml=signature, created=AT)
    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer, "a") as z:
        z.writestr("note.txt", b"not signed")
    with pytest.raises(SildError) as info:
        verify_container(buffer.getvalue(), _policies(pki))
    assert info.value.code == "trust.asic.unsigned_entry"


def test_timestamp_from_unapproved_tsa_is_refused(pki: EvidencePki, soap: bytes, tmp_path: Path) -> None:
    other = make_pki(tmp_path)
    signature = timestamp_single(_signed(pki, "client", [SignedPart("/message.xml", data=soap)]), other, at=AT)
    data = write_container(message=soap, signature_xml=signature.signature_xml, created=AT)
    with pytest.raises(SildError) as info:
        verify_container(data, _policies(pki))
    assert info.value.code == "trust.evidence.timestamp_untrusted"


@pytest.mark.parametrize(
    "mutate",
    [lambda b: b[:-10], lambda b: b"PK\x03\x04" + b"\x00" * 30, lambda b: b"not a zip"],
    ids=["truncated", "garbage-zip", "not-zip"],
)
def test_broken_archives(pki: EvidencePki, soap: bytes, mutate: object) -> None:
    data = write_container(message=soap, signature_xml=_signed(pki, "client", [SignedPart("/message.xml", data=soap)]),
                           created=AT)
    with pytest.raises(SildError) as info:
        verify_container(mutate(data), _policies(pki))  # type: ignore[operator]
    assert info.value.code.startswith("trust.asic")


def test_unsafe_entry_name_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("mimetype", b"application/vnd.etsi.asic-e+zip")
        z.writestr("../evil", b"x")
    with pytest.raises(SildError) as info:
        read_container(buffer.getvalue())
    assert info.value.code == "trust.asic.invalid"


# The unpacked copies under asic-containers/ are the inputs of X-Road's generate-containers.sh.
# All but valid-batch-ts are byte-identical to the .asice entries; valid-batch-ts/ is a stale
# 2014 generation whose message.xml is not the message its signature covers.
UNPACKED = {name: error for name, error, _, _ in VECTORS if name not in ("valid-non-batch-rest", "valid-non-batch-soap-attachments")}
UNPACKED["valid-batch-ts"] = "trust.signature.digest_mismatch"


@pytest.mark.parametrize(("name", "error"), sorted(UNPACKED.items()), ids=sorted(UNPACKED))
@pytest.mark.conformance(area="asic", vector="asic/asic-containers/{name}",
                         expected=lambda p: "verifies" if p["error"] is None else f"refused: {p['error']}")
def test_unpacked_x_road_containers(xroad: Path, good2_v3: dict[str, TrustPolicy], name: str, error: str | None) -> None:
    from trust.evidence import AsicContainer

    root = xroad / "asic" / "asic-containers" / name
    entries = {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
    if error is None:
        assert verify_container(AsicContainer(entries), good2_v3).signature.ocsp_status == "good"
    else:
        with pytest.raises(SildError) as info:
            verify_container(AsicContainer(entries), good2_v3)
        assert info.value.code == error


def test_carried_configuration_is_kept_apart_from_the_signed_data(pki: EvidencePki, soap: bytes) -> None:
    """Configuration under META-INF/verificationconf/ is allowed (the authority's signature vouches for it,
    checked against an anchor by gateway.messagelog.verify_with_anchors); anything else unsigned is not."""
    signature = _signed(pki, "client", [SignedPart("/message.xml", data=soap)])
    carried = [("instance-identifier", b"DEV"), ("DEV/directory", b"signed bytes"), ("DEV/shared-params.xml", b"<x/>")]
    data = write_container(message=soap, signature_xml=signature, created=AT, configuration=carried)
    container = read_container(data)
    assert container.carried_configuration() == dict(carried)
    assert b"verificationconf" not in container.require("META-INF/manifest.xml")
    assert verify_container(data, _policies(pki)).signer == CLIENT
    with pytest.raises(SildError, match="not allowed"):
        write_container(message=soap, signature_xml=signature, created=AT, configuration=[("../x", b"")])
    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer, "a") as z:
        z.writestr("META-INF/verificationconfx", b"not signed")
    with pytest.raises(SildError) as info:
        verify_container(buffer.getvalue(), _policies(pki))
    assert info.value.code == "trust.asic.unsigned_entry"
