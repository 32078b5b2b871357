"""Server configuration of one gateway: identity, clients, services, access rights, groups.

Writes are short transactions that end by incrementing the change counter; reads on
the hot path go through :meth:`ServerConf.snapshot`, an immutable in-memory copy
rebuilt only when the counter moved (see :mod:`gateway.serverconf._snapshot`).

Semantics follow X-Road's security server:

* a client is a member or subsystem with a registration state and an IS
  authentication mode (``http``: plain HTTP or HTTPS, optionally only from listed
  networks; ``https``: TLS required; ``https-cert``: TLS with one of the registered
  IS certificates);
* services come from a *service description*: a WSDL (each operation becomes a
  service code with its version), a REST base URL (one service code) or an OpenAPI
  description (one service code whose endpoints become targets of access rights);
  a description is enabled or disabled as a whole (with a notice for callers), and
  new descriptions start disabled, as in X-Road, unless ``enabled=True``;
* access rights are granted per service *code* (never per version) or, for REST,
  per endpoint; every service has a base endpoint ``* **`` meaning the whole service.

Editing (services, rights, groups) lives in :mod:`gateway.serverconf._services`; this
module holds clients, identity and the snapshot machinery.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from typing import Callable, Iterator

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from trust.errors import IdentifierError
from trust.infra import record_in_transaction, utc_now
from trust.protocol import ClientId, SecurityServerId, ServiceId, SubsystemId

from gateway.db import schema as m
from ._errors import AlreadyExists, ClientNotFound, IdentityNotSet, InvalidInput, NotFound, ServerConfError
from ._parse import cert_sha256, parse_client_text, parse_networks, parse_subject
from ._grants import stored_terms
from ._descriptions import DescriptionsMixin
from ._rights import RightsMixin
from ._services import DescriptionInfo, Operation, ServicesMixin

__all__ = ["DescriptionInfo", "Operation", "RightsMixin", "ServerConf", "ServicesMixin"]
from ._snapshot import (
    CLIENT_STATES, IS_AUTH_MODES, AccessRightInfo, ClientInfo, ConfSnapshot, EndpointInfo, LocalGroupInfo,
    ServiceInfo,
)

Clock = Callable[[], dt.datetime]


class ServerConf(ServicesMixin, DescriptionsMixin, RightsMixin):
    """Transactional server configuration on one database, with a cached snapshot."""

    def __init__(self, engine: Engine, *, clock: Clock = utc_now, refresh_interval: float = 1.0) -> None:
        self.engine = engine
        self.clock = clock
        self.refresh_interval = refresh_interval
        self._lock = threading.Lock()
        self._snapshot: ConfSnapshot | None = None
        self._checked_at = 0.0

    # -- transactions -----------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction that bumps the change counter (and records the action under way in the audit log)."""
        try:
            with Session(self.engine, expire_on_commit=False) as session, session.begin():
                yield session
                session.flush()
                session.execute(update(m.ConfState).where(m.ConfState.id == 1).values(counter=m.ConfState.counter + 1))
                # the administrative action under way (API call, CLI command) commits with its change
                action = record_in_transaction(session.connection(), m.AuditRecord.__table__)
            if action is not None:
                action.written = True
        except IntegrityError as exc:
            raise AlreadyExists(f"conflicts with existing configuration: {_constraint(exc)}") from exc
        except OperationalError as exc:
            raise ServerConfError(
                f"the configuration database is unavailable or busy: {_constraint(exc)}",
                code="gateway.serverconf.database_unavailable",
            ) from exc
        finally:
            self._checked_at = 0.0  # our own change is visible at once

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    def now(self) -> dt.datetime:
        moment = self.clock()
        if moment.tzinfo is None:
            raise InvalidInput("the clock returned a naive datetime")
        return moment

    # -- identity -----------------------------------------------------------------

    def set_identity(self, server: SecurityServerId) -> None:
        with self.write() as s:
            row = s.get(m.ServerIdentity, 1)
            if row is None:
                row = m.ServerIdentity(id=1)
                s.add(row)
            row.instance, row.member_class = server.instance, server.member_class
            row.member_code, row.server_code = server.member_code, server.server_code

    def identity(self) -> SecurityServerId:
        ident = self.snapshot().identity
        if ident is None:
            raise IdentityNotSet("the gateway has no identity yet (run `sild gateway init`)")
        return ident

    # -- clients --------------------------------------------------------------------

    def _client_row(self, s: Session, client: ClientId) -> m.Client:
        row = s.scalar(select(m.Client).where(m.Client.typed_id == client.typed_text()))
        if row is None:
            raise ClientNotFound(f"client {client.typed_text()} is not configured on this gateway")
        return row

    def add_client(
        self,
        client: ClientId,
        *,
        is_auth: str = "http",
        allowed_addresses: tuple[str, ...] | list[str] = (),
        state: str = "SAVED",
    ) -> ClientInfo:
        if is_auth not in IS_AUTH_MODES:
            raise InvalidInput(f"IS authentication must be one of {', '.join(IS_AUTH_MODES)}, not {is_auth!r}")
        if state not in CLIENT_STATES:
            raise InvalidInput(f"client state must be one of {', '.join(CLIENT_STATES)}, not {state!r}")
        try:
            client.check_strict()
        except IdentifierError as exc:
            raise InvalidInput(str(exc)) from exc
        nets = parse_networks(tuple(allowed_addresses))
        try:
            with self.write() as s:
                s.add(
                    m.Client(
                        typed_id=client.typed_text(),
                        instance=client.instance,
                        member_class=client.member_class,
                        member_code=client.member_code,
                        subsystem_code=getattr(client, "subsystem_code", None),
                        state=state,
                        is_auth=is_auth,
                        allowed_addresses=json.dumps([str(n) for n in nets]),
                        created_at=self.now(),
                    )
                )
        except AlreadyExists as exc:
            raise AlreadyExists(f"client {client.typed_text()} already exists") from exc
        return ClientInfo(client, state, is_auth, nets)

    def set_client_state(self, client: ClientId, state: str) -> None:
        if state not in CLIENT_STATES:
            raise InvalidInput(f"client state must be one of {', '.join(CLIENT_STATES)}, not {state!r}")
        with self.write() as s:
            self._client_row(s, client).state = state

    def set_body_logging(self, client: ClientId, logged: bool | None) -> None:
        """Log message bodies to ``client``'s services (True), only their X-Road headers (False), or as set (None).

        X-Road keeps such overrides per subsystem (``enabled-`` / ``disabled-body-logging-
        local-producer-subsystems``); here they live beside the client, so every node of
        a cluster reads the same and a change reaches the proxies with the snapshot.
        """
        if not isinstance(client, SubsystemId):
            raise InvalidInput("message-body logging is set per subsystem (as in X-Road), not per member")
        with self.write() as s:
            self._client_row(s, client).body_logging = logged

    def set_client_auth(
        self, client: ClientId, is_auth: str, allowed_addresses: tuple[str, ...] | list[str] | None = None
    ) -> None:
        if is_auth not in IS_AUTH_MODES:
            raise InvalidInput(f"IS authentication must be one of {', '.join(IS_AUTH_MODES)}, not {is_auth!r}")
        with self.write() as s:
            row = self._client_row(s, client)
            row.is_auth = is_auth
            if allowed_addresses is not None:
                row.allowed_addresses = json.dumps([str(n) for n in parse_networks(tuple(allowed_addresses))])

    def add_client_cert(self, client: ClientId, cert: bytes) -> str:
        """Register an IS TLS certificate (PEM or DER) for ``https-cert``; returns its SHA-256 hex."""
        digest, der = cert_sha256(cert)
        try:
            with self.write() as s:
                row = self._client_row(s, client)
                s.add(m.IsCert(client_id=row.id, sha256=digest, der=der))
        except AlreadyExists as exc:
            raise AlreadyExists(f"certificate {digest} is already registered for {client.typed_text()}") from exc
        return digest

    def remove_client_cert(self, client: ClientId, sha256_hex: str) -> None:
        with self.write() as s:
            row = self._client_row(s, client)
            cert = s.scalar(select(m.IsCert).where(m.IsCert.client_id == row.id, m.IsCert.sha256 == sha256_hex.lower()))
            if cert is None:
                raise NotFound(f"no IS certificate {sha256_hex} for {client.typed_text()}")
            s.delete(cert)

    def remove_client(self, client: ClientId) -> None:
        with self.write() as s:
            s.delete(self._client_row(s, client))

    def list_clients(self) -> list[ClientInfo]:
        snap = self.snapshot()
        return sorted(snap.clients.values(), key=lambda c: c.id.typed_text())

    # -- snapshot -------------------------------------------------------------------

    def counter(self) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(select(m.ConfState.counter).where(m.ConfState.id == 1)).scalar()
        return int(value or 0)

    def snapshot(self) -> ConfSnapshot:
        """The current configuration; one counter query at most per ``refresh_interval``."""
        snap = self._snapshot
        if snap is not None and time.monotonic() - self._checked_at < self.refresh_interval:
            return snap
        with self._lock:
            snap = self._snapshot
            current = self.counter()
            if snap is None or snap.counter != current:
                snap = self._build()
                self._snapshot = snap
            self._checked_at = time.monotonic()
            return snap

    def _build(self) -> ConfSnapshot:
        with Session(self.engine) as s, s.begin():
            # one read transaction: the counter and the rows belong together
            counter = int(s.execute(select(m.ConfState.counter).where(m.ConfState.id == 1)).scalar() or 0)
            identity = _read_identity(s)
            clients, by_row = _read_clients(s)
            services = _read_services(s, by_row)
            endpoints, rights = _read_endpoints_and_rights(s, by_row)
            groups = _read_groups(s, by_row)
        return ConfSnapshot(
            counter,
            identity,
            clients,
            services,
            {k: tuple(v) for k, v in endpoints.items()},
            {k: tuple(v) for k, v in rights.items()},
            groups,
        )


