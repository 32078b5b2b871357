"""Public face of ``federation.directory``: the signed configuration directory.

Build it (:mod:`._build`), parse it without trusting it (:mod:`._parse`, which
describes the format), verify it against an anchor (:mod:`._verify`). The values
passed between those steps live in :mod:`._values`, and the strict reading of the
MIME envelope in :mod:`._envelope`.

Use::

    data = build_directory(
        [DirectoryEntry(SHARED_PARAMETERS, "EE", "/V6/20260101/shared-params.xml", shared_bytes)],
        expire_date=now + timedelta(minutes=10), version=6,
        signer=token, key_id="internal-1", cert=signing_cert)

    verified = verify_directory(data, anchor, at=now, fetch_part=lambda location: download(location))
    verified.shared_parameters   # parsed model of the verified bytes
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._build import build_directory
    from ._parse import parse_directory
    from ._values import (
        ALLOWED_HASHES, DEFAULT_HASH, MAX_DIRECTORY_BYTES, MIN_RSA_SIGNATURE_BYTES, DirectoryEntry, DirectoryPart,
        FetchPart, SignedDirectory, VerifiedConfiguration, VerifiedPart,
    )
    from ._verify import parse_part, verify_directory, verify_signature

__all__ = [
    "ALLOWED_HASHES",
    "DEFAULT_HASH",
    "DirectoryEntry",
    "DirectoryPart",
    "FetchPart",
    "MAX_DIRECTORY_BYTES",
    "MIN_RSA_SIGNATURE_BYTES",
    "SignedDirectory",
    "VerifiedConfiguration",
    "VerifiedPart",
    "build_directory",
    "parse_directory",
    "parse_part",
    "verify_directory",
    "verify_signature",
]

__getattr__, __dir__ = attach(__name__, {
    "ALLOWED_HASHES": "._values",
    "DEFAULT_HASH": "._values",
    "DirectoryEntry": "._values",
    "DirectoryPart": "._values",
    "FetchPart": "._values",
    "MAX_DIRECTORY_BYTES": "._values",
    "MIN_RSA_SIGNATURE_BYTES": "._values",
    "SignedDirectory": "._values",
    "VerifiedConfiguration": "._values",
    "VerifiedPart": "._values",
    "build_directory": "._build",
    "parse_directory": "._parse",
    "parse_part": "._verify",
    "verify_directory": "._verify",
    "verify_signature": "._verify",
})
