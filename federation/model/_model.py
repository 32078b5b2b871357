"""The global configuration model: shared and private parameters as frozen values.

X-Road's governing authority publishes two parameter files per instance (NOTES
section 5): *shared parameters* (who is who: approved CAs and TSAs, members and
subsystems, security servers with their auth-certificate hashes and clients, global
groups, global settings; what federation partners see) and *private parameters*
(only for the instance's own gateways: trusted anchors of federated instances, the
management service, the timestamping interval). Three optional internal parts carry
one setting each: ``MONITORING``, ``FETCHINTERVAL`` and ``NEXTUPDATE``.

This module holds the shared parameters and the constants of the format; the
private parameters, anchors and the optional parts are in
:mod:`federation.model._private`. Both hold values only; :mod:`federation.model._read`
reads them from versions 2 to 6 and :mod:`federation.model._write` writes them (version 6 by default). Certificates are kept as
the DER bytes the file carried (some vectors carry base64 of PEM text, which is
normalised to DER on reading; anchors in X-Road's own tests carry non-certificates
such as ``YmFyCg==``, so parsing the certificate is deferred to the moment it is
used, e.g. :meth:`SharedParameters.to_trust_policy`).

Members and subsystems are referred to with :mod:`trust.protocol._identifiers` values; the
XML ``ID``/``IDREF`` plumbing (``owner``/``client`` pointing at ``member@id``) is a
detail of the file format and is resolved away when reading.

How to build shared parameters for the generator (example)::

    SharedParameters(
        instance="EE",
        sources=(ConfigurationSource("cs.example.ee", internal_certs=(der,), external_certs=(der2,)),),
        approved_cas=(ApprovedCaInfo("Test CA", top_ca=CaInfo(ca_der, (OcspInfo("http://ocsp", None),)),
                                     certificate_profile_info=EJBCA_PROFILE),),
        approved_tsas=(ApprovedTsaInfo("TSA", "http://tsa", tsa_der),),
        members=(Member(MemberClass("GOV", "Government"), "70000001", "Tax board",
                        subsystems=(Subsystem("tax", "Tax data"),)),),
        security_servers=(SecurityServer(MemberId("EE", "GOV", "70000001"), "ss1", "ss1.example.ee",
                                         auth_cert_hashes=(sha256_of_der,),
                                         clients=(SubsystemId("EE", "GOV", "70000001", "tax"),)),),
        member_classes=(MemberClass("GOV", "Government"),),
        ocsp_freshness_seconds=3600,
    )

then ``federation.model.write_shared_parameters(params)`` gives version-6 bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterator

from cryptography import x509

from trust.pki import ApprovedCa, ApprovedTsa, OcspResponderInfo, TrustPolicy
from trust.pki import CertificateError, read_certificate
from trust.protocol import ClientId, GlobalGroupId, MemberId, SecurityServerId, ServiceId, SubsystemId
from trust.protocol import XROAD_NS as XROAD_NS  # namespace of every parameter file and anchor (re-exported)

from ._errors import ConfSchemaInvalid

CURRENT_VERSION = 6
SUPPORTED_VERSIONS = (2, 3, 4, 5, 6)
DEFAULT_OCSP_FRESHNESS_SECONDS = 3600
DEFAULT_TIMESTAMPING_INTERVAL_SECONDS = 60

# Content identifiers of the parts of a signed directory.
SHARED_PARAMETERS = "SHARED-PARAMETERS"
PRIVATE_PARAMETERS = "PRIVATE-PARAMETERS"
MONITORING = "MONITORING"
FETCHINTERVAL = "FETCHINTERVAL"
NEXTUPDATE = "NEXTUPDATE"

COST_TYPES = ("FREE", "PAID", "UNDEFINED")
CSR_FORMATS = ("PEM", "DER")
SECURITY_SERVER_OWNERS_GROUP = "security-server-owners"


def load_certificate(der: bytes, *, what: str = "certificate") -> x509.Certificate:
    """Parse DER (or PEM) certificate bytes, translating failures to :class:`ConfSchemaInvalid`."""
    try:
        return read_certificate(der)
    except CertificateError as exc:
        raise ConfSchemaInvalid(f"{what} is not an X.509 certificate: {exc}") from exc


def auth_cert_hash(cert_der: bytes, version: int = CURRENT_VERSION) -> bytes:
    """The ``authCertHash`` of a DER certificate: SHA-1 in version 2, SHA-256 from 3 on."""
    if version <= 2:
        return hashlib.sha1(cert_der).digest()  # noqa: S324 - demanded by the v2 format
    return hashlib.sha256(cert_der).digest()


def _req(value: str, what: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ConfSchemaInvalid(f"{what} must be a non-empty string")


def _one_of(value: str | None, allowed: tuple[str, ...], what: str) -> None:
    """An optional enumerated field: absent, or one of ``allowed``."""
    if value is not None and value not in allowed:
        raise ConfSchemaInvalid(f"{what} {value!r} is not one of {allowed}")


# -- shared parameters --------------------------------------------------------


@dataclass(frozen=True)
class MemberClass:
    code: str
    description: str = ""

    def __post_init__(self) -> None:
        _req(self.code, "member class code")


@dataclass(frozen=True)
class Subsystem:
    code: str
    name: str | None = None  # subsystemName, version 5 and later

    def __post_init__(self) -> None:
        _req(self.code, "subsystem code")


@dataclass(frozen=True)
class Member:
    member_class: MemberClass
    member_code: str
    name: str
    subsystems: tuple[Subsystem, ...] = ()

    def __post_init__(self) -> None:
        _req(self.member_code, "member code")
        codes = [s.code for s in self.subsystems]
        if len(codes) != len(set(codes)):
            raise ConfSchemaInvalid(f"member {self.member_code} lists a subsystem twice")

    def member_id(self, instance: str) -> MemberId:
        return MemberId(instance, self.member_class.code, self.member_code)

    def subsystem_id(self, instance: str, subsystem: Subsystem) -> SubsystemId:
        return SubsystemId(instance, self.member_class.code, self.member_code, subsystem.code)


@dataclass(frozen=True)
class OcspInfo:
    url: str
    cert: bytes | None = None
    cost_type: str | None = None  # version 6

    def __post_init__(self) -> None:
        _req(self.url, "OCSP url")
        _one_of(self.cost_type, COST_TYPES, "costType")


@dataclass(frozen=True)
class CaInfo:
    cert: bytes
    ocsp: tuple[OcspInfo, ...] = ()

    def __post_init__(self) -> None:
        if not self.cert:
            raise ConfSchemaInvalid("a CA needs a certificate")


@dataclass(frozen=True)
class AcmeServer:
    directory_url: str
    ip_address: str | None = None
    authentication_certificate_profile_id: str | None = None  # version 4 and later
    signing_certificate_profile_id: str | None = None  # version 4 and later


@dataclass(frozen=True)
class ApprovedCaInfo:
    name: str
    top_ca: CaInfo
    certificate_profile_info: str
    intermediate_cas: tuple[CaInfo, ...] = ()
    authentication_only: bool | None = None
    default_csr_format: str | None = None  # version 6
    acme_server: AcmeServer | None = None  # version 3 and later

    def __post_init__(self) -> None:
        _req(self.name, "approved CA name")
        _req(self.certificate_profile_info, "certificateProfileInfo")
        _one_of(self.default_csr_format, CSR_FORMATS, "defaultCsrFormat")


@dataclass(frozen=True)
class ApprovedTsaInfo:
    name: str
    url: str
    cert: bytes
    cost_type: str | None = None  # version 6

    def __post_init__(self) -> None:
        _req(self.name, "approved TSA name")
        _req(self.url, "approved TSA url")
        _one_of(self.cost_type, COST_TYPES, "costType")


@dataclass(frozen=True)
class MaintenanceMode:
    message: str | None = None


@dataclass(frozen=True)
class SecurityServer:
    """A gateway registered in the instance. ``auth_cert_hashes`` are raw digest bytes."""

    owner: MemberId
    server_code: str
    address: str | None = None
    auth_cert_hashes: tuple[bytes, ...] = ()
    clients: tuple[ClientId, ...] = ()
    maintenance: MaintenanceMode | None = None  # version 5 and later

    def __post_init__(self) -> None:
        _req(self.server_code, "server code")

    @property
    def server_id(self) -> SecurityServerId:
        return self.owner.server(self.server_code)

    @property
    def in_maintenance(self) -> bool:
        return self.maintenance is not None


@dataclass(frozen=True)
class GlobalGroup:
    code: str
    description: str
    members: tuple[ClientId, ...] = ()

    def __post_init__(self) -> None:
        _req(self.code, "global group code")

    def group_id(self, instance: str) -> GlobalGroupId:
        return GlobalGroupId(instance, self.code)


@dataclass(frozen=True)
class CentralService:
    """Deprecated in X-Road, still read and written for compatibility."""

    service_code: str
    implementing_service: ServiceId | None = None


@dataclass(frozen=True)
class ConfigurationSource:
    """A ``source`` of shared parameters (version 3+): an authority node and its signing certificates."""

    address: str
    internal_certs: tuple[bytes, ...] = ()
    external_certs: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        _req(self.address, "source address")

    def internal_url(self, scheme: str = "https") -> str:
        return f"{scheme}://{self.address}/internalconf"

    def external_url(self, scheme: str = "https") -> str:
        return f"{scheme}://{self.address}/externalconf"


@dataclass(frozen=True)
class SharedParameters:
    instance: str
    sources: tuple[ConfigurationSource, ...] = ()
    approved_cas: tuple[ApprovedCaInfo, ...] = ()
    approved_tsas: tuple[ApprovedTsaInfo, ...] = ()
    members: tuple[Member, ...] = ()
    security_servers: tuple[SecurityServer, ...] = ()
    global_groups: tuple[GlobalGroup, ...] = ()
    central_services: tuple[CentralService, ...] = ()
    member_classes: tuple[MemberClass, ...] = ()
    ocsp_freshness_seconds: int = DEFAULT_OCSP_FRESHNESS_SECONDS
    version: int = CURRENT_VERSION  # the format version it was read from (or is meant for)

    def __post_init__(self) -> None:
        _req(self.instance, "instanceIdentifier")
        if self.version not in SUPPORTED_VERSIONS:
            raise ConfSchemaInvalid(f"configuration version {self.version} is not supported")
        if self.ocsp_freshness_seconds <= 0:
            raise ConfSchemaInvalid("ocspFreshnessSeconds must be positive")
        ids = [m.member_id(self.instance) for m in self.members]
        if len(ids) != len(set(ids)):
            raise ConfSchemaInvalid(f"instance {self.instance}: a member is listed twice")

    # -- queries ------------------------------------------------------------
    def member_ids(self) -> Iterator[MemberId]:
        for member in self.members:
            yield member.member_id(self.instance)

    def clients(self) -> Iterator[tuple[ClientId, str, str | None]]:
        """Every member and subsystem as ``(id, member name, subsystem name or None)``."""
        for member in self.members:
            yield member.member_id(self.instance), member.name, None
            for sub in member.subsystems:
                yield member.subsystem_id(self.instance, sub), member.name, sub.name

    def client_ids(self) -> frozenset[ClientId]:
        return frozenset(client for client, _, _ in self.clients())

    def member_name(self, member: MemberId) -> str | None:
        for m in self.members:
            if m.member_id(self.instance) == member:
                return m.name
        return None

    def servers_of(self, client: ClientId) -> tuple[SecurityServer, ...]:
        """Gateways that list ``client`` among their clients (the owner member counts too)."""
        result = []
        for server in self.security_servers:
            if client in server.clients or client == server.owner:
                result.append(server)
        return tuple(result)

    @property
    def auth_cert_hash_algorithm(self) -> str:
        """``sha1`` for version 2 files, ``sha256`` otherwise."""
        return "sha1" if self.version <= 2 else "sha256"

    def auth_cert_hash(self, cert_der: bytes) -> bytes:
        return auth_cert_hash(cert_der, self.version)

    def server_by_auth_cert(self, cert_der: bytes) -> SecurityServer | None:
        """The gateway whose ``authCertHash`` list holds this certificate.

        The digest is chosen by the stored hash's length (20 bytes SHA-1, 32 bytes
        SHA-256): version-2 files should hold SHA-1, but X-Road's own v2 test files
        hold SHA-256, and the two lengths cannot be confused.
        """
        by_length = {20: hashlib.sha1(cert_der).digest(), 32: hashlib.sha256(cert_der).digest()}  # noqa: S324
        for server in self.security_servers:
            for stored in server.auth_cert_hashes:
                if by_length.get(len(stored)) == stored:
                    return server
        return None

    def verification_certs(self, *, internal: bool) -> tuple[bytes, ...]:
        out: list[bytes] = []
        for source in self.sources:
            out.extend(source.internal_certs if internal else source.external_certs)
        return tuple(out)

    def to_trust_policy(self) -> TrustPolicy:
        """What this instance trusts: its approved CAs (with OCSP responders and
        certificate profile), its TSAs and ``ocspFreshnessSeconds``, for ``trust``.

        OCSP responders listed under intermediate CAs are merged into the CA's list:
        ``trust`` looks responders up per approved CA.
        """
        cas = []
        for ca in self.approved_cas:
            responders: list[OcspResponderInfo] = []
            for info in (ca.top_ca, *ca.intermediate_cas):
                for ocsp in info.ocsp:
                    cert = load_certificate(ocsp.cert, what=f"OCSP responder cert of {ca.name}") if ocsp.cert else None
                    responders.append(OcspResponderInfo(url=ocsp.url, cert=cert))
            cas.append(
                ApprovedCa(
                    name=ca.name,
                    top_cert=load_certificate(ca.top_ca.cert, what=f"top CA cert of {ca.name}"),
                    intermediates=tuple(
                        load_certificate(i.cert, what=f"intermediate CA cert of {ca.name}") for i in ca.intermediate_cas
                    ),
                    ocsp_responders=tuple(responders),
                    authentication_only=bool(ca.authentication_only),
                    certificate_profile=ca.certificate_profile_info,
                )
            )
        tsas = tuple(
            ApprovedTsa(name=t.name, url=t.url, cert=load_certificate(t.cert, what=f"TSA cert of {t.name}"))
            for t in self.approved_tsas
        )
        return TrustPolicy(
            instance=self.instance, cas=tuple(cas), tsas=tsas, ocsp_freshness_seconds=self.ocsp_freshness_seconds
        )
