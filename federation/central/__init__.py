"""The governing authority: registry, generation and publishing, registration, CLI.

``registry/`` keeps members, gateways, CAs, TSAs and keys in SQL; the generator turns
a snapshot of it into signed configuration that the publisher writes as static files;
registration requests are verified here; ``api/`` is the management API and
``sild central`` the command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._backup import CENTRAL_BACKUP
    from ._generator import (
        EXTERNAL, GENERATION_LEASE, GenerationResult, INTERNAL, VERSION, generate, node_urls, sync_published,
    )
    from ._management import MANAGEMENT_TYPES, build_management_request, concerned_member
    from ._publisher import read_state
    from ._status import central_status, central_status_lines
    from ._registration import (
        MemberSigner, RegistrationError, VerifiedRegistrationRequest, build_registration_request, submit_registration_request,
        verify_registration_request,
    )

__all__ = [
    "CENTRAL_BACKUP",
    "EXTERNAL",
    "GENERATION_LEASE",
    "GenerationResult",
    "INTERNAL",
    "MANAGEMENT_TYPES",
    "MemberSigner",
    "RegistrationError",
    "VERSION",
    "VerifiedRegistrationRequest",
    "build_management_request",
    "build_registration_request",
    "concerned_member",
    "central_status",
    "central_status_lines",
    "generate",
    "node_urls",
    "read_state",
    "submit_registration_request",
    "sync_published",
    "verify_registration_request",
]

__getattr__, __dir__ = attach(__name__, {
    "CENTRAL_BACKUP": "._backup",
    "EXTERNAL": "._generator",
    "GENERATION_LEASE": "._generator",
    "GenerationResult": "._generator",
    "INTERNAL": "._generator",
    "MANAGEMENT_TYPES": "._management",
    "MemberSigner": "._registration",
    "RegistrationError": "._registration",
    "VERSION": "._generator",
    "VerifiedRegistrationRequest": "._registration",
    "build_management_request": "._management",
    "build_registration_request": "._registration",
    "concerned_member": "._management",
    "central_status": "._status",
    "central_status_lines": "._status",
    "generate": "._generator",
    "node_urls": "._generator",
    "read_state": "._publisher",
    "submit_registration_request": "._registration",
    "sync_published": "._generator",
    "verify_registration_request": "._registration",
})
