"""Global configuration: model, signed directory, anchors, registry, generator, client.

The public API is re-exported here; every other name in the package is private.
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
    "PrivateParameters",
    "RefreshReport",
    "SharedParameters",
    "VerifiedConfiguration",
    "anchor_fingerprint",
    "anchor_from_shared_parameters",
    "auth_cert_hash",
    "build_directory",
    "check_fingerprint",
    "load_anchor",
    "load_tree",
    "parse_anchor",
    "parse_directory",
    "parse_private_parameters",
    "parse_shared_parameters",
    "schedule_refresh",
    "verify_directory",
    "write_anchor",
    "write_private_parameters",
    "write_shared_parameters",
]
