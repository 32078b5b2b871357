"""Reading an X-Road message signature and checking its cryptography.

:func:`parse_signature` reads the ``asic:XAdESSignatures`` document (or a bare
``ds:Signature``, as X-Road's newer DSS-based writer produces for REST) through the
safe parser; :func:`check_references_and_value` recomputes every reference digest
over the exact bytes it names and verifies the SignatureValue over the canonical
SignedInfo. Trust decisions (chain, OCSP, who signed) are in :mod:`trust.xades._verify`.

Only what X-Road's profile needs is accepted: C14N 1.0 or exclusive C14N, RSA or
ECDSA with SHA-256/512, same-document references by ``Id`` (unique within the
signature, to stop wrapping attacks) and container references by path.
"""

from __future__ import annotations

import binascii
import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Callable

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree

from trust.keys import DigestAlgorithm, SignatureAlgorithm
from trust.errors import TrustError
from trust.keys import ecdsa_raw_to_der, verify_digest
from trust.infra import parse_xml
from ._sign import DS_NS, SIGNED_PROPERTIES_TYPE, XADES_NS, fast_digest
from ._errors import BadSignatureValue, DigestMismatch, MissingReference, SignatureMalformed

ASIC_NAMESPACES = ("http://uri.etsi.org/02918/v1.2.1#", "http://uri.etsi.org/02918/v1.1.1#")
C14N_ALGORITHMS = {
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315": (False, False),
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments": (False, True),
    "http://www.w3.org/2001/10/xml-exc-c14n#": (True, False),
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments": (True, True),
}
_MAX_SIGNATURE_BYTES = 2 * 1024 * 1024


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


_digest = fast_digest
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


@dataclass(frozen=True)
class ParsedReference:
    ref_id: str | None
    uri: str
    type: str | None
    digest_algorithm: DigestAlgorithm
    digest: bytes
    transforms: tuple[str, ...]

    @property
    def internal(self) -> bool:
        return self.uri.startswith("#")


@dataclass(frozen=True)
class ParsedSignature:
    """The parts of a signature document a verifier needs, with the document bytes."""

    signature_xml: bytes
    signature_method: SignatureAlgorithm
    c14n_method: str
    references: tuple[ParsedReference, ...]
    signature_value: bytes
    certificate: x509.Certificate
    signing_time: dt.datetime
    ocsp_responses: tuple[bytes, ...]
    extra_certificates: tuple[x509.Certificate, ...]
    timestamp_tokens: tuple[bytes, ...]
    signature_element: etree._Element = field(compare=False, repr=False)
    signed_properties_element: etree._Element = field(compare=False, repr=False)
    certificate_der: bytes = field(default=b"", compare=False, repr=False)
    signed_info_element: etree._Element | None = field(default=None, compare=False, repr=False)

    @property
    def certificate_bytes(self) -> bytes:
        """The signer certificate's DER exactly as the signature carries it."""
        return self.certificate_der or self.certificate.public_bytes(serialization.Encoding.DER)

    def external_uris(self) -> tuple[str, ...]:
        return tuple(r.uri for r in self.references if not r.internal)

    def references_uri(self, uri: str) -> bool:
        return uri in self.external_uris()


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
        return x509.load_der_x509_certificate(der)
    except ValueError as exc:
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


