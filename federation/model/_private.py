"""Private parameters, configuration anchors and the optional internal parts, as frozen values.

Private parameters reach only the instance's own gateways (trusted anchors of
federated instances, the management service, the timestamping interval); an anchor
is also a standalone file (:mod:`federation.anchor`). They change with other
features than the shared parameters of :mod:`federation.model._model`, whose
constants and checks they reuse. :mod:`federation.model._read` reads them, :mod:`federation.model._write` writes them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from trust.protocol import ClientId

from ._errors import ConfSchemaInvalid
from ._model import (
    CURRENT_VERSION, DEFAULT_TIMESTAMPING_INTERVAL_SECONDS, SUPPORTED_VERSIONS, SharedParameters, _req,
)


# -- private parameters -------------------------------------------------------


@dataclass(frozen=True)
class AnchorSource:
    """One download location of an anchor and the certificates that may sign there."""

    download_url: str
    verification_certs: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        _req(self.download_url, "downloadURL")
        if not self.verification_certs:
            raise ConfSchemaInvalid(f"source {self.download_url} has no verificationCert")


@dataclass(frozen=True)
class ConfigurationAnchor:
    """Where an instance's configuration is downloaded and who may sign it.

    The same structure is the standalone anchor file (:mod:`federation.anchor`) and
    the ``configurationAnchor`` entries of private parameters (trusted anchors of
    federated instances).
    """

    instance: str
    sources: tuple[AnchorSource, ...]
    generated_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        _req(self.instance, "anchor instanceIdentifier")
        if not self.sources:
            raise ConfSchemaInvalid(f"anchor of {self.instance} has no source")
        if self.generated_at is not None and self.generated_at.tzinfo is None:
            raise ConfSchemaInvalid("anchor generatedAt must carry a time zone")

    def verification_certs(self) -> tuple[bytes, ...]:
        seen: list[bytes] = []
        for source in self.sources:
            for cert in source.verification_certs:
                if cert not in seen:
                    seen.append(cert)
        return tuple(seen)


@dataclass(frozen=True)
class ManagementService:
    auth_cert_reg_service_address: str
    management_request_service_provider_id: ClientId
    auth_cert_reg_service_cert: bytes | None = None

    def __post_init__(self) -> None:
        _req(self.auth_cert_reg_service_address, "authCertRegServiceAddress")


@dataclass(frozen=True)
class PrivateParameters:
    instance: str
    management_service: ManagementService
    anchors: tuple[ConfigurationAnchor, ...] = ()
    time_stamping_interval_seconds: int = DEFAULT_TIMESTAMPING_INTERVAL_SECONDS
    version: int = CURRENT_VERSION

    def __post_init__(self) -> None:
        _req(self.instance, "instanceIdentifier")
        if self.version not in SUPPORTED_VERSIONS:
            raise ConfSchemaInvalid(f"configuration version {self.version} is not supported")
        if self.time_stamping_interval_seconds <= 0:
            raise ConfSchemaInvalid("timeStampingIntervalSeconds must be positive")

    def anchor_for(self, instance: str) -> ConfigurationAnchor | None:
        for anchor in self.anchors:
            if anchor.instance == instance:
                return anchor
        return None


# -- optional internal parts --------------------------------------------------


@dataclass(frozen=True)
class MonitoringParameters:
    """``MONITORING``: the client allowed to query monitoring data of every gateway."""

    monitoring_client_id: ClientId | None = None


@dataclass(frozen=True)
class FetchIntervalParameters:
    """``FETCHINTERVAL``: how often gateways refresh OCSP responses (seconds)."""

    ocsp_fetch_interval: int

    def __post_init__(self) -> None:
        if self.ocsp_fetch_interval <= 0:
            raise ConfSchemaInvalid("ocspFetchInterval must be positive")


@dataclass(frozen=True)
class NextUpdateParameters:
    """``NEXTUPDATE``: whether gateways check the nextUpdate field of OCSP responses."""

    verify_next_update: bool


ParametersModel = (
    SharedParameters | PrivateParameters | MonitoringParameters | FetchIntervalParameters | NextUpdateParameters
)