# -- reading one snapshot: a step per table family, all in the caller's transaction --------


def _read_identity(s: Session) -> SecurityServerId | None:
    ident_row = s.get(m.ServerIdentity, 1)
    return (
        SecurityServerId(ident_row.instance, ident_row.member_class, ident_row.member_code, ident_row.server_code)
        if ident_row
        else None
    )


def _read_clients(s: Session) -> tuple[dict[ClientId, ClientInfo], dict[int, ClientId]]:
    """The clients by identifier, and the identifier of each client row (other tables refer to rows)."""
    clients: dict[ClientId, ClientInfo] = {}
    by_row: dict[int, ClientId] = {}
    certs: dict[int, set[str]] = defaultdict(set)
    for c in s.scalars(select(m.IsCert)):
        certs[c.client_id].add(c.sha256)
    for row in s.scalars(select(m.Client)):
        cid = parse_client_text(row.typed_id)
        by_row[row.id] = cid
        clients[cid] = ClientInfo(
            cid,
            row.state,
            row.is_auth,
            parse_networks(json.loads(row.allowed_addresses)),
            frozenset(certs.get(row.id, ())),
            row.body_logging,
        )
    return clients, by_row


def _read_services(s: Session, by_row: dict[int, ClientId]) -> dict[tuple[ClientId, str, str | None], ServiceInfo]:
    """Every service with what its description says (kind, disabled, source URL)."""
    descs = {d.id: d for d in s.scalars(select(m.ServiceDescription))}
    services: dict[tuple[ClientId, str, str | None], ServiceInfo] = {}
    for sv in s.scalars(select(m.Service)):
        provider = by_row[sv.client_id]
        d = descs[sv.description_id]
        version = sv.service_version or None
        sid = ServiceId(
            provider.instance,
            provider.member_class,
            provider.member_code,
            getattr(provider, "subsystem_code", None),
            sv.service_code,
            version,
        )
        services[(provider, sv.service_code, version)] = ServiceInfo(
            sid,
            d.kind,
            sv.url,
            sv.timeout_seconds,
            sv.tls_verify,
            sv.tls_ca_pem,
            d.disabled,
            d.disabled_notice,
            d.id,
            d.url,
            sv.title,
        )
    return services


