"""XML-DSig over payload elements: signed through a ``Signer``, verified with signxml.

Why sign in the adapter at all: the X-Road message signature proves who *sent* a
message, but it is bound to the whole SOAP message and is gone once a consumer
extracts the data. A signature over the payload element itself (a person record, a
tax record) travels with the data: the consumer can store the record and prove
years later that the data owner issued it.

Signing never touches a private key: we canonicalise ``SignedInfo`` ourselves
(exclusive C14N, so the signature survives being cut out of the SOAP envelope and
re-embedded elsewhere), hash it, and hand only the digest to
``trust.keys._token.Signer.sign(key_id, algorithm, digest)`` - the shape of an HSM. That is
why signxml's signer cannot be used (it wants a key object); verification has no key
to protect, so it is delegated to signxml, which is well reviewed.

Two placements, both referencing the payload by its ``Id`` attribute
(``Reference URI="#id"``):

* **enveloped**: the ``ds:Signature`` is the last child of the payload element and
  the reference carries the enveloped-signature transform;
* **detached**: the ``ds:Signature`` is the next sibling of the payload element.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree

from trust.keys import DigestAlgorithm, SignatureAlgorithm
from trust.keys import Signer, ecdsa_der_to_raw
from trust.infra import parse_xml

from adapters.errors import AdapterError

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
ID_ATTRIBUTE = "Id"

ALLOWED_SIGNATURE_ALGORITHMS = frozenset(SignatureAlgorithm)
ALLOWED_DIGESTS = frozenset({DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512})


class PayloadSignatureError(AdapterError):
    """A payload signature could not be made, is missing, or does not verify."""

    code = "adapters.signature.invalid"


class SignatureMode(enum.Enum):
    ENVELOPED = "enveloped"
    DETACHED = "detached"


def _ds(local: str) -> str:
    return f"{{{DS_NS}}}{local}"


def _c14n(element: etree._Element) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=True, with_comments=False)


@dataclass(frozen=True)
class PayloadSigner:
    """Signs payload elements for one data owner.

    ``certificates`` is the signing certificate first, then any intermediates; all
    go into ``KeyInfo/X509Data`` so a verifier needs only the root it trusts.
    """

    signer: Signer
    key_id: str
    certificates: tuple[x509.Certificate, ...]
    algorithm: SignatureAlgorithm | None = None  # None: RSA/ECDSA with SHA-256 after the certificate's key
    mode: SignatureMode = SignatureMode.ENVELOPED
    new_id: Callable[[], str] = field(default=lambda: f"id-{uuid.uuid4()}")

    def __post_init__(self) -> None:
        if not self.certificates:
            raise PayloadSignatureError("a payload signer needs its certificate", code="adapters.signature.config")
        if self.algorithm is None:
            object.__setattr__(
                self, "algorithm",
                SignatureAlgorithm.for_key(self.certificates[0].public_key(), DigestAlgorithm.SHA256),
            )
        if self.algorithm not in ALLOWED_SIGNATURE_ALGORITHMS:
            raise PayloadSignatureError(f"algorithm {self.algorithm} is not allowed", code="adapters.signature.config")
        cert_key = self.certificates[0].public_key()
        spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        if self.signer.public_key(self.key_id).public_bytes(*spki) != cert_key.public_bytes(*spki):
            # caught at start-up: otherwise every answer would carry a signature nobody can verify
            raise PayloadSignatureError(
                f"key {self.key_id!r} does not belong to the certificate {self.certificates[0].subject.rfc4514_string()}",
                code="adapters.signature.config",
            )
        assert self.algorithm is not None
        if self.algorithm.is_ecdsa != isinstance(cert_key, ec.EllipticCurvePublicKey):
            raise PayloadSignatureError(
                f"algorithm {self.algorithm.name} does not fit the certificate's key type",
                code="adapters.signature.config",
            )

    def sign(self, payload: etree._Element) -> etree._Element:
        """Sign ``payload`` in place and return the inserted ``ds:Signature``."""
        if self.mode is SignatureMode.DETACHED and payload.getparent() is None:
            raise PayloadSignatureError(
                "a detached signature needs the payload to have a parent element", code="adapters.signature.config"
            )
        ref_id = payload.get(ID_ATTRIBUTE)
        if not ref_id:
            ref_id = self.new_id()
            payload.set(ID_ATTRIBUTE, ref_id)
        algorithm = self.algorithm
        assert algorithm is not None
        digest_alg = algorithm.digest
        # enveloped: the digest is taken before the signature exists, which is exactly
        # what the enveloped-signature transform reproduces on the verifying side
        digest_value = digest_alg.digest(_c14n(payload))

        signature = etree.Element(_ds("Signature"), nsmap={"ds": DS_NS})
        signed_info = etree.SubElement(signature, _ds("SignedInfo"))
        etree.SubElement(signed_info, _ds("CanonicalizationMethod"), Algorithm=EXC_C14N)
        etree.SubElement(signed_info, _ds("SignatureMethod"), Algorithm=algorithm.value)
        reference = etree.SubElement(signed_info, _ds("Reference"), URI=f"#{ref_id}")
        transforms = etree.SubElement(reference, _ds("Transforms"))
        if self.mode is SignatureMode.ENVELOPED:
            etree.SubElement(transforms, _ds("Transform"), Algorithm=ENVELOPED)
        etree.SubElement(transforms, _ds("Transform"), Algorithm=EXC_C14N)
        etree.SubElement(reference, _ds("DigestMethod"), Algorithm=digest_alg.value)
        etree.SubElement(reference, _ds("DigestValue")).text = base64.b64encode(digest_value).decode("ascii")
        value_el = etree.SubElement(signature, _ds("SignatureValue"))
        key_info = etree.SubElement(signature, _ds("KeyInfo"))
        x509_data = etree.SubElement(key_info, _ds("X509Data"))
        for cert in self.certificates:
            der = cert.public_bytes(serialization.Encoding.DER)
            etree.SubElement(x509_data, _ds("X509Certificate")).text = base64.b64encode(der).decode("ascii")

        # place first: exclusive C14N of SignedInfo does not depend on where it sits,
        # but canonicalising it in its final place removes any doubt
        if self.mode is SignatureMode.ENVELOPED:
            payload.append(signature)
        else:
            payload.addnext(signature)
            signature.tail = payload.tail
        si_digest = digest_alg.digest(_c14n(signed_info))
        raw = self.signer.sign(self.key_id, algorithm, si_digest)
        if algorithm.is_ecdsa:
            key = self.certificates[0].public_key()
            assert isinstance(key, ec.EllipticCurvePublicKey)
            raw = ecdsa_der_to_raw(raw, key.curve.key_size)
        value_el.text = base64.b64encode(raw).decode("ascii")
        return signature


@dataclass(frozen=True)
class SignatureTrust:
    """Whom a verifier believes: CA certificates (chain validation) and/or pinned signer certificates."""

    ca_certificates: tuple[x509.Certificate, ...] = ()
    pinned_certificates: tuple[x509.Certificate, ...] = ()

    def __post_init__(self) -> None:
        if not self.ca_certificates and not self.pinned_certificates:
            raise PayloadSignatureError(
                "signature verification needs trusted CA or signer certificates", code="adapters.signature.config"
            )

    def ca_pem(self) -> bytes:
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in self.ca_certificates)


@dataclass(frozen=True)
class VerifiedPayload:
    """Exists only after a signature verified; ``element`` is the signed element as signxml saw it."""

    element: etree._Element
    signed_bytes: bytes
    signer_certificate: x509.Certificate | None


def find_signature(payload: etree._Element) -> etree._Element | None:
    """The signature over ``payload``: enveloped inside it or detached right after it."""
    inside = payload.find(_ds("Signature"))
    if inside is not None:
        return inside
    following = payload.getnext()
    while following is not None and not isinstance(following.tag, str):
        following = following.getnext()
    if following is not None and following.tag == _ds("Signature"):
        return following
    return None


def verify_payload(payload: etree._Element, trust: SignatureTrust, *, at: dt.datetime) -> VerifiedPayload:
    """Verify the signature over ``payload`` (enveloped or detached) and return what it covers."""
    if at.tzinfo is None:
        raise ValueError("verification moment must be timezone-aware")
    signature = find_signature(payload)
    if signature is None:
        raise PayloadSignatureError("the payload carries no XML signature", code="adapters.signature.missing")
    ref_id = payload.get(ID_ATTRIBUTE)
    if not ref_id:
        raise PayloadSignatureError("the signed payload has no Id attribute", code="adapters.signature.invalid")
    reference_uris = [r.get("URI") for r in signature.iter(_ds("Reference"))]
    if reference_uris != [f"#{ref_id}"]:
        raise PayloadSignatureError(
            "the signature does not reference exactly the payload element", code="adapters.signature.invalid"
        )
    # verify on a self-contained document of the payload (plus the detached signature):
    # exclusive C14N makes the digest independent of the surrounding envelope
    holder = etree.Element("signedPayload")
    holder.append(_copy(payload))
    if signature.getparent() is not payload:
        holder.append(_copy(signature))
    # exactly one element may carry the referenced Id: a second one is how signature
    # wrapping attacks make a verifier check one element while the caller uses another
    if sum(1 for el in holder.iter() if isinstance(el.tag, str) and el.get(ID_ATTRIBUTE) == ref_id) != 1:
        raise PayloadSignatureError("the referenced Id occurs more than once", code="adapters.signature.invalid")
    document = etree.tostring(holder)
    return _signxml_verify(document, trust, at, ref_id)


def _copy(element: etree._Element) -> etree._Element:
    # serialise + reparse keeps in-scope namespace declarations (deepcopy may not)
    copied = parse_xml(etree.tostring(element), what="signed payload")
    copied.tail = None
    return copied


def _signxml_verify(document: bytes, trust: SignatureTrust, at: dt.datetime, ref_id: str) -> VerifiedPayload:
    from signxml import SignatureConfiguration  # type: ignore[attr-defined]  # verification only
    from signxml.algorithms import DigestAlgorithm as SxDigest
    from signxml.algorithms import SignatureMethod as SxMethod
    from signxml.exceptions import SignXMLException

    config = SignatureConfiguration(
        require_x509=True,
        expect_references=1,
        signature_methods=frozenset(
            {
                SxMethod.RSA_SHA256,
                SxMethod.RSA_SHA384,
                SxMethod.RSA_SHA512,
                SxMethod.ECDSA_SHA256,
                SxMethod.ECDSA_SHA384,
                SxMethod.ECDSA_SHA512,
            }
        ),
        digest_algorithms=frozenset({SxDigest.SHA256, SxDigest.SHA384, SxDigest.SHA512}),
        verification_time=at,
    )
    errors: list[str] = []
    attempts: list[dict[str, object]] = []
    for pinned in trust.pinned_certificates:
        attempts.append({"x509_cert": pinned})
    if trust.ca_certificates:
        attempts.append({"ca_pem_file": "(in memory)", "ee_policy": _ee_policy(), "ca_policy": _ca_policy()})
    root = parse_xml(document, what="signed payload")
    sig_el = root.find(f".//{_ds('Signature')}")
    assert sig_el is not None
    for kwargs in attempts:
        try:
            result = _verifier(trust.ca_certificates).verify(
                root, expect_config=config, id_attribute=ID_ATTRIBUTE, **kwargs
            )
        except (SignXMLException, ValueError) as exc:
            errors.append(str(exc))
            continue
        single = result if not isinstance(result, list) else result[0]
        signed = single.signed_xml
        if signed is None or signed.get(ID_ATTRIBUTE) != ref_id:
            errors.append("the verified reference is not the payload")
            continue
        cert = kwargs.get("x509_cert")
        if cert is None:
            cert = _leaf_certificate(sig_el)
        return VerifiedPayload(
            element=signed, signed_bytes=single.signed_data, signer_certificate=cert  # type: ignore[arg-type]
        )
    raise PayloadSignatureError(
        "the payload signature does not verify: " + "; ".join(errors[:2]), code="adapters.signature.invalid"
    )


def _leaf_certificate(signature: etree._Element) -> x509.Certificate | None:
    text = signature.findtext(f"{_ds('KeyInfo')}/{_ds('X509Data')}/{_ds('X509Certificate')}")
    if not text:
        return None
    return x509.load_der_x509_certificate(base64.b64decode("".join(text.split())))


def _ee_policy() -> object:
    """Signing certificates of data owners carry nonRepudiation, digitalSignature, or both."""
    from cryptography.x509.verification import Criticality, ExtensionPolicy

    def usage_ok(policy: object, cert: x509.Certificate, key_usage: x509.KeyUsage | None) -> None:
        if key_usage is None or not (key_usage.digital_signature or key_usage.content_commitment):
            raise ValueError("certificate KeyUsage allows neither digitalSignature nor nonRepudiation")

    return ExtensionPolicy.permit_all().require_present(x509.KeyUsage, Criticality.AGNOSTIC, usage_ok)


def _ca_policy() -> object:
    from cryptography.x509.verification import ExtensionPolicy

    return ExtensionPolicy.webpki_defaults_ca()


def _verifier(ca_certificates: tuple[x509.Certificate, ...]) -> Any:
    """signxml's verifier with the trusted CAs from memory instead of a PEM file path."""
    from signxml import XMLVerifier  # type: ignore[attr-defined]
    from signxml.util import X509CertChainVerifier

    class _MemoryStore(X509CertChainVerifier):
        @property
        def store(self) -> Any:
            from cryptography.x509.verification import Store

            return Store(list(ca_certificates))

    store_class: Any = _MemoryStore

    class _Verifier(XMLVerifier):
        def get_cert_chain_verifier(self, ca_pem_file: Any, ee_policy: Any, ca_policy: Any) -> Any:
            moment = getattr(self, "_get_cert_verification_time")()
            return store_class(ca_pem_file=ca_pem_file, verification_time=moment, ee_policy=ee_policy,
                               ca_policy=ca_policy)

    return _Verifier()
