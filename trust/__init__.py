"""sild's innermost layer: identifiers, safe XML, keys, PKI, evidence formats.

No web framework is imported here (an import-linter contract checks it). The public
API is re-exported below; every other name in the package is private.
"""

from .algorithms import (
    DigestAlgorithm,
    SignatureAlgorithm,
)
from .approved import (
    ApprovedCa,
    ApprovedTsa,
    OcspResponderInfo,
    TrustPolicy,
)
from .errors import (
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
from .identifiers import (
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
from .keys import (
    KeyType,
    Signer,
    SoftToken,
    write_atomic,
)
from .safexml import (
    parse_xml,
)
from .ca import (
    AlreadyRevoked,
    CaError,
    CertificateAuthority,
    CertificateKind,
    CsrInvalid,
    IssuedCertificate,
    RevocationReason,
    UnknownCertificate,
)
from .trust_http import (
    TrustHttpApp,
    TrustServer,
)
from .tsa import (
    TimestampClient,
    TimestampError,
    VerifiedTimestamp,
    verify_timestamp_token,
)
from .tsa_authority import (
    TimestampAuthority,
)
from .ocsp_responder import (
    OcspResponder,
)
from .ocsp_client import (
    OcspCache,
    OcspClient,
)
from .certs import (
    CertificateError,
    auth_cert_hash,
    cert_der,
    cert_pem,
    fingerprint,
    load_certificate,
    load_certificate_file,
    load_certificates,
)
from .ocsp import (
    OcspCertStatus,
    OcspError,
    VerifiedOcspStatus,
    verify_ocsp_for_policy,
    verify_ocsp_response,
)
from .tls import (
    client_context,
    server_context,
    trust_anchors,
)
from .pathvalidation import (
    Purpose,
    ValidationCache,
    VerifiedCertificate,
    validate_certificate,
)

__all__ = [
    "AlreadyRevoked",
    "ApprovedCa",
    "ApprovedTsa",
    "CaError",
    "CertificateAuthority",
    "CertificateError",
    "CertificateKind",
    "ClientId",
    "CsrInvalid",
    "DigestAlgorithm",
    "GlobalGroupId",
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
    "Signer",
    "SildError",
    "SoftToken",
    "SubsystemId",
    "TimestampAuthority",
    "TimestampClient",
    "TimestampError",
    "TrustError",
    "TrustHttpApp",
    "TrustPolicy",
    "TrustServer",
    "UnknownCertificate",
    "UnsupportedAlgorithm",
    "ValidationCache",
    "VerifiedCertificate",
    "VerifiedOcspStatus",
    "VerifiedTimestamp",
    "WrongPin",
    "XmlError",
    "XmlForbiddenConstruct",
    "XmlSchemaError",
    "XmlTooDeep",
    "XmlTooLarge",
    "auth_cert_hash",
    "cert_der",
    "cert_pem",
    "client_context",
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
    "server_context",
    "trust_anchors",
    "validate_certificate",
    "verify_ocsp_for_policy",
    "verify_ocsp_response",
    "verify_timestamp_token",
    "write_atomic",
]
