"""RFC 3161 timestamp tokens: verification, requests and replies.

A timestamp token is CMS ``SignedData`` whose content is a DER ``TSTInfo``
(policy, message imprint, serial, genTime, nonce). Verification checks, in order:
the CMS structure and content type, the imprint against the data (or its digest),
the signed attributes (``contentType`` = id-ct-TSTInfo, ``messageDigest`` over the
exact ``TSTInfo`` bytes, an ESS signing-certificate attribute naming the signer),
the signature, and that the signer is one of the TSA certificates the caller trusts
(or a certificate those directly issued) with EKU timeStamping, valid at genTime.

The message log stamps the ``SignatureValue`` or the hash-chain result with SHA-512
(NOTES 7); the evidence verifier calls :func:`verify_timestamp_token` on tokens
taken out of ASiC containers, so every failure has its own error and code. The HTTP
client that asks a TSA for tokens is :mod:`trust.evidence._tsa_client`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509

from trust.keys import DigestAlgorithm
from trust.pki import cert_der, find_issuer, is_tsa_cert, require_aware, verify_asn1_signature
from trust.pki import CertificateError, read_certificate
from trust.errors import TrustError

TIMESTAMP_QUERY = "application/timestamp-query"
TIMESTAMP_REPLY = "application/timestamp-reply"

# Imprint hashes sild accepts and issues; SHA-512 is what X-Road uses.
IMPRINT_ALGORITHMS: dict[str, DigestAlgorithm] = {
    "sha256": DigestAlgorithm.SHA256,
    "sha384": DigestAlgorithm.SHA384,
    "sha512": DigestAlgorithm.SHA512,
}

# Clock difference tolerated between a TSA and the verifier.
DEFAULT_CLOCK_SKEW = dt.timedelta(minutes=5)


class TimestampError(TrustError):
    code = "trust.tsa.error"


class TimestampMalformed(TimestampError):
    code = "trust.tsa.malformed"


class TimestampUnsupportedAlgorithm(TimestampError):
    code = "trust.tsa.unsupported_algorithm"


class TimestampImprintMismatch(TimestampError):
    """The token stamps some other data."""

    code = "trust.tsa.imprint_mismatch"


class TimestampSignatureInvalid(TimestampError):
    code = "trust.tsa.signature_invalid"


class TimestampUnknownTsa(TimestampError):
    """The signer is none of the trusted TSA certificates."""

    code = "trust.tsa.unknown_tsa"


class TimestampCertificateInvalid(TimestampError):
    """The TSA certificate has no timeStamping usage or was not valid at genTime."""

    code = "trust.tsa.certificate_invalid"


class TimestampFromFuture(TimestampError):
    code = "trust.tsa.from_future"


class TimestampRejected(TimestampError):
    """The TSA answered, but refused to stamp (status rejection / waiting ...)."""

    code = "trust.tsa.rejected"


class TimestampNonceMismatch(TimestampError):
    code = "trust.tsa.nonce_mismatch"


class TimestampUnavailable(TimestampError):
    """The TSA could not be reached or answered with an HTTP error."""

    code = "trust.tsa.unavailable"


@dataclass(frozen=True)
class VerifiedTimestamp:
    """A token whose signature, imprint and signer were checked."""

    gen_time: dt.datetime
    serial: int
    policy: str
    hash_algorithm: DigestAlgorithm
    message_imprint: bytes
    tsa_cert: x509.Certificate
    nonce: int | None
    token_der: bytes

    def __post_init__(self) -> None:
        require_aware(self.gen_time, "genTime")


def _digest_name(algorithm: algos.DigestAlgorithm) -> str:
    try:
        return str(algorithm["algorithm"].native)
    except (ValueError, KeyError) as exc:
        raise TimestampMalformed(f"bad digest algorithm identifier: {exc}") from exc


def imprint_algorithm(name: str) -> DigestAlgorithm:
    alg = IMPRINT_ALGORITHMS.get(name)
    if alg is None:
        raise TimestampUnsupportedAlgorithm(f"imprint hash {name!r} is not accepted (SHA-256/384/512 only)")
    return alg


def _signed_attrs_der(signer_info: cms.SignerInfo) -> bytes:
    """DER of the signed attributes as signed: the [0] IMPLICIT tag replaced by SET (RFC 5652 5.4)."""
    raw = signer_info["signed_attrs"].dump()
    return b"\x31" + bytes(raw[1:])


def _attr(signer_info: cms.SignerInfo, name: str) -> list[object]:
    found = [a for a in signer_info["signed_attrs"] if a["type"].native == name]
    if len(found) > 1:
        raise TimestampMalformed(f"signed attribute {name} appears more than once")
    if not found:
        return []
    values: list[object] = list(found[0]["values"])
    return values


# what asn1crypto raises on damaged DER (IndexError: a length or tag past the end, found by
# tests/fuzz/test_pki_responses.py)
_DER_ERRORS = (ValueError, TypeError, KeyError, IndexError)


def parse_token(token_der: bytes) -> tuple[cms.SignedData, tsp.TSTInfo, bytes]:
    """SignedData, parsed TSTInfo and the exact TSTInfo bytes of a token."""
    try:
        info = cms.ContentInfo.load(token_der, strict=True)
        if info["content_type"].native != "signed_data":
            raise TimestampMalformed("timestamp token is not CMS SignedData")
        signed = info["content"]
        encap = signed["encap_content_info"]
        if encap["content_type"].native != "tst_info":
            raise TimestampMalformed("SignedData does not carry id-ct-TSTInfo")
        content = encap["content"]
        if content is None or isinstance(content, core.Void):
            raise TimestampMalformed("timestamp token has no TSTInfo")
        # eContent is an OCTET STRING holding the DER TSTInfo; hash exactly those bytes
        tst_bytes = bytes(content.contents)
        tst_info = tsp.TSTInfo.load(tst_bytes, strict=True)
        tst_info.native  # forces a full parse so damage is reported here
        signed.native
    except TimestampError:
        raise
    except _DER_ERRORS as exc:
        raise TimestampMalformed(f"timestamp token is not valid DER: {exc}") from exc
    return signed, tst_info, tst_bytes


def _signer_cert(
    signer_info: cms.SignerInfo, signed: cms.SignedData, tsa_certs: Sequence[x509.Certificate]
) -> x509.Certificate:
    """The trusted certificate named by the signer identifier."""
    embedded: list[x509.Certificate] = []
    for choice in signed["certificates"] or []:
        if choice.name == "certificate":
            try:
                embedded.append(read_certificate(choice.chosen.dump(), der_only=True))
            except CertificateError:
                continue
    sid = signer_info["sid"]

    def matches(cert: x509.Certificate) -> bool:
        parsed = asn1_x509.Certificate.load(cert_der(cert))
        if sid.name == "issuer_and_serial_number":
            ias = sid.chosen
            return bool(
                ias["serial_number"].native == parsed.serial_number and ias["issuer"] == parsed.issuer
            )
        return bool(parsed.key_identifier == sid.chosen.native)

    for cert in tsa_certs:
        if matches(cert):
            return cert
    for cert in embedded:
        if matches(cert) and find_issuer(cert, tsa_certs) is not None:
            return cert
    raise TimestampUnknownTsa("the timestamp was signed by a TSA that is not trusted")


def _check_ess(signer_info: cms.SignerInfo, cert: x509.Certificate) -> None:
    der = cert_der(cert)
    v2 = _attr(signer_info, "signing_certificate_v2")
    v1 = _attr(signer_info, "signing_certificate")
    if not v1 and not v2:
        raise TimestampMalformed("timestamp has no ESS signing-certificate attribute")
    if v2:
        first = v2[0]["certs"][0]  # type: ignore[index]
        name = first["hash_algorithm"]["algorithm"].native
        if name not in ("sha256", "sha384", "sha512"):
            raise TimestampUnsupportedAlgorithm(f"ESSCertIDv2 hash {name} is not accepted")
        if hashlib.new(name, der).digest() != first["cert_hash"].native:
            raise TimestampSignatureInvalid("ESS signing certificate does not match the TSA certificate")
    else:
        first = v1[0]["certs"][0]  # type: ignore[index]
        if hashlib.sha1(der).digest() != first["cert_hash"].native:
            raise TimestampSignatureInvalid("ESS signing certificate does not match the TSA certificate")


def _signed_attributes(signed: cms.SignedData, tst_bytes: bytes) -> tuple[cms.SignerInfo, str]:
    """The one signer and its digest name, after checking its contentType and messageDigest."""
    signer_infos = signed["signer_infos"]
    if len(signer_infos) != 1:
        raise TimestampMalformed(f"timestamp token has {len(signer_infos)} signers, expected 1")
    signer_info = signer_infos[0]
    if signer_info["signed_attrs"].native is None:
        raise TimestampMalformed("timestamp token has no signed attributes")
    content_types = _attr(signer_info, "content_type")
    if not content_types or content_types[0].native != "tst_info":  # type: ignore[attr-defined]
        raise TimestampMalformed("signed contentType is not id-ct-TSTInfo")
    digest_name = _digest_name(signer_info["digest_algorithm"])
    if digest_name not in ("sha256", "sha384", "sha512"):
        raise TimestampUnsupportedAlgorithm(f"signer digest {digest_name} is not accepted")
    digests = _attr(signer_info, "message_digest")
    if not digests or digests[0].native != hashlib.new(digest_name, tst_bytes).digest():  # type: ignore[attr-defined]
        raise TimestampSignatureInvalid("messageDigest does not match the TSTInfo")
    return signer_info, digest_name


def _check_signature(signer_info: cms.SignerInfo, cert: x509.Certificate, digest_name: str) -> None:
    """The signature over the signed attributes, with the signer certificate's key."""
    sig_algo = signer_info["signature_algorithm"]
    try:
        sig_name = sig_algo.signature_algo
        pss = sig_algo["parameters"]["salt_length"].native if sig_name == "rsassa_pss" else None
    except (ValueError, KeyError) as exc:
        raise TimestampUnsupportedAlgorithm(f"unsupported signature algorithm: {exc}") from exc
    if not verify_asn1_signature(
        cert.public_key(), sig_name, digest_name, _signed_attrs_der(signer_info),
        signer_info["signature"].native, pss,
    ):
        raise TimestampSignatureInvalid("the timestamp signature does not verify")


