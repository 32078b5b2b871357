"""sild's innermost layer: identifiers, safe XML, keys, PKI, evidence formats.

No web framework is imported here (an import-linter contract checks it). Public API
is re-exported below; everything else is private to the package.
"""

from .algorithms import DigestAlgorithm, SignatureAlgorithm
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
from .keys import KeyType, Signer, SoftToken
from .safexml import parse_xml

__all__ = [
    "DigestAlgorithm",
    "IdentifierError",
    "KeyNotFound",
    "KeyType",
    "SignatureAlgorithm",
    "Signer",
    "SildError",
    "SoftToken",
    "TrustError",
    "UnsupportedAlgorithm",
    "WrongPin",
    "XmlError",
    "XmlForbiddenConstruct",
    "XmlSchemaError",
    "XmlTooDeep",
    "XmlTooLarge",
    "parse_xml",
]
