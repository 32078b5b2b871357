"""The exchange: the client proxy, the server proxy and the one flow they share.

Both proxies run one exchange flow (check, sign, log, send, verify, access, backend,
``requestHash``, sign, log, answer) with SOAP and REST as small strategies, record
each exchange for operational monitoring, and answer X-Road's metaservices.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._backends import BackendClients
    from ._client import ClientProxy
    from ._gateway_parts import GatewayParts
    from ._opmonitoring import OpMonitoringService
    from ._server import ServerProxy
    from ._wsdl_service import provider_wsdl
    from ._entries import ExchangeIds, declared_purpose

__all__ = [
    "BackendClients",
    "ClientProxy",
    "ExchangeIds",
    "GatewayParts",
    "OpMonitoringService",
    "ServerProxy",
    "declared_purpose",
    "provider_wsdl",
]

__getattr__, __dir__ = attach(__name__, {
    "BackendClients": "._backends",
    "ClientProxy": "._client",
    "ExchangeIds": "._entries",
    "declared_purpose": "._entries",
    "GatewayParts": "._gateway_parts",
    "OpMonitoringService": "._opmonitoring",
    "ServerProxy": "._server",
    "provider_wsdl": "._wsdl_service",
})
