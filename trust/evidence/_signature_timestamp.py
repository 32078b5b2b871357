"""Timestamps over message signatures: single and batch (X-Road's message log).

A signature says who signed; a timestamp from an approved TSA says *when it existed*,
which is what keeps the evidence valid after the signer's certificate expires or is
revoked: the certificate, its OCSP response and the signature are judged at the
timestamp's genTime.

* **single** -- the TSA stamps the bytes of the decoded ``ds:SignatureValue``; the
  token is added to the signature as ``xades:SignatureTimeStamp`` (the only change to
  the document: one element inserted into the unsigned properties, every other byte
  kept).
* **batch** -- one TSA request for many log records: a Merkle tree
  (:mod:`trust.xades._hashchain`) over SHA-512 of each record's ``signatures.xml``; the TSA
  stamps the bytes of ``/ts-hashchainresult.xml``; each record keeps the result, its
  own ``ts-hashchain.xml`` and the token (``META-INF/timestamp.tst`` in the ASiC).

Timestamping never holds a lock the traffic path needs (DESIGN 5): callers pass the
already-written signatures and get new records back.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from typing import Protocol, Sequence

from cryptography import x509

from trust.keys import DigestAlgorithm
from trust.pki import TrustPolicy
from trust.xades import (
    TS_HASH_CHAIN, TS_HASH_CHAIN_RESULT, HashChainInput, build_hash_chains, verify_hash_chain,
)
from ._timestamp import VerifiedTimestamp
from trust.xades import EvidenceError, HashChainBroken, SignatureError
from trust.xades import parse_signature
from trust.xades import verify_tsa_token

SIGNATURE_URI = "/META-INF/signatures.xml"
_UNSIGNED_OPEN = b"<xades:UnsignedSignatureProperties>"


class Stamper(Protocol):
    """Anything that gets a verified RFC 3161 token over data: :class:`trust.evidence._timestamp.TimestampClient`."""

    def stamp(self, data: bytes, *, at: dt.datetime) -> VerifiedTimestamp:
        ...


class TimestampHashChainBroken(EvidenceError):
    """The timestamp hash chain does not lead from the stamped result to this signature."""

    code = "trust.evidence.hash_chain_broken"


class TimestampMissing(EvidenceError):
    code = "trust.evidence.timestamp_missing"


@dataclass(frozen=True)
class TimestampedRecord:
    """One log record after timestamping.

    Single: ``signature_xml`` contains the SignatureTimeStamp, the batch fields are None.
    Batch: ``signature_xml`` is unchanged and the token, result and chain are set.
    """

    signature_xml: bytes
    gen_time: dt.datetime
    timestamp_token: bytes | None = None
    ts_hash_chain_result: bytes | None = None
    ts_hash_chain: bytes | None = None

    @property
    def batch(self) -> bool:
        return self.ts_hash_chain_result is not None


@dataclass(frozen=True)
class VerifiedEvidenceTimestamp:
    """A timestamp that verified against an approved TSA and covers the signature."""

    gen_time: dt.datetime
    tsa_certificate: x509.Certificate
    token: bytes
    batch: bool


def signature_value(signature_xml: bytes) -> bytes:
    """The decoded SignatureValue bytes: what a single timestamp stamps."""
    return parse_signature(signature_xml).signature_value


def add_signature_timestamp(signature_xml: bytes, token_der: bytes) -> bytes:
    """Insert ``xades:SignatureTimeStamp`` first into the unsigned signature properties."""
    if signature_xml.count(_UNSIGNED_OPEN) != 1:
        raise EvidenceError("signature has no single xades:UnsignedSignatureProperties to hold a timestamp")
    if b"<xades:SignatureTimeStamp>" in signature_xml:
        raise EvidenceError("signature already carries a SignatureTimeStamp")
    element = (
        b"<xades:SignatureTimeStamp><xades:EncapsulatedTimeStamp>"
        + base64.b64encode(token_der)
        + b"</xades:EncapsulatedTimeStamp></xades:SignatureTimeStamp>"
    )
    return signature_xml.replace(_UNSIGNED_OPEN, _UNSIGNED_OPEN + element, 1)


def build_batch(signature_xmls: Sequence[bytes], algorithm: DigestAlgorithm = DigestAlgorithm.SHA512) -> tuple[bytes, tuple[bytes, ...]]:
    """The ts hash chain result (what the TSA stamps) and one chain per signature."""
    batch = build_hash_chains(
        [[HashChainInput(SIGNATURE_URI, algorithm.digest(sig))] for sig in signature_xmls],
        algorithm=algorithm,
        chain_uri=TS_HASH_CHAIN,
    )
    return batch.result_xml, batch.chains


def timestamp_single(signature_xml: bytes, client: Stamper, *, at: dt.datetime) -> TimestampedRecord:
    """Stamp one signature and embed the token in it."""
    verified = client.stamp(signature_value(signature_xml), at=at)
    return TimestampedRecord(add_signature_timestamp(signature_xml, verified.token_der), verified.gen_time)


def timestamp_batch(signature_xmls: Sequence[bytes], client: Stamper, *, at: dt.datetime) -> list[TimestampedRecord]:
    """Stamp many signatures with one TSA request (a batch of one is stamped singly, as X-Road does)."""
    if not signature_xmls:
        return []
    if len(signature_xmls) == 1:
        return [timestamp_single(signature_xmls[0], client, at=at)]
    result, chains = build_batch(signature_xmls)
    verified = client.stamp(result, at=at)
    return [
        TimestampedRecord(sig, verified.gen_time, verified.token_der, result, chain)
        for sig, chain in zip(signature_xmls, chains)
    ]


def decode_token(data: bytes) -> bytes:
    """``timestamp.tst`` as DER; X-Road before 7 wrote it base64-encoded."""
    stripped = data.strip()
    if stripped[:1] == b"\x30":
        return bytes(data)
    try:
        return base64.b64decode(b"".join(stripped.split()), validate=True)
    except ValueError as exc:
        raise EvidenceError("timestamp.tst is neither DER nor base64") from exc


def check_timestamp_chain(signature_xml: bytes, ts_hash_chain_result: bytes, ts_hash_chain: bytes | None) -> None:
    """The batch timestamp's hash chain leads from its result to this signature (no TSA check)."""
    entries = {SIGNATURE_URI: signature_xml}
    if ts_hash_chain is not None:
        entries[TS_HASH_CHAIN] = ts_hash_chain
    try:
        verify_hash_chain(ts_hash_chain_result, entries.get, required=[SIGNATURE_URI], what="timestamp hash chain")
    except HashChainBroken as exc:
        raise TimestampHashChainBroken(str(exc)) from exc


