"""The text of a signature document, byte for byte as X-Road writes it.

:mod:`._sign` decides what is signed; this module writes it: the namespaces and the
fixed policy, Java's MIME base64, RFC 2253 names as ``X500Principal`` prints them,
the SignedProperties written once per certificate as a template (document form and
its C14N side by side, so they cannot drift apart), the unsigned properties, the
references and the head of SignedInfo. Nothing here parses XML on the hot path:
:func:`canonical_fragment` produces the inclusive C14N of what sild itself wrote, and
:func:`c14n_by_parsing` is its reference implementation for the tests.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import re
from dataclasses import dataclass
from typing import Callable, Sequence

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree

from trust.keys import DigestAlgorithm, SignatureAlgorithm
from trust.errors import TrustError

ASIC_NS = "http://uri.etsi.org/02918/v1.2.1#"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
XADES_NS = "http://uri.etsi.org/01903/v1.3.2#"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
C14N_10 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
SIGNED_PROPERTIES_TYPE = "http://uri.etsi.org/01903#SignedProperties"

POLICY_ID = "urn:oid:1.3.6.1.4.1.3516.16.2"
POLICY_DESCRIPTION = "Profile for High Performance Digital Signatures (version 1.2)"
POLICY_URI = "https://repo.cyber.ee/dsig-profile-1.2.pdf"
# SHA-512 of the policy document; X-Road writes this fixed value into every signature.
POLICY_DIGEST_B64 = "BuO0EDNfkxSVlUbxCzmQPzX1AUF1/xx9ytWHk3/6SAOePxQiniEfDYk+90QeYb3lWpV3Izhuz9fKaYyE+lTcXw=="

MESSAGE_URI = "/message.xml"
HASH_CHAIN_RESULT_MIME = "application/hash-chain-result"

_ROOT_OPEN = (
    '<asic:XAdESSignatures xmlns:asic="' + ASIC_NS + '" xmlns:ds="' + DS_NS + '" xmlns:xades="'
    + XADES_NS + '" xmlns:xsi="' + XSI_NS + '">'
)
_XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="no"?>'

_RFC2253_KEYWORDS = {
    "2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O",
    "2.5.4.11": "OU", "2.5.4.9": "STREET", "0.9.2342.19200300.100.1.25": "DC",
    "0.9.2342.19200300.100.1.1": "UID",
}


_HASH_CONSTRUCTORS: dict[DigestAlgorithm, Callable[[bytes], "hashlib._Hash"]] = {
    DigestAlgorithm.SHA256: hashlib.sha256,
    DigestAlgorithm.SHA384: hashlib.sha384,
    DigestAlgorithm.SHA512: hashlib.sha512,
}


def fast_digest(algorithm: DigestAlgorithm, data: bytes) -> bytes:
    """``algorithm.digest(data)`` through hashlib's direct constructor (``hashlib.new`` costs
    a few microseconds more, which the hot path pays several times per message)."""
    if algorithm is DigestAlgorithm.SHA512:  # X-Road's default; skips Enum.__hash__ (Python code)
        return hashlib.sha512(data).digest()
    constructor = _HASH_CONSTRUCTORS.get(algorithm)
    return constructor(data).digest() if constructor is not None else algorithm.digest(data)


def java_base64(data: bytes) -> str:
    """Java's MIME base64 as X-Road's XML writer leaves it: 76 columns, CRLF as ``&#13;`` + LF."""
    text = base64.b64encode(data).decode("ascii")
    return "&#13;\n".join(text[i:i + 76] for i in range(0, len(text), 76))


def format_signing_time(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("signing time must be timezone-aware")
    m = moment if moment.tzinfo is dt.timezone.utc else moment.astimezone(dt.timezone.utc)
    return (f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}."
            f"{m.microsecond // 1000:03d}Z")


