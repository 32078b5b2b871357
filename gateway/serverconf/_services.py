"""Editing services and their descriptions (mixed into ``ServerConf``).

WSDL and OpenAPI documents are parsed by the message-format modules
(:mod:`trust.protocol`: WSDL and OpenAPI); this module only stores what they
found. Fetching a description is an I/O parameter (``fetch(url) -> bytes``) so tests
and the admin API can hand in a document directly.
"""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from trust.protocol import ClientId, ServiceId

from gateway.db import schema as m
from ._errors import AlreadyExists, DescriptionNotFound, InvalidInput, ServerConfError, ServiceNotFound
from ._parse import parse_client_text
from ._rights import check_code, check_endpoint, ensure_endpoint
from ._snapshot import ANY_METHOD, ANY_PATH, SERVICE_KINDS, ConfSnapshot

Fetch = Callable[[str], bytes]


@dataclass(frozen=True)
class Operation:
    """A service a description offers: code, optional version, backend URL, title."""

    service_code: str
    service_version: str | None = None
    url: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class DescriptionInfo:
    id: int
    provider: ClientId
    kind: str
    url: str
    disabled: bool
    disabled_notice: str | None
    service_codes: tuple[str, ...]
    refreshed_at: dt.datetime | None = None


def description_info(desc: m.ServiceDescription) -> DescriptionInfo:
    """The public view of a stored description (its client row loaded)."""
    return DescriptionInfo(
        desc.id, parse_client_text(desc.client.typed_id), desc.kind, desc.url, desc.disabled, desc.disabled_notice,
        tuple(sv.service_code for sv in desc.services), desc.refreshed_at,
    )


def check_description_url(url: str) -> None:
    if not url or len(url) > 2048:
        raise InvalidInput("a service description needs a URL of at most 2048 characters")


MAX_DESCRIPTION_BYTES = 10 * 1024 * 1024


def default_fetch(url: str) -> bytes:
    """Download a description over HTTP(S): 30 s, no redirects, at most 10 MiB (read as it streams)."""
    import httpx

    if not url.startswith(("http://", "https://")):
        raise InvalidInput(f"description URL {url!r} must be http:// or https://")
    failed = "gateway.serverconf.fetch_failed"
    try:
        with httpx.Client(timeout=30.0, follow_redirects=False, trust_env=False) as client:
            with client.stream("GET", url) as response:
                if response.status_code != 200:
                    raise ServerConfError(f"downloading {url} gave HTTP {response.status_code}", code=failed)
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_DESCRIPTION_BYTES:
                        raise InvalidInput(f"description at {url} is larger than 10 MiB")
                    chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise ServerConfError(f"cannot download {url}: {exc.__class__.__name__}", code=failed) from exc
    return b"".join(chunks)


def wsdl_operations(document: bytes, url: str) -> list[Operation]:
    """Service codes and versions of a WSDL, parsed by :mod:`trust.protocol._wsdl` (the only WSDL reader).

    The backend URL of each operation is the WSDL's ``soap:address`` (X-Road's rule),
    or the WSDL URL when the document names no address.
    """
    from trust.protocol import WsdlError, parse_wsdl

    try:
        description = parse_wsdl(document)
    except WsdlError as exc:
        raise InvalidInput(f"WSDL at {url}: {exc}") from exc
    address = next((e for e in description.endpoints if e), None)
    return [Operation(op.name, op.version, address, op.title) for op in description.operations]


def openapi_description(document: bytes, url: str) -> tuple[list[tuple[str, str]], str | None]:
    """(endpoints, first server URL) of an OpenAPI description, parsed by :mod:`trust.protocol`."""
    from trust.protocol import OpenApiError, parse_openapi

    try:
        description = parse_openapi(document)
    except OpenApiError as exc:
        raise InvalidInput(f"OpenAPI description at {url}: {exc}") from exc
    servers = [u for u in description.server_urls if u.startswith(("http://", "https://")) and "{" not in u]
    return [(e.method, e.path) for e in description.endpoints], (servers[0] if servers else None)


