"""Global configuration: model, signed directory, anchors, registry, generator, client.

The public API is re-exported here; every other name in the package is private.
The HTTP edge (``central_app``, ``central_node``) is not imported, so ``import
federation`` does not pull in Flask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from federation.anchor import (
        anchor_fingerprint, anchor_from_shared_parameters, check_fingerprint, load_anchor, parse_anchor,
        write_anchor,
    )
    from federation.central import (
        GenerationResult, VerifiedRegistrationRequest, build_registration_request, generate,
        submit_registration_request, verify_registration_request,
    )
    from federation.central.registry import (
        ROLES, Registry, RegistryError, RegistrySnapshot, add_trusted_anchor, build_anchor, init_central,
    )
    from federation.client import (
        AllowedFederations, ClientConfig, ConfigurationClient, RefreshReport, schedule_refresh,
    )
    from federation.conftree import ConfigurationTree, CurrentConfiguration, load_tree
    from federation.directory import (
        DirectoryEntry, VerifiedConfiguration, build_directory, parse_directory, verify_directory,
    )
    from federation.discovery import Discovery
    from federation.errors import FederationError
    from federation.model import (
        AnchorSource, ConfError, ConfigurationAnchor, PrivateParameters, SharedParameters, auth_cert_hash,
        parse_private_parameters, parse_shared_parameters, write_private_parameters, write_shared_parameters,
    )

__all__ = [
    "AllowedFederations",
    "AnchorSource",
    "ClientConfig",
    "ConfError",
    "ConfigurationAnchor",
    "ConfigurationClient",
    "ConfigurationTree",
    "CurrentConfiguration",
    "DirectoryEntry",
    "Discovery",
    "FederationError",
    "GenerationResult",
    "PrivateParameters",
    "ROLES",
    "RefreshReport",
    "Registry",
    "RegistryError",
    "RegistrySnapshot",
    "SharedParameters",
    "VerifiedConfiguration",
    "VerifiedRegistrationRequest",
    "add_trusted_anchor",
    "anchor_fingerprint",
    "anchor_from_shared_parameters",
    "auth_cert_hash",
    "build_anchor",
    "build_directory",
    "build_registration_request",
    "check_fingerprint",
    "generate",
    "init_central",
    "load_anchor",
    "load_tree",
    "parse_anchor",
    "parse_directory",
    "parse_private_parameters",
    "parse_shared_parameters",
    "schedule_refresh",
    "submit_registration_request",
    "verify_directory",
    "verify_registration_request",
    "write_anchor",
    "write_private_parameters",
    "write_shared_parameters",
]

__getattr__, __dir__ = attach(__name__, {
    "AllowedFederations": "federation.client",
    "AnchorSource": "federation.model",
    "ClientConfig": "federation.client",
    "ConfError": "federation.model",
    "ConfigurationAnchor": "federation.model",
    "ConfigurationClient": "federation.client",
    "ConfigurationTree": "federation.conftree",
    "CurrentConfiguration": "federation.conftree",
    "DirectoryEntry": "federation.directory",
    "Discovery": "federation.discovery",
    "FederationError": "federation.errors",
    "GenerationResult": "federation.central",
    "PrivateParameters": "federation.model",
    "ROLES": "federation.central.registry",
    "RefreshReport": "federation.client",
    "Registry": "federation.central.registry",
    "RegistryError": "federation.central.registry",
    "RegistrySnapshot": "federation.central.registry",
    "SharedParameters": "federation.model",
    "VerifiedConfiguration": "federation.directory",
    "VerifiedRegistrationRequest": "federation.central",
    "add_trusted_anchor": "federation.central.registry",
    "anchor_fingerprint": "federation.anchor",
    "anchor_from_shared_parameters": "federation.anchor",
    "auth_cert_hash": "federation.model",
    "build_anchor": "federation.central.registry",
    "build_directory": "federation.directory",
    "build_registration_request": "federation.central",
    "check_fingerprint": "federation.anchor",
    "generate": "federation.central",
    "init_central": "federation.central.registry",
    "load_anchor": "federation.anchor",
    "load_tree": "federation.conftree",
    "parse_anchor": "federation.anchor",
    "parse_directory": "federation.directory",
    "parse_private_parameters": "federation.model",
    "parse_shared_parameters": "federation.model",
    "schedule_refresh": "federation.client",
    "submit_registration_request": "federation.central",
    "verify_directory": "federation.directory",
    "verify_registration_request": "federation.central",
    "write_anchor": "federation.anchor",
    "write_private_parameters": "federation.model",
    "write_shared_parameters": "federation.model",
})
