"""The adapter definition as frozen dataclasses: what :mod:`adapters.definition._load` builds from YAML.

Everything here is already checked when it exists: paths point at files, stylesheets
compile, hooks import, identifiers parse. The rest of the package trusts these
objects and never re-validates them at request time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from trust.protocol import ServiceId

BACKEND_KINDS = ("soap11", "soap11-rpc", "soap12", "xml")
CONSUMER_PROTOCOLS = ("soap11", "soap12", "xml")
FIELD_TYPES = {
    "string": "string",
    "int": "int",
    "integer": "integer",
    "long": "long",
    "decimal": "decimal",
    "boolean": "boolean",
    "date": "date",
    "dateTime": "dateTime",
}

@dataclass(frozen=True)
class TlsSettings:
    ca_file: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    client_key_password_env: str | None = None


@dataclass(frozen=True)
class SignatureCheck:
    """Which certificates (PEM files) a signature must chain to or match."""

    trusted_cas: tuple[Path, ...] = ()
    trusted_certs: tuple[Path, ...] = ()
    element: str | None = None  # backend answers: local name of the signed element


@dataclass(frozen=True)
class Backend:
    name: str
    kind: str
    url: str
    timeout: float = 10.0
    connect_timeout: float = 3.0
    retries: int = 0
    tls: TlsSettings | None = None
    verify_signature: SignatureCheck | None = None
    pass_fault_string: bool = False
    max_response_bytes: int = 8 * 1024 * 1024


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str = "string"
    title: str | None = None
    min_occurs: int = 1
    max_occurs: int | None = 1  # None = unbounded
    fields: tuple["FieldSpec", ...] = ()

    @property
    def is_complex(self) -> bool:
        return bool(self.fields)


@dataclass(frozen=True)
class Mapping:
    xslt: Path | None = None
    hook: str | None = None


@dataclass(frozen=True)
class SignSettings:
    element: str
    mode: str = "enveloped"
    algorithm: str | None = None  # None: RSA_SHA256 or ECDSA_SHA256 after the certificate's key


@dataclass(frozen=True)
class RestSettings:
    path: str
    method: str = "GET"
    not_found_when: str | None = None

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(re.findall(r"{([A-Za-z_][A-Za-z0-9_]*)}", self.path))


@dataclass(frozen=True)
class Operation:
    name: str
    backend: str
    version: str | None = "v1"
    title: str | None = None
    notes: str | None = None
    tech_notes: str | None = None
    backend_operation: str | None = None
    backend_namespace: str | None = None
    soap_action: str | None = None
    idempotent: bool = True
    request_fields: tuple[FieldSpec, ...] = ()
    response_fields: tuple[FieldSpec, ...] = ()
    request_mapping: Mapping = field(default_factory=Mapping)
    response_mapping: Mapping = field(default_factory=Mapping)
    sign: SignSettings | None = None
    require_signature: SignatureCheck | None = None
    rest: RestSettings | None = None


@dataclass(frozen=True)
class SigningKey:
    key_id: str
    certificate: Path
    token_directory: Path | None = None
    pin_env: str | None = None


@dataclass(frozen=True)
class UserIdSource:
    source: str  # fixed | header | xpath
    value: str
    namespaces: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Consumer:
    name: str
    path: str
    protocol: str
    gateway_url: str
    client: str
    service: ServiceId
    user_id: UserIdSource | None = None
    issue: str | None = None
    keep_headers: bool = False
    timeout: float = 30.0
    gateway_tls: TlsSettings | None = None
    request_mapping: Mapping = field(default_factory=Mapping)
    response_mapping: Mapping = field(default_factory=Mapping)
    service_namespace: str | None = None


@dataclass(frozen=True)
class AdapterDefinition:
    name: str
    namespace: str
    source: Path
    title: str | None = None
    public_url: str | None = None
    backends: dict[str, Backend] = field(default_factory=dict)
    operations: tuple[Operation, ...] = ()
    signing: SigningKey | None = None
    consumers: tuple[Consumer, ...] = ()

    def operation(self, name: str) -> Operation | None:
        for op in self.operations:
            if op.name == name:
                return op
        return None