def _escape_rfc2253(value: str) -> str:
    out = []
    for i, ch in enumerate(value):
        if ch in ',+"\\<>;' or (ch == "#" and i == 0) or (ch == " " and (i == 0 or i == len(value) - 1)):
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def rfc2253_name(cert: x509.Certificate, *, issuer: bool = True) -> str:
    """The issuer (or subject) as Java's ``X500Principal.getName(RFC2253)`` writes it.

    Java knows keywords only for CN, C, L, ST, O, OU, STREET, DC and UID; any other
    attribute (emailAddress, serialNumber) is written as ``OID=#<hex DER>``.
    """
    parsed = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    name = parsed["tbs_certificate"]["issuer" if issuer else "subject"].chosen
    rdns = []
    for rdn in reversed(list(name)):
        parts = []
        for atv in rdn:
            oid = atv["type"].dotted
            keyword = _RFC2253_KEYWORDS.get(oid)
            if keyword is None:
                parts.append(f"{oid}=#{atv['value'].dump().hex()}")
            else:
                parts.append(f"{keyword}={_escape_rfc2253(str(atv['value'].native))}")
        rdns.append("+".join(parts))
    return ",".join(rdns)


def _xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True)
class _KeyMaterial:
    """What every signature by one certificate repeats, written once per (certificate, digest).

    ``sp_*`` are the SignedProperties around the two parts that change per signature
    (the signing time and the DataObjectFormats), in document form and in the
    inclusive-C14N form that is hashed; both come from the same template through
    :func:`canonical_fragment`, so they cannot drift apart.
    """

    public_key: object
    algorithm: SignatureAlgorithm  # the key's default: its type with SHA-512
    curve_bits: int | None  # EC keys: the curve size for r||s; None for RSA
    cert_b64: str  # Java-wrapped, for KeyInfo
    sp_head: str
    sp_mid: str
    sp_head_c14n: str
    sp_mid_c14n: str


_TIME_MARK = "@@SIGNING-TIME@@"
_OBJECTS_MARK = "@@OBJECTS@@"
_SP_TAIL = "</xades:SignedDataObjectProperties></xades:SignedProperties>"


_MATERIAL_BY_OBJECT: dict[tuple[int, int], tuple[x509.Certificate, _KeyMaterial]] = {}


def _certificate_material(cert: x509.Certificate, digest: DigestAlgorithm) -> _KeyMaterial:
    """A pure memo: a gateway signs thousands of messages with one certificate, and the
    issuer name alone costs more to format than the RSA operation.

    Looked up first by the certificate object's identity (the gateway passes the same
    object every time; the entry holds it, so its id cannot be reused), which saves
    hashing the DER; then by the certificate's value.
    """
    key = (id(cert), id(digest))
    hit = _MATERIAL_BY_OBJECT.get(key)
    if hit is not None and hit[0] is cert:
        return hit[1]
    material = _certificate_material_by_value(cert, digest)
    if len(_MATERIAL_BY_OBJECT) >= 64:
        _MATERIAL_BY_OBJECT.clear()
    _MATERIAL_BY_OBJECT[key] = (cert, material)
    return material


@functools.lru_cache(maxsize=64)
def _certificate_material_by_value(cert: x509.Certificate, digest: DigestAlgorithm) -> _KeyMaterial:
    der = cert.public_bytes(serialization.Encoding.DER)
    public_key = cert.public_key()
    template = _signed_properties_template(
        base64.b64encode(fast_digest(digest, der)).decode(), _xml_text(rfc2253_name(cert)), str(cert.serial_number), digest
    )
    head, mid = template[: -len(_SP_TAIL)].split(_TIME_MARK)
    mid = mid.replace(_OBJECTS_MARK, "")
    c14n = canonical_fragment(template).decode("utf-8")
    head_c, mid_c = c14n[: -len(_SP_TAIL)].split(_TIME_MARK)
    mid_c = mid_c.replace(_OBJECTS_MARK, "")
    return _KeyMaterial(
        public_key=public_key,
        algorithm=SignatureAlgorithm.for_key(public_key, DigestAlgorithm.SHA512),
        curve_bits=public_key.curve.key_size if isinstance(public_key, ec.EllipticCurvePublicKey) else None,
        cert_b64=java_base64(der),
        sp_head=head, sp_mid=mid, sp_head_c14n=head_c, sp_mid_c14n=mid_c,
    )