def verify_timestamp_token(
    token_der: bytes,
    *,
    message_imprint_digest: bytes | None = None,
    data: bytes | None = None,
    tsa_certs: Sequence[x509.Certificate],
    at: dt.datetime | None = None,
    clock_skew: dt.timedelta = DEFAULT_CLOCK_SKEW,
) -> VerifiedTimestamp:
    """Verify an RFC 3161 token over ``data`` (or its precomputed imprint digest).

    ``at`` (aware) is the verification moment; a token whose genTime lies more than
    ``clock_skew`` after it is refused. Give exactly one of ``data`` and
    ``message_imprint_digest``; the digest must use the token's imprint algorithm.
    """
    if (data is None) == (message_imprint_digest is None):
        raise TimestampError("give exactly one of data and message_imprint_digest", code="trust.tsa.usage")
    if not tsa_certs:
        raise TimestampUnknownTsa("no trusted TSA certificates given")
    signed, tst_info, tst_bytes = parse_token(token_der)

    imprint = tst_info["message_imprint"]
    algorithm = imprint_algorithm(_digest_name(imprint["hash_algorithm"]))
    hashed = bytes(imprint["hashed_message"].native)
    expected = algorithm.digest(data) if data is not None else message_imprint_digest
    if hashed != expected:
        raise TimestampImprintMismatch("the timestamp does not cover this data")

    signer_info, digest_name = _signed_attributes(signed, tst_bytes)
    cert = _signer_cert(signer_info, signed, tsa_certs)
    _check_signature(signer_info, cert, digest_name)
    _check_ess(signer_info, cert)

    gen_time = tst_info["gen_time"].native
    if not isinstance(gen_time, dt.datetime):
        raise TimestampMalformed("genTime is missing")
    gen_time = require_aware(gen_time, "genTime")
    if not is_tsa_cert(cert):
        raise TimestampCertificateInvalid("the TSA certificate lacks the critical timeStamping usage")
    if not cert.not_valid_before_utc <= gen_time <= cert.not_valid_after_utc:
        raise TimestampCertificateInvalid("the TSA certificate was not valid at genTime")
    if at is not None and gen_time > require_aware(at) + clock_skew:
        raise TimestampFromFuture(f"genTime {gen_time.isoformat()} lies after {at.isoformat()}")
    nonce = tst_info["nonce"].native
    return VerifiedTimestamp(
        gen_time=gen_time,
        serial=int(tst_info["serial_number"].native),
        policy=str(tst_info["policy"].dotted),
        hash_algorithm=algorithm,
        message_imprint=hashed,
        tsa_cert=cert,
        nonce=int(nonce) if nonce is not None else None,
        token_der=bytes(token_der),
    )


