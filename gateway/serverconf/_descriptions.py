"""Keeping a service description in step with its URL: refresh, URL change (mixed into ``ServerConf``).

X-Road's security server lets the operator re-read a WSDL or OpenAPI description
from its URL ("refresh") and point a description at another URL (which is a
refresh from the new URL). A refresh must not cost the provider its configuration:
services that remain keep their access rights (rights hang on the service code, see
:mod:`gateway.serverconf._rights`), their timeout and TLS settings, and the
description keeps its enabled or disabled state; services that appear are added
under that same state; services that disappear go with their endpoints and rights.
The caller gets what changed, so the operator sees it (X-Road shows the same as
warnings).

Fetching and parsing are those of :mod:`gateway.serverconf._services` (bounded
download, :mod:`trust.protocol` parsers). Everything is decided before the write
transaction opens, so a bad document or an unreachable URL changes nothing.
"""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from gateway.db import schema as m
from ._errors import AlreadyExists, DescriptionNotFound, InvalidInput
from ._rights import ensure_endpoint
from ._services import (
    DescriptionInfo, Fetch, Operation, check_description_url, default_fetch, description_info, openapi_description,
    wsdl_operations,
)
from ._snapshot import ANY_METHOD, ANY_PATH


@dataclass(frozen=True)
class RefreshResult:
    """A description after a refresh, and the service codes it gained, lost or saw changed."""

    description: DescriptionInfo
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]

    @property
    def unchanged(self) -> bool:
        return not (self.added or self.removed or self.changed)


@dataclass(frozen=True)
class _Parsed:
    """What a fetched document offers: its operations and (OpenAPI) its endpoints."""

    operations: tuple[Operation, ...]
    endpoints: tuple[tuple[str, str], ...] | None
    document: bytes


