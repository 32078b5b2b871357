"""Making X-Road message signatures (XAdES inside ``asic:XAdESSignatures``).

Every message between gateways carries one signature, and the message log keeps it
as the legal evidence of who sent what and when. sild writes the signature with the
same bytes layout as X-Road's ``SignatureBuilder`` (``sign-0.xml``, the message-log
containers): the same Ids (``signature``, ``signature-reference-N``,
``signed-properties``, ``signature-value``, ``ocsp-response-N``), element order,
prefixes (``asic``/``ds``/``xades``/``xsi`` declared on the root), line breaks and
Java's MIME base64 (76 columns, CR written as ``&#13;``). Verifiers that compare by
C14N do not need this; people who diff evidence and X-Road tools that pick elements
by Id do.

What is signed:

* one ``ds:Reference`` per input, whose digest covers the **exact bytes** of the input
  (SOAP message, REST header part, attachment) -- never a re-serialisation; with a
  single input it is ``signature-reference-0`` (as in ``sign-0.xml``); with several
  (message + attachments, REST header + ``/attachment1``) the signed properties come
  first and the inputs follow, as X-Road's ``valid-non-batch-soap-attachments`` does;
* for a batch, one reference to ``/sig-hashchainresult.xml`` (see :mod:`trust.xades._hashchain`):
  one private-key operation signs many messages, each keeping its own chain;
* ``#signed-properties``: SigningTime, SigningCertificate (CertDigest + IssuerSerial),
  the fixed policy ``urn:oid:1.3.6.1.4.1.3516.16.2`` and a DataObjectFormat per input.

C14N 1.0 (inclusive) of SignedInfo and SignedProperties, RSA-SHA512 (PKCS#1 v1.5) or
ECDSA-SHA512 with the raw ``r||s`` value XML-DSig wants. The private key is used only
through :class:`trust.keys._token.Signer`.
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
from ._hashchain import SIG_HASH_CHAIN, SIG_HASH_CHAIN_RESULT, HashChainInput, build_hash_chains
from trust.keys import Signer, ecdsa_der_to_raw

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


_BAD_URI_CHARACTER = re.compile(r'["<&\x00-\x1f]')


@dataclass(frozen=True)
class SignedPart:
    """One input of a signature: its container URI, its exact bytes (or digest), its MIME type."""

    uri: str
    data: bytes | None = None
    digest: bytes | None = None
    mime_type: str = "text/xml"

    def __post_init__(self) -> None:
        if (self.data is None) == (self.digest is None):
            raise ValueError("give exactly one of data and digest")
        # no character C14N would write differently in an attribute (" < & and controls)
        if not self.uri.startswith("/") or _BAD_URI_CHARACTER.search(self.uri):
            raise ValueError(f"bad part URI {self.uri!r}")

    def digest_with(self, algorithm: DigestAlgorithm) -> bytes:
        return self.digest if self.digest is not None else fast_digest(algorithm, self.data or b"")


_HASH_CONSTRUCTORS: dict[DigestAlgorithm, Callable[[bytes], "hashlib._Hash"]] = {
    DigestAlgorithm.SHA256: hashlib.sha256,
    DigestAlgorithm.SHA384: hashlib.sha384,
    DigestAlgorithm.SHA512: hashlib.sha512,
}


# enum properties computed once (they are string operations on the member name)
_SIGNATURE_DIGESTS = {alg: alg.digest for alg in SignatureAlgorithm}
_ECDSA_ALGORITHMS = frozenset(alg for alg in SignatureAlgorithm if alg.is_ecdsa)


def fast_digest(algorithm: DigestAlgorithm, data: bytes) -> bytes:
    """``algorithm.digest(data)`` through hashlib's direct constructor (``hashlib.new`` costs
    a few microseconds more, which the hot path pays several times per message)."""
    if algorithm is DigestAlgorithm.SHA512:  # X-Road's default; skips Enum.__hash__ (Python code)
        return hashlib.sha512(data).digest()
    constructor = _HASH_CONSTRUCTORS.get(algorithm)
    return constructor(data).digest() if constructor is not None else algorithm.digest(data)


@dataclass(frozen=True)
class BatchSignature:
    """One message's share of a batch signature: the common signature and its own chain."""

    signature_xml: bytes
    hash_chain_result: bytes
    hash_chain: bytes


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


