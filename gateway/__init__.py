"""The gateway (X-Road's security server), the ``sild`` CLI and the sandbox.

The public API is re-exported here. The Flask admin app (``gateway.admin_app``) is
not imported, so ``import gateway`` does not pull in a web framework.
"""

from .access import AccessChecker, Decision, check_is_connection, groups_from_mapping
from .archive import Archiver, export_exchange, verify_archive_chain
from .client_proxy import ClientProxy
from .errors import GatewayError
from .faults import XRoadFault, normalize_code
from .messagelog import Attachment, LogEntry, MessageLog, MessageLogConfig, TimestampingOverdue
from .messagelog_timestamper import Timestamper, evidence_stamper
from .metrics import GatewayMetrics
from .node import GatewayNode
from .openapi import OpenApiError, parse_openapi
from .opmonitoring import OpMonitor, exchange_record
from .peer_transport import PeerTransport
from .routing import Router, SharedParamsView
from .server_proxy import ServerProxy
from .serverconf import ServerConf
from .serverconf_db import open_engine
from .serverconf_services import Operation
from .setup import NodeSettings, add_member, import_certificate, init_gateway, make_csr
from .soap import SoapFaultMessage, SoapMessage, parse_soap
from .soap_build import check_consistency, insert_request_hash
from .soap_header import XRoadHeader
from .transport import ProxyMessage
from .wsdl import WsdlError, parse_wsdl

__all__ = [
    "AccessChecker",
    "Archiver",
    "Attachment",
    "ClientProxy",
    "Decision",
    "GatewayError",
    "GatewayMetrics",
    "GatewayNode",
    "LogEntry",
    "MessageLog",
    "MessageLogConfig",
    "NodeSettings",
    "OpMonitor",
    "OpenApiError",
    "Operation",
    "PeerTransport",
    "ProxyMessage",
    "Router",
    "ServerConf",
    "ServerProxy",
    "SharedParamsView",
    "SoapFaultMessage",
    "SoapMessage",
    "Timestamper",
    "TimestampingOverdue",
    "WsdlError",
    "XRoadFault",
    "XRoadHeader",
    "add_member",
    "check_consistency",
    "check_is_connection",
    "evidence_stamper",
    "exchange_record",
    "export_exchange",
    "groups_from_mapping",
    "import_certificate",
    "init_gateway",
    "insert_request_hash",
    "make_csr",
    "normalize_code",
    "open_engine",
    "parse_openapi",
    "parse_soap",
    "parse_wsdl",
    "verify_archive_chain",
]
