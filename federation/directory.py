"""The signed configuration directory: build it, parse it, verify it.

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

Use::

    data = build_directory(
        [DirectoryEntry(SHARED_PARAMETERS, "EE", "/V6/20260101/shared-params.xml", shared_bytes)],
        expire_date=now + timedelta(minutes=10), version=6,
        signer=token, key_id="internal-1", cert=signing_cert)

    verified = verify_directory(data, anchor, at=now, fetch_part=lambda location: download(location))
    verified.shared_parameters   # parsed model of the verified bytes
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa, utils

from trust.keys import DigestAlgorithm, SignatureAlgorithm
from trust.errors import TrustError, UnsupportedAlgorithm
from trust.keys import Signer, verify_digest
from trust.protocol import MimeError, raw_headers, split_multipart

from federation.model import (
    FETCHINTERVAL, MONITORING, NEXTUPDATE, PRIVATE_PARAMETERS, SHARED_PARAMETERS, SUPPORTED_VERSIONS,
    ConfigurationAnchor, ParametersModel, PrivateParameters, SharedParameters, load_certificate,
)
from federation.model import (
    ConfBadSignature, ConfError, ConfExpired, ConfHashMismatch, ConfInstanceMismatch, ConfMalformed,
    ConfMissingExpiry, ConfMissingPart, ConfMissingSignature, ConfSchemaInvalid, ConfUnknownVerificationCert,
)
from federation.model import (
    parse_fetch_interval_parameters, parse_monitoring_parameters, parse_next_update_parameters,
    parse_private_parameters, parse_shared_parameters,
)

MAX_DIRECTORY_BYTES = 4 * 1024 * 1024
# A PKCS#1 v1.5 signature is as long as the modulus; sild accepts RSA keys of 2048
# bits and more, so anything shorter cannot be a valid signature.
MIN_RSA_SIGNATURE_BYTES = 256
ALLOWED_HASHES = (DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512)
DEFAULT_HASH = DigestAlgorithm.SHA512

_BOUNDARY_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_HEADER_NAME = re.compile(rb"^[A-Za-z0-9-]+$")
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_PARAM = re.compile(r"""[ \t]*([A-Za-z0-9_-]+)[ \t]*=[ \t]*(?:"([^"]*)"|'([^']*)'|([^;\s]*))[ \t]*""")

FetchPart = Callable[[str], bytes]


# -- values ---------------------------------------------------------------------


@dataclass(frozen=True)
class DirectoryEntry:
    """A part to put into a directory being built: its identity, location and bytes."""

    content_identifier: str
    instance: str | None
    location: str
    data: bytes

    def __post_init__(self) -> None:
        if not self.content_identifier or any(c in self.content_identifier for c in ";\r\n"):
            raise ConfMalformed(f"bad content identifier {self.content_identifier!r}")
        if not self.location or any(c in self.location for c in "\r\n"):
            raise ConfMalformed(f"bad content location {self.location!r}")


@dataclass(frozen=True)
class DirectoryPart:
    """One entry of a parsed directory (what it claims, not yet checked)."""

    content_identifier: str
    instance: str | None
    location: str
    hash_algorithm: DigestAlgorithm
    digest: bytes


@dataclass(frozen=True)
class SignedDirectory:
    """A parsed, *unverified* directory. Use :func:`verify_directory` to trust it."""

    raw: bytes
    signed_bytes: bytes
    expire_date: dt.datetime
    version: int
    parts: tuple[DirectoryPart, ...]
    signature_algorithm: SignatureAlgorithm
    verification_cert_hash: bytes
    verification_cert_hash_algorithm: DigestAlgorithm
    signature: bytes


@dataclass(frozen=True)
class VerifiedPart:
    content_identifier: str
    instance: str | None
    location: str
    data: bytes  # the exact verified bytes
    model: ParametersModel | None  # parsed model for known content identifiers


