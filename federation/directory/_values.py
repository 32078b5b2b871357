"""What a directory is made of: the entries put in, the parts read out, the verified result.

These are plain frozen values shared by the three steps of the room (building,
parsing, verifying), kept apart so that each step imports the shapes without
importing the others' code. :class:`VerifiedConfiguration` is the only value the
rest of sild should trust; only :func:`federation.directory.verify_directory`
creates it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable

from cryptography import x509

from trust.keys import DigestAlgorithm, SignatureAlgorithm

from federation.model import (
    PRIVATE_PARAMETERS, SHARED_PARAMETERS, ConfMalformed, ParametersModel, PrivateParameters, SharedParameters,
)

MAX_DIRECTORY_BYTES = 4 * 1024 * 1024
# A PKCS#1 v1.5 signature is as long as the modulus; sild accepts RSA keys of 2048
# bits and more, so anything shorter cannot be a valid signature.
MIN_RSA_SIGNATURE_BYTES = 256
ALLOWED_HASHES = (DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512)
DEFAULT_HASH = DigestAlgorithm.SHA512

FetchPart = Callable[[str], bytes]



@dataclass(frozen=True)
class DirectoryEntry:
    """A part to put into a directory being built: its identity, location and bytes."""

    content_identifier: str
    instance: str | None
    location: str
    data: bytes

    def __post_init__(self) -> None:
        if not self.content_identifier or any(c in self.content_identifier for c in ";\r\n"):
            raise ConfMalformed(f"bad content identifier {self.content_identifier!r}")
        if not self.location or any(c in self.location for c in "\r\n"):
            raise ConfMalformed(f"bad content location {self.location!r}")


@dataclass(frozen=True)
class DirectoryPart:
    """One entry of a parsed directory (what it claims, not yet checked)."""

    content_identifier: str
    instance: str | None
    location: str
    hash_algorithm: DigestAlgorithm
    digest: bytes


@dataclass(frozen=True)
class SignedDirectory:
    """A parsed, *unverified* directory. Use :func:`verify_directory` to trust it."""

    raw: bytes
    signed_bytes: bytes
    expire_date: dt.datetime
    version: int
    parts: tuple[DirectoryPart, ...]
    signature_algorithm: SignatureAlgorithm
    verification_cert_hash: bytes
    verification_cert_hash_algorithm: DigestAlgorithm
    signature: bytes


@dataclass(frozen=True)
class VerifiedPart:
    content_identifier: str
    instance: str | None
    location: str
    data: bytes  # the exact verified bytes
    model: ParametersModel | None  # parsed model for known content identifiers


@dataclass(frozen=True)
class VerifiedConfiguration:
    """A directory whose signature, expiry, part hashes and part schemas were checked.

    Only :func:`verify_directory` creates it. ``directory_bytes`` are the bytes that
    were verified, kept so the configuration can be re-verified later (a stored copy
    on disk is re-checked with the anchor, not trusted blindly).
    """

    instance: str
    version: int
    expires_at: dt.datetime
    parts: tuple[VerifiedPart, ...]
    directory_bytes: bytes
    verification_cert: x509.Certificate = field(compare=False)

    def part(self, content_identifier: str, instance: str | None = None) -> VerifiedPart | None:
        for p in self.parts:
            if p.content_identifier == content_identifier and (instance is None or p.instance == instance):
                return p
        return None

    @property
    def shared_parameters(self) -> SharedParameters | None:
        p = self.part(SHARED_PARAMETERS, self.instance)
        return p.model if p is not None and isinstance(p.model, SharedParameters) else None

    @property
    def private_parameters(self) -> PrivateParameters | None:
        p = self.part(PRIVATE_PARAMETERS, self.instance)
        return p.model if p is not None and isinstance(p.model, PrivateParameters) else None

    def is_expired(self, at: dt.datetime) -> bool:
        _aware(at)
        return at >= self.expires_at


def _aware(at: dt.datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("naive datetimes are refused; pass an aware moment")
