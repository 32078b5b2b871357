"""Signing and checking of the gateway's messages.

Batch signing (concurrent messages of one member share one signature over a hash
tree), XAdES signing with the member's sign key, the peer's authentication
certificate check, and the gateway's own OCSP responses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._batch import MessageSignature
    from ._parts import OwnOcspStore, PolicyAuthCheck, SignKey, XadesMessageSigning
    from ._signed import SignedParts

__all__ = [
    "MessageSignature",
    "OwnOcspStore",
    "PolicyAuthCheck",
    "SignKey",
    "SignedParts",
    "XadesMessageSigning",
]

__getattr__, __dir__ = attach(__name__, {
    "MessageSignature": "._batch",
    "OwnOcspStore": "._parts",
    "PolicyAuthCheck": "._parts",
    "SignKey": "._parts",
    "SignedParts": "._signed",
    "XadesMessageSigning": "._parts",
})