def create_signature(
    parts: Sequence[SignedPart],
    *,
    signer: Signer,
    key_id: str,
    certificate: x509.Certificate,
    signing_time: dt.datetime,
    ocsp_responses: Sequence[bytes] = (),
    extra_certificates: Sequence[x509.Certificate] = (),
    algorithm: SignatureAlgorithm | None = None,
    digest_algorithm: DigestAlgorithm = DigestAlgorithm.SHA512,
) -> bytes:
    """Sign ``parts`` and return the ``asic:XAdESSignatures`` document (UTF-8 bytes).

    ``ocsp_responses`` are the DER OCSP responses for the signing certificate (and its
    chain) that the verifier will check; ``extra_certificates`` the intermediate CA
    certificates, written to ``CertificateValues``.

    The hot path of every exchange: the document and the canonical forms that are
    hashed are written side by side from per-key templates (no XML parsing, no
    regular expressions), so the private-key operation dominates.
    """
    if not parts:
        raise TrustError("a signature needs at least one input", code="trust.signature.no_input")
    if len(parts) > 1 and len({p.uri for p in parts}) != len(parts):
        raise TrustError("signature inputs must have distinct URIs", code="trust.signature.duplicate_input")
    material = _certificate_material(certificate, digest_algorithm)
    if algorithm is None:
        algorithm = material.algorithm
    multi = len(parts) > 1
    part_ids = [f"signature-reference-{n + 1 if multi else n}" for n in range(len(parts))]
    sp_id = "signature-reference-0" if multi else f"signature-reference-{len(parts)}"
    formats = [(rid, p.mime_type) for rid, p in zip(part_ids, parts)]
    signed_props, signed_props_c14n = _signed_properties(material, signing_time, formats)
    sp_ref = _reference_pair(sp_id, "#signed-properties", fast_digest(digest_algorithm, signed_props_c14n),
                             digest_algorithm, SIGNED_PROPERTIES_TYPE)
    part_refs = [_reference_pair(rid, p.uri, p.digest_with(digest_algorithm), digest_algorithm)
                 for rid, p in zip(part_ids, parts)]
    refs = [sp_ref, *part_refs] if multi else [*part_refs, sp_ref]
    head, head_c14n = _signed_info_head(algorithm)
    signed_info = head + "".join(r[0] for r in refs) + "</ds:SignedInfo>"
    signed_info_c14n = head_c14n + "".join(r[1] for r in refs) + "</ds:SignedInfo>"
    to_sign = fast_digest(_SIGNATURE_DIGESTS[algorithm], signed_info_c14n.encode("utf-8"))
    value = signer.sign(key_id, algorithm, to_sign)
    if algorithm in _ECDSA_ALGORITHMS:
        if material.curve_bits is None:
            raise TrustError("ECDSA signature with a non-EC certificate", code="trust.signature.key_mismatch")
        value = ecdsa_der_to_raw(value, material.curve_bits)
    return "".join((
        _XML_DECL, _ROOT_OPEN, '<ds:Signature Id="signature">\n',
        signed_info, "\n",
        '<ds:SignatureValue Id="signature-value">\n', java_base64(value), "\n</ds:SignatureValue>\n",
        "<ds:KeyInfo>\n<ds:X509Data>\n<ds:X509Certificate>\n", material.cert_b64,
        "\n</ds:X509Certificate>\n</ds:X509Data>\n</ds:KeyInfo>\n",
        '<ds:Object><xades:QualifyingProperties Target="#signature">',
        signed_props, _unsigned_properties(tuple(ocsp_responses), tuple(extra_certificates)),
        "</xades:QualifyingProperties></ds:Object>\n</ds:Signature></asic:XAdESSignatures>",
    )).encode("utf-8")


def sign_batch(
    messages: Sequence[Sequence[SignedPart]],
    *,
    signer: Signer,
    key_id: str,
    certificate: x509.Certificate,
    signing_time: dt.datetime,
    ocsp_responses: Sequence[bytes] = (),
    extra_certificates: Sequence[x509.Certificate] = (),
    algorithm: SignatureAlgorithm | None = None,
    digest_algorithm: DigestAlgorithm = DigestAlgorithm.SHA512,
) -> list[BatchSignature]:
    """Sign many messages with one private-key operation (X-Road's batch signature).

    Each message is a sequence of parts (the message and its attachments); the hash
    chain result over all of them is signed once, and each message gets the common
    signature, the result and its own ``sig-hashchain.xml``.
    """
    leaves = [[HashChainInput(p.uri, p.digest_with(digest_algorithm)) for p in message] for message in messages]
    batch = build_hash_chains(leaves, algorithm=digest_algorithm, chain_uri=SIG_HASH_CHAIN)
    signature = create_signature(
        [SignedPart(SIG_HASH_CHAIN_RESULT, data=batch.result_xml, mime_type=HASH_CHAIN_RESULT_MIME)],
        signer=signer,
        key_id=key_id,
        certificate=certificate,
        signing_time=signing_time,
        ocsp_responses=ocsp_responses,
        extra_certificates=extra_certificates,
        algorithm=algorithm,
        digest_algorithm=digest_algorithm,
    )
    return [BatchSignature(signature, batch.result_xml, chain) for chain in batch.chains]
