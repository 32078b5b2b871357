"""The ``operations`` of an adapter definition: fields, mappings, signing and REST routes.

What an operation exposes (its request and response fields), how its payloads are
mapped (XSLT or a Python hook, each loaded once here so a broken one fails at load
time with its line), whether its answer is signed or its request's signature
required, and the REST route it answers on. Errors name the field path and the line.
"""

from __future__ import annotations

import re
from typing import Any

from adapters.errors import AdapterError

from ._fields import (
    Context, YamlMap, bool_field, file_field, files_field, line_of, name_field, only_fields,
    optional_map, text_field,
)
from ._model import FIELD_TYPES, Backend, FieldSpec, Mapping, Operation, RestSettings, SignatureCheck, SignSettings

_HOOK = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$")


def signature_check(ctx: Context, m: Any, where: str, parent: YamlMap, key: str) -> SignatureCheck:
    if not isinstance(m, YamlMap):
        raise ctx.fail(where, line_of(parent, key), "must be a mapping")
    only_fields(ctx, m, where, {"trusted_cas", "trusted_certs", "element"})
    check = SignatureCheck(
        trusted_cas=files_field(ctx, m, "trusted_cas", where),
        trusted_certs=files_field(ctx, m, "trusted_certs", where),
        element=text_field(ctx, m, "element", where),
    )
    if not check.trusted_cas and not check.trusted_certs:
        raise ctx.fail(where, line_of(m), "name trusted_cas or trusted_certs")
    return check