# -- requests and replies --------------------------------------------------


def build_request(
    imprint_digest: bytes,
    algorithm: DigestAlgorithm = DigestAlgorithm.SHA512,
    *,
    nonce: int | None = None,
    cert_req: bool = True,
    policy: str | None = None,
) -> bytes:
    """DER ``TimeStampReq`` for a precomputed digest."""
    name = {v: k for k, v in IMPRINT_ALGORITHMS.items()}.get(algorithm)
    if name is None:
        raise TimestampUnsupportedAlgorithm(f"cannot request a timestamp over {algorithm.name}")
    if len(imprint_digest) != algorithm.hash_class().digest_size:
        raise TimestampError("imprint digest has the wrong length", code="trust.tsa.usage")
    fields: dict[str, object] = {
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": name}, "hashed_message": imprint_digest},
        "cert_req": cert_req,
    }
    if nonce is not None:
        fields["nonce"] = nonce
    if policy is not None:
        fields["req_policy"] = policy
    return bytes(tsp.TimeStampReq(fields).dump())


class TimeStampResp(core.Sequence):  # type: ignore[misc]
    """RFC 3161 ``TimeStampResp``; asn1crypto's own class wrongly makes the token mandatory,
    so rejections (which carry no token) could not be read or written with it."""

    _fields = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


def parse_reply(reply_der: bytes) -> bytes:
    """The token of a granted ``TimeStampResp``; raises :class:`TimestampRejected` otherwise."""
    try:  # asn1crypto parses lazily: every field read may meet the damage, so all are read here
        resp = TimeStampResp.load(reply_der, strict=True)
        status = resp["status"]
        code = status["status"].native
        text = status["status_string"].native
        fail = status["fail_info"].native
        token = resp["time_stamp_token"]
        empty = token.native is None
    except _DER_ERRORS as exc:
        raise TimestampMalformed(f"timestamp reply is not valid DER: {exc}") from exc
    if code not in ("granted", "granted_with_mods"):
        reason = "; ".join(text) if text else ""
        raise TimestampRejected(f"TSA refused: {code} {sorted(fail) if fail else ''} {reason}".strip())
    if empty:
        raise TimestampMalformed("granted reply carries no token")
    return bytes(token.dump())
