"""sild's innermost layer: identifiers, safe XML, keys, PKI, evidence formats.

No web framework is imported here (an import-linter contract checks it). The public
API is re-exported below; every other name in the package is private.
"""

from trust.keys._algorithms import (
    DigestAlgorithm,
    SignatureAlgorithm,
)
from trust.pki._approved import (
    ApprovedCa,
    ApprovedTsa,
    OcspResponderInfo,
    TrustPolicy,
)
from trust.errors import (
    IdentifierError,
    KeyNotFound,
    SildError,
    TrustError,
    UnsupportedAlgorithm,
    WrongPin,
    XmlError,
    XmlForbiddenConstruct,
    XmlSchemaError,
    XmlTooDeep,
    XmlTooLarge,
)
from trust.protocol._identifiers import (
    ClientId,
    GlobalGroupId,
    LocalGroupId,
    MemberId,
    ObjectType,
    RepresentedParty,
    SecurityServerId,
    ServiceId,
    SubsystemId,
    id_from_xml,
    id_to_xml,
    parse_client,
    parse_server,
    parse_service,
    parse_typed,
)
from trust.keys._token import (
    KeyType,
    Signer,
    SoftToken,
    write_atomic,
)
from trust.infra._safexml import (
    parse_xml,
)
from trust.services._ca import (
    AlreadyRevoked,
    CaError,
    CertificateAuthority,
    CertificateKind,
    CsrInvalid,
    IssuedCertificate,
    RevocationReason,
    UnknownCertificate,
)
from trust.services._http import (
    TrustHttpApp,
    TrustServer,
)
from trust.evidence._timestamp import (
    TimestampClient,
    TimestampError,
    VerifiedTimestamp,
    verify_timestamp_token,
)
from trust.services._tsa import (
    TimestampAuthority,
)
from trust.services._ocsp_responder import (
    OcspResponder,
)
from trust.pki._ocsp_client import (
    OcspCache,
    OcspClient,
)
from trust.pki._certs import (
    CertificateError,
    auth_cert_hash,
    cert_der,
    cert_pem,
    fingerprint,
    load_certificate,
    load_certificate_file,
    load_certificates,
)
from trust.pki._ocsp import (
    OcspCertStatus,
    OcspError,
    VerifiedOcspStatus,
    verify_ocsp_for_policy,
    verify_ocsp_response,
)
from trust.pki._tls import (
    client_context,
    server_context,
    trust_anchors,
)
from trust.pki._pathvalidation import (
    Purpose,
    ValidationCache,
    VerifiedCertificate,
    validate_certificate,
)
from trust.evidence._asic import (
    AsicContainer,
    VerifiedContainer,
    read_container,
    verify_container,
    write_container,
)
from trust.pki._profile import (
    signer_matches,
    signer_member,
)
from trust.evidence._signature_timestamp import (
    TimestampedRecord,
    timestamp_batch,
    timestamp_single,
    verify_signature_timestamp,
)
from trust.xades._hashchain import (
    HashChainInput,
    build_hash_chains,
    verify_hash_chain,
)
from trust.xades._sign import (
    BatchSignature,
    SignedPart,
    create_signature,
    sign_batch,
)
from trust.xades._errors import (
    SignatureError,
)
from trust.xades._verify import (
    VerifiedSignature,
    check_cryptography,
    trust_signature,
    verify_signature,
)

__all__ = [
    "AlreadyRevoked",
    "ApprovedCa",
    "ApprovedTsa",
    "AsicContainer",
    "BatchSignature",
    "CaError",
    "CertificateAuthority",
    "CertificateError",
    "CertificateKind",
    "ClientId",
    "CsrInvalid",
    "DigestAlgorithm",
    "GlobalGroupId",
    "HashChainInput",
    "IdentifierError",
    "IssuedCertificate",
    "KeyNotFound",
    "KeyType",
    "LocalGroupId",
    "MemberId",
    "ObjectType",
    "OcspCache",
    "OcspCertStatus",
    "OcspClient",
    "OcspError",
    "OcspResponder",
    "OcspResponderInfo",
    "Purpose",
    "RepresentedParty",
    "RevocationReason",
    "SecurityServerId",
    "ServiceId",
    "SignatureAlgorithm",
    "SignatureError",
    "SignedPart",
    "Signer",
    "SildError",
    "SoftToken",
    "SubsystemId",
    "TimestampAuthority",
    "TimestampClient",
    "TimestampError",
    "TimestampedRecord",
    "TrustError",
    "TrustHttpApp",
    "TrustPolicy",
    "TrustServer",
    "UnknownCertificate",
    "UnsupportedAlgorithm",
    "ValidationCache",
    "VerifiedCertificate",
    "VerifiedContainer",
    "VerifiedOcspStatus",
    "VerifiedSignature",
    "VerifiedTimestamp",
    "WrongPin",
    "XmlError",
    "XmlForbiddenConstruct",
    "XmlSchemaError",
    "XmlTooDeep",
    "XmlTooLarge",
    "auth_cert_hash",
    "build_hash_chains",
    "cert_der",
    "cert_pem",
    "check_cryptography",
    "client_context",
    "create_signature",
    "fingerprint",
    "id_from_xml",
    "id_to_xml",
    "load_certificate",
    "load_certificate_file",
    "load_certificates",
    "parse_client",
    "parse_server",
    "parse_service",
    "parse_typed",
    "parse_xml",
    "read_container",
    "server_context",
    "sign_batch",
    "signer_matches",
    "signer_member",
    "timestamp_batch",
    "timestamp_single",
    "trust_anchors",
    "trust_signature",
    "validate_certificate",
    "verify_container",
    "verify_hash_chain",
    "verify_ocsp_for_policy",
    "verify_ocsp_response",
    "verify_signature",
    "verify_signature_timestamp",
    "verify_timestamp_token",
    "write_atomic",
    "write_container",
]
