"""Reading an X-Road message signature and checking its cryptography.

:func:`parse_signature` reads the ``asic:XAdESSignatures`` document (or a bare
``ds:Signature``, as X-Road's newer DSS-based writer produces for REST) through the
safe parser; :func:`check_references_and_value` recomputes every reference digest
over the exact bytes it names and verifies the SignatureValue over the canonical
SignedInfo. Trust decisions (chain, OCSP, who signed) are in :mod:`trust.xades_verify`.

Only what X-Road's profile needs is accepted: C14N 1.0 or exclusive C14N, RSA or
ECDSA with SHA-256/512, same-document references by ``Id`` (unique within the
signature, to stop wrapping attacks) and container references by path.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass, field
from typing import Callable

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree

from .algorithms import DigestAlgorithm, SignatureAlgorithm
from .errors import TrustError
from .keys import ecdsa_raw_to_der, verify_digest
from .safexml import parse_xml
from .xades import DS_NS, SIGNED_PROPERTIES_TYPE, XADES_NS
from .xades_errors import BadSignatureValue, DigestMismatch, MissingReference, SignatureMalformed

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
    """Decode base64 that may carry line breaks and ``&#13;`` (NOTES 9.15)."""
    try:
        return base64.b64decode("".join((text or "").split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureMalformed(f"{what} is not valid base64") from exc


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


def parse_signature(signature_xml: bytes) -> ParsedSignature:
    """Parse a signature document; raise :class:`SignatureMalformed` on structural problems."""
    try:
        root = parse_xml(signature_xml, max_bytes=_MAX_SIGNATURE_BYTES, what="signature")
    except TrustError as exc:
        raise SignatureMalformed(f"signature is not well-formed XML: {exc}") from exc
    if root.tag == _ds("Signature"):
        sig = root
    elif etree.QName(root).localname == "XAdESSignatures" and etree.QName(root).namespace in ASIC_NAMESPACES:
        found = root.findall(_ds("Signature"))
        if len(found) != 1:
            raise SignatureMalformed(f"XAdESSignatures must hold exactly one ds:Signature, it holds {len(found)}")
        sig = found[0]
    else:
        raise SignatureMalformed(f"unexpected signature root element {root.tag}")
    signed_info = sig.find(_ds("SignedInfo"))
    if signed_info is None:
        raise SignatureMalformed("signature has no SignedInfo")
    c14n_el = signed_info.find(_ds("CanonicalizationMethod"))
    c14n = (c14n_el.get("Algorithm") if c14n_el is not None else None) or ""
    if c14n not in C14N_ALGORITHMS:
        raise SignatureMalformed(f"canonicalization {c14n!r} is not allowed")
    method_el = signed_info.find(_ds("SignatureMethod"))
    try:
        method = SignatureAlgorithm.from_uri((method_el.get("Algorithm") if method_el is not None else None) or "")
    except TrustError as exc:
        raise SignatureMalformed(str(exc)) from exc
    references = []
    for ref in signed_info.findall(_ds("Reference")):
        dm = ref.find(_ds("DigestMethod"))
        try:
            alg = DigestAlgorithm.from_uri((dm.get("Algorithm") if dm is not None else None) or "")
        except TrustError as exc:
            raise SignatureMalformed(str(exc)) from exc
        if alg is DigestAlgorithm.SHA1:
            raise SignatureMalformed("SHA-1 reference digests are not accepted")
        transforms = tuple(t.get("Algorithm") or "" for t in ref.iterfind(f"{_ds('Transforms')}/{_ds('Transform')}"))
        references.append(
            ParsedReference(
                ref.get("Id"), ref.get("URI") or "", ref.get("Type"), alg,
                b64decode(ref.findtext(_ds("DigestValue")), "reference DigestValue"), transforms,
            )
        )
    if not references:
        raise SignatureMalformed("signature has no references")
    value = b64decode(sig.findtext(_ds("SignatureValue")), "SignatureValue")
    cert_text = sig.findtext(f"{_ds('KeyInfo')}/{_ds('X509Data')}/{_ds('X509Certificate')}")
    if cert_text is None:
        raise SignatureMalformed("signature has no signer certificate in KeyInfo")
    certificate = _load_cert(b64decode(cert_text, "X509Certificate"), "signer certificate")
    qp = sig.find(f"{_ds('Object')}/{_xades('QualifyingProperties')}")
    if qp is None:
        raise SignatureMalformed("signature has no XAdES QualifyingProperties")
    signed_props = list(sig.iter(_xades("SignedProperties")))
    if len(signed_props) != 1 or signed_props[0].getparent() is not qp:
        # exactly one, inside the QualifyingProperties read here: the SigningTime a verifier
        # reports must come from the element the signature covers
        raise SignatureMalformed(f"signature must hold exactly one SignedProperties, it holds {len(signed_props)}")
    ssp = signed_props[0].find(_xades("SignedSignatureProperties"))
    if ssp is None:
        raise SignatureMalformed("signature has no SignedSignatureProperties")
    signing_time = _parse_time(ssp.findtext(_xades("SigningTime")))
    usp = qp.find(f"{_xades('UnsignedProperties')}/{_xades('UnsignedSignatureProperties')}")
    ocsp: list[bytes] = []
    extra: list[x509.Certificate] = []
    tokens: list[bytes] = []
    if usp is not None:
        for el in usp.iter(_xades("EncapsulatedOCSPValue")):
            ocsp.append(b64decode(el.text, "EncapsulatedOCSPValue"))
        for el in usp.iter(_xades("EncapsulatedX509Certificate")):
            extra.append(_load_cert(b64decode(el.text, "EncapsulatedX509Certificate"), "CertificateValues entry"))
        for el in usp.iterfind(f"{_xades('SignatureTimeStamp')}/{_xades('EncapsulatedTimeStamp')}"):
            tokens.append(b64decode(el.text, "EncapsulatedTimeStamp"))
    return ParsedSignature(
        signature_xml=bytes(signature_xml), signature_method=method, c14n_method=c14n,
        references=tuple(references), signature_value=value, certificate=certificate,
        signing_time=signing_time, ocsp_responses=tuple(ocsp), extra_certificates=tuple(extra),
        timestamp_tokens=tuple(tokens), signature_element=sig, signed_properties_element=signed_props[0],
    )


def _canonical(element: etree._Element, algorithm: str) -> bytes:
    exclusive, comments = C14N_ALGORITHMS[algorithm]
    return etree.tostring(element, method="c14n", exclusive=exclusive, with_comments=comments)


def _by_id(sig: etree._Element, ident: str) -> etree._Element:
    found = [el for el in sig.iter() if isinstance(el.tag, str) and el.get("Id") == ident]
    if len(found) != 1:
        raise SignatureMalformed(f"signature has {len(found)} elements with Id {ident!r}, expected exactly one")
    return found[0]


def _check_signing_certificate(parsed: ParsedSignature, signed_props: etree._Element) -> None:
    der = parsed.certificate.public_bytes(serialization.Encoding.DER)
    ssp = signed_props.find(_xades("SignedSignatureProperties"))
    assert ssp is not None
    certs = ssp.findall(f"{_xades('SigningCertificate')}/{_xades('Cert')}") + ssp.findall(
        f"{_xades('SigningCertificateV2')}/{_xades('Cert')}"
    )
    if not certs:
        raise SignatureMalformed("signed properties do not name the signing certificate")
    for cert in certs:
        dm = cert.find(f"{_xades('CertDigest')}/{_ds('DigestMethod')}")
        try:
            alg = DigestAlgorithm.from_uri((dm.get("Algorithm") if dm is not None else None) or "")
        except TrustError as exc:
            raise SignatureMalformed(str(exc)) from exc
        stated = b64decode(cert.findtext(f"{_xades('CertDigest')}/{_ds('DigestValue')}"), "CertDigest")
        if alg.digest(der) == stated:
            serial = cert.findtext(f"{_xades('IssuerSerial')}/{_ds('X509SerialNumber')}")
            if serial is not None and serial.strip() != str(parsed.certificate.serial_number):
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
            if target.tag == _xades("SignedProperties"):
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
        if ref.digest_algorithm.digest(data) != ref.digest:
            raise DigestMismatch(f"digest of {ref.uri} does not match the signature")
    if not signed_props_seen:
        raise SignatureMalformed("signature does not cover its signed properties")
    signed_info = sig.find(_ds("SignedInfo"))
    assert signed_info is not None
    digest = parsed.signature_method.digest.digest(_canonical(signed_info, parsed.c14n_method))
    public_key = parsed.certificate.public_key()
    value = parsed.signature_value
    if parsed.signature_method.is_ecdsa:
        if not isinstance(public_key, ec.EllipticCurvePublicKey):
            raise BadSignatureValue("ECDSA signature but the certificate key is not EC")
        try:
            value = ecdsa_raw_to_der(value)
        except (TrustError, ValueError) as exc:
            raise BadSignatureValue("ECDSA signature value is not r||s") from exc
    if not verify_digest(public_key, parsed.signature_method, digest, value):
        raise BadSignatureValue("signature value does not verify with the signer certificate")
