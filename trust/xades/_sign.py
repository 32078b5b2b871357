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

The document's text (namespaces, templates, base64 and name formats, the C14N of
what sild writes) is in :mod:`trust.xades._layout`; this module decides what goes in.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import NotRequired, Sequence, TypedDict, Unpack

from cryptography import x509

from trust.keys import DigestAlgorithm, SignatureAlgorithm
from trust.errors import TrustError
from ._hashchain import SIG_HASH_CHAIN, SIG_HASH_CHAIN_RESULT, HashChainInput, build_hash_chains
from trust.keys import Signer, ecdsa_der_to_raw
from ._layout import (
    HASH_CHAIN_RESULT_MIME, SIGNED_PROPERTIES_TYPE, _ROOT_OPEN, _XML_DECL, _certificate_material, _reference_pair,
    _signed_info_head, _signed_properties, _unsigned_properties, fast_digest, java_base64,
)

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


# enum properties computed once (they are string operations on the member name)
_SIGNATURE_DIGESTS = {alg: alg.digest for alg in SignatureAlgorithm}
_ECDSA_ALGORITHMS = frozenset(alg for alg in SignatureAlgorithm if alg.is_ecdsa)


@dataclass(frozen=True)
class BatchSignature:
    """One message's share of a batch signature: the common signature and its own chain."""

    signature_xml: bytes
    hash_chain_result: bytes
    hash_chain: bytes


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


class _SigningArgs(TypedDict):
    """:func:`create_signature`'s keyword arguments but the digest (see there for the defaults)."""

    signer: Signer
    key_id: str
    certificate: x509.Certificate
    signing_time: dt.datetime
    ocsp_responses: NotRequired[Sequence[bytes]]
    extra_certificates: NotRequired[Sequence[x509.Certificate]]
    algorithm: NotRequired[SignatureAlgorithm | None]


def sign_batch(
    messages: Sequence[Sequence[SignedPart]],
    *,
    digest_algorithm: DigestAlgorithm = DigestAlgorithm.SHA512,
    **signing: Unpack[_SigningArgs],
) -> list[BatchSignature]:
    """Sign many messages with one private-key operation (X-Road's batch signature).

    Each message is a sequence of parts (the message and its attachments); the hash
    chain result over all of them is signed once, and each message gets the common
    signature, the result and its own ``sig-hashchain.xml``. ``signing`` is what
    :func:`create_signature` takes besides the parts.
    """
    leaves = [[HashChainInput(p.uri, p.digest_with(digest_algorithm)) for p in message] for message in messages]
    batch = build_hash_chains(leaves, algorithm=digest_algorithm, chain_uri=SIG_HASH_CHAIN)
    signature = create_signature(
        [SignedPart(SIG_HASH_CHAIN_RESULT, data=batch.result_xml, mime_type=HASH_CHAIN_RESULT_MIME)],
        digest_algorithm=digest_algorithm,
        **signing,
    )
    return [BatchSignature(signature, batch.result_xml, chain) for chain in batch.chains]
