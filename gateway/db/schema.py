"""SQLAlchemy tables of one gateway: server configuration, message log, monitoring.

One ``MetaData`` holds every table so one alembic chain migrates them all; a node may
still point the message log at a database of its own (X-Road keeps the message log per
node while server configuration is shared by a cluster), in which case the unused
tables of that database simply stay empty.

Identifiers are stored as their typed text (``SUBSYSTEM:EE/GOV/70000001/tax``) next to
the decomposed parts where a query needs them. Times are stored as timezone-aware UTC
(``DateTime(timezone=True)``); SQLite keeps them as text, PostgreSQL as ``timestamptz``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from trust.accounts import AccountTables, account_tables
from trust.infra import AuditColumns, UtcDateTime

# BIGINT autoincrement works as INTEGER PRIMARY KEY (rowid) on SQLite only as INTEGER.
_BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


# -- server configuration -------------------------------------------------------


class ConfState(Base):
    """One row: the change counter every configuration write increments."""

    __tablename__ = "conf_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    counter: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class ServerIdentity(Base):
    __tablename__ = "server_identity"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance: Mapped[str] = mapped_column(String(255), nullable=False)
    member_class: Mapped[str] = mapped_column(String(255), nullable=False)
    member_code: Mapped[str] = mapped_column(String(255), nullable=False)
    server_code: Mapped[str] = mapped_column(String(255), nullable=False)


class Client(Base):
    """A member or subsystem this gateway serves."""

    __tablename__ = "client"
    __table_args__ = (UniqueConstraint("typed_id", name="uq_client_typed_id"),)
    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    typed_id: Mapped[str] = mapped_column(String(1100), nullable=False)
    instance: Mapped[str] = mapped_column(String(255), nullable=False)
    member_class: Mapped[str] = mapped_column(String(255), nullable=False)
    member_code: Mapped[str] = mapped_column(String(255), nullable=False)
    subsystem_code: Mapped[str | None] = mapped_column(String(255), nullable=True)
    state: Mapped[str] = mapped_column(String(40), nullable=False)
    is_auth: Mapped[str] = mapped_column(String(20), nullable=False)
    # JSON list of IP networks an ``http`` IS may connect from (empty = any)
    allowed_addresses: Mapped[str] = mapped_column(Text, nullable=False, default="[]")
    # message-body logging for messages to this client's services: None = the gateway's setting
    body_logging: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)

    certs: Mapped[list[IsCert]] = relationship(back_populates="client", cascade="all, delete-orphan")
    descriptions: Mapped[list[ServiceDescription]] = relationship(
        back_populates="client", cascade="all, delete-orphan"
    )


class IsCert(Base):
    """A TLS client certificate of an information system (``https-cert`` mode)."""

    __tablename__ = "is_cert"
    __table_args__ = (UniqueConstraint("client_id", "sha256", name="uq_is_cert"),)
    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    der: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    client: Mapped[Client] = relationship(back_populates="certs")


class ServiceDescription(Base):
    """Where services come from: a WSDL, a REST base URL or an OpenAPI description."""

    __tablename__ = "service_description"
    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)  # WSDL | REST | OPENAPI
    url: Mapped[str] = mapped_column(Text, nullable=False)
    disabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    disabled_notice: Mapped[str | None] = mapped_column(Text, nullable=True)
    refreshed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    # the description document itself (WSDL or OpenAPI text), for getWsdl/getOpenAPI
    document: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)

    client: Mapped[Client] = relationship(back_populates="descriptions")
    services: Mapped[list[Service]] = relationship(back_populates="description", cascade="all, delete-orphan")


class Service(Base):
    __tablename__ = "service"
    __table_args__ = (UniqueConstraint("client_id", "service_code", "service_version", name="uq_service"),)
    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    description_id: Mapped[int] = mapped_column(
        ForeignKey("service_description.id", ondelete="CASCADE"), nullable=False
    )
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), nullable=False)
    service_code: Mapped[str] = mapped_column(String(255), nullable=False)
    # '' when the service has no version (NULLs are never equal in a unique constraint)
    service_version: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    title: Mapped[str | None] = mapped_column(Text, nullable=True)
    url: Mapped[str] = mapped_column(Text, nullable=False)
    timeout_seconds: Mapped[int] = mapped_column(Integer, nullable=False, default=60)
    tls_verify: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    tls_ca_pem: Mapped[str | None] = mapped_column(Text, nullable=True)

    description: Mapped[ServiceDescription] = relationship(back_populates="services")


class Endpoint(Base):
    """A REST endpoint (method + path pattern) of a service code; ``*`` ``**`` = whole service."""

    __tablename__ = "endpoint"
    __table_args__ = (UniqueConstraint("client_id", "service_code", "method", "path", name="uq_endpoint"),)
    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), nullable=False)
    service_code: Mapped[str] = mapped_column(String(255), nullable=False)
    method: Mapped[str] = mapped_column(String(10), nullable=False)
    path: Mapped[str] = mapped_column(Text, nullable=False)
    generated: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class AccessRight(Base):
    """``subject`` may call ``service_code`` (REST: the endpoint) of client ``client_id``."""

    __tablename__ = "access_right"
    __table_args__ = (UniqueConstraint("endpoint_id", "subject", name="uq_access_right"),)
    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), nullable=False)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("endpoint.id", ondelete="CASCADE"), nullable=False)
    subject: Mapped[str] = mapped_column(String(1100), nullable=False)  # typed text
    granted_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    # issue 20: optional terms (gateway.serverconf._grants): JSON list of purpose codes, window
    purposes: Mapped[str | None] = mapped_column(Text, nullable=True)
    valid_from: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    valid_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class LocalGroup(Base):
    __tablename__ = "local_group"
    __table_args__ = (UniqueConstraint("client_id", "code", name="uq_local_group"),)
    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), nullable=False)
    code: Mapped[str] = mapped_column(String(255), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)


class LocalGroupMember(Base):
    __tablename__ = "local_group_member"
    __table_args__ = (UniqueConstraint("group_id", "member", name="uq_local_group_member"),)
    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("local_group.id", ondelete="CASCADE"), nullable=False)
    member: Mapped[str] = mapped_column(String(1100), nullable=False)  # typed text of a client
    added_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)


class ApiKey(Base):
    """Admin API key: only a SHA-256 of the secret is stored."""

    __tablename__ = "api_key"
    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    key_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    roles: Mapped[str] = mapped_column(Text, nullable=False)  # comma separated
    label: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    revoked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class AuditRecord(AuditColumns, Base):
    """One administrative action (API call or CLI command): append-only, hash-chained (:mod:`trust.infra`)."""

    __tablename__ = "audit_log"


# the admin web UI's users, sessions and failed logins (trust.accounts; migration 0004)
UI_ACCOUNTS: AccountTables = account_tables(Base.metadata, "gateway_ui")


# -- message log --------------------------------------------------------------------


class LogRecord(Base):
    """One message (request or response) as seen by this gateway on one side.

    Append-only on the hot path: timestamping and archiving write to their own tables,
    so they never update (or lock rows of) this one.
    """

    __tablename__ = "ml_record"
    __table_args__ = (
        Index("ix_ml_record_query", "query_id"),
        Index("ix_ml_record_time", "logged_at"),
        # ids never reused after retention deletes rows (archives refer to id ranges)
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    logged_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    query_id: Mapped[str] = mapped_column(String(255), nullable=False)
    x_request_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    client_id: Mapped[str] = mapped_column(String(1100), nullable=False)
    service_id: Mapped[str] = mapped_column(String(1100), nullable=False)
    side: Mapped[str] = mapped_column(String(10), nullable=False)  # client | server (proxy side)
    direction: Mapped[str] = mapped_column(String(10), nullable=False)  # request | response
    kind: Mapped[str] = mapped_column(String(10), nullable=False)  # SOAP | REST
    message: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    body: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # REST body
    body_logged: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    signature: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    signature_hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)  # SHA-512 of signature
    hash_chain_result: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    hash_chain: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # JSON: [{"name": .., "content_type": .., "sha512": ..}] of attachments; data in ml_attachment
    attachments: Mapped[str] = mapped_column(Text, nullable=False, default="[]")
    # issue 20: the purpose the client declared (also inside the signed message itself)
    purpose: Mapped[str | None] = mapped_column(String(64), nullable=True)


class LogAttachment(Base):
    __tablename__ = "ml_attachment"
    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("ml_record.id", ondelete="CASCADE"), nullable=False, index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class LogTimestamp(Base):
    """One RFC 3161 token over one record (single) or a batch (hash-chain result)."""

    __tablename__ = "ml_timestamp"
    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    stamped_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    token: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    hash_chain_result: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    record_count: Mapped[int] = mapped_column(Integer, nullable=False)


class LogRecordTimestamp(Base):
    """Links a record to its timestamp; ``hash_chain`` is the record's path in the batch tree."""

    __tablename__ = "ml_record_ts"
    record_id: Mapped[int] = mapped_column(ForeignKey("ml_record.id", ondelete="CASCADE"), primary_key=True)
    timestamp_id: Mapped[int] = mapped_column(ForeignKey("ml_timestamp.id"), nullable=False, index=True)
    hash_chain: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # single stamps: the signature XML with its xades:SignatureTimeStamp (the record keeps the original)
    signature: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class LogState(Base):
    """Key/value state of the log jobs (last timestamping success, archive chain head)."""

    __tablename__ = "ml_state"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)


