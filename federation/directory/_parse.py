"""Reading a signed configuration directory, without trusting it yet.

An X-Road governing authority publishes ``internalconf`` (for its own gateways) and
``externalconf`` (for federation partners) as a two-level MIME document (NOTES
section 5)::

    Content-Type: multipart/related; charset=UTF-8; boundary=OUT

    --OUT
    Content-Type: multipart/mixed; charset=UTF-8; boundary=IN

    --IN                                  <- signed bytes start here
    Expire-date: 2035-11-11T03:07:40Z
    Version: 6

    --IN
    Content-type: application/octet-stream
    Content-transfer-encoding: base64
    Content-identifier: SHARED-PARAMETERS; instance='DEV'
    Content-location: /V6/20251110170000548026000/shared-params.xml
    Hash-algorithm-id: http://www.w3.org/2001/04/xmlenc#sha512

    <base64 SHA-512 of the file>
    --IN--                                <- ...and end after this line's CRLF

    --OUT
    Content-Type: application/octet-stream
    Content-Transfer-Encoding: base64
    Signature-Algorithm-Id: http://www.w3.org/2001/04/xmldsig-more#rsa-sha512
    Verification-certificate-hash: <b64 SHA-512(DER)>; hash-algorithm-id="...#sha512"

    <base64 signature>
    --OUT--

The signature (RSA PKCS#1 v1.5, or ECDSA in DER) covers the exact *body* of the
first outer part: from the first ``--IN`` through ``--IN--`` and its line break,
never a re-serialisation. The parameter files are not inside the directory; each
part names them by ``Content-location`` (resolved against the download URL) and
pins them by hash.

Reading is tolerant where X-Road's own files differ (LF line endings in its unit-test
samples, header names in any case, ``instance='X'`` or ``instance="X"``, a missing
``Version`` meaning version 2, a missing closing inner boundary); everything else is
refused with a specific :mod:`federation.model._errors` leaf.

:func:`parse_directory` reads the document in the order it is laid out: the outer
envelope, the inner (signed) multipart, its header part (expiry and version), one
entry per parameter file, then the signature part. Nothing is verified here; see
:mod:`._verify`.
"""

from __future__ import annotations

import datetime as dt
import re

from cryptography.hazmat.primitives.asymmetric import utils

from trust.errors import UnsupportedAlgorithm
from trust.keys import DigestAlgorithm, SignatureAlgorithm

from federation.model import SUPPORTED_VERSIONS, ConfBadSignature, ConfMalformed, ConfMissingExpiry, ConfMissingSignature

from ._envelope import (
    Part, _b64decode, _content_identifier, _header, _multipart_type, _only, _params, _parse_time, _part_headers,
    _split_head, _split_multipart,
)
from ._values import ALLOWED_HASHES, DEFAULT_HASH, MAX_DIRECTORY_BYTES, MIN_RSA_SIGNATURE_BYTES, DirectoryPart, SignedDirectory

_SIGNATURE_HEADERS = {"content-type", "content-transfer-encoding", "signature-algorithm-id", "verification-certificate-hash"}


def parse_directory(data: bytes) -> SignedDirectory:
    """Parse the structure of a signed directory without trusting it.

    Refuses, each with its own error: a document that is not the two-level
    multipart (:class:`ConfMalformed`), a missing or unreadable ``Expire-date``
    (:class:`ConfMissingExpiry`), a missing or empty signature part
    (:class:`ConfMissingSignature`), and a signature value that no accepted key
    could have produced (:class:`ConfBadSignature`).
    """
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError("parse_directory takes bytes")
    data = bytes(data)
    if len(data) > MAX_DIRECTORY_BYTES:
        raise ConfMalformed(f"directory is {len(data)} bytes, more than {MAX_DIRECTORY_BYTES}")
    outer_parts, outer_closed, epilogue = _outer_parts(data)
    signed_bytes, inner_parts = _inner_parts(outer_parts[0])
    expire_date, version = _directory_header(inner_parts[0])
    entries = [_entry(index, raw_part) for index, raw_part in enumerate(inner_parts[1:], start=1)]
    _check_outer_end(outer_parts, outer_closed, epilogue)
    sig_alg, cert_hash_alg, cert_hash, signature = _signature_part(outer_parts[1])
    return SignedDirectory(
        raw=data,
        signed_bytes=signed_bytes,
        expire_date=expire_date,
        version=version,
        parts=tuple(entries),
        signature_algorithm=sig_alg,
        verification_cert_hash=cert_hash,
        verification_cert_hash_algorithm=cert_hash_alg,
        signature=signature,
    )