def _signed_properties_template(cert_digest: str, issuer_name: str, serial: str, digest: DigestAlgorithm) -> str:
    dm = f'<ds:DigestMethod Algorithm="{digest.value}"/>'
    return (
        '<xades:SignedProperties Id="signed-properties"><xades:SignedSignatureProperties>'
        f"<xades:SigningTime>{_TIME_MARK}</xades:SigningTime>"
        "<xades:SigningCertificate><xades:Cert><xades:CertDigest>"
        f"{dm}<ds:DigestValue>{cert_digest}</ds:DigestValue></xades:CertDigest>"
        f"<xades:IssuerSerial><ds:X509IssuerName>{issuer_name}</ds:X509IssuerName>"
        f"<ds:X509SerialNumber>{serial}</ds:X509SerialNumber></xades:IssuerSerial>"
        "</xades:Cert></xades:SigningCertificate>"
        "<xades:SignaturePolicyIdentifier><xades:SignaturePolicyId><xades:SigPolicyId>"
        f'<xades:Identifier Qualifier="OIDAsURN">{POLICY_ID}</xades:Identifier>'
        f"<xades:Description>{POLICY_DESCRIPTION}</xades:Description></xades:SigPolicyId>"
        f'<xades:SigPolicyHash><ds:DigestMethod Algorithm="{DigestAlgorithm.SHA512.value}"/>'
        f"<ds:DigestValue>{POLICY_DIGEST_B64}</ds:DigestValue></xades:SigPolicyHash>"
        "<xades:SigPolicyQualifiers><xades:SigPolicyQualifier>"
        f"<xades:SPURI>{POLICY_URI}</xades:SPURI></xades:SigPolicyQualifier></xades:SigPolicyQualifiers>"
        "</xades:SignaturePolicyId></xades:SignaturePolicyIdentifier></xades:SignedSignatureProperties>"
        f"<xades:SignedDataObjectProperties>{_OBJECTS_MARK}{_SP_TAIL}"
    )


def _signed_properties(
    material: _KeyMaterial, signing_time: dt.datetime, formats: Sequence[tuple[str, str]]
) -> tuple[str, bytes]:
    """The SignedProperties element: (document form, its inclusive C14N as UTF-8)."""
    time_text = format_signing_time(signing_time)
    objects = "".join(
        f'<xades:DataObjectFormat ObjectReference="#{ref}"><xades:MimeType>{_xml_text(mime)}</xades:MimeType></xades:DataObjectFormat>'
        for ref, mime in formats
    )
    # C14N writes text as the writer does (& < > escaped) unless it holds a CR, which
    # the document form cannot carry literally; such MIME types are refused
    if "\r" in objects:
        raise TrustError("a MIME type must not contain a carriage return", code="trust.signature.bad_input")
    document = material.sp_head + time_text + material.sp_mid + objects + _SP_TAIL
    canonical = material.sp_head_c14n + time_text + material.sp_mid_c14n + objects + _SP_TAIL
    return document, canonical.encode("utf-8")


@functools.lru_cache(maxsize=64)
def _unsigned_properties(ocsp_responses: tuple[bytes, ...], extra_certs: tuple[x509.Certificate, ...]) -> str:
    """A pure memo: the same OCSP responses go with every signature until they are refreshed."""
    body = ""
    if extra_certs:
        body += "<xades:CertificateValues>" + "".join(
            f'<xades:EncapsulatedX509Certificate Id="certificate-{n}">'
            f"{base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode()}</xades:EncapsulatedX509Certificate>"
            for n, c in enumerate(extra_certs, 1)
        ) + "</xades:CertificateValues>"
    if ocsp_responses:
        body += "<xades:RevocationValues><xades:OCSPValues>" + "".join(
            f'<xades:EncapsulatedOCSPValue Id="ocsp-response-{n}">{base64.b64encode(o).decode()}</xades:EncapsulatedOCSPValue>'
            for n, o in enumerate(ocsp_responses, 1)
        ) + "</xades:OCSPValues></xades:RevocationValues>"
    return f"<xades:UnsignedProperties><xades:UnsignedSignatureProperties>{body}</xades:UnsignedSignatureProperties></xades:UnsignedProperties>"


