"""Who may call what: the access decision of a gateway, as X-Road makes it.

The decision for (client, service, REST method and path) runs on the provider's
gateway for every request, in X-Road's order (NOTES 7): the provider must be a
registered client here (``unknown_member``), the service must exist
(``unknown_service``) and be of the protocol used (``service_type``), the caller
must hold a right (``access_denied``), and the service must be enabled
(``service_disabled``).

A right names a service *code* - the version is ignored (NOTES 9.11) - and, for REST
services, an endpoint: method (``*`` = any) and a path pattern where ``**`` matches
anything, ``*`` and ``{param}`` match one path segment and ``\\`` escapes the next
character (X-Road's ``PathGlob``). The base endpoint ``* **`` stands for the whole
service. The subject of a right is a member, a subsystem (matched exactly, as X-Road
does: a right for a member does not cover its subsystems), a global group (members
come from the *verified* global configuration, handed in as a callable so this module
never reaches into federation's internals) or a local group of the provider.
A right may also carry purposes and a validity window (issue 20, :mod:`._grants`): the
request must then declare one of the purposes and come within the window, checked
against the request's time, or it is ``access_denied`` with the reason first in the
message (``purpose required``, ``purpose not granted``, ``grant not yet valid``,
``grant expired``). ``allowedMethods`` leaves out rights outside their window.

Metaservices (NOTES 4) need no right: ``listMethods``, ``allowedMethods``,
``getWsdl`` (SOAP) and ``listMethods``, ``allowedMethods``, ``getOpenAPI`` (REST) are
answered for any caller; ``allowedMethods`` filters by the caller's rights, and
metaservices are never listed. Operational monitoring data
(``getSecurityServerOperationalData``, ``getSecurityServerHealthData``) is answered
by :mod:`gateway.proxy._opmonitoring` before any right is looked up, with X-Road's
rules (the owner and the central monitoring client see everything, another client
its own records); the owner-only rule here is the narrower fallback for a caller of
this checker that has no such handler.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import Callable, Collection, Mapping

from trust.protocol import AnyId, ClientId, GlobalGroupId, LocalGroupId, ServiceId

from trust.protocol import (
    ACCESS_DENIED, INVALID_REQUEST, SERVICE_DISABLED, SERVICE_TYPE, SSL_AUTHENTICATION_FAILED, UNKNOWN_MEMBER,
    UNKNOWN_SERVICE, XRoadFault, check_service_path,
)
from trust.infra import utc_now

from ._grants import refusal
from ._snapshot import ANY_METHOD, ANY_PATH, AccessRightInfo, ClientInfo, ConfSnapshot, EndpointInfo, ServiceInfo

SOAP_METASERVICES = frozenset({"listMethods", "allowedMethods", "getWsdl"})
REST_METASERVICES = frozenset({"listMethods", "allowedMethods", "getOpenAPI"})
OWNER_ONLY_SERVICES = frozenset({"getSecurityServerOperationalData", "getSecurityServerHealthData"})

# is ``client`` a member of global group ``group`` (by the verified global configuration)?
GlobalGroupMembership = Callable[[GlobalGroupId, ClientId], bool]


def groups_from_mapping(groups: Mapping[GlobalGroupId, Collection[ClientId]]) -> GlobalGroupMembership:
    """Membership from a mapping ``group -> members`` (as read from shared parameters)."""
    frozen = {g: frozenset(members) for g, members in groups.items()}

    def member_of(group: GlobalGroupId, client: ClientId) -> bool:
        return client in frozen.get(group, frozenset())

    return member_of


def no_global_groups(_group: GlobalGroupId, _client: ClientId) -> bool:
    return False


@dataclass(frozen=True)
class Decision:
    """The outcome; ``leaf`` is the X-Road fault code without origin when refused."""

    allowed: bool
    leaf: str | None = None
    message: str = ""
    service: ServiceInfo | None = None
    metaservice: bool = False

    def fault(self, origin: str, *, correlation_id: str | None = None) -> XRoadFault:
        """The fault to answer with, e.g. ``decision.fault("server.serverproxy")``."""
        if self.allowed or self.leaf is None:
            raise ValueError("an allowed decision has no fault")
        return XRoadFault(f"{origin}.{self.leaf}", self.message, correlation_id=correlation_id)

    def raise_for(self, origin: str) -> None:
        if not self.allowed:
            raise self.fault(origin)


ALLOW = Decision(True)


# -- path patterns ---------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _compile(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if ch == "*":
            if pattern.startswith("**", i):
                out.append(".*")
                while i < len(pattern) and pattern[i] == "*":
                    i += 1
                continue
            out.append("[^/]*")
        elif ch == "{":
            end = pattern.find("}", i)
            if end > i:  # an OpenAPI path parameter: one non-empty segment
                out.append("[^/]+")
                i = end + 1
                continue
            out.append(re.escape(ch))
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def path_problem(path: str) -> str | None:
    """Why a REST path must not be matched against rights at all (``None`` if it may): the
    traps of :func:`trust.protocol.check_service_path` (dot segments, encoded dots and
    slashes, backslashes, NUL), which a backend could read as another path."""
    try:
        check_service_path(path.split("?", 1)[0])
    except XRoadFault as fault:
        return fault.message
    return None


def path_matches(pattern: str, path: str) -> bool:
    """X-Road's PathGlob plus OpenAPI ``{param}`` segments; the query string is not part of the path.

    A path with dot segments or encoded dots and slashes matches no pattern: ``/public/**``
    must not cover ``/public/../secret``, which a backend serves as ``/secret``."""
    path = path.split("?", 1)[0]
    if path_problem(path) is not None:
        return False
    return _compile(pattern).fullmatch(path) is not None


def endpoint_matches(endpoint: EndpointInfo, method: str | None, path: str | None) -> bool:
    if endpoint.is_base:
        return True
    if method is None or path is None:
        return False
    method_ok = endpoint.method == ANY_METHOD or endpoint.method.upper() == method.upper()
    return method_ok and (endpoint.path == ANY_PATH or path_matches(endpoint.path, path))


# -- the checker ------------------------------------------------------------------------


class AccessChecker:
    """Access decisions against the current configuration snapshot."""

    def __init__(
        self,
        snapshot: Callable[[], ConfSnapshot],
        global_groups: GlobalGroupMembership = no_global_groups,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self._snapshot = snapshot
        self._global_groups = global_groups
        self._clock = clock  # grants' validity windows are checked against it (issue 20)

    def subject_matches(self, snap: ConfSnapshot, provider: ClientId, subject: AnyId, client: ClientId) -> bool:
        if isinstance(subject, GlobalGroupId):
            return self._global_groups(subject, client)
        if isinstance(subject, LocalGroupId):
            group = snap.local_group(provider, subject.group_code)
            return group is not None and client in group.members
        return subject == client

    def has_right(
        self,
        client: ClientId,
        provider: ClientId,
        service_code: str,
        method: str | None = None,
        path: str | None = None,
        *,
        snap: ConfSnapshot | None = None,
    ) -> bool:
        """Whether ``client`` holds any right matching the call, its terms (issue 20) aside."""
        return bool(self.matching_rights(client, provider, service_code, method, path, snap=snap))

    def matching_rights(
        self, client: ClientId, provider: ClientId, service_code: str, method: str | None = None,
        path: str | None = None, *, snap: ConfSnapshot | None = None,
    ) -> list[AccessRightInfo]:
        """The rights whose endpoint and subject match the call (their terms not yet weighed)."""
        snap = snap or self._snapshot()
        return [right for right in snap.rights_on(provider, service_code)
                if endpoint_matches(right.endpoint, method, path)
                and self.subject_matches(snap, provider, right.subject, client)]

    def decide(
        self,
        client: ClientId,
        service: ServiceId,
        *,
        protocol: str = "SOAP",
        method: str | None = None,
        path: str | None = None,
        purpose: str | None = None,
        at: dt.datetime | None = None,
    ) -> Decision:
        """The provider-side decision for one request (``protocol`` is ``SOAP`` or ``REST``).

        ``purpose`` is what the request declares (``None``: nothing, as from any X-Road
        peer); ``at`` the request's time (the checker's clock when not given): a right with
        purposes or a validity window admits it only within them (:mod:`._grants`)."""
        snap = self._snapshot()
        provider = service.provider
        info = snap.client(provider)
        if info is None or not info.registered:
            return Decision(False, UNKNOWN_MEMBER, f"{provider.typed_text()} is not a registered client of this gateway")
        code = service.service_code
        if protocol == "REST" and path is not None:
            refused = path_problem(path)
            if refused is not None:
                return Decision(False, INVALID_REQUEST, refused)
        metas = REST_METASERVICES if protocol == "REST" else SOAP_METASERVICES
        if code in metas:
            return Decision(True, metaservice=True)
        if code in OWNER_ONLY_SERVICES and snap.identity is not None and provider == snap.identity.owner:
            if client.member == snap.identity.owner:
                return Decision(True, metaservice=True)
            return Decision(False, ACCESS_DENIED, f"{code} is only answered to the owner of the security server")
        found = snap.service(service)
        # a REST call names no version, so a SOAP service is found by its code alone: either
        # way a service of the other protocol is service_type, not unknown_service
        kind = found.kind if found is not None else snap.service_kind(provider, code)
        if kind is not None and (kind in ("REST", "OPENAPI")) != (protocol == "REST"):
            return Decision(False, SERVICE_TYPE, _other_type(service, kind, protocol))
        if found is None:
            return Decision(False, UNKNOWN_SERVICE, f"unknown service {service.typed_text()}")
        is_rest = found.kind in ("REST", "OPENAPI")
        rights = self.matching_rights(client, provider, code, method if is_rest else None, path if is_rest else None,
                                      snap=snap)
        target = f" {method} {path}" if is_rest and method else ""
        if not rights:
            return Decision(
                False, ACCESS_DENIED,
                f"request is not allowed: {client.typed_text()} may not call {service.without_version().typed_text()}{target}",
            )
        problem = refusal([r.terms for r in rights], purpose, at or self._clock())
        if problem is not None:
            return Decision(False, ACCESS_DENIED, f"{problem}; {client.typed_text()} calling "
                                                  f"{service.without_version().typed_text()}{target}")
        if found.disabled:
            return Decision(False, SERVICE_DISABLED, found.disabled_notice or "Out of order", found)
        return Decision(True, service=found)

    # -- metaservice answers ----------------------------------------------------------

    def list_services(self, provider: ClientId, *, protocol: str | None = None) -> list[ServiceInfo]:
        """``listMethods``: every service of ``provider`` (of one protocol when given)."""
        out = self._snapshot().services_of(provider)
        if protocol is not None:
            out = [s for s in out if (s.kind != "WSDL") == (protocol == "REST")]
        return sorted(out, key=lambda s: (s.id.service_code, s.id.service_version or ""))

    def allowed_services(self, provider: ClientId, client: ClientId, *, protocol: str | None = None) -> list[ServiceInfo]:
        """``allowedMethods``: the services ``client`` holds any right on."""
        snap, now = self._snapshot(), self._clock()
        out = []
        for s in self.list_services(provider, protocol=protocol):
            for right in snap.rights_on(provider, s.id.service_code):
                if right.terms.holds_at(now) and self.subject_matches(snap, provider, right.subject, client):
                    out.append(s)
                    break
        return out

    def allowed_endpoints(self, provider: ClientId, client: ClientId, service_code: str) -> list[EndpointInfo]:
        """Endpoints of a REST service ``client`` may call (for REST ``allowedMethods``)."""
        snap, now = self._snapshot(), self._clock()
        granted = [
            r.endpoint for r in snap.rights_on(provider, service_code)
            if r.terms.holds_at(now) and self.subject_matches(snap, provider, r.subject, client)
        ]
        if any(e.is_base for e in granted):
            return list(snap.endpoints_of(provider, service_code))
        return sorted(set(granted), key=lambda e: (e.path, e.method))


def _other_type(service: ServiceId, kind: str, protocol: str) -> str:
    """The message of ``service_type``: the service exists, with the other protocol."""
    if kind == "WSDL":
        return (f"service {service.without_version().typed_text()} exists but is a SOAP service; "
                f"call it with a SOAP 4.0 POST, not over REST")
    return (f"service {service.without_version().typed_text()} exists but is a REST service; "
            f"call it at /r1/{{instance}}/{{class}}/{{member}}/{{subsystem}}/{{service}}, not over SOAP")


def check_is_connection(
    info: ClientInfo | None,
    *,
    tls: bool,
    peer_address: str | None = None,
    cert_sha256: str | None = None,
) -> Decision:
    """Client-proxy check of how the information system connected (``ssl_authentication_failed``).

    ``http``: plain HTTP or HTTPS, from the allowed networks when any are listed;
    ``https``: TLS required; ``https-cert``: TLS with a registered client certificate.
    """
    import ipaddress

    if info is None:
        return Decision(False, UNKNOWN_MEMBER, "the client is not configured on this gateway")
    if info.is_auth == "http":
        if info.allowed_networks:
            try:
                addr = ipaddress.ip_address((peer_address or "").strip("[]"))
            except ValueError:
                return Decision(False, SSL_AUTHENTICATION_FAILED, "client address is not allowed")
            if not any(addr in net for net in info.allowed_networks):
                return Decision(False, SSL_AUTHENTICATION_FAILED, f"client address {addr} is not allowed")
        return ALLOW
    if not tls:
        return Decision(False, SSL_AUTHENTICATION_FAILED, f"client {info.id.to_text()} must connect over HTTPS")
    if info.is_auth == "https":
        return ALLOW
    if cert_sha256 is None:
        return Decision(False, SSL_AUTHENTICATION_FAILED, "client certificate is required")
    if cert_sha256.lower() not in info.cert_hashes:
        return Decision(False, SSL_AUTHENTICATION_FAILED, "client certificate is not registered for this client")
    return ALLOW


__all__ = [
    "ALLOW",
    "AccessChecker",
    "Decision",
    "GlobalGroupMembership",
    "OWNER_ONLY_SERVICES",
    "REST_METASERVICES",
    "SOAP_METASERVICES",
    "check_is_connection",
    "endpoint_matches",
    "groups_from_mapping",
    "no_global_groups",
    "path_matches",
    "path_problem",
]