def _outer_parts(data: bytes) -> tuple[list[Part], bool, bytes]:
    """The document's own header (one Content-Type, multipart/related) and its parts."""
    headers, body = _split_head(data, "directory")
    _only(headers, {"content-type"}, "directory")
    ctype = _header(headers, "content-type")
    if ctype is None:
        raise ConfMalformed("directory has no Content-Type header")
    return _split_multipart(body, _multipart_type(ctype, "multipart/related", "directory Content-Type"), "directory")


def _inner_parts(first: Part) -> tuple[bytes, list[Part]]:
    """The first outer part: its body is the signed bytes, a multipart/mixed of the entries."""
    inner_headers, signed_bytes = _part_headers(first, "first part")
    _only(inner_headers, {"content-type"}, "first part")
    inner_type = _header(inner_headers, "content-type")
    if inner_type is None:
        raise ConfMalformed("first part has no Content-Type")
    inner_boundary = _multipart_type(inner_type, "multipart/mixed", "first part Content-Type")
    inner_parts, _closed, _ = _split_multipart(signed_bytes, inner_boundary, "inner multipart")
    return signed_bytes, inner_parts


def _directory_header(part: Part) -> tuple[dt.datetime, int]:
    """The inner multipart's first part: ``Expire-date`` and ``Version`` (2 if absent)."""
    first_headers, _ = _part_headers(part, "directory header part")
    expire_text = _header(first_headers, "expire-date")
    if expire_text is None:
        raise ConfMissingExpiry("directory has no Expire-date")
    expire_date = _parse_time(expire_text)
    version_text = _header(first_headers, "version")
    if version_text is None:
        return expire_date, 2  # X-Road's central server serves version 2 without a Version header
    try:
        version = int(version_text.strip())
    except ValueError as exc:
        raise ConfMalformed(f"Version {version_text!r} is not a number") from exc
    if version not in SUPPORTED_VERSIONS:
        raise ConfMalformed(f"configuration version {version} is not supported (2 to 6 are)")
    return expire_date, version


def _entry(index: int, raw_part: Part) -> DirectoryPart:
    """One parameter file's entry: identifier, location and the hash that pins it."""
    part_headers, part_body = _part_headers(raw_part, f"part {index}")
    ident = _header(part_headers, "content-identifier")
    location = _header(part_headers, "content-location")
    hash_alg = _header(part_headers, "hash-algorithm-id")
    if ident is None or location is None or hash_alg is None:
        raise ConfMalformed(f"part {index} lacks Content-identifier, Content-location or Hash-algorithm-id")
    if (_header(part_headers, "content-type") or "application/octet-stream").lower() != "application/octet-stream":
        raise ConfMalformed(f"part {index} is not application/octet-stream")
    encoding = (_header(part_headers, "content-transfer-encoding") or "base64").lower()
    if encoding != "base64":
        raise ConfMalformed(f"part {index} uses transfer encoding {encoding!r}, not base64")
    try:
        algorithm = DigestAlgorithm.from_uri(hash_alg)
    except UnsupportedAlgorithm as exc:
        raise ConfMalformed(f"part {index}: {exc}") from exc
    if algorithm not in ALLOWED_HASHES:
        raise ConfMalformed(f"part {index}: hash algorithm {algorithm.name} is not allowed")
    digest = _b64decode(part_body, f"hash of part {index}")
    if len(digest) != algorithm.hash_class().digest_size:
        raise ConfMalformed(f"part {index}: hash has {len(digest)} bytes, {algorithm.name} has {algorithm.hash_class().digest_size}")
    name, instance = _content_identifier(ident)
    return DirectoryPart(name, instance, location.strip(), algorithm, digest)


