"""Keys behind a narrow interface, and the algorithms sild allows.

``Signer.sign(key_id, algorithm, digest)`` is all the rest of sild sees of a private
key (DESIGN.md section 6, rule 5); ``SoftToken`` keeps keys in PIN-protected PKCS#8
files; ``Pkcs11Token`` keeps them in a hardware token (or SoftHSM2) behind the same
interface. ``KeyRegistry`` is the operator's model over both: tokens with login and
logout, keys with usage, label, state and certificates, CSRs made inside the token. The
algorithm enums carry their W3C URIs as values and are allow-lists: SHA-1
exists only where a format demands it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._algorithms import DigestAlgorithm, SignatureAlgorithm
    from ._csr import make_csr
    from ._pkcs11 import PKCS11_MISSING, Pkcs11Token
    from ._registry import SOFT, CertInfo, KeyInfo, KeyRegistry, KeyState, KeyUsage, TokenInfo
    from ._pin import DEV_PIN, DEV_PIN_WARNING, PIN_ENV, pin_from_environment
    from ._token import (
        KeyType, PrivateKey, PublicKey, Signer, SoftToken, ecdsa_der_to_raw, ecdsa_raw_to_der, verify_digest,
        write_atomic,
    )

__all__ = [
    "CertInfo",
    "DEV_PIN",
    "DEV_PIN_WARNING",
    "DigestAlgorithm",
    "KeyInfo",
    "KeyRegistry",
    "KeyState",
    "KeyType",
    "KeyUsage",
    "PIN_ENV",
    "PKCS11_MISSING",
    "Pkcs11Token",
    "PrivateKey",
    "PublicKey",
    "SOFT",
    "SignatureAlgorithm",
    "Signer",
    "SoftToken",
    "TokenInfo",
    "ecdsa_der_to_raw",
    "ecdsa_raw_to_der",
    "make_csr",
    "pin_from_environment",
    "verify_digest",
    "write_atomic",
]

__getattr__, __dir__ = attach(__name__, {
    "CertInfo": "._registry",
    "DEV_PIN": "._pin",
    "DEV_PIN_WARNING": "._pin",
    "DigestAlgorithm": "._algorithms",
    "KeyInfo": "._registry",
    "KeyRegistry": "._registry",
    "KeyState": "._registry",
    "KeyType": "._token",
    "KeyUsage": "._registry",
    "PIN_ENV": "._pin",
    "PKCS11_MISSING": "._pkcs11",
    "Pkcs11Token": "._pkcs11",
    "PrivateKey": "._token",
    "PublicKey": "._token",
    "SOFT": "._registry",
    "SignatureAlgorithm": "._algorithms",
    "Signer": "._token",
    "SoftToken": "._token",
    "TokenInfo": "._registry",
    "ecdsa_der_to_raw": "._token",
    "ecdsa_raw_to_der": "._token",
    "make_csr": "._csr",
    "pin_from_environment": "._pin",
    "verify_digest": "._token",
    "write_atomic": "._token",
})