@dataclass(frozen=True)
class VerifiedConfiguration:
    """A directory whose signature, expiry, part hashes and part schemas were checked.

    Only :func:`verify_directory` creates it. ``directory_bytes`` are the bytes that
    were verified, kept so the configuration can be re-verified later (a stored copy
    on disk is re-checked with the anchor, not trusted blindly).
    """

    instance: str
    version: int
    expires_at: dt.datetime
    parts: tuple[VerifiedPart, ...]
    directory_bytes: bytes
    verification_cert: x509.Certificate = field(compare=False)

    def part(self, content_identifier: str, instance: str | None = None) -> VerifiedPart | None:
        for p in self.parts:
            if p.content_identifier == content_identifier and (instance is None or p.instance == instance):
                return p
        return None

    @property
    def shared_parameters(self) -> SharedParameters | None:
        p = self.part(SHARED_PARAMETERS, self.instance)
        return p.model if p is not None and isinstance(p.model, SharedParameters) else None

    @property
    def private_parameters(self) -> PrivateParameters | None:
        p = self.part(PRIVATE_PARAMETERS, self.instance)
        return p.model if p is not None and isinstance(p.model, PrivateParameters) else None

    def is_expired(self, at: dt.datetime) -> bool:
        _aware(at)
        return at >= self.expires_at


