"""The gateway (X-Road's security server), the ``sild`` CLI and the sandbox.

The public API is re-exported here. The Flask admin app (``gateway.admin._app``) is
not imported, so ``import gateway`` does not pull in a web framework.
"""

from gateway.serverconf._access import AccessChecker, Decision, check_is_connection, groups_from_mapping
from gateway.messagelog._archive import Archiver, export_exchange, verify_archive_chain
from gateway.proxy._client import ClientProxy
from gateway.errors import GatewayError
from trust.protocol._faults import XRoadFault, normalize_code
from gateway.messagelog._log import Attachment, LogEntry, MessageLog, MessageLogConfig, TimestampingOverdue
from gateway.messagelog._timestamper import Timestamper, evidence_stamper
from gateway.monitoring._metrics import GatewayMetrics
from gateway.node._node import GatewayNode
from trust.protocol._openapi import OpenApiError, parse_openapi
from gateway.monitoring._store import OpMonitor, exchange_record
from gateway.net._peer_transport import PeerTransport
from gateway.conf._view import Router, SharedParamsView
from gateway.proxy._server import ServerProxy
from gateway.serverconf._conf import ServerConf
from gateway.serverconf._db import open_engine
from gateway.serverconf._services import Operation
from gateway.settings import NodeSettings, add_member, import_certificate, init_gateway, make_csr
from trust.protocol._soap import SoapFaultMessage, SoapMessage, parse_soap
from trust.protocol._soap_build import check_consistency, insert_request_hash
from trust.protocol._soap_header import XRoadHeader
from trust.protocol._proxy_message import ProxyMessage
from trust.protocol._wsdl import WsdlError, parse_wsdl

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
