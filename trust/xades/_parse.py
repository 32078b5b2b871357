"""Reading an X-Road message signature and checking its cryptography.

:func:`parse_signature` reads the ``asic:XAdESSignatures`` document (or a bare
``ds:Signature``, as X-Road's newer DSS-based writer produces for REST) through the
safe parser; :func:`check_references_and_value` recomputes every reference digest
over the exact bytes it names and verifies the SignatureValue over the canonical
SignedInfo. Trust decisions (chain, OCSP, who signed) are in :mod:`trust.xades._verify`.

Only what X-Road's profile needs is accepted: C14N 1.0 or exclusive C14N, RSA or
ECDSA with SHA-256/512, same-document references by ``Id`` (unique within the
signature, to stop wrapping attacks) and container references by path.

Tags, element navigation and the memoised decoding of base64, certificates and OCSP
responses are in :mod:`trust.xades._elements`.
"""

from __future__ import annotations

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
from ._layout import SIGNED_PROPERTIES_TYPE, fast_digest
from ._errors import BadSignatureValue, DigestMismatch, MissingReference, SignatureMalformed
from ._elements import (
    _C14N_METHOD, _CERT, _CERT_DIGEST, _DIGEST_METHOD, _DIGEST_VALUE, _ECDSA_METHODS, _ISSUER_SERIAL, _KEY_INFO,
    _MEMO_TEXT_LIMIT, _OBJECT, _OCSP_VALUE, _QUALIFYING_PROPERTIES, _REFERENCE, _SIGNATURE, _SIGNATURE_DIGESTS,
    _SIGNATURE_METHOD, _SIGNATURE_TIMESTAMP, _SIGNATURE_VALUE, _SIGNATURES_BY_URI, _SIGNED_INFO,
    _SIGNED_PROPERTIES, _SIGNED_SIGNATURE_PROPERTIES, _SIGNING_CERTIFICATES, _SIGNING_TIME, _TIMESTAMP_VALUE,
    _TRANSFORM, _TRANSFORMS, _UNSIGNED_PROPERTIES, _UNSIGNED_SIGNATURE_PROPERTIES, _X509_CERTIFICATE,
    _X509_DATA, _X509_SERIAL, _X509_VALUE, _XADES_SIGNATURES, _algorithm, _child, _child_text, _digest_algorithm,
    _ds, _parse_time, _path, b64decode, certificate_from_base64, ocsp_from_base64,
)

C14N_ALGORITHMS = {
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315": (False, False),
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments": (False, True),
    "http://www.w3.org/2001/10/xml-exc-c14n#": (True, False),
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments": (True, True),
}
_MAX_SIGNATURE_BYTES = 2 * 1024 * 1024


_digest = fast_digest
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


def parse_signature(signature_xml: bytes) -> ParsedSignature:
    """Parse a signature document; raise :class:`SignatureMalformed` on structural problems.

    Elements are reached by direct child navigation (C-level ``iterchildren``), with
    the same first-match semantics the ElementPath ``find`` calls had.
    """
    sig = _signature_element(signature_xml)
    signed_info, value_el, key_info = _first_children(sig, _SIGNED_INFO, _SIGNATURE_VALUE, _KEY_INFO)
    if signed_info is None:
        raise SignatureMalformed("signature has no SignedInfo")
    c14n, method, reference_els = _signed_info_parts(signed_info)
    references = [_reference(ref) for ref in reference_els]
    if not references:
        raise SignatureMalformed("signature has no references")
    value = b64decode(value_el.text or "" if value_el is not None else None, "SignatureValue")
    cert_text = _child_text(key_info, _X509_DATA, _X509_CERTIFICATE)
    if cert_text is None:
        raise SignatureMalformed("signature has no signer certificate in KeyInfo")
    certificate, certificate_der = certificate_from_base64(cert_text, "signer certificate")
    qp, signed_props, signing_time = _signed_properties(sig)
    ocsp, extra, tokens = _unsigned_values(qp)
    return ParsedSignature(
        signature_xml=bytes(signature_xml), signature_method=method, c14n_method=c14n,
        references=tuple(references), signature_value=value, certificate=certificate,
        signing_time=signing_time, ocsp_responses=tuple(ocsp), extra_certificates=tuple(extra),
        timestamp_tokens=tuple(tokens), signature_element=sig, signed_properties_element=signed_props,
        certificate_der=certificate_der, signed_info_element=signed_info,
    )


def _signature_element(signature_xml: bytes) -> etree._Element:
    """The ``ds:Signature``: the root, or the one child of ``asic:XAdESSignatures``."""
    try:
        root = parse_xml(signature_xml, max_bytes=_MAX_SIGNATURE_BYTES, what="signature")
    except TrustError as exc:
        raise SignatureMalformed(f"signature is not well-formed XML: {exc}") from exc
    if root.tag == _SIGNATURE:
        return root
    if root.tag in _XADES_SIGNATURES:
        found = [child for child in root if child.tag == _SIGNATURE]
        if len(found) != 1:
            raise SignatureMalformed(f"XAdESSignatures must hold exactly one ds:Signature, it holds {len(found)}")
        return found[0]
    raise SignatureMalformed(f"unexpected signature root element {root.tag}")


def _first_children(parent: etree._Element, *tags: str) -> list[etree._Element | None]:
    """The first child of ``parent`` with each of ``tags`` (``None`` where there is none).

    One pass over the children; the first of each kind counts, as with ``find``.
    """
    found: dict[object, etree._Element] = {}
    for child in parent:
        if child.tag in tags and child.tag not in found:
            found[child.tag] = child
    return [found.get(tag) for tag in tags]


def _signed_info_parts(signed_info: etree._Element) -> tuple[str, SignatureAlgorithm, list[etree._Element]]:
    """The canonicalization and signature methods (checked) and the ``ds:Reference`` elements."""
    c14n_el, method_el = _first_children(signed_info, _C14N_METHOD, _SIGNATURE_METHOD)
    reference_els = list(signed_info.iterchildren(_REFERENCE))
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
    return c14n, method, reference_els


def _reference(ref: etree._Element) -> ParsedReference:
    dm_el, dv_el = _first_children(ref, _DIGEST_METHOD, _DIGEST_VALUE)
    transforms_list = [t.get("Algorithm") or "" for transforms in ref.iterchildren(_TRANSFORMS)
                       for t in transforms.iterchildren(_TRANSFORM)]
    alg = _digest_algorithm(dm_el)
    if alg is DigestAlgorithm.SHA1:
        raise SignatureMalformed("SHA-1 reference digests are not accepted")
    return ParsedReference(
        ref.get("Id"), ref.get("URI") or "", ref.get("Type"), alg,
        b64decode(dv_el.text or "" if dv_el is not None else None, "reference DigestValue"),
        tuple(transforms_list),
    )


def _signed_properties(sig: etree._Element) -> tuple[etree._Element, etree._Element, dt.datetime]:
    """(QualifyingProperties, the one SignedProperties inside it, its SigningTime)."""
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
    return qp, signed_props[0], _parse_time(_child_text(ssp, _SIGNING_TIME))


def _unsigned_values(qp: etree._Element) -> tuple[list[bytes], list[x509.Certificate], list[bytes]]:
    """OCSP responses, extra certificates and signature timestamp tokens of the unsigned properties."""
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
    return ocsp, extra, tokens


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
