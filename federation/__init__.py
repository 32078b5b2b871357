"""Global configuration: model, signed directory, anchors, registry, generator, client.

The public API is re-exported here; every other name in the package is private.
The HTTP edge (``central_app``, ``central_node``) is not imported, so ``import
federation`` does not pull in Flask.
"""

from .anchor import (
    anchor_fingerprint,
    anchor_from_shared_parameters,
    check_fingerprint,
    load_anchor,
    parse_anchor,
    write_anchor,
)
from .client import AllowedFederations, ClientConfig, ConfigurationClient, RefreshReport, schedule_refresh
from .conftree import ConfigurationTree, CurrentConfiguration, load_tree
from .directory import DirectoryEntry, VerifiedConfiguration, build_directory, parse_directory, verify_directory
from .discovery import Discovery
from .errors import FederationError
from .generator import GenerationResult, generate
from .model import (
    AnchorSource,
    ConfigurationAnchor,
    PrivateParameters,
    SharedParameters,
    auth_cert_hash,
)
from .model_errors import ConfError
from .model_write import write_private_parameters, write_shared_parameters
from .model_xml import parse_private_parameters, parse_shared_parameters
from .registration import (
    VerifiedRegistrationRequest,
    build_registration_request,
    submit_registration_request,
    verify_registration_request,
)
from .registry import Registry
from .registry_base import ROLES
from .registry_errors import RegistryError
from .registry_init import add_trusted_anchor, build_anchor, init_central
from .registry_snapshot import RegistrySnapshot

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