class LogArchive(Base):
    """One archive file; ``digest`` chains to the previous one (``prev_digest``)."""

    __tablename__ = "ml_archive"
    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    file_name: Mapped[str] = mapped_column(Text, nullable=False)
    digest: Mapped[str] = mapped_column(String(128), nullable=False)
    prev_digest: Mapped[str] = mapped_column(String(128), nullable=False)
    first_record: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_record: Mapped[int] = mapped_column(BigInteger, nullable=False)
    record_count: Mapped[int] = mapped_column(Integer, nullable=False)


class LogRecordArchive(Base):
    __tablename__ = "ml_record_archive"
    record_id: Mapped[int] = mapped_column(ForeignKey("ml_record.id", ondelete="CASCADE"), primary_key=True)
    archive_id: Mapped[int] = mapped_column(ForeignKey("ml_archive.id"), nullable=False, index=True)


# -- operational monitoring ------------------------------------------------------------


class OpRecord(Base):
    """One operational monitoring record; all X-Road fields as JSON, filter columns beside."""

    __tablename__ = "op_record"
    __table_args__ = (Index("ix_op_record_ts", "monitoring_data_ts"),)
    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    monitoring_data_ts: Mapped[int] = mapped_column(BigInteger, nullable=False)  # unix seconds
    client_id: Mapped[str | None] = mapped_column(String(1100), nullable=True, index=True)
    service_provider_id: Mapped[str | None] = mapped_column(String(1100), nullable=True)
    data: Mapped[str] = mapped_column(Text, nullable=False)


