"""What one message signature covers.

The client and server proxies assemble it, the signer signs it and the verifier checks
it: the exact bytes of the message part first, then of the attachments or the REST
body, each with its MIME type (hashes cover the bytes received, never a re-serialised
form).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SignedParts:
    """Input of one message signature: the message part first, then attachments/REST body."""

    parts: tuple[tuple[str, bytes], ...]  # (mime type, exact bytes)
