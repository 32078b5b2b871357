"""The read side of server configuration: an immutable in-memory snapshot.

The proxies consult configuration for every message (is the client ours, is the
service there, who may call it). Doing that with SQL per message would put several
queries on the hot path, so :class:`ConfSnapshot` holds everything in dictionaries of
frozen values; :class:`gateway.serverconf._conf.ServerConf` rebuilds it only when the
database change counter has moved (every write increments it in the same
transaction), so a node of a cluster sees another node's admin changes within its
refresh interval and its own changes at once.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Mapping

from trust.protocol import AnyId, ClientId, SecurityServerId, ServiceId

from ._grants import NO_TERMS, GrantTerms

IS_AUTH_MODES = ("http", "https", "https-cert")
CLIENT_STATES = ("SAVED", "REGISTRATION_IN_PROGRESS", "REGISTERED", "DELETION_IN_PROGRESS", "DISABLED")
SERVICE_KINDS = ("WSDL", "REST", "OPENAPI")
ANY_METHOD = "*"
ANY_PATH = "**"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class ClientInfo:
    id: ClientId
    state: str
    is_auth: str
    allowed_networks: tuple[Network, ...] = ()
    cert_hashes: frozenset[str] = frozenset()  # SHA-256 hex of registered IS certificates
    body_logging: bool | None = None  # message-body logging override; None = the gateway's setting

    @property
    def registered(self) -> bool:
        return self.state == "REGISTERED"


@dataclass(frozen=True)
class ServiceInfo:
    """One service (code + version) of a provider, with how to reach its backend."""

    id: ServiceId
    kind: str  # WSDL | REST | OPENAPI
    url: str
    timeout_seconds: int
    tls_verify: bool
    tls_ca_pem: str | None
    disabled: bool
    disabled_notice: str | None
    description_id: int
    description_url: str
    title: str | None = None


@dataclass(frozen=True)
class EndpointInfo:
    id: int
    service_code: str
    method: str
    path: str
    generated: bool = False

    @property
    def is_base(self) -> bool:
        return self.method == ANY_METHOD and self.path == ANY_PATH


@dataclass(frozen=True)
class AccessRightInfo:
    provider: ClientId
    service_code: str
    endpoint: EndpointInfo
    subject: AnyId
    terms: GrantTerms = NO_TERMS  # purposes and validity window (issue 20); none: X-Road's right


@dataclass(frozen=True)
class LocalGroupInfo:
    owner: ClientId
    code: str
    description: str
    members: frozenset[ClientId]


@dataclass(frozen=True)
class ConfSnapshot:
    """Everything the proxies need, frozen at one value of the change counter."""

    counter: int
    identity: SecurityServerId | None
    clients: Mapping[ClientId, ClientInfo] = field(default_factory=dict)
    # (provider, service code, version or None) -> service
    services: Mapping[tuple[ClientId, str, str | None], ServiceInfo] = field(default_factory=dict)
    endpoints: Mapping[tuple[ClientId, str], tuple[EndpointInfo, ...]] = field(default_factory=dict)
    rights: Mapping[tuple[ClientId, str], tuple[AccessRightInfo, ...]] = field(default_factory=dict)
    local_groups: Mapping[tuple[ClientId, str], LocalGroupInfo] = field(default_factory=dict)

    def client(self, client_id: ClientId) -> ClientInfo | None:
        return self.clients.get(client_id)

    def service(self, service_id: ServiceId) -> ServiceInfo | None:
        """Exact lookup by provider, code and version (X-Road matches the version too)."""
        return self.services.get((service_id.provider, service_id.service_code, service_id.service_version))

    def services_of(self, provider: ClientId) -> list[ServiceInfo]:
        return [s for (p, _c, _v), s in self.services.items() if p == provider]

    def service_kind(self, provider: ClientId, service_code: str) -> str | None:
        for (p, c, _v), s in self.services.items():
            if p == provider and c == service_code:
                return s.kind
        return None

    def endpoints_of(self, provider: ClientId, service_code: str) -> tuple[EndpointInfo, ...]:
        return self.endpoints.get((provider, service_code), ())

    def rights_on(self, provider: ClientId, service_code: str) -> tuple[AccessRightInfo, ...]:
        return self.rights.get((provider, service_code), ())

    def local_group(self, owner: ClientId, code: str) -> LocalGroupInfo | None:
        return self.local_groups.get((owner, code))
