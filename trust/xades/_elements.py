"""Reading the elements of a signature document: tags, navigation and decoding.

:mod:`._parse` reads every message's signature on the hot path, so the pieces it
reads with are written for speed with the semantics of ElementPath's ``find``
(first match, document order) and memoise the expensive decodings (certificates and
OCSP responses recur in every message of a gateway) by exact text, bounded in size.
They are pure functions: equal text gives equal results, and failures are never
memoised. Kept apart from the parser so that its steps read as the document's
structure, not as byte handling.
"""

from __future__ import annotations

import binascii
import datetime as dt
import functools

from cryptography import x509
from lxml import etree

from trust.errors import TrustError
from trust.keys import DigestAlgorithm, SignatureAlgorithm
from trust.pki import CertificateError, read_certificate

from ._errors import SignatureMalformed
from ._layout import DS_NS, XADES_NS

ASIC_NAMESPACES = ("http://uri.etsi.org/02918/v1.2.1#", "http://uri.etsi.org/02918/v1.1.1#")


def _ds(name: str) -> str:
    return f"{{{DS_NS}}}{name}"


def _xades(name: str) -> str:
    return f"{{{XADES_NS}}}{name}"


def b64decode(text: str | None, what: str) -> bytes:
    """Decode base64 that may carry line breaks and ``&#13;`` (NOTES 9.15).

    Strict: ``binascii.a2b_base64(strict_mode=True)`` is what ``base64.b64decode(validate=True)``
    runs, without its wrapper (non-ASCII text raises ``ValueError`` in both).
    """
    try:
        return binascii.a2b_base64("".join((text or "").split()), strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureMalformed(f"{what} is not valid base64") from exc


# enum properties computed once (they are string operations on the member name)
_SIGNATURE_DIGESTS = {alg: alg.digest for alg in SignatureAlgorithm}
_ECDSA_METHODS = frozenset(alg for alg in SignatureAlgorithm if alg.is_ecdsa)
_DIGESTS_BY_URI = {alg.value: alg for alg in DigestAlgorithm}
_SIGNATURES_BY_URI = {alg.value: alg for alg in SignatureAlgorithm}


def _digest_algorithm(element: etree._Element | None) -> DigestAlgorithm:
    """``DigestAlgorithm.from_uri`` of the element's Algorithm, by a dict lookup when known."""
    uri = _algorithm(element)
    found = _DIGESTS_BY_URI.get(uri)
    if found is not None:
        return found
    try:
        return DigestAlgorithm.from_uri(uri)
    except TrustError as exc:
        raise SignatureMalformed(str(exc)) from exc


def _parse_time(text: str | None) -> dt.datetime:
    value = (text or "").strip()
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise SignatureMalformed(f"SigningTime {value!r} is not an xsd:dateTime") from exc
    if moment.tzinfo is None:
        raise SignatureMalformed("SigningTime has no time zone")
    return moment.astimezone(dt.timezone.utc)


def _load_cert(der: bytes, what: str) -> x509.Certificate:
    try:
        return read_certificate(der, der_only=True)
    except CertificateError as exc:
        raise SignatureMalformed(f"{what} is not a DER certificate") from exc


# Base64 text longer than this is decoded every time instead of memoised, so that the
# memo's memory stays bounded (256 entries x 16 KiB) whatever a sender puts there.
_MEMO_TEXT_LIMIT = 16384


@functools.lru_cache(maxsize=256)
def _memo_base64(text: str) -> bytes:
    return b64decode(text, "base64")


def ocsp_from_base64(text: str | None) -> bytes:
    """The DER of an ``EncapsulatedOCSPValue``; a pure memo by exact text, as for certificates
    (a gateway staples the same response to every message until it refreshes it)."""
    if text is None or len(text) > _MEMO_TEXT_LIMIT:
        return b64decode(text, "EncapsulatedOCSPValue")
    try:
        return _memo_base64(text)
    except SignatureMalformed as exc:
        raise SignatureMalformed("EncapsulatedOCSPValue is not valid base64") from exc


@functools.lru_cache(maxsize=256)
def _memo_certificate(text: str) -> tuple[x509.Certificate, bytes]:
    der = b64decode(text, "certificate")
    return _load_cert(der, "certificate"), der


def certificate_from_base64(text: str | None, what: str) -> tuple[x509.Certificate, bytes]:
    """(certificate, its DER) from the base64 text of a signature element.

    A pure memo keyed by the exact text: a gateway sees the same few signer
    certificates in every message, and decoding and parsing one costs as much as
    verifying an RSA signature. Equal text means equal DER means an equal certificate,
    so nothing a later check decides can differ; failures are never memoised.
    """
    if text is None:
        raise SignatureMalformed(f"{what} is empty")
    if len(text) > _MEMO_TEXT_LIMIT:
        der = b64decode(text, what)
        return _load_cert(der, what), der
    try:
        return _memo_certificate(text)
    except SignatureMalformed as exc:
        message = str(exc).replace("certificate", what, 1)
        raise SignatureMalformed(message) from exc


_XADES_SIGNATURES = frozenset(f"{{{ns}}}XAdESSignatures" for ns in ASIC_NAMESPACES)
_SIGNATURE = f"{{{DS_NS}}}Signature"
_SIGNED_INFO = f"{{{DS_NS}}}SignedInfo"
_C14N_METHOD = f"{{{DS_NS}}}CanonicalizationMethod"
_SIGNATURE_METHOD = f"{{{DS_NS}}}SignatureMethod"
_REFERENCE = f"{{{DS_NS}}}Reference"
_DIGEST_METHOD = f"{{{DS_NS}}}DigestMethod"
_DIGEST_VALUE = f"{{{DS_NS}}}DigestValue"
_TRANSFORMS = f"{{{DS_NS}}}Transforms"
_TRANSFORM = f"{{{DS_NS}}}Transform"
_SIGNATURE_VALUE = f"{{{DS_NS}}}SignatureValue"
_KEY_INFO = f"{{{DS_NS}}}KeyInfo"
_X509_DATA = f"{{{DS_NS}}}X509Data"
_X509_CERTIFICATE = f"{{{DS_NS}}}X509Certificate"
_X509_SERIAL = f"{{{DS_NS}}}X509SerialNumber"
_OBJECT = f"{{{DS_NS}}}Object"
_QUALIFYING_PROPERTIES = f"{{{XADES_NS}}}QualifyingProperties"
_SIGNED_PROPERTIES = f"{{{XADES_NS}}}SignedProperties"
_SIGNED_SIGNATURE_PROPERTIES = f"{{{XADES_NS}}}SignedSignatureProperties"
_SIGNING_TIME = f"{{{XADES_NS}}}SigningTime"
_UNSIGNED_PROPERTIES = f"{{{XADES_NS}}}UnsignedProperties"
_UNSIGNED_SIGNATURE_PROPERTIES = f"{{{XADES_NS}}}UnsignedSignatureProperties"
_OCSP_VALUE = f"{{{XADES_NS}}}EncapsulatedOCSPValue"
_X509_VALUE = f"{{{XADES_NS}}}EncapsulatedX509Certificate"
_SIGNATURE_TIMESTAMP = f"{{{XADES_NS}}}SignatureTimeStamp"
_TIMESTAMP_VALUE = f"{{{XADES_NS}}}EncapsulatedTimeStamp"
_SIGNING_CERTIFICATES = (f"{{{XADES_NS}}}SigningCertificate", f"{{{XADES_NS}}}SigningCertificateV2")
_CERT = f"{{{XADES_NS}}}Cert"
_CERT_DIGEST = f"{{{XADES_NS}}}CertDigest"
_ISSUER_SERIAL = f"{{{XADES_NS}}}IssuerSerial"


def _child(parent: etree._Element | None, tag: str) -> etree._Element | None:
    """The first child ``tag`` of ``parent`` (what ``find(tag)`` gives).

    A plain loop: signature elements have a handful of children, and setting up
    lxml's tag matcher for ``iterchildren(tag)`` costs more than comparing them.
    """
    if parent is None:
        return None
    for child in parent:
        if child.tag == tag:
            return child
    return None


def _path(parent: etree._Element | None, *tags: str) -> etree._Element | None:
    """``find("a/b/c")``: the first element, in document order, at the end of the tag path."""
    if parent is None:
        return None
    if len(tags) == 1:
        return _child(parent, tags[0])
    first = tags[0]
    if len(tags) == 2:  # the common case, without recursion
        second = tags[1]
        for child in parent:
            if child.tag == first:
                for grandchild in child:
                    if grandchild.tag == second:
                        return grandchild
        return None
    for child in parent:
        if child.tag == first:
            found = _path(child, *tags[1:])
            if found is not None:
                return found
    return None


def _child_text(parent: etree._Element | None, *tags: str) -> str | None:
    """``findtext("a/b")``: None without such an element, "" for an empty one."""
    child = _path(parent, *tags)
    if child is None:
        return None
    return child.text or ""


def _algorithm(element: etree._Element | None) -> str:
    return (element.get("Algorithm") if element is not None else None) or ""
