"""Endpoints, access rights and local groups (mixed into ``ServerConf``).

An access right joins a *subject* (member, subsystem, global group or one of the
provider's local groups) to an *endpoint* of a provider's service code: the base
endpoint ``* **`` for the whole service, or a REST method and path pattern. Versions
never appear: rights are per service code, as in X-Road. Reads go through the
snapshot; every write is one transaction of :meth:`ServerConf.write`.
"""

from __future__ import annotations

import datetime as dt
import re
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from trust.protocol import AnyId, ClientId, LocalGroupId

from gateway.db import schema as m
from ._errors import (
    AccessRightNotFound, AlreadyExists, InvalidInput, LocalGroupNotFound, NotFound, ServiceNotFound,
)
from ._grants import NO_TERMS, GrantTerms, make_terms
from ._snapshot import ANY_METHOD, ANY_PATH, AccessRightInfo, ConfSnapshot, LocalGroupInfo

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", ANY_METHOD)
_PATH_TRAP = re.compile(r"%(2e|2f|5c|25|00)", re.IGNORECASE)
_CODE = re.compile(r"^[A-Za-z0-9'()+,\-.=?_~!*$&@]{1,255}$")


def ensure_endpoint(s: Session, client_id: int, code: str, method: str, path: str, *, generated: bool) -> m.Endpoint:
    """The endpoint row, created when missing (every service has its base endpoint ``* **``)."""
    row = find_endpoint(s, client_id, code, method, path)
    if row is None:
        row = m.Endpoint(client_id=client_id, service_code=code, method=method, path=path, generated=generated)
        s.add(row)
        s.flush()
    return row


def find_endpoint(s: Session, client_id: int, code: str, method: str, path: str) -> m.Endpoint | None:
    return s.scalar(
        select(m.Endpoint).where(
            m.Endpoint.client_id == client_id, m.Endpoint.service_code == code,
            m.Endpoint.method == method, m.Endpoint.path == path,
        )
    )


def require_code(s: Session, client: m.Client, service_code: str) -> None:
    found = s.scalar(
        select(m.Service.id).where(m.Service.client_id == client.id, m.Service.service_code == service_code).limit(1)
    )
    if found is None:
        raise ServiceNotFound(f"{client.typed_id} has no service {service_code}")


def check_endpoint(method: str, path: str) -> tuple[str, str]:
    method = (method or "").upper()
    if method not in HTTP_METHODS:
        raise InvalidInput(f"endpoint method must be one of {', '.join(HTTP_METHODS)}, not {method!r}")
    if path != ANY_PATH and not path.startswith("/"):
        raise InvalidInput(f"endpoint path {path!r} must start with '/' (or be '**' for every path)")
    if any(ch.isspace() for ch in path) or len(path) > 2048:
        raise InvalidInput(f"endpoint path {path!r} must be at most 2048 characters without white space")
    if _PATH_TRAP.search(path) or any(seg in (".", "..") for seg in path.split("/")):
        # such a pattern could only match paths the gateways refuse (see trust.protocol.check_service_path)
        raise InvalidInput(f"endpoint path {path!r} must not contain '.' or '..' segments or encoded "
                           f"dots, slashes, backslashes, percent signs or NUL")
    return method, path


def check_code(what: str, value: str) -> str:
    if not isinstance(value, str) or not _CODE.match(value):
        raise InvalidInput(f"{what} {value!r} must be 1-255 characters of A-Z a-z 0-9 ' ( ) + , - . = ? _ ~")
    return value


