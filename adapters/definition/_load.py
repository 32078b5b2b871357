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
from pathlib import Path
from typing import Any
from typing import Mapping as TMapping

import yaml

from trust.protocol import parse_client, parse_service

from ._model import (
    BACKEND_KINDS, CONSUMER_PROTOCOLS, AdapterDefinition, Backend, Consumer, FieldSpec, Mapping,
    Operation, RestSettings, SignatureCheck, SigningKey, SignSettings, TlsSettings, UserIdSource,
)
from ._operations import mapping_field, read_operations, signature_check
from ._fields import (
    _NAME, Context, DefinitionError, LineLoader, YamlMap, bool_field, file_field, line_of,
    name_field, number_field, only_fields, optional_map, required_map, text_field, url_field,
)

__all__ = [
    "AdapterDefinition", "Backend", "Consumer", "DefinitionError", "FieldSpec", "Mapping", "Operation",
    "RestSettings", "SignSettings", "SignatureCheck", "SigningKey", "TlsSettings", "UserIdSource",
    "load_definition", "parse_definition",
]

def load_definition(path: Path | str, *, environ: TMapping[str, str] | None = None) -> AdapterDefinition:
    """Read and check an adapter definition; raise :class:`DefinitionError` naming line and field.

    ``${NAME}`` placeholders are filled from ``environ`` (the CLI passes the process
    environment), so one file serves test and production with different backend URLs.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DefinitionError(f"cannot read adapter definition {path}: {exc.strerror}") from exc
    return parse_definition(text, source=path, environ=environ)


_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _substitute(text: str, environ: TMapping[str, str], source: str) -> str:
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        if line.lstrip().startswith("#"):
            continue

        def value(match: re.Match[str], number: int = number) -> str:
            name = match.group(1)
            if name not in environ:
                raise DefinitionError(f"{source} line {number}: environment variable {name} is not set")
            return environ[name]

        lines[number - 1] = _PLACEHOLDER.sub(value, line)
    return "\n".join(lines)


def parse_definition(text: str, *, source: Path, environ: TMapping[str, str] | None = None) -> AdapterDefinition:
    ctx = Context(source.name, source.resolve().parent)
    if environ is not None:
        text = _substitute(text, environ, ctx.source)
    try:
        data = yaml.load(text, Loader=LineLoader)  # noqa: S506 - SafeLoader subclass
    except DefinitionError as exc:
        raise DefinitionError(f"{ctx.source} {exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise DefinitionError(f"{ctx.source} line {line}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, YamlMap):
        raise DefinitionError(f"{ctx.source}: the definition must be a YAML mapping")
    only_fields(ctx, data, "top level", {"adapter", "backends", "operations", "signing", "consumers"})
    adapter = required_map(ctx, data, "adapter", "top level")
    only_fields(ctx, adapter, "adapter", {"name", "namespace", "title", "public_url"})
    backends = _backends(ctx, data.get("backends") or YamlMap(), data)
    signing = _signing(ctx, data["signing"]) if data.get("signing") is not None else None
    operations = read_operations(ctx, data.get("operations") or [], backends, data)
    consumers = _consumers(ctx, data.get("consumers") or [], data)
    if not operations and not consumers:
        raise ctx.fail("operations", line_of(data), "the adapter defines neither operations nor consumers")
    namespace = text_field(ctx, adapter, "namespace", "adapter", required=bool(operations)) or "urn:sild:adapter"
    return AdapterDefinition(
        name=name_field(ctx, adapter, "name", "adapter"),
        namespace=namespace,
        source=source,
        title=text_field(ctx, adapter, "title", "adapter"),
        public_url=url_field(ctx, adapter, "public_url", "adapter", required=False),
        backends=backends,
        operations=operations,
        signing=signing,
        consumers=consumers,
    )


def _tls(ctx: Context, m: YamlMap, where: str) -> TlsSettings:
    only_fields(ctx, m, where, {"ca", "client_cert", "client_key", "client_key_password_env"})
    settings = TlsSettings(
        ca_file=file_field(ctx, m, "ca", where),
        client_cert=file_field(ctx, m, "client_cert", where),
        client_key=file_field(ctx, m, "client_key", where),
        client_key_password_env=text_field(ctx, m, "client_key_password_env", where),
    )
    if (settings.client_cert is None) != (settings.client_key is None):
        raise ctx.fail(where, line_of(m), "client_cert and client_key go together")
    return settings


def _backends(ctx: Context, raw: Any, root: YamlMap) -> dict[str, Backend]:
    if not isinstance(raw, YamlMap):
        raise ctx.fail("backends", line_of(root, "backends"), "must be a mapping of name to backend")
    result = {}
    for name, spec in raw.items():
        where = f"backends.{name}"
        if not isinstance(spec, YamlMap):
            raise ctx.fail(where, line_of(raw, name), "must be a mapping")
        if not _NAME.match(str(name)):
            raise ctx.fail(where, line_of(raw, name), "is not a valid name")
        only_fields(ctx, spec, where, {"kind", "url", "timeout", "connect_timeout", "retries", "tls", "verify_signature",
                                 "pass_fault_string", "max_response_bytes"})
        kind = text_field(ctx, spec, "kind", where, required=True)
        if kind not in BACKEND_KINDS:
            raise ctx.fail(f"{where}.kind", line_of(spec, "kind"), f"{kind!r} is not one of {', '.join(BACKEND_KINDS)}")
        retries = spec.get("retries", 0)
        if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 5:
            raise ctx.fail(f"{where}.retries", line_of(spec, "retries"), "must be an integer from 0 to 5")
        url = url_field(ctx, spec, "url", where)
        assert url is not None and kind is not None
        tls = _tls(ctx, spec["tls"], f"{where}.tls") if isinstance(spec.get("tls"), YamlMap) else None
        if url.startswith("https://") and tls is None:
            tls = TlsSettings()
        result[str(name)] = Backend(
            name=str(name),
            kind=kind,
            url=url,
            timeout=number_field(ctx, spec, "timeout", where, 10.0, minimum=0.01),
            connect_timeout=number_field(ctx, spec, "connect_timeout", where, 3.0, minimum=0.01),
            retries=retries,
            tls=tls,
            verify_signature=(
                signature_check(ctx, spec["verify_signature"], f"{where}.verify_signature", spec, "verify_signature")
                if spec.get("verify_signature") is not None
                else None
            ),
            pass_fault_string=bool_field(ctx, spec, "pass_fault_string", where, False),
            max_response_bytes=int(number_field(ctx, spec, "max_response_bytes", where, 8 * 1024 * 1024, minimum=1024)),
        )
    return result


def _signing(ctx: Context, m: Any) -> SigningKey:
    if not isinstance(m, YamlMap):
        raise ctx.fail("signing", 0, "must be a mapping")
    only_fields(ctx, m, "signing", {"key_id", "certificate", "token"})
    token_dir = None
    pin_env = None
    if m.get("token") is not None:
        t = m["token"]
        if not isinstance(t, YamlMap):
            raise ctx.fail("signing.token", line_of(m, "token"), "must be a mapping")
        only_fields(ctx, t, "signing.token", {"directory", "pin_env"})
        directory = text_field(ctx, t, "directory", "signing.token", required=True)
        assert directory is not None
        token_dir = Path(directory) if Path(directory).is_absolute() else ctx.base / directory
        pin_env = text_field(ctx, t, "pin_env", "signing.token", required=True)
    cert = file_field(ctx, m, "certificate", "signing", required=True)
    assert cert is not None
    from cryptography import x509

    try:
        x509.load_pem_x509_certificates(cert.read_bytes())
    except ValueError as exc:
        raise ctx.fail("signing.certificate", line_of(m, "certificate"), "is not a PEM certificate chain") from exc
    return SigningKey(key_id=name_field(ctx, m, "key_id", "signing"), certificate=cert, token_directory=token_dir,
                      pin_env=pin_env)


def _consumers(ctx: Context, raw: Any, root: YamlMap) -> tuple[Consumer, ...]:
    if not isinstance(raw, list):
        raise ctx.fail("consumers", line_of(root, "consumers"), "must be a list")
    result: list[Consumer] = []
    for index, spec in enumerate(raw):
        where = f"consumers[{index}]"
        if not isinstance(spec, YamlMap):
            raise ctx.fail(where, line_of(root, "consumers"), "must be a mapping")
        only_fields(ctx, spec, where, {"name", "path", "protocol", "gateway", "client", "service", "user_id", "issue",
                                 "keep_headers", "request", "response", "service_namespace"})
        name = name_field(ctx, spec, "name", where)
        path = "/" + (text_field(ctx, spec, "path", where) or f"consumer/{name}").strip("/")
        protocol = text_field(ctx, spec, "protocol", where) or "soap11"
        if protocol not in CONSUMER_PROTOCOLS:
            raise ctx.fail(f"{where}.protocol", line_of(spec, "protocol"), f"must be one of {', '.join(CONSUMER_PROTOCOLS)}")
        gw = required_map(ctx, spec, "gateway", where)
        only_fields(ctx, gw, f"{where}.gateway", {"url", "timeout", "tls"})
        gateway_url = url_field(ctx, gw, "url", f"{where}.gateway")
        assert gateway_url is not None
        client_text = text_field(ctx, spec, "client", where, required=True)
        service_text = text_field(ctx, spec, "service", where, required=True)
        assert client_text is not None and service_text is not None
        try:
            client = parse_client(client_text).to_text()
        except Exception as exc:
            raise ctx.fail(f"{where}.client", line_of(spec, "client"), str(exc)) from exc
        try:
            service = parse_service(service_text)
        except Exception as exc:
            raise ctx.fail(f"{where}.service", line_of(spec, "service"), str(exc)) from exc
        user_id = None
        u = optional_map(ctx, spec, "user_id", where, {"source", "value", "namespaces"})
        if u is not None:
            uwhere = f"{where}.user_id"
            source = text_field(ctx, u, "source", uwhere, required=True)
            if source not in ("fixed", "header", "xpath"):
                raise ctx.fail(f"{uwhere}.source", line_of(u, "source"), "must be fixed, header or xpath")
            value = text_field(ctx, u, "value", uwhere, required=True)
            assert value is not None
            namespaces = u.get("namespaces") or {}
            if not isinstance(namespaces, dict):
                raise ctx.fail(f"{uwhere}.namespaces", line_of(u, "namespaces"), "must map prefixes to URIs")
            if source == "xpath":
                from lxml import etree

                try:
                    etree.XPath(value, namespaces=dict(namespaces))
                except etree.XPathError as exc:
                    raise ctx.fail(f"{uwhere}.value", line_of(u, "value"), f"invalid XPath: {exc}") from exc
            user_id = UserIdSource(source=source, value=value,
                                   namespaces=tuple((str(k), str(v)) for k, v in namespaces.items()))
        request = spec.get("request") or YamlMap()
        response = spec.get("response") or YamlMap()
        for part, pspec in (("request", request), ("response", response)):
            if not isinstance(pspec, YamlMap):
                raise ctx.fail(f"{where}.{part}", line_of(spec, part), "must be a mapping")
            only_fields(ctx, pspec, f"{where}.{part}", {"xslt", "hook"})
        result.append(
            Consumer(
                name=name,
                path=path,
                protocol=protocol,
                gateway_url=gateway_url,
                client=client,
                service=service,
                user_id=user_id,
                issue=text_field(ctx, spec, "issue", where),
                keep_headers=bool_field(ctx, spec, "keep_headers", where, False),
                timeout=number_field(ctx, gw, "timeout", f"{where}.gateway", 30.0, minimum=0.01),
                gateway_tls=_tls(ctx, gw["tls"], f"{where}.gateway.tls") if isinstance(gw.get("tls"), YamlMap) else None,
                request_mapping=mapping_field(ctx, request, f"{where}.request"),
                response_mapping=mapping_field(ctx, response, f"{where}.response"),
                service_namespace=text_field(ctx, spec, "service_namespace", where),
            )
        )
    return tuple(result)
