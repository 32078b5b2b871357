"""Requests in and JSON out: the admin API's refusals, path identifiers, bodies, shapes.

Every blueprint of :mod:`gateway.admin` parses the same way and answers in the same
shapes, so the rules live here once: :class:`ApiError` is a refusal with its own
status and code (turned into the shared error body by :mod:`gateway.admin._errors`);
identifiers in paths use X-Road's admin-API form with ``:`` separators
(``EE:GOV:70000001:tax``) so a ``/`` in a URL always separates resources; a JSON body
is read through :class:`Body`, which names the offending field in its 400s.
"""

from __future__ import annotations

from typing import Any

from flask import request

from trust.errors import IdentifierError
from trust.protocol import AnyId, ClientId, MemberId, SubsystemId

from gateway.serverconf import ClientInfo, ServiceInfo

MAX_BODY = 10 * 1024 * 1024


class ApiError(Exception):
    """A refusal decided by the admin API itself (not by the configuration it works on)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def path_client(text: str) -> ClientId:
    """``EE:GOV:70000001[:tax]`` (admin API path form)."""
    parts = text.split(":")
    try:
        if len(parts) == 3:
            return MemberId(*parts)
        if len(parts) == 4:
            return SubsystemId(*parts)
    except IdentifierError as exc:
        raise ApiError(400, "gateway.admin.bad_identifier", str(exc)) from exc
    raise ApiError(400, "gateway.admin.bad_identifier", f"client {text!r} must be INSTANCE:CLASS:CODE[:SUBSYSTEM]")


def path_form(client: ClientId) -> str:
    return client.to_text().replace("/", ":")


def client_json(info: ClientInfo) -> dict[str, Any]:
    return {
        "id": info.id.to_text(),
        "path_id": path_form(info.id),
        "object_type": info.id.object_type.value,
        "state": info.state,
        "is_auth": info.is_auth,
        "allowed_addresses": [str(n) for n in info.allowed_networks],
        "certificates": sorted(info.cert_hashes),
        "message_body_logging": info.body_logging,  # null: the gateway's message_body_logging setting
    }


def service_json(info: ServiceInfo) -> dict[str, Any]:
    return {
        "id": info.id.typed_text(),
        "provider": info.id.provider.to_text(),
        "service_code": info.id.service_code,
        "service_version": info.id.service_version,
        "type": info.kind,
        "url": info.url,
        "timeout_seconds": info.timeout_seconds,
        "tls_verify": info.tls_verify,
        "enabled": not info.disabled,
        "disabled_notice": info.disabled_notice,
        "description_id": info.description_id,
        "description_url": info.description_url,
        "title": info.title,
    }


def subject_text(subject: AnyId) -> str:
    return subject.typed_text()


class Body:
    """Typed access to a JSON object body with specific 400 messages."""

    def __init__(self, data: Any) -> None:
        if not isinstance(data, dict):
            raise ApiError(400, "gateway.admin.bad_body", "the request body must be a JSON object")
        self.data = data

    def _get(self, name: str, kinds: tuple[type, ...], what: str, required: bool, default: Any) -> Any:
        if name not in self.data or self.data[name] is None:
            if required:
                raise ApiError(400, "gateway.admin.missing_field", f"field {name!r} is required")
            return default
        value = self.data[name]
        if not isinstance(value, kinds) or (bool not in kinds and isinstance(value, bool)):
            raise ApiError(400, "gateway.admin.bad_field", f"field {name!r} must be {what}")
        return value

    def text(self, name: str, required: bool = True, default: str | None = None) -> Any:
        return self._get(name, (str,), "a string", required, default)

    def flag(self, name: str, default: bool | None = None) -> Any:
        return self._get(name, (bool,), "true or false", False, default)

    def integer(self, name: str, default: int | None = None) -> Any:
        return self._get(name, (int,), "an integer", False, default)

    def texts(self, name: str, required: bool = True) -> list[str]:
        value = self._get(name, (list,), "a list of strings", required, [])
        if not all(isinstance(v, str) for v in value):
            raise ApiError(400, "gateway.admin.bad_field", f"field {name!r} must be a list of strings")
        return list(value)


def body() -> Body:
    """The request's JSON object body (at most :data:`MAX_BODY` bytes)."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ApiError(413, "gateway.admin.too_large", "request body is larger than 10 MiB")
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "gateway.admin.bad_body", "the request body must be JSON (Content-Type: application/json)")
    return Body(data)
