"""PKCS#10 certificate requests signed through the ``Signer``: the key never leaves its token.

A request is the one thing a token owner must sign before the CA knows the key, so it
is built here, beside the tokens, and works alike for the soft token and a PKCS#11
token. The subject is the caller's: the X-Road subject profiles (``C`` = instance,
``O`` = member class, ``CN`` = member code) need X-Road's identifiers, which sit in a
higher room (``gateway.provision`` writes them). The request is built with asn1crypto
because ``cryptography``'s builder wants a private key object, which a token does not
hand out.
"""

from __future__ import annotations

from asn1crypto import csr as asn1_csr
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ._algorithms import DigestAlgorithm, SignatureAlgorithm
from ._token import Signer
from trust.errors import UnsupportedAlgorithm


def make_csr(signer: Signer, key_id: str, subject: x509.Name) -> bytes:
    """A PKCS#10 request (PEM) for ``key_id``, signed inside the token with SHA-256."""
    public = signer.public_key(key_id)
    spki = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    info = asn1_csr.CertificationRequestInfo({
        "version": "v1",
        "subject": asn1_x509.Name.load(subject.public_bytes()),
        "subject_pk_info": asn1_keys.PublicKeyInfo.load(spki),
        "attributes": [],
    })
    algorithm = SignatureAlgorithm.for_key(public, DigestAlgorithm.SHA256)
    digest = DigestAlgorithm.SHA256.digest(info.dump())
    signature = signer.sign(key_id, algorithm, digest)
    if isinstance(public, rsa.RSAPublicKey):
        alg_name = "sha256_rsa"
    elif isinstance(public, ec.EllipticCurvePublicKey):
        alg_name = "sha256_ecdsa"
    else:  # pragma: no cover - for_key refused it already
        raise UnsupportedAlgorithm("unsupported key type")
    request = asn1_csr.CertificationRequest({
        "certification_request_info": info,
        "signature_algorithm": {"algorithm": alg_name},
        "signature": signature,
    })
    return x509.load_der_x509_csr(request.dump()).public_bytes(serialization.Encoding.PEM)