class DescriptionsMixin:
    """Refresh and URL change of :class:`gateway.serverconf._conf.ServerConf` descriptions."""

    if TYPE_CHECKING:  # provided by ServerConf
        def write(self) -> AbstractContextManager[Session]: ...
        def read(self) -> AbstractContextManager[Session]: ...
        def now(self) -> dt.datetime: ...

    def refresh_description(
        self, description_id: int, *, fetch: Fetch = default_fetch, document: bytes | None = None
    ) -> RefreshResult:
        """Read the description's URL again and bring its services in line (REST has nothing to read)."""
        kind, url, codes = self._description_head(description_id)
        parsed = self._parse(kind, url, codes, fetch, document)
        return self._apply(description_id, url, parsed)

    def set_description_url(
        self, description_id: int, url: str, *, fetch: Fetch = default_fetch, document: bytes | None = None
    ) -> RefreshResult:
        """Point a description at ``url``: WSDL and OpenAPI are read from it (a refresh); REST services move there."""
        check_description_url(url)
        kind, _old, codes = self._description_head(description_id)
        if kind == "REST":
            with self.write() as s:
                desc = self._desc_row(s, description_id)
                desc.url = url
                for service in desc.services:
                    service.url = url
                return RefreshResult(description_info(desc), (), (), ())
        parsed = self._parse(kind, url, codes, fetch, document)
        return self._apply(description_id, url, parsed)

    # -- steps --------------------------------------------------------------------------

    def _desc_row(self, s: Session, description_id: int) -> m.ServiceDescription:
        desc = s.get(m.ServiceDescription, description_id)
        if desc is None:
            raise DescriptionNotFound(f"no service description {description_id}")
        return desc

    def _description_head(self, description_id: int) -> tuple[str, str, tuple[str, ...]]:
        with self.read() as s:
            desc = self._desc_row(s, description_id)
            return desc.kind, desc.url, tuple(sv.service_code for sv in desc.services)

    @staticmethod
    def _parse(kind: str, url: str, codes: Sequence[str], fetch: Fetch, document: bytes | None) -> _Parsed:
        if kind == "REST":
            raise InvalidInput("a REST service has no description to refresh; change its URL instead")
        data = fetch(url) if document is None else document
        if kind == "WSDL":
            operations = wsdl_operations(data, url)
            if not operations:
                raise InvalidInput(f"the WSDL at {url} defines no operations")
            return _Parsed(tuple(operations), None, data)
        endpoints, server_url = openapi_description(data, url)
        # an OpenAPI description is one service; its code is the operator's, not the document's
        return _Parsed((Operation(codes[0], None, server_url),), tuple(endpoints), data)

    def _apply(self, description_id: int, url: str, parsed: _Parsed) -> RefreshResult:
        """One transaction: services updated, added and removed; rights of remaining codes untouched."""
        with self.write() as s:
            desc = self._desc_row(s, description_id)
            old = {sv.service_code: sv for sv in desc.services}
            new = {op.service_code: op for op in parsed.operations}
            others = set(
                s.scalars(
                    select(m.Service.service_code).where(
                        m.Service.client_id == desc.client_id, m.Service.description_id != desc.id
                    )
                ).all()
            )
            clash = sorted(set(new) & others)
            if clash:
                raise AlreadyExists(f"another description of this client already has service code(s) {', '.join(clash)}")
            removed = sorted(set(old) - set(new))
            added = sorted(set(new) - set(old))
            changed = []
            documented = _documented_backends(desc.kind, desc.document, desc.url, tuple(old))
            for code in sorted(set(old) & set(new)):
                row, op = old[code], new[code]
                backend = op.url or (row.url if desc.kind == "OPENAPI" else url)
                if documented.get(code) != row.url:
                    backend = row.url  # the operator chose this backend (--backend, service update): it stays
                if (row.service_version or None, row.title, row.url) != (op.service_version, op.title, backend):
                    changed.append(code)
                row.service_version, row.title, row.url = op.service_version or "", op.title, backend
            template = next(iter(old.values()), None)
            for code in removed:
                s.delete(old[code])
            for code in added:
                op = new[code]
                s.add(m.Service(
                    description_id=desc.id, client_id=desc.client_id, service_code=code,
                    service_version=op.service_version or "", title=op.title, url=op.url or url,
                    timeout_seconds=template.timeout_seconds if template else 60,
                    tls_verify=template.tls_verify if template else True,
                ))
                ensure_endpoint(s, desc.client_id, code, ANY_METHOD, ANY_PATH, generated=True)
            s.flush()
            if removed:
                s.execute(delete(m.Endpoint).where(m.Endpoint.client_id == desc.client_id,
                                                   m.Endpoint.service_code.in_(removed)))
            if parsed.endpoints is not None:
                changed_eps = _sync_endpoints(s, desc.client_id, next(iter(new)), parsed.endpoints)
                if changed_eps and next(iter(new)) not in changed:
                    changed.append(next(iter(new)))
            desc.url, desc.document, desc.refreshed_at = url, parsed.document, self.now()
            s.flush()
            s.refresh(desc)
            return RefreshResult(description_info(desc), tuple(added), tuple(removed), tuple(changed))


def _documented_backends(kind: str, document: bytes | None, url: str, codes: Sequence[str]) -> dict[str, str | None]:
    """The backend URL the stored (previous) document gave each code; empty when none is stored or it fails."""
    if document is None or not codes:
        return {}
    try:
        if kind == "WSDL":
            return {op.service_code: op.url or url for op in wsdl_operations(document, url)}
        return {codes[0]: openapi_description(document, url)[1] or url}
    except InvalidInput:
        return {}


def _sync_endpoints(s: Session, client_id: int, code: str, endpoints: Sequence[tuple[str, str]]) -> bool:
    """Make the generated endpoints of ``code`` those of the document; the operator's own stay. True if any changed."""
    from ._rights import check_endpoint

    wanted = {check_endpoint(meth, path) for meth, path in endpoints}
    rows = s.scalars(select(m.Endpoint).where(m.Endpoint.client_id == client_id, m.Endpoint.service_code == code)).all()
    have = {(e.method, e.path) for e in rows}
    changed = False
    for row in rows:
        if row.generated and (row.method, row.path) != (ANY_METHOD, ANY_PATH) and (row.method, row.path) not in wanted:
            s.delete(row)  # its rights go with it (ON DELETE CASCADE)
            changed = True
    for meth, path in sorted(wanted - have):
        ensure_endpoint(s, client_id, code, meth, path, generated=True)
        changed = True
    return changed
