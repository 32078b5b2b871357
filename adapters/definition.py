"""Adapter definitions: one declarative YAML file, checked completely at start-up.

An operator describes backends, operations, mappings, signing and consumer routes in
one file; :func:`load_definition` turns it into frozen dataclasses or refuses it
with a message naming the file, the line and the field (``population.yaml line 14:
operations[0].backend: unknown backend 'popreg'``). Nothing is checked lazily at
request time that could have been checked here: paths exist, XSLTs compile, hooks
import, certificates load, identifiers parse. See ``docs/adapters.md`` for the format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from trust.identifiers import ServiceId, parse_client, parse_service

from .errors import AdapterError

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
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$")
_HOOK = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$")


class DefinitionError(AdapterError):
    """The adapter definition file is not valid; the message names line and field."""

    code = "adapters.definition.invalid"


# -- YAML with line numbers ---------------------------------------------------------


class _Map(dict):  # type: ignore[type-arg]
    line: int = 0
    key_lines: dict[str, int]


class _Loader(yaml.SafeLoader):
    pass


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    result = _Map()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise DefinitionError(f"line {key_node.start_mark.line + 1}: duplicate key {key!r}")
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[str(key)] = key_node.start_mark.line + 1
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)


class _Ctx:
    """Where we are in the file, for error messages."""

    def __init__(self, source: str, base: Path) -> None:
        self.source = source
        self.base = base

    def fail(self, where: str, line: int, message: str) -> DefinitionError:
        return DefinitionError(f"{self.source} line {line}: {where}: {message}")


def _line(mapping: Any, key: str | None = None) -> int:
    if isinstance(mapping, _Map):
        if key is not None and key in mapping.key_lines:
            return mapping.key_lines[key]
        return mapping.line
    return 0


# -- the model ------------------------------------------------------------------------


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


# -- parsing --------------------------------------------------------------------------


def load_definition(path: Path | str) -> AdapterDefinition:
    """Read and check an adapter definition; raise :class:`DefinitionError` naming line and field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DefinitionError(f"cannot read adapter definition {path}: {exc.strerror}") from exc
    return parse_definition(text, source=path)


def parse_definition(text: str, *, source: Path) -> AdapterDefinition:
    ctx = _Ctx(source.name, source.resolve().parent)
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    except DefinitionError as exc:
        raise DefinitionError(f"{ctx.source} {exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise DefinitionError(f"{ctx.source} line {line}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, _Map):
        raise DefinitionError(f"{ctx.source}: the definition must be a YAML mapping")
    _only(ctx, data, "top level", {"adapter", "backends", "operations", "signing", "consumers"})
    adapter = _req_map(ctx, data, "adapter", "top level")
    _only(ctx, adapter, "adapter", {"name", "namespace", "title", "public_url"})
    backends = _backends(ctx, data.get("backends") or _Map(), data)
    signing = _signing(ctx, data["signing"]) if data.get("signing") is not None else None
    operations = _operations(ctx, data.get("operations") or [], backends, data)
    consumers = _consumers(ctx, data.get("consumers") or [], data)
    if not operations and not consumers:
        raise ctx.fail("operations", _line(data), "the adapter defines neither operations nor consumers")
    namespace = _str(ctx, adapter, "namespace", "adapter", required=bool(operations)) or "urn:sild:adapter"
    return AdapterDefinition(
        name=_name(ctx, adapter, "name", "adapter"),
        namespace=namespace,
        source=source,
        title=_str(ctx, adapter, "title", "adapter"),
        public_url=_url(ctx, adapter, "public_url", "adapter", required=False),
        backends=backends,
        operations=operations,
        signing=signing,
        consumers=consumers,
    )


def _only(ctx: _Ctx, mapping: _Map, where: str, allowed: set[str]) -> None:
    for key in mapping:
        if key not in allowed:
            raise ctx.fail(f"{where}.{key}", _line(mapping, key), f"unknown field (allowed: {', '.join(sorted(allowed))})")


