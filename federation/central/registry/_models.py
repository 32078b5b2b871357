"""SQLAlchemy tables of the governing authority's registry.

One row of :class:`RegistryState` carries a change counter (``serial``) that every
mutating operation of :mod:`federation.central.registry._registry` increments in the same transaction
as the change itself. The generator compares it with the serial of the configuration
it last published, so a change made by any process (a CLI command while ``serve``
runs, a second central node on the same PostgreSQL database) is picked up without
any signalling between processes.

Identifiers are decomposed into their parts where a uniqueness rule needs them
(``member_class`` + ``member_code``); everything refers to rows by surrogate keys so
that a cascade removes a member's subsystems, gateways and group memberships in the
same transaction. Times are timezone-aware UTC; certificates are kept as the DER
bytes that were handed in, hashes are computed over exactly those bytes.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from trust.accounts import account_tables
from trust.infra import AuditColumns, UtcDateTime


class Base(DeclarativeBase):
    pass


class RegistryState(Base):
    """Single row (id 1): the instance identifier and the change counter."""

    __tablename__ = "registry_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance: Mapped[str] = mapped_column(String(64))
    serial: Mapped[int] = mapped_column(Integer, default=0)
    changed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Setting(Base):
    __tablename__ = "settings"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class MemberClassRow(Base):
    __tablename__ = "member_classes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")


class MemberRow(Base):
    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("member_class_id", "member_code", name="uq_member_class_code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_class_id: Mapped[int] = mapped_column(ForeignKey("member_classes.id", ondelete="RESTRICT"))
    member_code: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())

    member_class: Mapped[MemberClassRow] = relationship()
    subsystems: Mapped[list[SubsystemRow]] = relationship(
        back_populates="member", cascade="all, delete-orphan", order_by="SubsystemRow.code"
    )


class SubsystemRow(Base):
    __tablename__ = "subsystems"
    __table_args__ = (UniqueConstraint("member_id", "code", name="uq_subsystem_member_code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())

    member: Mapped[MemberRow] = relationship(back_populates="subsystems")


class GatewayRow(Base):
    """A security server: owner member + server code, address, auth certs, clients."""

    __tablename__ = "gateways"
    __table_args__ = (UniqueConstraint("owner_id", "server_code", name="uq_gateway_owner_code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    server_code: Mapped[str] = mapped_column(String(255))
    address: Mapped[str | None] = mapped_column(String(255), nullable=True)
    in_maintenance: Mapped[bool] = mapped_column(Boolean, default=False)
    maintenance_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())

    owner: Mapped[MemberRow] = relationship()
    auth_certs: Mapped[list[AuthCertRow]] = relationship(
        back_populates="gateway", cascade="all, delete-orphan", order_by="AuthCertRow.id"
    )
    clients: Mapped[list[GatewayClientRow]] = relationship(
        back_populates="gateway", cascade="all, delete-orphan", order_by="GatewayClientRow.id"
    )


class AuthCertRow(Base):
    __tablename__ = "gateway_auth_certs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gateway_id: Mapped[int] = mapped_column(ForeignKey("gateways.id", ondelete="CASCADE"))
    cert_der: Mapped[bytes] = mapped_column(LargeBinary)
    sha256_hex: Mapped[str] = mapped_column(String(64), unique=True)

    gateway: Mapped[GatewayRow] = relationship(back_populates="auth_certs")


class GatewayClientRow(Base):
    """A client served by a gateway: a member (``subsystem_id`` NULL) or one of its subsystems."""

    __tablename__ = "gateway_clients"
    __table_args__ = (UniqueConstraint("gateway_id", "member_id", "subsystem_id", name="uq_gateway_client"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gateway_id: Mapped[int] = mapped_column(ForeignKey("gateways.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    subsystem_id: Mapped[int | None] = mapped_column(ForeignKey("subsystems.id", ondelete="CASCADE"), nullable=True)

    gateway: Mapped[GatewayRow] = relationship(back_populates="clients")
    member: Mapped[MemberRow] = relationship()
    subsystem: Mapped[SubsystemRow | None] = relationship()


class CaRow(Base):
    """An approved certification service (top CA, intermediates, OCSP responders, profile)."""

    __tablename__ = "approved_cas"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    cert_der: Mapped[bytes] = mapped_column(LargeBinary)
    authentication_only: Mapped[bool] = mapped_column(Boolean, default=False)
    certificate_profile: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())

    ocsp: Mapped[list[OcspRow]] = relationship(back_populates="ca", cascade="all, delete-orphan", order_by="OcspRow.id")
    intermediates: Mapped[list[IntermediateCaRow]] = relationship(
        back_populates="ca", cascade="all, delete-orphan", order_by="IntermediateCaRow.id"
    )


class IntermediateCaRow(Base):
    __tablename__ = "approved_ca_intermediates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ca_id: Mapped[int] = mapped_column(ForeignKey("approved_cas.id", ondelete="CASCADE"))
    cert_der: Mapped[bytes] = mapped_column(LargeBinary)

    ca: Mapped[CaRow] = relationship(back_populates="intermediates")


class OcspRow(Base):
    __tablename__ = "approved_ca_ocsp"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ca_id: Mapped[int] = mapped_column(ForeignKey("approved_cas.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    cert_der: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)

    ca: Mapped[CaRow] = relationship(back_populates="ocsp")


class TsaRow(Base):
    __tablename__ = "approved_tsas"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    url: Mapped[str] = mapped_column(Text)
    cert_der: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class GlobalGroupRow(Base):
    __tablename__ = "global_groups"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    built_in: Mapped[bool] = mapped_column(Boolean, default=False)

    members: Mapped[list[GlobalGroupMemberRow]] = relationship(
        back_populates="group", cascade="all, delete-orphan", order_by="GlobalGroupMemberRow.id"
    )


class GlobalGroupMemberRow(Base):
    __tablename__ = "global_group_members"
    __table_args__ = (UniqueConstraint("group_id", "member_id", "subsystem_id", name="uq_group_member"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("global_groups.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    subsystem_id: Mapped[int | None] = mapped_column(ForeignKey("subsystems.id", ondelete="CASCADE"), nullable=True)

    group: Mapped[GlobalGroupRow] = relationship(back_populates="members")
    member: Mapped[MemberRow] = relationship()
    subsystem: Mapped[SubsystemRow | None] = relationship()


class TrustedAnchorRow(Base):
    """The anchor of a federated instance, kept as the exact bytes that were validated."""

    __tablename__ = "trusted_anchors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance: Mapped[str] = mapped_column(String(64), unique=True)
    anchor_xml: Mapped[bytes] = mapped_column(LargeBinary)
    sha224_hex: Mapped[str] = mapped_column(String(56))
    generated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    added_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class SigningKeyRow(Base):
    """A configuration signing key: ``kind`` internal/external, ``status`` pending/active/retired.

    The private key lives in the soft token under ``key_id``; the row holds its
    (self-signed) verification certificate. A pending key is published in the
    ``source`` elements and anchors but does not sign yet.
    """

    __tablename__ = "signing_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    cert_der: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    activated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class RegistrationRequestRow(Base):
    __tablename__ = "registration_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # submitted, approved, declined
    # authCertReg, or a management request: clientReg, clientDeletion, ownerChange, addressChange
    request_type: Mapped[str] = mapped_column(String(32), default="authCertReg", server_default="authCertReg")
    server_id: Mapped[str] = mapped_column(String(1024))  # INST/CLASS/CODE/SERVER
    address: Mapped[str | None] = mapped_column(String(255), nullable=True)
    auth_cert_der: Mapped[bytes] = mapped_column(LargeBinary)
    auth_cert_sha256_hex: Mapped[str] = mapped_column(String(64))
    clients: Mapped[str] = mapped_column(Text, default="")  # newline-separated client ids
    document: Mapped[bytes] = mapped_column(LargeBinary)  # the signed JSON exactly as received
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)


class ApiKeyRow(Base):
    """An API key of the management API; only its SHA-256 is stored."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    key_sha256_hex: Mapped[str] = mapped_column(String(64), unique=True)
    roles: Mapped[str] = mapped_column(Text)  # comma-separated
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditRow(AuditColumns, Base):
    """One administrative action (API call or CLI command): append-only, hash-chained (:mod:`trust.infra`)."""

    __tablename__ = "audit_entries"


