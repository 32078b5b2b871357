"""OpenAPI descriptions of REST services: read, list endpoints, prepare for ``getOpenAPI``.

X-Road registers a REST service from an OpenAPI 3.0.x or 3.1.0 description (JSON or
YAML) and grants access rights per endpoint (method + path), so sild needs exactly:

* :func:`parse_openapi` -> :class:`OpenApiDescription` with the endpoints, refusing an
  unsupported version (``3.1.1``, ``3.2.0``, Swagger 2) and duplicate endpoints, which
  in YAML means a repeated key (PyYAML would silently keep the last one, so the loader
  here refuses duplicate keys) with a clear message;
* :func:`for_clients` for ``getOpenAPI``: ``servers[].url`` entries without variables
  are cut down to their path (the provider's host is none of the client's business),
  in the input's own format; the ``servers`` of path items and operations too, which
  OpenAPI allows beside the top-level list.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any

import yaml

from trust.errors import ProtocolError
from ._faults import XRoadFault
from ._rest import check_service_path

MAX_BYTES = 8 * 1024 * 1024
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_SUPPORTED = re.compile(r"^3\.0\.\d+$|^3\.1\.0$")


class OpenApiError(ProtocolError):
    """An OpenAPI description cannot be registered; the message says why."""

    code = "gateway.openapi.invalid"


@dataclass(frozen=True)
class Endpoint:
    method: str  # upper case, e.g. "GET"
    path: str

    def matches(self, method: str, path: str) -> bool:
        """Whether a request ``method path`` falls under this endpoint (``{param}`` matches one
        segment); a path a backend could read as another one (:func:`check_service_path`) never does."""
        if self.method not in ("*", method.upper()):
            return False
        try:
            check_service_path(path)
        except XRoadFault:
            return False
        pattern = "^" + re.sub(r"\\\{[^/]*?\\\}", "[^/]+", re.escape(self.path)) + "$"
        return re.match(pattern, path) is not None


@dataclass(frozen=True)
class OpenApiDescription:
    version: str
    title: str | None
    endpoints: tuple[Endpoint, ...]
    server_urls: tuple[str, ...]
    format: str  # "json" | "yaml"


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys instead of keeping the last."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            line = key_node.start_mark.line + 1
            if isinstance(key, str) and key.lower() in METHODS:
                raise OpenApiError(
                    f"invalid OpenAPI description: duplicate endpoint, method {key.upper()} is defined twice"
                    f" for one path (line {line})"
                )
            raise OpenApiError(f"invalid OpenAPI description: duplicate key {key!r} at line {line}")
        seen[key] = loader.construct_object(value_node, deep=deep)
    return seen


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise OpenApiError(f"invalid OpenAPI description: duplicate key {key!r}")
        out[key] = value
    return out


def load(data: bytes) -> tuple[dict[str, Any], str]:
    """Parse JSON or YAML (YAML 1.1 safe subset); returns ``(document, format)``."""
    if len(data) > MAX_BYTES:
        raise OpenApiError(f"OpenAPI description is larger than {MAX_BYTES} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise OpenApiError("OpenAPI description is not UTF-8") from None
    document: Any
    if text.lstrip().startswith("{"):
        try:
            document, kind = json.loads(text, object_pairs_hook=_no_duplicates), "json"
        except ValueError as exc:
            raise OpenApiError(f"invalid OpenAPI description: not valid JSON: {exc}") from None
    else:
        try:
            document, kind = yaml.load(text, Loader=_UniqueKeyLoader), "yaml"  # noqa: S506 - safe loader subclass
        except yaml.YAMLError as exc:
            raise OpenApiError(f"invalid OpenAPI description: not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise OpenApiError("invalid OpenAPI description: the document is not a mapping")
    return document, kind


def parse_openapi(data: bytes) -> OpenApiDescription:
    document, kind = load(data)
    version = document.get("openapi")
    if version is None:
        if "swagger" in document:
            raise OpenApiError("invalid OpenAPI description: Swagger 2 is not supported, use OpenAPI 3.0 or 3.1.0")
        raise OpenApiError("invalid OpenAPI description: the 'openapi' version field is missing")
    version = str(version)
    if not _SUPPORTED.match(version):
        raise OpenApiError(f"invalid OpenAPI description: version {version!r} is not supported (3.0.x or 3.1.0)")
    paths = document.get("paths") or {}
    if not isinstance(paths, dict):
        raise OpenApiError("invalid OpenAPI description: 'paths' is not a mapping")
    endpoints: list[Endpoint] = []
    seen: set[tuple[str, str]] = set()
    for path, item in paths.items():
        if not isinstance(path, str) or not path.startswith("/"):
            raise OpenApiError(f"invalid OpenAPI description: path {path!r} must start with '/'")
        if not isinstance(item, dict):
            continue
        for method in METHODS:
            if method in item:
                key = (method.upper(), path)
                if key in seen:  # pragma: no cover - keys are unique per mapping
                    raise OpenApiError(f"invalid OpenAPI description: duplicate endpoint {method.upper()} {path}")
                seen.add(key)
                endpoints.append(Endpoint(method.upper(), path))
    info_value = document.get("info")
    info: dict[str, Any] = info_value if isinstance(info_value, dict) else {}
    servers = [s.get("url") for s in document.get("servers") or [] if isinstance(s, dict) and s.get("url")]
    return OpenApiDescription(version, info.get("title"), tuple(endpoints), tuple(str(u) for u in servers), kind)


def cut_server_url(url: str) -> str:
    """A server URL without variables cut to its path (``https://h/api`` -> ``/api``)."""
    if "{" in url:
        return url
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as exc:
        raise OpenApiError(f"invalid OpenAPI description: server URL {url!r} is malformed: {exc}") from None
    if not parts.scheme and not parts.netloc:
        return url
    return parts.path or "/"


def for_clients(data: bytes) -> tuple[bytes, str]:
    """The description as ``getOpenAPI`` returns it; returns ``(bytes, content_type)``."""
    document, kind = load(data)
    holders: list[Any] = [document]
    paths = document.get("paths")
    for item in (paths.values() if isinstance(paths, dict) else ()):
        if isinstance(item, dict):
            holders.append(item)
            holders.extend(op for method, op in item.items() if method in METHODS and isinstance(op, dict))
    for holder in holders:
        servers = holder.get("servers")
        for server in (servers if isinstance(servers, list) else ()):
            if isinstance(server, dict) and isinstance(server.get("url"), str):
                server["url"] = cut_server_url(server["url"])
    if kind == "json":
        return json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8"), "application/json"
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True).encode("utf-8"), "application/yaml"
