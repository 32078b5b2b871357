"""Certificates: profiles, path validation, OCSP (client side), TLS contexts, builders.

Everything a party needs to decide whether to trust a certificate at a moment:
approved CAs and TSAs (the trust policy from global configuration), X-Road's
certificate profiles (who a certificate names), chain validation with OCSP
freshness, the OCSP client with its cache, TLS contexts for mutual TLS, and the one
builder of self-signed certificates through a ``Signer``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._approved import ApprovedCa, ApprovedTsa, EJBCA_PROFILE, OcspResponderInfo, TrustPolicy
    from ._certs import (
        CertificateError, asn1_signature_algorithm_name, auth_cert_hash, cert_der, cert_pem, find_issuer,
        fingerprint, fingerprint_hex, is_tsa_cert, is_valid_at, load_certificate, load_certificate_file,
        load_certificates, read_certificate, read_certificates, require_aware, subject_summary,
        verify_asn1_signature,
    )
    from ._ocsp import (
        DEFAULT_CLOCK_SKEW, OCSP_REQUEST, OCSP_RESPONSE, OcspCertStatus, OcspError, VerifiedOcspStatus,
        cert_id_hashes, find_approved_issuer, public_key_bits, verify_ocsp_for_policy, verify_ocsp_response,
    )
    from ._ocsp_client import OcspCache, OcspClient
    from ._pathvalidation import (
        CertificateRevoked, CertificateStale, CertificateStatusUnknown, CertificateValidationError,
        OcspInvalid, OcspMissing, Purpose, ValidationCache, VerifiedCertificate, WrongKeyUsage,
        validate_certificate,
    )
    from ._selfsigned import asn1_time, self_signed_certificate
    from ._tls import client_context, server_context, trust_anchors
    from ._tls_files import ensure_self_signed_tls, file_server_context, pinned_client_context

__all__ = [
    "ApprovedCa",
    "ApprovedTsa",
    "CertificateError",
    "CertificateRevoked",
    "CertificateStale",
    "CertificateStatusUnknown",
    "CertificateValidationError",
    "DEFAULT_CLOCK_SKEW",
    "EJBCA_PROFILE",
    "OCSP_REQUEST",
    "OCSP_RESPONSE",
    "OcspCache",
    "OcspCertStatus",
    "OcspClient",
    "OcspError",
    "OcspInvalid",
    "OcspMissing",
    "OcspResponderInfo",
    "Purpose",
    "TrustPolicy",
    "ValidationCache",
    "VerifiedCertificate",
    "VerifiedOcspStatus",
    "WrongKeyUsage",
    "asn1_signature_algorithm_name",
    "asn1_time",
    "auth_cert_hash",
    "cert_der",
    "cert_id_hashes",
    "cert_pem",
    "client_context",
    "ensure_self_signed_tls",
    "file_server_context",
    "find_approved_issuer",
    "find_issuer",
    "fingerprint",
    "fingerprint_hex",
    "is_tsa_cert",
    "is_valid_at",
    "load_certificate",
    "load_certificate_file",
    "load_certificates",
    "read_certificate",
    "read_certificates",
    "pinned_client_context",
    "public_key_bits",
    "require_aware",
    "self_signed_certificate",
    "server_context",
    "subject_summary",
    "trust_anchors",
    "validate_certificate",
    "verify_asn1_signature",
    "verify_ocsp_for_policy",
    "verify_ocsp_response",
]

__getattr__, __dir__ = attach(__name__, {
    "ApprovedCa": "._approved",
    "ApprovedTsa": "._approved",
    "CertificateError": "._certs",
    "CertificateRevoked": "._pathvalidation",
    "CertificateStale": "._pathvalidation",
    "CertificateStatusUnknown": "._pathvalidation",
    "CertificateValidationError": "._pathvalidation",
    "DEFAULT_CLOCK_SKEW": "._ocsp",
    "EJBCA_PROFILE": "._approved",
    "OCSP_REQUEST": "._ocsp",
    "OCSP_RESPONSE": "._ocsp",
    "OcspCache": "._ocsp_client",
    "OcspCertStatus": "._ocsp",
    "OcspClient": "._ocsp_client",
    "OcspError": "._ocsp",
    "OcspInvalid": "._pathvalidation",
    "OcspMissing": "._pathvalidation",
    "OcspResponderInfo": "._approved",
    "Purpose": "._pathvalidation",
    "TrustPolicy": "._approved",
    "ValidationCache": "._pathvalidation",
    "VerifiedCertificate": "._pathvalidation",
    "VerifiedOcspStatus": "._ocsp",
    "WrongKeyUsage": "._pathvalidation",
    "asn1_signature_algorithm_name": "._certs",
    "asn1_time": "._selfsigned",
    "auth_cert_hash": "._certs",
    "cert_der": "._certs",
    "cert_id_hashes": "._ocsp",
    "cert_pem": "._certs",
    "client_context": "._tls",
    "ensure_self_signed_tls": "._tls_files",
    "file_server_context": "._tls_files",
    "find_approved_issuer": "._ocsp",
    "find_issuer": "._certs",
    "fingerprint": "._certs",
    "fingerprint_hex": "._certs",
    "is_tsa_cert": "._certs",
    "is_valid_at": "._certs",
    "load_certificate": "._certs",
    "load_certificate_file": "._certs",
    "load_certificates": "._certs",
    "read_certificate": "._certs",
    "read_certificates": "._certs",
    "pinned_client_context": "._tls_files",
    "public_key_bits": "._ocsp",
    "require_aware": "._certs",
    "self_signed_certificate": "._selfsigned",
    "server_context": "._tls",
    "subject_summary": "._certs",
    "trust_anchors": "._tls",
    "validate_certificate": "._pathvalidation",
    "verify_asn1_signature": "._certs",
    "verify_ocsp_for_policy": "._ocsp",
    "verify_ocsp_response": "._ocsp",
})