class RightsMixin:
    """Endpoint, access-right and local-group operations of :class:`gateway.serverconf._conf.ServerConf`."""

    if TYPE_CHECKING:  # provided by ServerConf
        def write(self) -> AbstractContextManager[Session]: ...
        def snapshot(self) -> ConfSnapshot: ...
        def now(self) -> dt.datetime: ...
        def _client_row(self, s: Session, client: ClientId) -> m.Client: ...

    # -- endpoints and access rights ------------------------------------------------------

    def add_endpoint(self, provider: ClientId, service_code: str, method: str, path: str) -> None:
        method, path = check_endpoint(method, path)
        with self.write() as s:
            client = self._client_row(s, provider)
            require_code(s, client, service_code)
            if find_endpoint(s, client.id, service_code, method, path) is not None:
                raise AlreadyExists(f"endpoint {method} {path} of {service_code} already exists")
            ensure_endpoint(s, client.id, service_code, method, path, generated=False)

    def grant(
        self, provider: ClientId, service_code: str, subject: AnyId, *, method: str = ANY_METHOD, path: str = ANY_PATH,
        terms: GrantTerms = NO_TERMS,
    ) -> None:
        """Allow ``subject`` to call ``service_code`` of ``provider`` (REST: one endpoint of it),
        for ``terms.purposes`` only and within ``terms``' window when given (issue 20; build
        them with :func:`gateway.serverconf._grants.make_terms`)."""
        method, path = check_endpoint(method, path)
        terms = make_terms(terms.purposes, terms.valid_from, terms.valid_until)
        try:
            with self.write() as s:
                client = self._client_row(s, provider)
                require_code(s, client, service_code)
                self._check_subject(s, client, subject)
                ep = find_endpoint(s, client.id, service_code, method, path)
                if ep is None:
                    raise NotFound(
                        f"{service_code} has no endpoint {method} {path}; add it first", code="gateway.serverconf.endpoint_not_found"
                    )
                s.add(m.AccessRight(client_id=client.id, endpoint_id=ep.id, subject=subject.typed_text(),
                                    granted_at=self.now(), purposes=terms.purposes_json(),
                                    valid_from=terms.valid_from, valid_until=terms.valid_until))
        except AlreadyExists as exc:
            raise AlreadyExists(
                f"{subject.typed_text()} already has access to {service_code} {method} {path}"
            ) from exc

    def _check_subject(self, s: Session, client: m.Client, subject: AnyId) -> None:
        if isinstance(subject, LocalGroupId):
            found = s.scalar(select(m.LocalGroup.id).where(m.LocalGroup.client_id == client.id, m.LocalGroup.code == subject.group_code))
            if found is None:
                raise LocalGroupNotFound(f"{client.typed_id} has no local group {subject.group_code}")

    def revoke(
        self, provider: ClientId, service_code: str, subject: AnyId, *, method: str = ANY_METHOD, path: str = ANY_PATH
    ) -> None:
        method, path = check_endpoint(method, path)
        with self.write() as s:
            client = self._client_row(s, provider)
            ep = find_endpoint(s, client.id, service_code, method, path)
            right = None
            if ep is not None:
                right = s.scalar(
                    select(m.AccessRight).where(m.AccessRight.endpoint_id == ep.id, m.AccessRight.subject == subject.typed_text())
                )
            if right is None:
                raise AccessRightNotFound(f"{subject.typed_text()} has no right on {service_code} {method} {path}")
            s.delete(right)

    def list_rights(self, provider: ClientId | None = None, service_code: str | None = None) -> list[AccessRightInfo]:
        out: list[AccessRightInfo] = []
        for (p, code), rights in self.snapshot().rights.items():
            if (provider is None or p == provider) and (service_code is None or code == service_code):
                out.extend(rights)
        return sorted(out, key=lambda r: (r.provider.typed_text(), r.service_code, r.endpoint.method, r.endpoint.path, r.subject.typed_text()))

    # -- local groups ---------------------------------------------------------------------------

    def add_local_group(self, owner: ClientId, code: str, description: str = "") -> None:
        check_code("group code", code)
        try:
            with self.write() as s:
                client = self._client_row(s, owner)
                s.add(m.LocalGroup(client_id=client.id, code=code, description=description, updated_at=self.now()))
        except AlreadyExists as exc:
            raise AlreadyExists(f"{owner.typed_text()} already has a local group {code}") from exc

    def _group_row(self, s: Session, owner: ClientId, code: str) -> m.LocalGroup:
        client = self._client_row(s, owner)
        row = s.scalar(select(m.LocalGroup).where(m.LocalGroup.client_id == client.id, m.LocalGroup.code == code))
        if row is None:
            raise LocalGroupNotFound(f"{owner.typed_text()} has no local group {code}")
        return row

    def remove_local_group(self, owner: ClientId, code: str) -> None:
        """Delete the group and the access rights granted to it."""
        with self.write() as s:
            group = self._group_row(s, owner, code)
            s.execute(
                delete(m.AccessRight).where(
                    m.AccessRight.client_id == group.client_id, m.AccessRight.subject == LocalGroupId(code).typed_text()
                )
            )
            s.delete(group)

    def add_group_members(self, owner: ClientId, code: str, members: Iterable[ClientId]) -> None:
        try:
            with self.write() as s:
                group = self._group_row(s, owner, code)
                for member in members:
                    s.add(m.LocalGroupMember(group_id=group.id, member=member.typed_text(), added_at=self.now()))
                group.updated_at = self.now()
        except AlreadyExists as exc:
            raise AlreadyExists(f"a member is already in local group {code}") from exc

    def remove_group_members(self, owner: ClientId, code: str, members: Iterable[ClientId]) -> None:
        with self.write() as s:
            group = self._group_row(s, owner, code)
            for member in members:
                row = s.scalar(
                    select(m.LocalGroupMember).where(
                        m.LocalGroupMember.group_id == group.id, m.LocalGroupMember.member == member.typed_text()
                    )
                )
                if row is None:
                    raise NotFound(f"{member.typed_text()} is not in local group {code}")
                s.delete(row)
            group.updated_at = self.now()

    def list_local_groups(self, owner: ClientId | None = None) -> list[LocalGroupInfo]:
        groups = self.snapshot().local_groups.values()
        return sorted(
            (g for g in groups if owner is None or g.owner == owner), key=lambda g: (g.owner.typed_text(), g.code)
        )