def fields_field(ctx: Context, raw: Any, where: str, parent: YamlMap, key: str) -> tuple[FieldSpec, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ctx.fail(where, line_of(parent, key), "must be a list of fields")
    result = []
    seen = set()
    for index, spec in enumerate(raw):
        fwhere = f"{where}[{index}]"
        if not isinstance(spec, YamlMap):
            raise ctx.fail(fwhere, line_of(parent, key), "must be a mapping with at least a name")
        only_fields(ctx, spec, fwhere, {"name", "type", "title", "min_occurs", "max_occurs", "fields"})
        name = name_field(ctx, spec, "name", fwhere)
        if name in seen:
            raise ctx.fail(f"{fwhere}.name", line_of(spec, "name"), f"duplicate field {name!r}")
        seen.add(name)
        ftype = text_field(ctx, spec, "type", fwhere) or "string"
        if ftype not in FIELD_TYPES:
            raise ctx.fail(f"{fwhere}.type", line_of(spec, "type"), f"{ftype!r} is not one of {', '.join(FIELD_TYPES)}")
        max_occurs: Any = spec.get("max_occurs", 1)
        if max_occurs == "unbounded":
            max_occurs = None
        elif isinstance(max_occurs, bool) or not isinstance(max_occurs, int) or max_occurs < 1:
            raise ctx.fail(f"{fwhere}.max_occurs", line_of(spec, "max_occurs"), "must be a positive integer or 'unbounded'")
        min_occurs = spec.get("min_occurs", 1)
        if isinstance(min_occurs, bool) or not isinstance(min_occurs, int) or min_occurs < 0:
            raise ctx.fail(f"{fwhere}.min_occurs", line_of(spec, "min_occurs"), "must be an integer >= 0")
        result.append(
            FieldSpec(
                name=name,
                type=FIELD_TYPES[ftype],
                title=text_field(ctx, spec, "title", fwhere),
                min_occurs=min_occurs,
                max_occurs=max_occurs,
                fields=fields_field(ctx, spec.get("fields"), f"{fwhere}.fields", spec, "fields"),
            )
        )
    return tuple(result)


def mapping_field(ctx: Context, m: YamlMap, where: str) -> Mapping:
    xslt = file_field(ctx, m, "xslt", where)
    hook = text_field(ctx, m, "hook", where)
    if xslt is not None:
        from ._mapping import compile_xslt

        try:
            compile_xslt(xslt)
        except AdapterError as exc:
            raise ctx.fail(f"{where}.xslt", line_of(m, "xslt"), exc.message) from exc
    if hook is not None:
        if not _HOOK.match(hook):
            raise ctx.fail(f"{where}.hook", line_of(m, "hook"), f"{hook!r} is not 'package.module:function'")
        from ._mapping import load_hook

        try:
            load_hook(hook)
        except AdapterError as exc:
            raise ctx.fail(f"{where}.hook", line_of(m, "hook"), exc.message) from exc
    return Mapping(xslt=xslt, hook=hook)


def read_operations(ctx: Context, raw: Any, backends: dict[str, Backend], root: YamlMap) -> tuple[Operation, ...]:
    """The ``operations`` list: each operation checked against the backends and the ones before it."""
    if not isinstance(raw, list):
        raise ctx.fail("operations", line_of(root, "operations"), "must be a list")
    result: list[Operation] = []
    rest_routes: set[tuple[str, str]] = set()
    for index, spec in enumerate(raw):
        where = f"operations[{index}]"
        if not isinstance(spec, YamlMap):
            raise ctx.fail(where, line_of(root, "operations"), "must be a mapping")
        result.append(_operation(ctx, spec, where, backends, result, rest_routes))
    return tuple(result)


def _operation(ctx: Context, spec: YamlMap, where: str, backends: dict[str, Backend], before: list[Operation],
               rest_routes: set[tuple[str, str]]) -> Operation:
    only_fields(ctx, spec, where, {"name", "version", "title", "notes", "tech_notes", "backend", "backend_operation",
                             "backend_namespace", "soap_action", "idempotent", "request", "response", "sign",
                             "require_signature", "rest"})
    name = name_field(ctx, spec, "name", where)
    if any(op.name == name for op in before):
        raise ctx.fail(f"{where}.name", line_of(spec, "name"), f"operation {name!r} is defined twice")
    backend = text_field(ctx, spec, "backend", where, required=True)
    if backend not in backends:
        raise ctx.fail(f"{where}.backend", line_of(spec, "backend"), f"unknown backend {backend!r}")
    parts: dict[str, Any] = {}
    for part in ("request", "response"):
        pspec = spec.get(part) or YamlMap()
        if not isinstance(pspec, YamlMap):
            raise ctx.fail(f"{where}.{part}", line_of(spec, part), "must be a mapping")
        only_fields(ctx, pspec, f"{where}.{part}", {"fields", "xslt", "hook"})
        parts[f"{part}_fields"] = fields_field(ctx, pspec.get("fields"), f"{where}.{part}.fields", pspec, "fields")
        parts[f"{part}_mapping"] = mapping_field(ctx, pspec, f"{where}.{part}")
    sign = _sign_settings(ctx, spec, where, parts["response_fields"])
    rest = _rest_settings(ctx, spec, where, parts["request_fields"], rest_routes)
    version = spec.get("version", "v1")
    return Operation(
        name=name,
        backend=backend,
        version=str(version) if version is not None else None,
        title=text_field(ctx, spec, "title", where),
        notes=text_field(ctx, spec, "notes", where),
        tech_notes=text_field(ctx, spec, "tech_notes", where),
        backend_operation=text_field(ctx, spec, "backend_operation", where),
        backend_namespace=text_field(ctx, spec, "backend_namespace", where),
        soap_action=text_field(ctx, spec, "soap_action", where),
        idempotent=bool_field(ctx, spec, "idempotent", where, True),
        sign=sign,
        require_signature=(
            signature_check(ctx, spec["require_signature"], f"{where}.require_signature", spec, "require_signature")
            if spec.get("require_signature") is not None
            else None
        ),
        rest=rest,
        **parts,
    )


def _sign_settings(ctx: Context, spec: YamlMap, where: str, response_fields: tuple[FieldSpec, ...]) -> SignSettings | None:
    s = optional_map(ctx, spec, "sign", where, {"element", "mode", "algorithm"})
    if s is None:
        return None
    swhere = f"{where}.sign"
    mode = text_field(ctx, s, "mode", swhere) or "enveloped"
    if mode not in ("enveloped", "detached"):
        raise ctx.fail(f"{swhere}.mode", line_of(s, "mode"), "must be 'enveloped' or 'detached'")
    algorithm = text_field(ctx, s, "algorithm", swhere)
    if algorithm is not None:
        algorithm = algorithm.upper().replace("-", "_")
    if algorithm is not None and algorithm not in ("RSA_SHA256", "RSA_SHA512", "ECDSA_SHA256", "ECDSA_SHA512"):
        raise ctx.fail(f"{swhere}.algorithm", line_of(s, "algorithm"), f"{algorithm!r} is not supported")
    element = name_field(ctx, s, "element", swhere)
    if not any(f.name == element and f.is_complex for f in response_fields):
        raise ctx.fail(f"{swhere}.element", line_of(s, "element"),
                       f"{element!r} must be a response field with sub-fields")
    return SignSettings(element=element, mode=mode, algorithm=algorithm)


def _rest_settings(ctx: Context, spec: YamlMap, where: str, request_fields: tuple[FieldSpec, ...],
                   rest_routes: set[tuple[str, str]]) -> RestSettings | None:
    r = optional_map(ctx, spec, "rest", where, {"path", "method", "not_found_when"})
    if r is None:
        return None
    rwhere = f"{where}.rest"
    rpath = text_field(ctx, r, "path", rwhere, required=True)
    assert rpath is not None
    rpath = "/" + rpath.strip("/")
    method = (text_field(ctx, r, "method", rwhere) or "GET").upper()
    if method not in ("GET", "POST"):
        raise ctx.fail(f"{rwhere}.method", line_of(r, "method"), "must be GET or POST")
    not_found_when = text_field(ctx, r, "not_found_when", rwhere)
    if not_found_when is not None:
        from lxml import etree

        try:  # 'tns' is the adapter's namespace, known only after the whole file is read
            etree.XPath(not_found_when, namespaces={"tns": "urn:check"})
        except etree.XPathSyntaxError as exc:
            raise ctx.fail(f"{rwhere}.not_found_when", line_of(r, "not_found_when"),
                           f"invalid XPath: {exc}") from exc
    rest = RestSettings(path=rpath, method=method, not_found_when=not_found_when)
    names = {f.name for f in request_fields}
    for param in rest.path_params:
        if param not in names:
            raise ctx.fail(f"{rwhere}.path", line_of(r, "path"), f"path parameter {param!r} is not a request field")
    if (method, rpath) in rest_routes:
        raise ctx.fail(f"{rwhere}.path", line_of(r, "path"), f"{method} {rpath} is used twice")
    rest_routes.add((method, rpath))
    return rest