def _req_map(ctx: _Ctx, parent: _Map, key: str, where: str) -> _Map:
    value = parent.get(key)
    if not isinstance(value, _Map):
        raise ctx.fail(f"{where}.{key}" if where != "top level" else key, _line(parent, key), "must be a mapping")
    return value


def _str(ctx: _Ctx, m: _Map, key: str, where: str, *, required: bool = False) -> str | None:
    value = m.get(key)
    if value is None:
        if required:
            raise ctx.fail(f"{where}.{key}", _line(m), "is required")
        return None
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ctx.fail(f"{where}.{key}", _line(m, key), "must be text")
    text = str(value).strip()
    if not text:
        raise ctx.fail(f"{where}.{key}", _line(m, key), "must not be empty")
    return text


def _name(ctx: _Ctx, m: _Map, key: str, where: str) -> str:
    value = _str(ctx, m, key, where, required=True)
    assert value is not None
    if not _NAME.match(value):
        raise ctx.fail(f"{where}.{key}", _line(m, key), f"{value!r} is not a valid name (letters, digits, _ . -)")
    return value


def _url(ctx: _Ctx, m: _Map, key: str, where: str, *, required: bool = True) -> str | None:
    value = _str(ctx, m, key, where, required=required)
    if value is not None and not re.match(r"^https?://[^\s/]+", value):
        raise ctx.fail(f"{where}.{key}", _line(m, key), f"{value!r} is not an http(s) URL")
    return value.rstrip("/") if value and key == "public_url" else value


def _num(ctx: _Ctx, m: _Map, key: str, where: str, default: float, *, minimum: float = 0) -> float:
    value = m.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise ctx.fail(f"{where}.{key}", _line(m, key), f"must be a number >= {minimum}")
    return float(value)


def _bool(ctx: _Ctx, m: _Map, key: str, where: str, default: bool) -> bool:
    value = m.get(key, default)
    if not isinstance(value, bool):
        raise ctx.fail(f"{where}.{key}", _line(m, key), "must be true or false")
    return value


def _file(ctx: _Ctx, m: _Map, key: str, where: str, *, required: bool = False) -> Path | None:
    value = _str(ctx, m, key, where, required=required)
    if value is None:
        return None
    path = Path(value)
    if not path.is_absolute():
        path = ctx.base / path
    if not path.is_file():
        raise ctx.fail(f"{where}.{key}", _line(m, key), f"file {value!r} does not exist")
    return path


def _files(ctx: _Ctx, m: _Map, key: str, where: str) -> tuple[Path, ...]:
    value = m.get(key) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ctx.fail(f"{where}.{key}", _line(m, key), "must be a list of file names")
    holder = _Map({key: None})
    holder.line = _line(m, key)
    result = []
    for item in value:
        holder[key] = item
        found = _file(ctx, holder, key, where, required=True)
        assert found is not None
        result.append(found)
    return tuple(result)


def _tls(ctx: _Ctx, m: _Map, where: str) -> TlsSettings:
    _only(ctx, m, where, {"ca", "client_cert", "client_key", "client_key_password_env"})
    settings = TlsSettings(
        ca_file=_file(ctx, m, "ca", where),
        client_cert=_file(ctx, m, "client_cert", where),
        client_key=_file(ctx, m, "client_key", where),
        client_key_password_env=_str(ctx, m, "client_key_password_env", where),
    )
    if (settings.client_cert is None) != (settings.client_key is None):
        raise ctx.fail(where, _line(m), "client_cert and client_key go together")
    return settings


def _sigcheck(ctx: _Ctx, m: Any, where: str, parent: _Map, key: str) -> SignatureCheck:
    if not isinstance(m, _Map):
        raise ctx.fail(where, _line(parent, key), "must be a mapping")
    _only(ctx, m, where, {"trusted_cas", "trusted_certs", "element"})
    check = SignatureCheck(
        trusted_cas=_files(ctx, m, "trusted_cas", where),
        trusted_certs=_files(ctx, m, "trusted_certs", where),
        element=_str(ctx, m, "element", where),
    )
    if not check.trusted_cas and not check.trusted_certs:
        raise ctx.fail(where, _line(m), "name trusted_cas or trusted_certs")
    return check


