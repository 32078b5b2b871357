"""The gateway (X-Road's security server), the ``sild`` CLI and the sandbox.

The public API is re-exported here. The Flask admin app (``gateway.admin._app``) is
not imported, so ``import gateway`` does not pull in a web framework.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from gateway.conf import Router, SharedParamsView
    from gateway.db import open_engine
    from gateway.errors import GatewayError
    from gateway.messagelog import (
        Archiver, Attachment, LogEntry, MessageLog, MessageLogConfig, Timestamper, TimestampingOverdue,
        evidence_stamper, export_exchange, verify_archive_chain,
    )
    from gateway.monitoring import GatewayMetrics, OpMonitor, exchange_record
    from gateway.net import PeerTransport
    from gateway.node import GatewayNode
    from gateway.provision import add_member, import_certificate, init_gateway, make_csr
    from gateway.proxy import ClientProxy, ServerProxy
    from gateway.serverconf import (
        AccessChecker, Decision, Operation, ServerConf, check_is_connection, groups_from_mapping,
    )
    from gateway.settings import NodeSettings
    from trust.protocol import (
        OpenApiError, ProxyMessage, SoapFaultMessage, SoapMessage, WsdlError, XRoadFault, XRoadHeader,
        check_consistency, insert_request_hash, normalize_code, parse_openapi, parse_soap, parse_wsdl,
    )

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

__getattr__, __dir__ = attach(__name__, {
    "AccessChecker": "gateway.serverconf",
    "Archiver": "gateway.messagelog",
    "Attachment": "gateway.messagelog",
    "ClientProxy": "gateway.proxy",
    "Decision": "gateway.serverconf",
    "GatewayError": "gateway.errors",
    "GatewayMetrics": "gateway.monitoring",
    "GatewayNode": "gateway.node",
    "LogEntry": "gateway.messagelog",
    "MessageLog": "gateway.messagelog",
    "MessageLogConfig": "gateway.messagelog",
    "NodeSettings": "gateway.settings",
    "OpMonitor": "gateway.monitoring",
    "OpenApiError": "trust.protocol",
    "Operation": "gateway.serverconf",
    "PeerTransport": "gateway.net",
    "ProxyMessage": "trust.protocol",
    "Router": "gateway.conf",
    "ServerConf": "gateway.serverconf",
    "ServerProxy": "gateway.proxy",
    "SharedParamsView": "gateway.conf",
    "SoapFaultMessage": "trust.protocol",
    "SoapMessage": "trust.protocol",
    "Timestamper": "gateway.messagelog",
    "TimestampingOverdue": "gateway.messagelog",
    "WsdlError": "trust.protocol",
    "XRoadFault": "trust.protocol",
    "XRoadHeader": "trust.protocol",
    "add_member": "gateway.provision",
    "check_consistency": "trust.protocol",
    "check_is_connection": "gateway.serverconf",
    "evidence_stamper": "gateway.messagelog",
    "exchange_record": "gateway.monitoring",
    "export_exchange": "gateway.messagelog",
    "groups_from_mapping": "gateway.serverconf",
    "import_certificate": "gateway.provision",
    "init_gateway": "gateway.provision",
    "insert_request_hash": "trust.protocol",
    "make_csr": "gateway.provision",
    "normalize_code": "trust.protocol",
    "open_engine": "gateway.db",
    "parse_openapi": "trust.protocol",
    "parse_soap": "trust.protocol",
    "parse_wsdl": "trust.protocol",
    "verify_archive_chain": "gateway.messagelog",
})
