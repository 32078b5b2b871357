"""The global configuration as values: shared and private parameters, anchors.

Read (versions 2 to 6, checked against X-Road's schemas) and written (version 6);
frozen dataclasses that check their input; and the ``ConfError`` branch every
configuration problem raises.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._errors import (
        AnchorInvalid, ConfBadSignature, ConfDownloadFailed, ConfError, ConfExpired, ConfHashMismatch,
        ConfInstanceMismatch, ConfMalformed, ConfMissingExpiry, ConfMissingPart, ConfMissingSignature,
        ConfOutdated, ConfSchemaInvalid, ConfTreeInvalid, ConfUnknownVerificationCert,
    )
    from ._model import (
        ApprovedCaInfo, ApprovedTsaInfo, CURRENT_VERSION, CaInfo, ConfigurationSource, FETCHINTERVAL,
        GlobalGroup, MONITORING, MaintenanceMode, Member, MemberClass, NEXTUPDATE, OcspInfo,
        PRIVATE_PARAMETERS, SECURITY_SERVER_OWNERS_GROUP, SHARED_PARAMETERS, SUPPORTED_VERSIONS,
        SecurityServer, SharedParameters, Subsystem, XROAD_NS, auth_cert_hash, load_certificate,
    )
    from ._private import AnchorSource, ConfigurationAnchor, ManagementService, ParametersModel, PrivateParameters
    from ._private import MonitoringParameters
    from ._read import (
        parse_anchor_element, parse_fetch_interval_parameters, parse_monitoring_parameters,
        parse_next_update_parameters, parse_private_parameters,
    )
    from ._read_shared import parse_shared_parameters
    from ._write import anchor_element, write_private_parameters
    from ._write import write_monitoring_parameters
    from ._write_shared import write_shared_parameters

__all__ = [
    "AnchorInvalid",
    "AnchorSource",
    "ApprovedCaInfo",
    "ApprovedTsaInfo",
    "CURRENT_VERSION",
    "CaInfo",
    "ConfBadSignature",
    "ConfDownloadFailed",
    "ConfError",
    "ConfExpired",
    "ConfHashMismatch",
    "ConfInstanceMismatch",
    "ConfMalformed",
    "ConfMissingExpiry",
    "ConfMissingPart",
    "ConfMissingSignature",
    "ConfOutdated",
    "ConfSchemaInvalid",
    "ConfTreeInvalid",
    "ConfUnknownVerificationCert",
    "ConfigurationAnchor",
    "ConfigurationSource",
    "FETCHINTERVAL",
    "GlobalGroup",
    "MONITORING",
    "MaintenanceMode",
    "MonitoringParameters",
    "ManagementService",
    "Member",
    "MemberClass",
    "NEXTUPDATE",
    "OcspInfo",
    "PRIVATE_PARAMETERS",
    "ParametersModel",
    "PrivateParameters",
    "SECURITY_SERVER_OWNERS_GROUP",
    "SHARED_PARAMETERS",
    "SUPPORTED_VERSIONS",
    "SecurityServer",
    "SharedParameters",
    "Subsystem",
    "XROAD_NS",
    "anchor_element",
    "auth_cert_hash",
    "load_certificate",
    "parse_anchor_element",
    "parse_fetch_interval_parameters",
    "parse_monitoring_parameters",
    "parse_next_update_parameters",
    "parse_private_parameters",
    "parse_shared_parameters",
    "write_monitoring_parameters",
    "write_private_parameters",
    "write_shared_parameters",
]

__getattr__, __dir__ = attach(__name__, {
    "AnchorInvalid": "._errors",
    "AnchorSource": "._private",
    "ApprovedCaInfo": "._model",
    "ApprovedTsaInfo": "._model",
    "CURRENT_VERSION": "._model",
    "CaInfo": "._model",
    "ConfBadSignature": "._errors",
    "ConfDownloadFailed": "._errors",
    "ConfError": "._errors",
    "ConfExpired": "._errors",
    "ConfHashMismatch": "._errors",
    "ConfInstanceMismatch": "._errors",
    "ConfMalformed": "._errors",
    "ConfMissingExpiry": "._errors",
    "ConfMissingPart": "._errors",
    "ConfMissingSignature": "._errors",
    "ConfOutdated": "._errors",
    "ConfSchemaInvalid": "._errors",
    "ConfTreeInvalid": "._errors",
    "ConfUnknownVerificationCert": "._errors",
    "ConfigurationAnchor": "._private",
    "ConfigurationSource": "._model",
    "FETCHINTERVAL": "._model",
    "GlobalGroup": "._model",
    "MONITORING": "._model",
    "MaintenanceMode": "._model",
    "MonitoringParameters": "._private",
    "ManagementService": "._private",
    "Member": "._model",
    "MemberClass": "._model",
    "NEXTUPDATE": "._model",
    "OcspInfo": "._model",
    "PRIVATE_PARAMETERS": "._model",
    "ParametersModel": "._private",
    "PrivateParameters": "._private",
    "SECURITY_SERVER_OWNERS_GROUP": "._model",
    "SHARED_PARAMETERS": "._model",
    "SUPPORTED_VERSIONS": "._model",
    "SecurityServer": "._model",
    "SharedParameters": "._model",
    "Subsystem": "._model",
    "XROAD_NS": "._model",
    "anchor_element": "._write",
    "auth_cert_hash": "._model",
    "load_certificate": "._model",
    "parse_anchor_element": "._read",
    "parse_fetch_interval_parameters": "._read",
    "parse_monitoring_parameters": "._read",
    "parse_next_update_parameters": "._read",
    "parse_private_parameters": "._read",
    "parse_shared_parameters": "._read_shared",
    "write_monitoring_parameters": "._write",
    "write_private_parameters": "._write",
    "write_shared_parameters": "._write_shared",
})