def _backends(ctx: _Ctx, raw: Any, root: _Map) -> dict[str, Backend]:
    if not isinstance(raw, _Map):
        raise ctx.fail("backends", _line(root, "backends"), "must be a mapping of name to backend")
    result = {}
    for name, spec in raw.items():
        where = f"backends.{name}"
        if not isinstance(spec, _Map):
            raise ctx.fail(where, _line(raw, name), "must be a mapping")
        if not _NAME.match(str(name)):
            raise ctx.fail(where, _line(raw, name), "is not a valid name")
        _only(ctx, spec, where, {"kind", "url", "timeout", "connect_timeout", "retries", "tls", "verify_signature",
                                 "pass_fault_string", "max_response_bytes"})
        kind = _str(ctx, spec, "kind", where, required=True)
        if kind not in BACKEND_KINDS:
            raise ctx.fail(f"{where}.kind", _line(spec, "kind"), f"{kind!r} is not one of {', '.join(BACKEND_KINDS)}")
        retries = spec.get("retries", 0)
        if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 5:
            raise ctx.fail(f"{where}.retries", _line(spec, "retries"), "must be an integer from 0 to 5")
        url = _url(ctx, spec, "url", where)
        assert url is not None and kind is not None
        tls = _tls(ctx, spec["tls"], f"{where}.tls") if isinstance(spec.get("tls"), _Map) else None
        if url.startswith("https://") and tls is None:
            tls = TlsSettings()
        result[str(name)] = Backend(
            name=str(name),
            kind=kind,
            url=url,
            timeout=_num(ctx, spec, "timeout", where, 10.0, minimum=0.01),
            connect_timeout=_num(ctx, spec, "connect_timeout", where, 3.0, minimum=0.01),
            retries=retries,
            tls=tls,
            verify_signature=(
                _sigcheck(ctx, spec["verify_signature"], f"{where}.verify_signature", spec, "verify_signature")
                if spec.get("verify_signature") is not None
                else None
            ),
            pass_fault_string=_bool(ctx, spec, "pass_fault_string", where, False),
            max_response_bytes=int(_num(ctx, spec, "max_response_bytes", where, 8 * 1024 * 1024, minimum=1024)),
        )
    return result


