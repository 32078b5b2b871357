"""Certificate requests of a gateway: the subjects X-Road's CA profile expects, and PKCS#10 through the Signer.

A gateway asks its CA for two kinds of certificate: the *auth* certificate of the
server (TLS between gateways) and a *sign* certificate for each member whose messages
it signs. Their subjects follow X-Road's EJBCA profile (``C`` = instance, ``O`` =
member class, ``CN`` = member code, and for the server a ``serialNumber`` naming it).
The requests are built with asn1crypto and signed through :class:`trust.keys.Signer`,
so the private keys never leave the token (DESIGN.md section 6.5).
"""

from __future__ import annotations

import warnings

from asn1crypto import csr as asn1_csr
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from trust.keys import DigestAlgorithm, SignatureAlgorithm, Signer
from trust.protocol import MemberId, SecurityServerId

from gateway.settings import SetupError


def _asn1_name(name: x509.Name) -> asn1_x509.Name:
    return asn1_x509.Name.load(name.public_bytes())


def make_csr(signer: Signer, key_id: str, subject: x509.Name) -> bytes:
    """A PKCS#10 request (PEM) signed by ``key_id`` inside the token."""
    public = signer.public_key(key_id)
    spki = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    info = asn1_csr.CertificationRequestInfo({
        "version": "v1",
        "subject": _asn1_name(subject),
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
        raise SetupError("unsupported key type")
    request = asn1_csr.CertificationRequest({
        "certification_request_info": info,
        "signature_algorithm": {"algorithm": alg_name},
        "signature": signature,
    })
    der = request.dump()
    return x509.load_der_x509_csr(der).public_bytes(serialization.Encoding.PEM)


def _country(instance: str) -> x509.NameAttribute[str]:
    """C=instance as X-Road's EJBCA profile wants; instance codes are not ISO countries
    (``DEV``, ``EE-test``), so the two-letter check of ``cryptography`` is skipped."""
    if len(instance) == 2:
        return x509.NameAttribute(NameOID.COUNTRY_NAME, instance)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return x509.NameAttribute(NameOID.COUNTRY_NAME, instance, _validate=False)


def auth_subject(server: SecurityServerId) -> x509.Name:
    return x509.Name([
        _country(server.instance),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, server.member_class),
        x509.NameAttribute(NameOID.COMMON_NAME, server.member_code),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, f"{server.instance}/{server.server_code}/{server.member_class}"),
    ])


def sign_subject(member: MemberId) -> x509.Name:
    return x509.Name([
        _country(member.instance),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, member.member_class),
        x509.NameAttribute(NameOID.COMMON_NAME, member.member_code),
    ])