def _aware(at: dt.datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("naive datetimes are refused; pass an aware moment")


# -- MIME plumbing ----------------------------------------------------------------


Headers = list[tuple[str, str]]


def _split_head(block: bytes, what: str) -> tuple[Headers, bytes]:
    """Split ``block`` into (headers, body) at the first empty line."""
    headers: Headers = []
    pos = 0
    while True:
        end = block.find(b"\n", pos)
        if end == -1:
            line, nxt = block[pos:], len(block)
        else:
            line, nxt = block[pos:end], end + 1
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            return headers, block[nxt:]
        if line[:1] in (b" ", b"\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + " " + line.strip(b" \t").decode("utf-8", "replace"))
        else:
            if b":" not in line:
                raise ConfMalformed(f"{what}: header line {line[:60]!r} has no colon")
            name_b, value_b = line.split(b":", 1)
            if not _HEADER_NAME.match(name_b):
                raise ConfMalformed(f"{what}: {name_b[:60]!r} is not a header name")
            if _CONTROL.search(value_b):
                raise ConfMalformed(f"{what}: header {name_b[:40]!r} contains a control character")
            try:
                # only spaces and tabs are padding: any other byte is content
                headers.append((name_b.decode("ascii").lower(), value_b.decode("utf-8").strip(" \t")))
            except UnicodeDecodeError as exc:
                raise ConfMalformed(f"{what}: header is not text") from exc
        if nxt >= len(block):
            return headers, b""
        pos = nxt


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key == name:
            return value
    return None


def _only(headers: list[tuple[str, str]], allowed: set[str], what: str) -> None:
    """The unsigned envelope carries exactly the headers X-Road writes, each once."""
    names = [name for name, _ in headers]
    unknown = sorted(set(names) - allowed)
    if unknown:
        raise ConfMalformed(f"{what} has unexpected header(s) {', '.join(unknown)}")
    if len(names) != len(set(names)):
        raise ConfMalformed(f"{what} repeats a header")


def _multipart_type(value: str, expected: str, what: str) -> str:
    main, params = _params(value)
    if main.lower() != expected or "boundary" not in params:
        raise ConfMalformed(f"{what} must be {expected} with a boundary, got {main!r}")
    unknown = set(params) - {"boundary", "charset"}
    if unknown:
        raise ConfMalformed(f"{what} has unexpected parameter(s) {', '.join(sorted(unknown))}")
    if params.get("charset", "UTF-8").upper() != "UTF-8":
        raise ConfMalformed(f"{what} charset must be UTF-8")
    return params["boundary"]


def _params(value: str) -> tuple[str, dict[str, str]]:
    """``main; a=1; b="2"; c='3'`` -> ("main", {a, b, c}) (both quote styles)."""
    head, _, rest = value.partition(";")
    params: dict[str, str] = {}
    for chunk in rest.split(";"):
        if not chunk.strip(" \t"):
            continue
        m = _PARAM.fullmatch(chunk)
        if m is None:
            raise ConfMalformed(f"cannot read header parameter {chunk.strip()[:60]!r}")
        params[m.group(1).lower()] = next(g for g in m.groups()[1:] if g is not None)
    return head.strip(" \t"), params


Part = tuple[bytes, bytes]  # (header block as received, body)


def _split_multipart(body: bytes, boundary: str, what: str) -> tuple[list[Part], bool, bytes]:
    """Parts between delimiter lines (the line break before a delimiter belongs to it),
    cut by trust.protocol's one MIME reader; their header blocks are read by
    :func:`_part_headers`, whose rules are stricter than MIME's.

    Returns the parts, whether the closing delimiter was seen, and what follows its line.
    """
    try:
        whole = split_multipart(body, boundary, read_headers=raw_headers)
    except MimeError as exc:
        if exc.reason == "no_parts":
            raise ConfMalformed(f"{what}: no part delimited by boundary {boundary!r}") from exc
        raise ConfMalformed(f"{what}: {exc}") from exc
    if whole.preamble.strip(b"\r\n"):
        raise ConfMalformed(f"{what}: unexpected text before the first boundary")
    return [(headers.raw, data) for headers, data in whole.parts], whole.closed, whole.epilogue.lstrip(b" \t")


def _part_headers(part: Part, what: str) -> tuple[Headers, bytes]:
    """A part's headers by the rules of :func:`_split_head`, and its body."""
    raw, data = part
    headers, _ = _split_head(raw, what)
    return headers, data


def _b64decode(text: bytes | str, what: str) -> bytes:
    """Strict base64: line breaks allowed, anything else must be canonical.

    Canonical means re-encoding gives the same characters: otherwise the unused low
    bits of the last character could be changed without changing the value, and a
    byte of the document could be altered unnoticed.
    """
    raw = text.encode("ascii", "replace") if isinstance(text, str) else text
    raw = raw.replace(b"\r", b"").replace(b"\n", b"").strip(b" \t")
    try:
        value = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfMalformed(f"{what} is not valid base64") from exc
    if base64.b64encode(value) != raw:
        raise ConfMalformed(f"{what} is not canonical base64")
    return value


def _parse_time(value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ConfMissingExpiry(f"Expire-date {value!r} is not an ISO 8601 time") from exc
    if moment.tzinfo is None:
        raise ConfMissingExpiry(f"Expire-date {value!r} has no time zone")
    return moment


def _content_identifier(value: str) -> tuple[str, str | None]:
    name, params = _params(value)
    if not name:
        raise ConfMalformed("empty Content-identifier")
    return name, params.get("instance")


# -- parsing ------------------------------------------------------------------------


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
    headers, body = _split_head(data, "directory")
    _only(headers, {"content-type"}, "directory")
    ctype = _header(headers, "content-type")
    if ctype is None:
        raise ConfMalformed("directory has no Content-Type header")
    outer_parts, outer_closed, epilogue = _split_multipart(body, _multipart_type(ctype, "multipart/related", "directory Content-Type"), "directory")

    inner_headers, signed_bytes = _part_headers(outer_parts[0], "first part")
    _only(inner_headers, {"content-type"}, "first part")
    inner_type = _header(inner_headers, "content-type")
    if inner_type is None:
        raise ConfMalformed("first part has no Content-Type")
    inner_boundary = _multipart_type(inner_type, "multipart/mixed", "first part Content-Type")
    inner_parts, _closed, _ = _split_multipart(signed_bytes, inner_boundary, "inner multipart")

    first_headers, _ = _part_headers(inner_parts[0], "directory header part")
    expire_text = _header(first_headers, "expire-date")
    if expire_text is None:
        raise ConfMissingExpiry("directory has no Expire-date")
    expire_date = _parse_time(expire_text)
    version_text = _header(first_headers, "version")
    if version_text is None:
        version = 2  # X-Road's central server serves version 2 without a Version header
    else:
        try:
            version = int(version_text.strip())
        except ValueError as exc:
            raise ConfMalformed(f"Version {version_text!r} is not a number") from exc
        if version not in SUPPORTED_VERSIONS:
            raise ConfMalformed(f"configuration version {version} is not supported (2 to 6 are)")

    entries: list[DirectoryPart] = []
    for index, raw_part in enumerate(inner_parts[1:], start=1):
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
        entries.append(DirectoryPart(name, instance, location.strip(), algorithm, digest))

    if len(outer_parts) < 2:
        raise ConfMissingSignature("directory has no signature part")
    if len(outer_parts) > 2:
        raise ConfMalformed("directory has more than two outer parts")
    if not outer_closed or epilogue.strip(b"\r\n"):
        raise ConfMalformed("directory does not end with its closing boundary")
    sig_headers, sig_body = _part_headers(outer_parts[1], "signature part")
    _only(
        sig_headers,
        {"content-type", "content-transfer-encoding", "signature-algorithm-id", "verification-certificate-hash"},
        "signature part",
    )
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
    cert_hash_value, cert_hash_params = _params(cert_hash_text)
    if set(cert_hash_params) != {"hash-algorithm-id"}:
        raise ConfMalformed("Verification-certificate-hash must carry exactly one parameter, hash-algorithm-id")
    try:
        cert_hash_alg = DigestAlgorithm.from_uri(cert_hash_params.get("hash-algorithm-id", DEFAULT_HASH.value))
    except UnsupportedAlgorithm as exc:
        raise ConfMalformed(f"Verification-certificate-hash: {exc}") from exc
    if cert_hash_alg not in ALLOWED_HASHES:
        raise ConfMalformed(f"Verification-certificate-hash uses {cert_hash_alg.name}, which is not allowed")
    cert_hash = _b64decode(cert_hash_value, "Verification-certificate-hash")
    signature = _b64decode(sig_body, "signature")
    _check_signature_shape(sig_alg, signature)
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


# -- verification ----------------------------------------------------------------------


def _candidate_certs(anchor_or_certs: ConfigurationAnchor | Iterable[x509.Certificate | bytes]) -> list[bytes]:
    if isinstance(anchor_or_certs, ConfigurationAnchor):
        return list(anchor_or_certs.verification_certs())
    out = []
    for cert in anchor_or_certs:
        out.append(cert.public_bytes(serialization.Encoding.DER) if isinstance(cert, x509.Certificate) else bytes(cert))
    return out


def parse_part(content_identifier: str, data: bytes, version: int) -> ParametersModel | None:
    """Parse a part's verified bytes into its model; ``None`` for unknown identifiers."""
    if content_identifier == SHARED_PARAMETERS:
        return parse_shared_parameters(data, version=version)
    if content_identifier == PRIVATE_PARAMETERS:
        return parse_private_parameters(data, version=version)
    if content_identifier == MONITORING:
        return parse_monitoring_parameters(data)
    if content_identifier == FETCHINTERVAL:
        return parse_fetch_interval_parameters(data)
    if content_identifier == NEXTUPDATE:
        return parse_next_update_parameters(data)
    return None


def verify_signature(directory: SignedDirectory, anchor_or_certs: ConfigurationAnchor | Iterable[x509.Certificate | bytes]) -> x509.Certificate:
    """Check the directory's signature; return the certificate that made it."""
    chosen: bytes | None = None
    for der in _candidate_certs(anchor_or_certs):
        if directory.verification_cert_hash_algorithm.digest(der) == directory.verification_cert_hash:
            chosen = der
            break
    if chosen is None:
        raise ConfUnknownVerificationCert(
            "the directory was signed with a certificate the anchor does not list "
            f"(Verification-certificate-hash {base64.b64encode(directory.verification_cert_hash).decode()[:24]}...)"
        )
    try:
        cert = load_certificate(chosen, what="verification certificate")
    except ConfSchemaInvalid as exc:
        raise ConfUnknownVerificationCert(str(exc)) from exc
    public_key = cert.public_key()
    if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size < 2048:
        raise ConfBadSignature(f"verification key is RSA-{public_key.key_size}; at least 2048 bits are required")
    if not isinstance(public_key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
        raise ConfBadSignature("verification key is neither RSA nor EC")
    digest = directory.signature_algorithm.digest.digest(directory.signed_bytes)
    if not verify_digest(public_key, directory.signature_algorithm, digest, directory.signature):
        raise ConfBadSignature("the directory signature does not verify with the verification certificate")
    return cert


def verify_directory(
    data: bytes,
    anchor_or_certs: ConfigurationAnchor | Iterable[x509.Certificate | bytes],
    *,
    at: dt.datetime,
    fetch_part: FetchPart | None = None,
    instance: str | None = None,
    parts: dict[str, bytes] | None = None,
) -> VerifiedConfiguration:
    """Verify a signed directory and its parts; return what was verified.

    Order (as X-Road's client): signature with the certificate that
    ``Verification-certificate-hash`` names among the anchor's (or the given)
    certificates -> expiry at ``at`` -> every part's bytes against its hash ->
    every known part against its schema. Parts are obtained by ``fetch_part(location)``
    (or taken from ``parts``, a mapping location -> bytes, e.g. unchanged files kept
    from the last download). ``instance`` (default: the anchor's) is the instance
    whose configuration this must be; ``SHARED-PARAMETERS``/``PRIVATE-PARAMETERS``
    of another instance are refused, since a partner's external directory may not
    redefine someone else.
    """
    _aware(at)
    directory = parse_directory(data)
    cert = verify_signature(directory, anchor_or_certs)
    if at >= directory.expire_date:
        raise ConfExpired(f"configuration expired at {directory.expire_date.isoformat()} (checked at {at.isoformat()})")
    expected = instance or (anchor_or_certs.instance if isinstance(anchor_or_certs, ConfigurationAnchor) else None)
    claimed = {
        p.instance for p in directory.parts if p.instance and p.content_identifier in (SHARED_PARAMETERS, PRIVATE_PARAMETERS)
    }
    if expected is None:
        if len(claimed) != 1:
            raise ConfInstanceMismatch("cannot tell which instance the directory belongs to; pass instance=")
        expected = next(iter(claimed))
    verified: list[VerifiedPart] = []
    for entry in directory.parts:
        content = None
        if parts is not None:
            content = parts.get(entry.location)
        if content is None:
            if fetch_part is None:
                raise ConfMissingPart(f"part {entry.content_identifier} at {entry.location} was not provided")
            try:
                content = fetch_part(entry.location)
            except ConfError:
                raise
            except (OSError, TrustError) as exc:
                raise ConfMissingPart(f"cannot obtain part {entry.content_identifier} at {entry.location}: {exc}") from exc
        if entry.hash_algorithm.digest(content) != entry.digest:
            raise ConfHashMismatch(
                f"part {entry.content_identifier} ({entry.location}) does not match the hash in the signed directory"
            )
        model = parse_part(entry.content_identifier, content, directory.version)
        if isinstance(model, (SharedParameters, PrivateParameters)):
            if entry.instance is not None and model.instance != entry.instance:
                raise ConfInstanceMismatch(
                    f"part {entry.content_identifier} claims instance {entry.instance!r} but holds {model.instance!r}"
                )
            if model.instance != expected:
                raise ConfInstanceMismatch(
                    f"{entry.content_identifier} of {model.instance!r} in the directory of {expected!r}: "
                    "an instance may publish only its own parameters"
                )
        verified.append(VerifiedPart(entry.content_identifier, entry.instance, entry.location, content, model))
    if not any(p.content_identifier == SHARED_PARAMETERS and p.instance in (expected, None) for p in verified):
        raise ConfMissingPart(f"directory has no SHARED-PARAMETERS of instance {expected!r}")
    return VerifiedConfiguration(
        instance=expected,
        version=directory.version,
        expires_at=directory.expire_date,
        parts=tuple(verified),
        directory_bytes=directory.raw,
        verification_cert=cert,
    )


# -- building -------------------------------------------------------------------------------


def _boundary() -> str:
    return "".join(secrets.choice(_BOUNDARY_CHARS) for _ in range(20))


def _format_time(moment: dt.datetime) -> str:
    _aware(moment)
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_directory(
    entries: Sequence[DirectoryEntry],
    *,
    expire_date: dt.datetime,
    version: int,
    signer: Signer,
    key_id: str,
    cert: x509.Certificate,
    algorithm: SignatureAlgorithm | None = None,
    hash_algorithm: DigestAlgorithm = DEFAULT_HASH,
    boundaries: tuple[str, str] | None = None,
) -> bytes:
    """Build and sign a directory over ``entries`` (their bytes are hashed, not embedded).

    ``signer.sign(key_id, algorithm, digest)`` signs the SHA-512 (or the algorithm's)
    digest of the inner body; ``cert`` is the certificate of that key, which the
    anchor lists (its SHA-512 goes into ``Verification-certificate-hash``).
    ``algorithm`` defaults to RSA-SHA512 or ECDSA-SHA512 by key type. CRLF line
    endings throughout, as X-Road writes them. Publish the parameter files at the
    entries' locations, relative to where the directory itself is served.
    """
    if version not in SUPPORTED_VERSIONS:
        raise ConfMalformed(f"cannot build a directory of version {version}")
    if algorithm is None:
        algorithm = SignatureAlgorithm.for_key(cert.public_key(), DigestAlgorithm.SHA512)
    outer, inner = boundaries or (_boundary(), _boundary())
    crlf = "\r\n"
    lines = [f"--{inner}", f"Expire-date: {_format_time(expire_date)}"]
    if version > 2:
        lines.append(f"Version: {version}")
    lines.append("")
    for entry in entries:
        ident = entry.content_identifier + (f"; instance='{entry.instance}'" if entry.instance else "")
        lines += [
            f"--{inner}",
            "Content-type: application/octet-stream",
            "Content-transfer-encoding: base64",
            f"Content-identifier: {ident}",
            f"Content-location: {entry.location}",
            f"Hash-algorithm-id: {hash_algorithm.value}",
            "",
            base64.b64encode(hash_algorithm.digest(entry.data)).decode("ascii"),
        ]
    lines.append(f"--{inner}--")
    signed = (crlf.join(lines) + crlf).encode("utf-8")
    signature = signer.sign(key_id, algorithm, algorithm.digest.digest(signed))
    cert_der = cert.public_bytes(serialization.Encoding.DER)
    cert_hash = base64.b64encode(hashlib.sha512(cert_der).digest()).decode("ascii")
    head = (
        f"Content-Type: multipart/related; charset=UTF-8; boundary={outer}{crlf}{crlf}"
        f"--{outer}{crlf}"
        f"Content-Type: multipart/mixed; charset=UTF-8; boundary={inner}{crlf}{crlf}"
    ).encode("utf-8")
    tail = (
        f"{crlf}--{outer}{crlf}"
        f"Content-Type: application/octet-stream{crlf}"
        f"Content-Transfer-Encoding: base64{crlf}"
        f"Signature-Algorithm-Id: {algorithm.value}{crlf}"
        f'Verification-certificate-hash: {cert_hash}; hash-algorithm-id="{DigestAlgorithm.SHA512.value}"{crlf}'
        f"{crlf}"
        f"{base64.b64encode(signature).decode('ascii')}{crlf}"
        f"--{outer}--{crlf}"
    ).encode("utf-8")
    return head + signed + tail