_NS_DECLS = f'xmlns:asic="{ASIC_NS}" xmlns:ds="{DS_NS}" xmlns:xades="{XADES_NS}" xmlns:xsi="{XSI_NS}"'
_EMPTY_ELEMENT = re.compile(r"<((ds|xades):[A-Za-z]+)((?: [A-Za-z]+=\"[^\"<&]*\")*)/>")


def canonical_fragment(fragment: str) -> bytes:
    """Inclusive C14N 1.0 of an element sild itself wrote, as it sits in the signature document.

    Its in-scope namespaces are exactly the four the ``asic:XAdESSignatures`` root
    declares (``ds:Signature`` and ``ds:Object`` declare none), so C14N puts those four,
    sorted, on the fragment's first tag. sild writes attributes already in C14N order
    and escapes text, so what remains is expanding empty elements and writing the CR
    of Java's base64 as ``&#xD;``. Equality with lxml's C14N is a test; this saves two
    XML parses per signature.
    """
    head, sep, rest = fragment.partition(" ") if fragment.index(" ") < fragment.index(">") else fragment.partition(">")
    if sep == " ":
        text = f"{head} {_NS_DECLS} {rest}"
    else:
        text = f"{head} {_NS_DECLS}>{rest}"
    text = _EMPTY_ELEMENT.sub(r"<\1\3></\1>", text).replace("&#13;", "&#xD;")
    return text.encode("utf-8")


def c14n_by_parsing(fragment: str) -> bytes:
    """Reference implementation of :func:`canonical_fragment` (used by the tests)."""
    doc = etree.fromstring((_ROOT_OPEN + fragment + "</asic:XAdESSignatures>").encode("utf-8"))
    return etree.tostring(doc[0], method="c14n")


def _reference_pair(
    ref_id: str, uri: str, digest: bytes, algorithm: DigestAlgorithm, type_: str | None = None
) -> tuple[str, str]:
    """A ``ds:Reference`` in document form and in C14N form (as it sits inside SignedInfo).

    The attributes are already in C14N order (Id, Type, URI) and :class:`SignedPart`
    refuses the characters C14N would escape in them, so the two differ only in the
    expanded empty DigestMethod and the CR of Java's base64.
    """
    type_attr = f' Type="{type_}"' if type_ else ""
    text = base64.b64encode(digest).decode("ascii")
    lines = [text[i:i + 76] for i in range(0, len(text), 76)]
    head = f'<ds:Reference Id="{ref_id}"{type_attr} URI="{uri}">\n'
    value, value_c14n = "&#13;\n".join(lines), "&#xD;\n".join(lines)
    return (
        f'{head}<ds:DigestMethod Algorithm="{algorithm.value}"/>\n'
        f"<ds:DigestValue>{value}</ds:DigestValue>\n</ds:Reference>\n",
        f'{head}<ds:DigestMethod Algorithm="{algorithm.value}"></ds:DigestMethod>\n'
        f"<ds:DigestValue>{value_c14n}</ds:DigestValue>\n</ds:Reference>\n",
    )


@functools.lru_cache(maxsize=16)
def _signed_info_head(algorithm: SignatureAlgorithm) -> tuple[str, str]:
    head = (
        "<ds:SignedInfo>\n"
        f'<ds:CanonicalizationMethod Algorithm="{C14N_10}"/>\n'
        f'<ds:SignatureMethod Algorithm="{algorithm.value}"/>\n'
    )
    return head, canonical_fragment(head).decode("utf-8")