# -- a cluster's shared files (gateway.node._shared) ---------------------------------


class ClusterState(Base):
    """One row: the version of the cluster's shared files, moved by every change a node publishes."""

    __tablename__ = "cluster_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class ClusterFile(Base):
    """A file every node of a cluster holds the same (anchor, certificates, key registry, shared settings)."""

    __tablename__ = "cluster_file"
    name: Mapped[str] = mapped_column(String(300), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False)


# -- data tracker (issue 20) -------------------------------------------------------------


class TrackerRule(Base):
    """The data owner's declaration of where a service's requests name their data subject."""

    __tablename__ = "tracker_rule"
    __table_args__ = (UniqueConstraint("provider_id", "service_code", name="uq_tracker_rule"),)
    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    provider_id: Mapped[str] = mapped_column(String(1100), nullable=False)
    service_code: Mapped[str] = mapped_column(String(255), nullable=False)
    source: Mapped[str] = mapped_column(String(10), nullable=False)  # path | query | header | xpath
    expression: Mapped[str] = mapped_column(Text, nullable=False)
    namespaces: Mapped[str] = mapped_column(Text, nullable=False, default="{}")  # JSON {prefix: uri}
    store_plain: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class TrackerEntry(Base):
    """One served exchange on a declared service: whose data, who asked, why, and its evidence."""

    __tablename__ = "tracker_entry"
    __table_args__ = (Index("ix_tracker_entry_subject", "subject"),)
    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    subject: Mapped[str] = mapped_column(String(255), nullable=False)  # HMAC-SHA-256 hex, or the plain identifier
    hashed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    client_id: Mapped[str] = mapped_column(String(1100), nullable=False)
    service_id: Mapped[str] = mapped_column(String(1100), nullable=False)
    user_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    issue: Mapped[str | None] = mapped_column(Text, nullable=True)
    purpose: Mapped[str | None] = mapped_column(String(255), nullable=True)
    query_id: Mapped[str] = mapped_column(String(255), nullable=False)
    log_record_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
