"""Self-signed certificates built through the :class:`~trust.keys.Signer` interface.

Two holders need a certificate that no CA vouches for: the governing authority's
configuration signing keys (X-Road uses those certificates only as public-key
holders, listed in anchors and in the shared parameters) and a gateway's internal
TLS key (information systems pin that certificate, as they do X-Road's). Both keys
live in a token, so the certificate cannot be signed by a library holding the
private key: the to-be-signed part is built here with asn1crypto, only its digest
goes to :meth:`Signer.sign`, and the signature is put back around it. The private
key never leaves the token.

Validity times follow RFC 5280 section 4.1.2.5: UTCTime for years before 2050,
GeneralizedTime from 2050 on (UTCTime's two-digit year cannot say 2050), both in
whole seconds. A certificate made today for twenty years already ends after 2050.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Sequence

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from trust.keys import DigestAlgorithm, Signer, SignatureAlgorithm

from ._certs import asn1_signature_algorithm_name, require_aware


def asn1_time(moment: dt.datetime) -> asn1_x509.Time:
    """``moment`` as an X.509 ``Time``: UTCTime before 2050, GeneralizedTime after (RFC 5280)."""
    moment = require_aware(moment).astimezone(dt.timezone.utc).replace(microsecond=0)
    if moment.year < 2050:
        return asn1_x509.Time({"utc_time": moment})
    return asn1_x509.Time({"general_time": moment})


def self_signed_certificate(
    signer: Signer,
    key_id: str,
    subject: x509.Name,
    *,
    not_before: dt.datetime,
    not_after: dt.datetime,
    digest: DigestAlgorithm = DigestAlgorithm.SHA256,
    key_usage: Iterable[str] = (),
    extended_key_usage: Sequence[str] = (),
    subject_key_identifier: bool = False,
) -> bytes:
    """DER of an end-entity certificate for ``key_id``, issued by itself and signed through ``signer``.

    ``subject`` is also the issuer. The certificate always carries a critical
    ``basicConstraints`` (not a CA); ``key_usage`` (asn1crypto's names, e.g.
    ``digital_signature``) becomes a critical ``keyUsage``, ``extended_key_usage``
    (``server_auth``...) a non-critical ``extKeyUsage``, and ``subject_key_identifier``
    adds the SHA-1 key identifier of RFC 5280 section 4.2.1.2 (method 1, over the key's
    bits without the BIT STRING's unused-bits octet), as :mod:`trust.services` gives the
    certificates it issues. The serial
    number is 127 random bits. Naive times are refused (``TrustError``).
    """
    public = signer.public_key(key_id)
    algorithm = SignatureAlgorithm.for_key(public, digest)
    spki = asn1_keys.PublicKeyInfo.load(
        public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    name = asn1_x509.Name.load(subject.public_bytes())
    sig_alg = {"algorithm": asn1_signature_algorithm_name(algorithm)}
    extensions: list[dict[str, object]] = [
        {"extn_id": "basic_constraints", "critical": True, "extn_value": {"ca": False}},
    ]
    usages = set(key_usage)
    if usages:
        extensions.append({"extn_id": "key_usage", "critical": True, "extn_value": usages})
    if extended_key_usage:
        extensions.append({"extn_id": "extended_key_usage", "critical": False, "extn_value": list(extended_key_usage)})
    if subject_key_identifier:
        key_hash = x509.SubjectKeyIdentifier.from_public_key(public).digest  # as the CA computes it
        extensions.append({"extn_id": "key_identifier", "critical": False, "extn_value": key_hash})
    tbs = asn1_x509.TbsCertificate({
        "version": "v3",
        "serial_number": int.from_bytes(secrets.token_bytes(16), "big") >> 1,
        "signature": sig_alg,
        "issuer": name,
        "validity": {"not_before": asn1_time(not_before), "not_after": asn1_time(not_after)},
        "subject": name,
        "subject_public_key_info": spki,
        "extensions": extensions,
    })
    signature = signer.sign(key_id, algorithm, digest.digest(tbs.dump()))
    cert = asn1_x509.Certificate({"tbs_certificate": tbs, "signature_algorithm": sig_alg, "signature_value": signature})
    return bytes(cert.dump())