# the admin UI's users, sessions and failed logins (issue 18): declared by trust.accounts on these models'
# metadata so that the migration (0004) and alembic's comparison see the same tables as the gateway's
ACCOUNT_TABLES = account_tables(Base.metadata, "central_ui")


class PublishedGenerationRow(Base):
    """A published configuration generation, every byte of it (issue 19).

    Why in the database: the nodes of an authority that share one registry must serve
    the same generation, byte for byte. A gateway downloads the signed directory from
    one node and may fetch the parts it names from another (the anchor lists every
    node); signatures are not reproducible (ECDSA, a PKCS#11 token, the generation
    time in the folder name), so the other nodes cannot make the same bytes
    themselves. The node that holds the generation lease stores each generation here
    and every node writes the newest one into its own ``public/`` folder.
    """

    __tablename__ = "published_generations"
    folder: Mapped[str] = mapped_column(String(32), primary_key=True)  # yyyyMMddHHmmss + 9 digits: sorts by time
    version: Mapped[int] = mapped_column(Integer)
    serial: Mapped[int] = mapped_column(Integer)  # the registry change counter it was made from
    generated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    state: Mapped[str] = mapped_column(Text)  # generation.json (JSON)
    parts: Mapped[bytes] = mapped_column(LargeBinary)  # JSON: {"files": {name: base64}, "directories": {...}}