def _check_outer_end(outer_parts: list[Part], outer_closed: bool, epilogue: bytes) -> None:
    """Exactly two outer parts, then the closing boundary and nothing but line breaks."""
    if len(outer_parts) < 2:
        raise ConfMissingSignature("directory has no signature part")
    if len(outer_parts) > 2:
        raise ConfMalformed("directory has more than two outer parts")
    if not outer_closed or epilogue.strip(b"\r\n"):
        raise ConfMalformed("directory does not end with its closing boundary")


def _signature_part(part: Part) -> tuple[SignatureAlgorithm, DigestAlgorithm, bytes, bytes]:
    """The second outer part: signature algorithm, verification-certificate hash, signature."""
    sig_headers, sig_body = _part_headers(part, "signature part")
    _only(sig_headers, _SIGNATURE_HEADERS, "signature part")
    sig_alg_text = _header(sig_headers, "signature-algorithm-id")
    cert_hash_text = _header(sig_headers, "verification-certificate-hash")
    if sig_alg_text is None or cert_hash_text is None:
        raise ConfMissingSignature("signature part lacks Signature-Algorithm-Id or Verification-certificate-hash")
    if not sig_body.strip():
        raise ConfMissingSignature("signature part is empty")
    if (_header(sig_headers, "content-type") or "").lower() != "application/octet-stream":
        raise ConfMalformed("signature part Content-Type must be application/octet-stream")
    if (_header(sig_headers, "content-transfer-encoding") or "").lower() != "base64":
        raise ConfMalformed("signature part Content-Transfer-Encoding must be base64")
    if re.search(rb"[^A-Za-z0-9+/=\r\n]", sig_body):
        raise ConfMalformed("signature value is not base64")
    try:
        sig_alg = SignatureAlgorithm.from_uri(sig_alg_text)
    except UnsupportedAlgorithm as exc:
        raise ConfBadSignature(str(exc)) from exc
    cert_hash_alg, cert_hash = _verification_cert_hash(cert_hash_text)
    signature = _b64decode(sig_body, "signature")
    _check_signature_shape(sig_alg, signature)
    return sig_alg, cert_hash_alg, cert_hash, signature


def _verification_cert_hash(text: str) -> tuple[DigestAlgorithm, bytes]:
    """``Verification-certificate-hash: <b64>; hash-algorithm-id="..."`` -> (algorithm, hash)."""
    cert_hash_value, cert_hash_params = _params(text)
    if set(cert_hash_params) != {"hash-algorithm-id"}:
        raise ConfMalformed("Verification-certificate-hash must carry exactly one parameter, hash-algorithm-id")
    try:
        cert_hash_alg = DigestAlgorithm.from_uri(cert_hash_params.get("hash-algorithm-id", DEFAULT_HASH.value))
    except UnsupportedAlgorithm as exc:
        raise ConfMalformed(f"Verification-certificate-hash: {exc}") from exc
    if cert_hash_alg not in ALLOWED_HASHES:
        raise ConfMalformed(f"Verification-certificate-hash uses {cert_hash_alg.name}, which is not allowed")
    return cert_hash_alg, _b64decode(cert_hash_value, "Verification-certificate-hash")


def _check_signature_shape(algorithm: SignatureAlgorithm, signature: bytes) -> None:
    if algorithm.is_ecdsa:
        try:
            utils.decode_dss_signature(signature)
        except ValueError as exc:
            raise ConfBadSignature("ECDSA signature is not a DER SEQUENCE of two integers") from exc
    elif len(signature) < MIN_RSA_SIGNATURE_BYTES:
        raise ConfBadSignature(
            f"signature is {len(signature)} bytes; an RSA signature of an accepted key (2048 bits or more) "
            f"has at least {MIN_RSA_SIGNATURE_BYTES}"
        )
