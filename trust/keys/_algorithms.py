"""Algorithms as enums whose values are their W3C URIs, behind allow-lists.

X-Road names every algorithm by URI on the wire (signature methods, digest methods,
``Hash-algorithm-id``); only the ``x-hash-algorithm`` transport header uses a name
(``SHA-512``), which :meth:`DigestAlgorithm.from_name` reads. SHA-1 exists only for
the formats that demand it (``authCertHash`` of configuration version 2, OCSP
``CertID`` and the gateway OCSP query's ``cert`` parameter).
"""

from __future__ import annotations

import enum
import hashlib
from typing import TypeVar

from cryptography.hazmat.primitives import hashes

from trust.errors import UnsupportedAlgorithm

E = TypeVar("E", bound=enum.Enum)


def _member_by_uri(algorithms: type[E], uri: str, kind: str) -> E:
    """The algorithm whose URI is ``uri`` (white space around it ignored); any other is unsupported."""
    try:
        return algorithms(uri.strip())
    except ValueError:
        raise UnsupportedAlgorithm(f"unsupported {kind} algorithm URI: {uri!r}") from None


class DigestAlgorithm(enum.Enum):
    """Digest algorithms by their W3C URI."""

    SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
    SHA224 = "http://www.w3.org/2001/04/xmldsig-more#sha224"
    SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
    SHA384 = "http://www.w3.org/2001/04/xmldsig-more#sha384"
    SHA512 = "http://www.w3.org/2001/04/xmlenc#sha512"

    @property
    def hashlib_name(self) -> str:
        return _HASHLIB_NAMES[self]

    @property
    def transport_name(self) -> str:
        """The name X-Road puts in the ``x-hash-algorithm`` header (``SHA-512``)."""
        return _HASHLIB_NAMES[self].upper().replace("SHA", "SHA-")

    def hash_class(self) -> hashes.HashAlgorithm:
        return _CRYPTOGRAPHY_HASHES[self]()

    def digest(self, data: bytes) -> bytes:
        return hashlib.new(self.hashlib_name, data).digest()

    @classmethod
    def from_uri(cls, uri: str) -> "DigestAlgorithm":
        return _member_by_uri(cls, uri, "digest")

    @classmethod
    def from_name(cls, name: str) -> "DigestAlgorithm":
        """Read a name such as ``SHA-512``, ``sha512`` or ``SHA512``."""
        key = name.strip().upper().replace("-", "")
        for alg in cls:
            if alg.name == key:
                return alg
        raise UnsupportedAlgorithm(f"unsupported digest algorithm name: {name!r}")


class SignatureAlgorithm(enum.Enum):
    """Signature algorithms by their W3C URI (RFC 6931)."""

    RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    RSA_SHA512 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
    ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
    ECDSA_SHA512 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"

    @property
    def digest(self) -> DigestAlgorithm:
        return DigestAlgorithm.SHA512 if self.name.endswith("SHA512") else DigestAlgorithm.SHA256

    @property
    def is_ecdsa(self) -> bool:
        return self.name.startswith("ECDSA")

    @classmethod
    def from_uri(cls, uri: str) -> "SignatureAlgorithm":
        return _member_by_uri(cls, uri, "signature")

    @classmethod
    def for_key(cls, public_key: object, digest: DigestAlgorithm = DigestAlgorithm.SHA512) -> "SignatureAlgorithm":
        """The algorithm a key of this type signs with, for the given digest."""
        from cryptography.hazmat.primitives.asymmetric import ec, rsa

        suffix = "SHA512" if digest is DigestAlgorithm.SHA512 else "SHA256"
        if digest not in (DigestAlgorithm.SHA256, DigestAlgorithm.SHA512):
            raise UnsupportedAlgorithm(f"no signature algorithm with digest {digest.name}")
        if isinstance(public_key, rsa.RSAPublicKey):
            return cls["RSA_" + suffix]
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            return cls["ECDSA_" + suffix]
        raise UnsupportedAlgorithm(f"unsupported key type: {type(public_key).__name__}")


_HASHLIB_NAMES = {
    DigestAlgorithm.SHA1: "sha1",
    DigestAlgorithm.SHA224: "sha224",
    DigestAlgorithm.SHA256: "sha256",
    DigestAlgorithm.SHA384: "sha384",
    DigestAlgorithm.SHA512: "sha512",
}

_CRYPTOGRAPHY_HASHES: dict[DigestAlgorithm, type[hashes.HashAlgorithm]] = {
    DigestAlgorithm.SHA1: hashes.SHA1,
    DigestAlgorithm.SHA224: hashes.SHA224,
    DigestAlgorithm.SHA256: hashes.SHA256,
    DigestAlgorithm.SHA384: hashes.SHA384,
    DigestAlgorithm.SHA512: hashes.SHA512,
}