class ServicesMixin:
    """Service, access-right and local-group operations of :class:`gateway.serverconf._conf.ServerConf`."""

    if TYPE_CHECKING:  # provided by ServerConf
        def write(self) -> AbstractContextManager[Session]: ...
        def read(self) -> AbstractContextManager[Session]: ...
        def snapshot(self) -> ConfSnapshot: ...
        def now(self) -> dt.datetime: ...
        def _client_row(self, s: Session, client: ClientId) -> m.Client: ...

    # -- descriptions -------------------------------------------------------------------

    def add_wsdl(
        self,
        provider: ClientId,
        url: str,
        *,
        document: bytes | None = None,
        operations: Sequence[Operation] | None = None,
        fetch: Fetch = default_fetch,
        enabled: bool = False,
        timeout_seconds: int = 60,
        tls_verify: bool = True,
    ) -> DescriptionInfo:
        """Register a WSDL: each operation becomes a service code (with its version)."""
        if operations is None:
            if document is None:
                document = fetch(url)
            operations = wsdl_operations(document, url)
        if not operations:
            raise InvalidInput(f"the WSDL at {url} defines no operations")
        return self._add_description(
            provider, "WSDL", url, operations, document, enabled=enabled, timeout_seconds=timeout_seconds,
            tls_verify=tls_verify,
        )

    def add_rest(
        self,
        provider: ClientId,
        url: str,
        service_code: str,
        *,
        enabled: bool = False,
        timeout_seconds: int = 60,
        tls_verify: bool = True,
        endpoints: Iterable[tuple[str, str]] = (),
    ) -> DescriptionInfo:
        """Register a REST service: one service code whose backend is ``url``."""
        return self._add_description(
            provider, "REST", url, [Operation(service_code, None, url)], None, enabled=enabled,
            timeout_seconds=timeout_seconds, tls_verify=tls_verify, endpoints=endpoints,
        )

    def add_openapi(
        self,
        provider: ClientId,
        url: str,
        service_code: str,
        *,
        backend_url: str | None = None,
        document: bytes | None = None,
        endpoints: Iterable[tuple[str, str]] | None = None,
        fetch: Fetch = default_fetch,
        enabled: bool = False,
        timeout_seconds: int = 60,
        tls_verify: bool = True,
    ) -> DescriptionInfo:
        """Register an OpenAPI service: its paths become endpoints, i.e. access-right targets."""
        if endpoints is None:
            if document is None:
                document = fetch(url)
            endpoints, server_url = openapi_description(document, url)
            backend_url = backend_url or server_url
        return self._add_description(
            provider, "OPENAPI", url, [Operation(service_code, None, backend_url or url)], document,
            enabled=enabled, timeout_seconds=timeout_seconds, tls_verify=tls_verify, endpoints=endpoints,
            generated=True,
        )

    def _add_description(
        self,
        provider: ClientId,
        kind: str,
        url: str,
        operations: Sequence[Operation],
        document: bytes | None,
        *,
        enabled: bool,
        timeout_seconds: int,
        tls_verify: bool,
        endpoints: Iterable[tuple[str, str]] = (),
        generated: bool = False,
    ) -> DescriptionInfo:
        assert kind in SERVICE_KINDS
        check_description_url(url)
        if not isinstance(timeout_seconds, int) or not 1 <= timeout_seconds <= 3600:
            raise InvalidInput("timeout must be a whole number of seconds from 1 to 3600")
        checked_eps = [check_endpoint(meth, path) for meth, path in endpoints]
        seen: set[tuple[str, str | None]] = set()
        for op in operations:
            check_code("service code", op.service_code)
            if op.service_version is not None:
                check_code("service version", op.service_version)
            if (op.service_code, op.service_version) in seen:
                raise InvalidInput(f"service {op.service_code} version {op.service_version} appears twice")
            seen.add((op.service_code, op.service_version))
        notice = None if enabled else "Out of order"
        try:
            with self.write() as s:
                client = self._client_row(s, provider)
                existing = set(
                    s.scalars(select(m.Service.service_code).where(m.Service.client_id == client.id)).all()
                )
                clash = sorted({op.service_code for op in operations} & existing)
                if clash:
                    raise AlreadyExists(f"{provider.typed_text()} already has service code(s) {', '.join(clash)}")
                desc = m.ServiceDescription(
                    client_id=client.id, kind=kind, url=url, disabled=not enabled, disabled_notice=notice,
                    refreshed_at=self.now(), document=document,
                )
                s.add(desc)
                s.flush()
                for op in operations:
                    s.add(
                        m.Service(
                            description_id=desc.id, client_id=client.id, service_code=op.service_code,
                            service_version=op.service_version or "", title=op.title, url=op.url or url,
                            timeout_seconds=timeout_seconds, tls_verify=tls_verify,
                        )
                    )
                    ensure_endpoint(s, client.id, op.service_code, ANY_METHOD, ANY_PATH, generated=True)
                    for meth, path in checked_eps:
                        ensure_endpoint(s, client.id, op.service_code, meth, path, generated=generated)
                desc_id = desc.id
        except AlreadyExists:
            raise
        return DescriptionInfo(desc_id, provider, kind, url, not enabled, notice, tuple(o.service_code for o in operations),
                               self.now())

    def list_descriptions(self, provider: ClientId | None = None) -> list[DescriptionInfo]:
        out = []
        with self.read() as s:
            query = select(m.ServiceDescription, m.Client).join(m.Client)
            if provider is not None:
                query = query.where(m.Client.typed_id == provider.typed_text())
            for desc, _client in s.execute(query.order_by(m.ServiceDescription.id)).all():
                out.append(description_info(desc))
        return out

    def _description_of(self, s: Session, service: ServiceId) -> m.ServiceDescription:
        client = self._client_row(s, service.provider)
        query = select(m.Service).where(m.Service.client_id == client.id, m.Service.service_code == service.service_code)
        if service.service_version is not None:
            query = query.where(m.Service.service_version == service.service_version)
        row = s.scalars(query).first()
        if row is None:
            raise ServiceNotFound(f"service {service.typed_text()} is not configured on this gateway")
        return row.description

    def set_service_enabled(self, service: ServiceId, enabled: bool, notice: str | None = None) -> int:
        """Enable or disable the description holding ``service`` (X-Road toggles descriptions); returns its id."""
        if notice is not None and len(notice) > 1000:
            raise InvalidInput("the disabled notice is longer than 1000 characters")
        with self.write() as s:
            desc = self._description_of(s, service)
            desc.disabled = not enabled
            desc.disabled_notice = None if enabled else (notice or "Out of order")
            return desc.id

    def update_service(
        self,
        service: ServiceId,
        *,
        url: str | None = None,
        timeout_seconds: int | None = None,
        tls_verify: bool | None = None,
        tls_ca_pem: str | None = None,
    ) -> None:
        if timeout_seconds is not None and not 1 <= timeout_seconds <= 3600:
            raise InvalidInput("timeout must be a whole number of seconds from 1 to 3600")
        if tls_ca_pem is not None and "-----BEGIN CERTIFICATE-----" not in tls_ca_pem:
            raise InvalidInput("the backend CA must be PEM certificates")
        with self.write() as s:
            client = self._client_row(s, service.provider)
            rows = s.scalars(
                select(m.Service).where(
                    m.Service.client_id == client.id,
                    m.Service.service_code == service.service_code,
                    m.Service.service_version == (service.service_version or ""),
                )
            ).all()
            if not rows:
                raise ServiceNotFound(f"service {service.typed_text()} is not configured on this gateway")
            for row in rows:
                if url is not None:
                    row.url = url
                if timeout_seconds is not None:
                    row.timeout_seconds = timeout_seconds
                if tls_verify is not None:
                    row.tls_verify = tls_verify
                if tls_ca_pem is not None:
                    row.tls_ca_pem = tls_ca_pem

    def remove_description(self, description_id: int) -> None:
        """Remove a description, its services, and the endpoints and rights of codes no longer offered."""
        with self.write() as s:
            desc = s.get(m.ServiceDescription, description_id)
            if desc is None:
                raise DescriptionNotFound(f"no service description {description_id}")
            codes = {sv.service_code for sv in desc.services}
            client_id = desc.client_id
            s.delete(desc)
            s.flush()
            remaining = set(s.scalars(select(m.Service.service_code).where(m.Service.client_id == client_id)).all())
            gone = codes - remaining
            if gone:
                s.execute(delete(m.Endpoint).where(m.Endpoint.client_id == client_id, m.Endpoint.service_code.in_(gone)))

    def description_document(self, provider: ClientId, service_code: str) -> tuple[str, bytes | None]:
        """(kind, stored document) of the description offering ``service_code`` (getWsdl/getOpenAPI)."""
        with self.read() as s:
            client = self._client_row(s, provider)
            row = s.scalars(
                select(m.Service).where(m.Service.client_id == client.id, m.Service.service_code == service_code)
            ).first()
            if row is None:
                raise ServiceNotFound(f"{provider.typed_text()} has no service {service_code}")
            return row.description.kind, row.description.document
