"""Timestamps over signatures: single (embedded) and batch (hash chain + token)."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pytest

from tests.support.evidence_pki import EvidencePki, make_pki, policies_for_tree
from trust.evidence import timestamp_batch, timestamp_single, verify_signature_timestamp
from trust.evidence._signature_timestamp import (
    TimestampHashChainBroken, TimestampMissing, add_signature_timestamp, signature_value,
)
from trust.xades import SignedPart, create_signature
from trust.xades import EvidenceError
from trust.xades._errors import TimestampMismatch, TimestampUntrusted

UTC = dt.timezone.utc
AT = dt.datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> EvidencePki:
    pki = make_pki(tmp_path_factory.mktemp("evidence-pki"))
    pki.issue_sign_cert("k", "COM", "4321", ecdsa=True)
    return pki


def _sig(pki: EvidencePki, n: int = 0) -> bytes:
    cert = pki.sign_certs["k"]
    return create_signature([SignedPart("/message.xml", data=b"<m>%d</m>" % n)], signer=pki.token, key_id="k",
                            certificate=cert, signing_time=AT, ocsp_responses=[pki.ocsp(cert, AT)])


@pytest.mark.conformance(area="timestamps", vector="asic/valid-signed-message.asice")
def test_x_road_single_timestamp_stamps_the_signature_value(xroad: Path) -> None:
    policy = policies_for_tree(xroad / "globalconf" / "parsed" / "globalconf_good2_v3")["DEV"]
    with zipfile.ZipFile(xroad / "asic" / "valid-signed-message.asice") as z:
        signature = z.read("META-INF/signatures.xml")
    verified = verify_signature_timestamp(signature, policy)
    assert verified.gen_time == dt.datetime(2024, 12, 5, 13, 16, 35, tzinfo=UTC) and not verified.batch


def test_single_keeps_every_other_byte(pki: EvidencePki) -> None:
    signature = _sig(pki)
    record = timestamp_single(signature, pki, at=AT)
    start = record.signature_xml.index(b"<xades:SignatureTimeStamp>")
    end = record.signature_xml.index(b"</xades:SignatureTimeStamp>") + len(b"</xades:SignatureTimeStamp>")
    assert record.signature_xml[:start] + record.signature_xml[end:] == signature
    verified = verify_signature_timestamp(record.signature_xml, pki.policy())
    assert verified.gen_time == AT
    with pytest.raises(EvidenceError):
        add_signature_timestamp(record.signature_xml, b"\x30\x00")


def test_single_timestamp_of_another_signature_is_refused(pki: EvidencePki) -> None:
    token = pki.stamp(signature_value(_sig(pki, 1)), at=AT).token_der
    with pytest.raises(TimestampMismatch):
        verify_signature_timestamp(add_signature_timestamp(_sig(pki, 2), token), pki.policy())


def test_batch_records_share_one_token(pki: EvidencePki) -> None:
    signatures = [_sig(pki, i) for i in range(4)]
    records = timestamp_batch(signatures, pki, at=AT)
    assert {r.timestamp_token for r in records} == {records[0].timestamp_token}
    for sig, rec in zip(signatures, records):
        assert rec.signature_xml == sig and rec.batch
        verified = verify_signature_timestamp(sig, pki.policy(), token=rec.timestamp_token,
                                              ts_hash_chain_result=rec.ts_hash_chain_result, ts_hash_chain=rec.ts_hash_chain)
        assert verified.batch and verified.gen_time == AT
    with pytest.raises(TimestampHashChainBroken):
        verify_signature_timestamp(signatures[0], pki.policy(), token=records[0].timestamp_token,
                                   ts_hash_chain_result=records[0].ts_hash_chain_result,
                                   ts_hash_chain=records[1].ts_hash_chain)


def test_batch_of_one_is_stamped_singly(pki: EvidencePki) -> None:
    [record] = timestamp_batch([_sig(pki)], pki, at=AT)
    assert not record.batch and b"SignatureTimeStamp" in record.signature_xml


def test_missing_and_untrusted(pki: EvidencePki, tmp_path: Path) -> None:
    with pytest.raises(TimestampMissing):
        verify_signature_timestamp(_sig(pki), pki.policy())
    other = make_pki(tmp_path)
    record = timestamp_single(_sig(pki), other, at=AT)
    with pytest.raises(TimestampUntrusted):
        verify_signature_timestamp(record.signature_xml, pki.policy())
