"""Global configuration: model, signed directory, anchors, registry, generator, client.

The public API is re-exported here; every other name in the package is private.
The HTTP edge (``central_app``, ``central_node``) is not imported, so ``import
federation`` does not pull in Flask.
"""

from federation.anchor import (
    anchor_fingerprint,
    anchor_from_shared_parameters,
    check_fingerprint,
    load_anchor,
    parse_anchor,
    write_anchor,
)
from federation.client._client import AllowedFederations, ClientConfig, ConfigurationClient, RefreshReport, schedule_refresh
from federation.conftree import ConfigurationTree, CurrentConfiguration, load_tree
from federation.directory import DirectoryEntry, VerifiedConfiguration, build_directory, parse_directory, verify_directory
from federation.discovery import Discovery
from federation.errors import FederationError
from federation.central._generator import GenerationResult, generate
from federation.model._model import (
    AnchorSource,
    ConfigurationAnchor,
    PrivateParameters,
    SharedParameters,
    auth_cert_hash,
)
from federation.model._errors import ConfError
from federation.model._write import write_private_parameters, write_shared_parameters
from federation.model._read import parse_private_parameters, parse_shared_parameters
from federation.central._registration import (
    VerifiedRegistrationRequest,
    build_registration_request,
    submit_registration_request,
    verify_registration_request,
)
from federation.central.registry._registry import Registry
from federation.central.registry._base import ROLES
from federation.central.registry._errors import RegistryError
from federation.central.registry._provision import add_trusted_anchor, build_anchor, init_central
from federation.central.registry._snapshot import RegistrySnapshot

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