def verify_signature_timestamp(
    signature_xml: bytes,
    policy: TrustPolicy,
    *,
    token: bytes | None = None,
    ts_hash_chain_result: bytes | None = None,
    ts_hash_chain: bytes | None = None,
    at: dt.datetime | None = None,
) -> VerifiedEvidenceTimestamp:
    """Verify the timestamp of a signature, single (embedded) or batch (chain + token)."""
    if ts_hash_chain_result is not None:
        if token is None:
            raise TimestampMissing("batch timestamp hash chain without a timestamp token")
        check_timestamp_chain(signature_xml, ts_hash_chain_result, ts_hash_chain)
        verified = verify_tsa_token(decode_token(token), policy, data=ts_hash_chain_result, at=at)
        return VerifiedEvidenceTimestamp(verified.gen_time, verified.tsa_cert, verified.token_der, True)
    try:
        parsed = parse_signature(signature_xml)
    except SignatureError as exc:
        raise EvidenceError(f"cannot read the signature to check its timestamp: {exc}") from exc
    tokens = parsed.timestamp_tokens
    if token is not None and not tokens:
        tokens = (decode_token(token),)
    if not tokens:
        raise TimestampMissing("the signature carries no timestamp")
    if len(tokens) > 1:
        raise EvidenceError("the signature carries more than one SignatureTimeStamp")
    verified = verify_tsa_token(tokens[0], policy, data=parsed.signature_value, at=at)
    return VerifiedEvidenceTimestamp(verified.gen_time, verified.tsa_cert, verified.token_der, False)


__all__ = [
    "SIGNATURE_URI",
    "Stamper",
    "TS_HASH_CHAIN",
    "TS_HASH_CHAIN_RESULT",
    "TimestampHashChainBroken",
    "TimestampMissing",
    "TimestampedRecord",
    "VerifiedEvidenceTimestamp",
    "add_signature_timestamp",
    "build_batch",
    "check_timestamp_chain",
    "decode_token",
    "signature_value",
    "timestamp_batch",
    "timestamp_single",
    "verify_signature_timestamp",
]