def _fields(ctx: _Ctx, raw: Any, where: str, parent: _Map, key: str) -> tuple[FieldSpec, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ctx.fail(where, _line(parent, key), "must be a list of fields")
    result = []
    seen = set()
    for index, spec in enumerate(raw):
        fwhere = f"{where}[{index}]"
        if not isinstance(spec, _Map):
            raise ctx.fail(fwhere, _line(parent, key), "must be a mapping with at least a name")
        _only(ctx, spec, fwhere, {"name", "type", "title", "min_occurs", "max_occurs", "fields"})
        name = _name(ctx, spec, "name", fwhere)
        if name in seen:
            raise ctx.fail(f"{fwhere}.name", _line(spec, "name"), f"duplicate field {name!r}")
        seen.add(name)
        ftype = _str(ctx, spec, "type", fwhere) or "string"
        if ftype not in FIELD_TYPES:
            raise ctx.fail(f"{fwhere}.type", _line(spec, "type"), f"{ftype!r} is not one of {', '.join(FIELD_TYPES)}")
        max_occurs: Any = spec.get("max_occurs", 1)
        if max_occurs == "unbounded":
            max_occurs = None
        elif isinstance(max_occurs, bool) or not isinstance(max_occurs, int) or max_occurs < 1:
            raise ctx.fail(f"{fwhere}.max_occurs", _line(spec, "max_occurs"), "must be a positive integer or 'unbounded'")
        min_occurs = spec.get("min_occurs", 1)
        if isinstance(min_occurs, bool) or not isinstance(min_occurs, int) or min_occurs < 0:
            raise ctx.fail(f"{fwhere}.min_occurs", _line(spec, "min_occurs"), "must be an integer >= 0")
        result.append(
            FieldSpec(
                name=name,
                type=FIELD_TYPES[ftype],
                title=_str(ctx, spec, "title", fwhere),
                min_occurs=min_occurs,
                max_occurs=max_occurs,
                fields=_fields(ctx, spec.get("fields"), f"{fwhere}.fields", spec, "fields"),
            )
        )
    return tuple(result)


def _mapping(ctx: _Ctx, m: _Map, where: str) -> Mapping:
    xslt = _file(ctx, m, "xslt", where)
    hook = _str(ctx, m, "hook", where)
    if xslt is not None:
        from .mapping import compile_xslt  # compile now: a broken stylesheet stops start-up

        try:
            compile_xslt(xslt)
        except AdapterError as exc:
            raise ctx.fail(f"{where}.xslt", _line(m, "xslt"), exc.message) from exc
    if hook is not None:
        if not _HOOK.match(hook):
            raise ctx.fail(f"{where}.hook", _line(m, "hook"), f"{hook!r} is not 'package.module:function'")
        from .mapping import load_hook

        try:
            load_hook(hook)
        except AdapterError as exc:
            raise ctx.fail(f"{where}.hook", _line(m, "hook"), exc.message) from exc
    return Mapping(xslt=xslt, hook=hook)


def _operations(ctx: _Ctx, raw: Any, backends: dict[str, Backend], root: _Map) -> tuple[Operation, ...]:
    if not isinstance(raw, list):
        raise ctx.fail("operations", _line(root, "operations"), "must be a list")
    result: list[Operation] = []
    rest_routes: set[tuple[str, str]] = set()
    for index, spec in enumerate(raw):
        where = f"operations[{index}]"
        if not isinstance(spec, _Map):
            raise ctx.fail(where, _line(root, "operations"), "must be a mapping")
        _only(ctx, spec, where, {"name", "version", "title", "notes", "tech_notes", "backend", "backend_operation",
                                 "backend_namespace", "soap_action", "idempotent", "request", "response", "sign",
                                 "require_signature", "rest"})
        name = _name(ctx, spec, "name", where)
        if any(op.name == name for op in result):
            raise ctx.fail(f"{where}.name", _line(spec, "name"), f"operation {name!r} is defined twice")
        backend = _str(ctx, spec, "backend", where, required=True)
        if backend not in backends:
            raise ctx.fail(f"{where}.backend", _line(spec, "backend"), f"unknown backend {backend!r}")
        parts: dict[str, Any] = {}
        for part in ("request", "response"):
            pspec = spec.get(part) or _Map()
            if not isinstance(pspec, _Map):
                raise ctx.fail(f"{where}.{part}", _line(spec, part), "must be a mapping")
            _only(ctx, pspec, f"{where}.{part}", {"fields", "xslt", "hook"})
            parts[f"{part}_fields"] = _fields(ctx, pspec.get("fields"), f"{where}.{part}.fields", pspec, "fields")
            parts[f"{part}_mapping"] = _mapping(ctx, pspec, f"{where}.{part}")
        sign = None
        if spec.get("sign") is not None:
            s = spec["sign"]
            swhere = f"{where}.sign"
            if not isinstance(s, _Map):
                raise ctx.fail(swhere, _line(spec, "sign"), "must be a mapping")
            _only(ctx, s, swhere, {"element", "mode", "algorithm"})
            mode = _str(ctx, s, "mode", swhere) or "enveloped"
            if mode not in ("enveloped", "detached"):
                raise ctx.fail(f"{swhere}.mode", _line(s, "mode"), "must be 'enveloped' or 'detached'")
            algorithm = _str(ctx, s, "algorithm", swhere)
            if algorithm is not None:
                algorithm = algorithm.upper().replace("-", "_")
            if algorithm is not None and algorithm not in ("RSA_SHA256", "RSA_SHA512", "ECDSA_SHA256", "ECDSA_SHA512"):
                raise ctx.fail(f"{swhere}.algorithm", _line(s, "algorithm"), f"{algorithm!r} is not supported")
            element = _name(ctx, s, "element", swhere)
            if not any(f.name == element and f.is_complex for f in parts["response_fields"]):
                raise ctx.fail(f"{swhere}.element", _line(s, "element"),
                               f"{element!r} must be a response field with sub-fields")
            sign = SignSettings(element=element, mode=mode, algorithm=algorithm)
        rest = None
        if spec.get("rest") is not None:
            r = spec["rest"]
            rwhere = f"{where}.rest"
            if not isinstance(r, _Map):
                raise ctx.fail(rwhere, _line(spec, "rest"), "must be a mapping")
            _only(ctx, r, rwhere, {"path", "method", "not_found_when"})
            rpath = _str(ctx, r, "path", rwhere, required=True)
            assert rpath is not None
            rpath = "/" + rpath.strip("/")
            method = (_str(ctx, r, "method", rwhere) or "GET").upper()
            if method not in ("GET", "POST"):
                raise ctx.fail(f"{rwhere}.method", _line(r, "method"), "must be GET or POST")
            rest = RestSettings(path=rpath, method=method, not_found_when=_str(ctx, r, "not_found_when", rwhere))
            names = {f.name for f in parts["request_fields"]}
            for param in rest.path_params:
                if param not in names:
                    raise ctx.fail(f"{rwhere}.path", _line(r, "path"), f"path parameter {param!r} is not a request field")
            if (method, rpath) in rest_routes:
                raise ctx.fail(f"{rwhere}.path", _line(r, "path"), f"{method} {rpath} is used twice")
            rest_routes.add((method, rpath))
        version = spec.get("version", "v1")
        result.append(
            Operation(
                name=name,
                backend=backend,
                version=str(version) if version is not None else None,
                title=_str(ctx, spec, "title", where),
                notes=_str(ctx, spec, "notes", where),
                tech_notes=_str(ctx, spec, "tech_notes", where),
                backend_operation=_str(ctx, spec, "backend_operation", where),
                backend_namespace=_str(ctx, spec, "backend_namespace", where),
                soap_action=_str(ctx, spec, "soap_action", where),
                idempotent=_bool(ctx, spec, "idempotent", where, True),
                sign=sign,
                require_signature=(
                    _sigcheck(ctx, spec["require_signature"], f"{where}.require_signature", spec, "require_signature")
                    if spec.get("require_signature") is not None
                    else None
                ),
                rest=rest,
                **parts,
            )
        )
    return tuple(result)


def _signing(ctx: _Ctx, m: Any) -> SigningKey:
    if not isinstance(m, _Map):
        raise ctx.fail("signing", 0, "must be a mapping")
    _only(ctx, m, "signing", {"key_id", "certificate", "token"})
    token_dir = None
    pin_env = None
    if m.get("token") is not None:
        t = m["token"]
        if not isinstance(t, _Map):
            raise ctx.fail("signing.token", _line(m, "token"), "must be a mapping")
        _only(ctx, t, "signing.token", {"directory", "pin_env"})
        directory = _str(ctx, t, "directory", "signing.token", required=True)
        assert directory is not None
        token_dir = Path(directory) if Path(directory).is_absolute() else ctx.base / directory
        pin_env = _str(ctx, t, "pin_env", "signing.token", required=True)
    cert = _file(ctx, m, "certificate", "signing", required=True)
    assert cert is not None
    from cryptography import x509

    try:
        x509.load_pem_x509_certificates(cert.read_bytes())
    except ValueError as exc:
        raise ctx.fail("signing.certificate", _line(m, "certificate"), "is not a PEM certificate chain") from exc
    return SigningKey(key_id=_name(ctx, m, "key_id", "signing"), certificate=cert, token_directory=token_dir,
                      pin_env=pin_env)


def _consumers(ctx: _Ctx, raw: Any, root: _Map) -> tuple[Consumer, ...]:
    if not isinstance(raw, list):
        raise ctx.fail("consumers", _line(root, "consumers"), "must be a list")
    result: list[Consumer] = []
    for index, spec in enumerate(raw):
        where = f"consumers[{index}]"
        if not isinstance(spec, _Map):
            raise ctx.fail(where, _line(root, "consumers"), "must be a mapping")
        _only(ctx, spec, where, {"name", "path", "protocol", "gateway", "client", "service", "user_id", "issue",
                                 "keep_headers", "request", "response", "service_namespace"})
        name = _name(ctx, spec, "name", where)
        path = "/" + (_str(ctx, spec, "path", where) or f"consumer/{name}").strip("/")
        protocol = _str(ctx, spec, "protocol", where) or "soap11"
        if protocol not in CONSUMER_PROTOCOLS:
            raise ctx.fail(f"{where}.protocol", _line(spec, "protocol"), f"must be one of {', '.join(CONSUMER_PROTOCOLS)}")
        gw = _req_map(ctx, spec, "gateway", where)
        _only(ctx, gw, f"{where}.gateway", {"url", "timeout", "tls"})
        gateway_url = _url(ctx, gw, "url", f"{where}.gateway")
        assert gateway_url is not None
        client_text = _str(ctx, spec, "client", where, required=True)
        service_text = _str(ctx, spec, "service", where, required=True)
        assert client_text is not None and service_text is not None
        try:
            client = parse_client(client_text).to_text()
        except Exception as exc:
            raise ctx.fail(f"{where}.client", _line(spec, "client"), str(exc)) from exc
        try:
            service = parse_service(service_text)
        except Exception as exc:
            raise ctx.fail(f"{where}.service", _line(spec, "service"), str(exc)) from exc
        user_id = None
        if spec.get("user_id") is not None:
            u = spec["user_id"]
            uwhere = f"{where}.user_id"
            if not isinstance(u, _Map):
                raise ctx.fail(uwhere, _line(spec, "user_id"), "must be a mapping")
            _only(ctx, u, uwhere, {"source", "value", "namespaces"})
            source = _str(ctx, u, "source", uwhere, required=True)
            if source not in ("fixed", "header", "xpath"):
                raise ctx.fail(f"{uwhere}.source", _line(u, "source"), "must be fixed, header or xpath")
            value = _str(ctx, u, "value", uwhere, required=True)
            assert value is not None
            namespaces = u.get("namespaces") or {}
            if not isinstance(namespaces, dict):
                raise ctx.fail(f"{uwhere}.namespaces", _line(u, "namespaces"), "must map prefixes to URIs")
            if source == "xpath":
                from lxml import etree

                try:
                    etree.XPath(value, namespaces=dict(namespaces))
                except etree.XPathError as exc:
                    raise ctx.fail(f"{uwhere}.value", _line(u, "value"), f"invalid XPath: {exc}") from exc
            user_id = UserIdSource(source=source, value=value,
                                   namespaces=tuple((str(k), str(v)) for k, v in namespaces.items()))
        request = spec.get("request") or _Map()
        response = spec.get("response") or _Map()
        for part, pspec in (("request", request), ("response", response)):
            if not isinstance(pspec, _Map):
                raise ctx.fail(f"{where}.{part}", _line(spec, part), "must be a mapping")
            _only(ctx, pspec, f"{where}.{part}", {"xslt", "hook"})
        result.append(
            Consumer(
                name=name,
                path=path,
                protocol=protocol,
                gateway_url=gateway_url,
                client=client,
                service=service,
                user_id=user_id,
                issue=_str(ctx, spec, "issue", where),
                keep_headers=_bool(ctx, spec, "keep_headers", where, False),
                timeout=_num(ctx, gw, "timeout", f"{where}.gateway", 30.0, minimum=0.01),
                gateway_tls=_tls(ctx, gw["tls"], f"{where}.gateway.tls") if isinstance(gw.get("tls"), _Map) else None,
                request_mapping=_mapping(ctx, request, f"{where}.request"),
                response_mapping=_mapping(ctx, response, f"{where}.response"),
                service_namespace=_str(ctx, spec, "service_namespace", where),
            )
        )
    return tuple(result)