def parse_signature(signature_xml: bytes) -> ParsedSignature:
    """Parse a signature document; raise :class:`SignatureMalformed` on structural problems.

    Elements are reached by direct child navigation (C-level ``iterchildren``), with
    the same first-match semantics the ElementPath ``find`` calls had.
    """
    try:
        root = parse_xml(signature_xml, max_bytes=_MAX_SIGNATURE_BYTES, what="signature")
    except TrustError as exc:
        raise SignatureMalformed(f"signature is not well-formed XML: {exc}") from exc
    if root.tag == _SIGNATURE:
        sig = root
    elif root.tag in _XADES_SIGNATURES:
        found = [child for child in root if child.tag == _SIGNATURE]
        if len(found) != 1:
            raise SignatureMalformed(f"XAdESSignatures must hold exactly one ds:Signature, it holds {len(found)}")
        sig = found[0]
    else:
        raise SignatureMalformed(f"unexpected signature root element {root.tag}")
    # one pass over the children of ds:Signature and of ds:SignedInfo; the first of each
    # kind counts, as with ``find``
    signed_info = value_el = key_info = None
    for child in sig:
        tag = child.tag
        if tag == _SIGNED_INFO and signed_info is None:
            signed_info = child
        elif tag == _SIGNATURE_VALUE and value_el is None:
            value_el = child
        elif tag == _KEY_INFO and key_info is None:
            key_info = child
    if signed_info is None:
        raise SignatureMalformed("signature has no SignedInfo")
    c14n_el = method_el = None
    reference_els = []
    for child in signed_info:
        tag = child.tag
        if tag == _REFERENCE:
            reference_els.append(child)
        elif tag == _C14N_METHOD and c14n_el is None:
            c14n_el = child
        elif tag == _SIGNATURE_METHOD and method_el is None:
            method_el = child
    c14n = _algorithm(c14n_el)
    if c14n not in C14N_ALGORITHMS:
        raise SignatureMalformed(f"canonicalization {c14n!r} is not allowed")
    method_uri = _algorithm(method_el)
    method = _SIGNATURES_BY_URI.get(method_uri)
    if method is None:
        try:
            method = SignatureAlgorithm.from_uri(method_uri)
        except TrustError as exc:
            raise SignatureMalformed(str(exc)) from exc
    references = []
    for ref in reference_els:
        dm_el = dv_el = None
        transforms_list: list[str] = []
        for child in ref:
            tag = child.tag
            if tag == _DIGEST_METHOD and dm_el is None:
                dm_el = child
            elif tag == _DIGEST_VALUE and dv_el is None:
                dv_el = child
            elif tag == _TRANSFORMS:
                transforms_list.extend(t.get("Algorithm") or "" for t in child.iterchildren(_TRANSFORM))
        alg = _digest_algorithm(dm_el)
        if alg is DigestAlgorithm.SHA1:
            raise SignatureMalformed("SHA-1 reference digests are not accepted")
        references.append(
            ParsedReference(
                ref.get("Id"), ref.get("URI") or "", ref.get("Type"), alg,
                b64decode(dv_el.text or "" if dv_el is not None else None, "reference DigestValue"),
                tuple(transforms_list),
            )
        )
    if not references:
        raise SignatureMalformed("signature has no references")
    value = b64decode(value_el.text or "" if value_el is not None else None, "SignatureValue")
    cert_text = _child_text(key_info, _X509_DATA, _X509_CERTIFICATE)
    if cert_text is None:
        raise SignatureMalformed("signature has no signer certificate in KeyInfo")
    certificate, certificate_der = certificate_from_base64(cert_text, "signer certificate")
    qp = _path(sig, _OBJECT, _QUALIFYING_PROPERTIES)
    if qp is None:
        raise SignatureMalformed("signature has no XAdES QualifyingProperties")
    signed_props = list(sig.iter(_SIGNED_PROPERTIES))
    if len(signed_props) != 1 or signed_props[0].getparent() is not qp:
        # exactly one, inside the QualifyingProperties read here: the SigningTime a verifier
        # reports must come from the element the signature covers
        raise SignatureMalformed(f"signature must hold exactly one SignedProperties, it holds {len(signed_props)}")
    ssp = _child(signed_props[0], _SIGNED_SIGNATURE_PROPERTIES)
    if ssp is None:
        raise SignatureMalformed("signature has no SignedSignatureProperties")
    signing_time = _parse_time(_child_text(ssp, _SIGNING_TIME))
    usp = _path(qp, _UNSIGNED_PROPERTIES, _UNSIGNED_SIGNATURE_PROPERTIES)
    ocsp: list[bytes] = []
    extra: list[x509.Certificate] = []
    tokens: list[bytes] = []
    if usp is not None:
        for el in usp.iter(_OCSP_VALUE, _X509_VALUE):  # one pass, document order within each kind
            if el.tag == _OCSP_VALUE:
                ocsp.append(ocsp_from_base64(el.text))
            else:
                extra.append(certificate_from_base64(el.text or "", "CertificateValues entry")[0])
        for stamp in usp:
            if stamp.tag == _SIGNATURE_TIMESTAMP:
                for el in stamp:
                    if el.tag == _TIMESTAMP_VALUE:
                        tokens.append(b64decode(el.text, "EncapsulatedTimeStamp"))
    return ParsedSignature(
        signature_xml=bytes(signature_xml), signature_method=method, c14n_method=c14n,
        references=tuple(references), signature_value=value, certificate=certificate,
        signing_time=signing_time, ocsp_responses=tuple(ocsp), extra_certificates=tuple(extra),
        timestamp_tokens=tuple(tokens), signature_element=sig, signed_properties_element=signed_props[0],
        certificate_der=certificate_der, signed_info_element=signed_info,
    )


def _canonical(element: etree._Element, algorithm: str) -> bytes:
    exclusive, comments = C14N_ALGORITHMS[algorithm]
    return etree.tostring(element, method="c14n", exclusive=exclusive, with_comments=comments)