def _read_endpoints_and_rights(
    s: Session, by_row: dict[int, ClientId]
) -> tuple[dict[tuple[ClientId, str], list[EndpointInfo]], dict[tuple[ClientId, str], list[AccessRightInfo]]]:
    """Endpoints by (provider, service code), and the access rights granted on them."""
    endpoints: dict[tuple[ClientId, str], list[EndpointInfo]] = defaultdict(list)
    ep_by_id: dict[int, tuple[ClientId, EndpointInfo]] = {}
    for e in s.scalars(select(m.Endpoint)):
        info = EndpointInfo(e.id, e.service_code, e.method, e.path, e.generated)
        endpoints[(by_row[e.client_id], e.service_code)].append(info)
        ep_by_id[e.id] = (by_row[e.client_id], info)
    rights: dict[tuple[ClientId, str], list[AccessRightInfo]] = defaultdict(list)
    for r in s.scalars(select(m.AccessRight)):
        provider, ep = ep_by_id[r.endpoint_id]
        rights[(provider, ep.service_code)].append(
            AccessRightInfo(provider, ep.service_code, ep, parse_subject(r.subject),
                            stored_terms(r.purposes, r.valid_from, r.valid_until))
        )
    return endpoints, rights


def _read_groups(s: Session, by_row: dict[int, ClientId]) -> dict[tuple[ClientId, str], LocalGroupInfo]:
    members: dict[int, set[ClientId]] = defaultdict(set)
    for gm in s.scalars(select(m.LocalGroupMember)):
        members[gm.group_id].add(parse_client_text(gm.member))
    groups: dict[tuple[ClientId, str], LocalGroupInfo] = {}
    for g in s.scalars(select(m.LocalGroup)):
        owner = by_row[g.client_id]
        groups[(owner, g.code)] = LocalGroupInfo(owner, g.code, g.description, frozenset(members.get(g.id, ())))
    return groups


def _constraint(exc: IntegrityError | OperationalError) -> str:
    text = str(exc.orig) if exc.orig is not None else str(exc)
    return text.splitlines()[0][:200]