def _by_id(sig: etree._Element, ident: str) -> etree._Element:
    # every element of the signature, itself included, whose Id is ``ident``: unique, or
    # a wrapped copy could be what the reference digests
    found = [el for el in sig.iter(etree.Element) if el.get("Id") == ident]
    if len(found) != 1:
        raise SignatureMalformed(f"signature has {len(found)} elements with Id {ident!r}, expected exactly one")
    return found[0]


def _compute_certificate_facts(der: bytes, algorithm: DigestAlgorithm) -> tuple[bytes, str]:
    return _digest(algorithm, der), str(x509.load_der_x509_certificate(der).serial_number)


_memo_certificate_facts = functools.lru_cache(maxsize=256)(_compute_certificate_facts)


def _certificate_facts(der: bytes, algorithm: DigestAlgorithm) -> tuple[bytes, str]:
    """(digest of the DER, serial number in decimal): a pure memo by the exact DER (bounded in size)."""
    if len(der) > _MEMO_TEXT_LIMIT:
        return _compute_certificate_facts(der, algorithm)
    return _memo_certificate_facts(der, algorithm)


def _check_signing_certificate(parsed: ParsedSignature, signed_props: etree._Element) -> None:
    der = parsed.certificate_bytes
    ssp = _child(signed_props, _SIGNED_SIGNATURE_PROPERTIES)
    assert ssp is not None
    certs = [cert for tag in _SIGNING_CERTIFICATES for holder in ssp if holder.tag == tag
             for cert in holder if cert.tag == _CERT]
    if not certs:
        raise SignatureMalformed("signed properties do not name the signing certificate")
    for cert in certs:
        alg = _digest_algorithm(_path(cert, _CERT_DIGEST, _DIGEST_METHOD))
        stated = b64decode(_child_text(cert, _CERT_DIGEST, _DIGEST_VALUE), "CertDigest")
        cert_digest, cert_serial = _certificate_facts(der, alg)
        if cert_digest == stated:
            serial = _child_text(cert, _ISSUER_SERIAL, _X509_SERIAL)
            if serial is not None and serial.strip() != cert_serial:
                raise SignatureMalformed("IssuerSerial does not match the signing certificate")
            return
    raise SignatureMalformed("SigningCertificate does not match the certificate in KeyInfo")


def check_references_and_value(parsed: ParsedSignature, resolve: Callable[[str], bytes | None]) -> None:
    """Check every reference digest and the SignatureValue; raise on the first failure.

    ``resolve(uri)`` returns the exact bytes of a container entry (``/message.xml``)
    or ``None`` if it is not available.
    """
    sig = parsed.signature_element
    signed_props_seen = False
    for ref in parsed.references:
        if ref.internal:
            target = _by_id(sig, ref.uri[1:])
            algorithms = [t for t in ref.transforms]
            if any(t not in C14N_ALGORITHMS for t in algorithms) or len(algorithms) > 1:
                raise SignatureMalformed(f"reference {ref.uri}: transforms {algorithms} are not allowed")
            data = _canonical(target, algorithms[0] if algorithms else "http://www.w3.org/TR/2001/REC-xml-c14n-20010315")
            if target.tag == _SIGNED_PROPERTIES:
                if target is not parsed.signed_properties_element:
                    raise SignatureMalformed("the signed properties referenced are not the signature's own")
                if ref.type != SIGNED_PROPERTIES_TYPE:
                    raise SignatureMalformed("the SignedProperties reference lacks its Type")
                signed_props_seen = True
                _check_signing_certificate(parsed, target)
        else:
            if ref.transforms:
                raise SignatureMalformed(f"reference {ref.uri}: transforms on container data are not allowed")
            resolved = resolve(ref.uri)
            if resolved is None:
                raise MissingReference(f"signature covers {ref.uri}, which is not available")
            data = resolved
        if _digest(ref.digest_algorithm, data) != ref.digest:
            raise DigestMismatch(f"digest of {ref.uri} does not match the signature")
    if not signed_props_seen:
        raise SignatureMalformed("signature does not cover its signed properties")
    signed_info = parsed.signed_info_element if parsed.signed_info_element is not None else sig.find(_ds("SignedInfo"))
    assert signed_info is not None
    method = parsed.signature_method
    digest = _digest(_SIGNATURE_DIGESTS[method], _canonical(signed_info, parsed.c14n_method))
    public_key = parsed.certificate.public_key()
    value = parsed.signature_value
    if method in _ECDSA_METHODS:
        if not isinstance(public_key, ec.EllipticCurvePublicKey):
            raise BadSignatureValue("ECDSA signature but the certificate key is not EC")
        try:
            value = ecdsa_raw_to_der(value)
        except (TrustError, ValueError) as exc:
            raise BadSignatureValue("ECDSA signature value is not r||s") from exc
    if not verify_digest(public_key, method, digest, value):
        raise BadSignatureValue("signature value does not verify with the signer certificate")
