"""What every route of the management API shares: refusals, field parsing, the key check.

Input is checked field by field; a wrong type or a missing field is a 400 naming the
field (code ``api.invalid_field`` or ``api.missing_field``), a malformed identifier a
400 with the identifier error (``api.invalid_identifier``). Registry refusals carry
their own codes and statuses (409 for duplicates, 404 for unknown objects).

API keys: the format, digest, header order and role rule are :mod:`trust.infra`'s,
shared with the gateway's admin API; :func:`requires` is this app's thin Flask
adapter over them. ``system-admin`` may do everything; a route guarded by
``requires()`` without roles accepts any valid key.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from flask import Response, current_app, g, jsonify, request

from trust.errors import IdentifierError
from trust.infra import presented_api_key, role_allows
from trust.protocol import MemberId, SecurityServerId, SubsystemId, parse_client, parse_server

from federation.errors import FederationError
from federation.central.registry import CentralDir, Registry

if TYPE_CHECKING:
    from ._app import CentralAppConfig

F = TypeVar("F", bound=Callable[..., Any])

REG, SEC, ADMIN = "registration-officer", "security-officer", "system-admin"


class ApiError(FederationError):
    """A request to the management API is not acceptable as sent."""

    code = "api.invalid_request"
    http_status = 400


class ApiUnauthorised(ApiError):
    code = "api.unauthorised"
    http_status = 401


class ApiForbidden(ApiError):
    code = "api.forbidden"
    http_status = 403


@dataclass(frozen=True)
class ApiContext:
    """What the routes work on: the authority directory, its registry and the app's configuration."""

    home: CentralDir
    registry: Registry
    config: CentralAppConfig

    def changed(self) -> None:
        """Tell the app's hook that the registry changed (after the change committed)."""
        if self.config.on_change is not None:
            try:
                self.config.on_change()
            except Exception:  # noqa: BLE001 - a hook must not fail the request that already committed
                current_app.logger.exception("on_change hook failed")

    def committed(self, payload: Any = None, status: int = 200) -> Response:
        """The answer to a request that changed the registry: the hook is told first, then :func:`done`."""
        self.changed()
        return done(payload, status)

    def requires(self, *roles: str) -> Callable[[F], F]:
        """Authenticate the API key; with roles, one of them (or system-admin) is required."""

        def wrap(fn: F) -> F:
            @functools.wraps(fn)
            def inner(*args: Any, **kwargs: Any) -> Any:
                key = presented_api_key(request.headers.get("Authorization", ""), request.headers.get("X-API-Key"),
                                        bearer_first=False)
                if not key:
                    raise ApiUnauthorised("an API key is required (Authorization: Bearer <key> or X-API-Key)")
                found = self.registry.authenticate_api_key(key)
                if found is None:
                    raise ApiUnauthorised("the API key is not valid")
                name, granted = found
                g.api_key_name = name  # known before the role check: the audit log names who was refused
                if not role_allows(granted, roles, superuser=ADMIN):
                    raise ApiForbidden(f"this operation needs the role {' or '.join(roles)}")
                return fn(*args, **kwargs)

            return inner  # type: ignore[return-value]

        return wrap


def done(payload: Any = None, status: int = 200) -> Response:
    """A JSON answer (``{"ok": true}`` when there is nothing else to say)."""
    response = jsonify(payload if payload is not None else {"ok": True})
    response.status_code = status
    return response


def json_body() -> dict[str, Any]:
    if not request.is_json:
        raise ApiError("the body must be JSON (Content-Type: application/json)", code="api.invalid_json")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError("the body must be a JSON object", code="api.invalid_json")
    return data


def field(data: dict[str, Any], name: str, kind: type = str, *, required: bool = True, default: Any = None) -> Any:
    if name not in data or data[name] is None:
        if required:
            raise ApiError(f"field {name!r} is required", code="api.missing_field")
        return default
    value = data[name]
    if kind is str and (not isinstance(value, str) or not value.strip()):
        raise ApiError(f"field {name!r} must be a non-empty string", code="api.invalid_field")
    if kind is bool and not isinstance(value, bool):
        raise ApiError(f"field {name!r} must be true or false", code="api.invalid_field")
    if kind is int and (not isinstance(value, int) or isinstance(value, bool)):
        raise ApiError(f"field {name!r} must be an integer", code="api.invalid_field")
    if kind is list and not isinstance(value, list):
        raise ApiError(f"field {name!r} must be a list", code="api.invalid_field")
    return value


def cert(data: dict[str, Any], name: str, *, required: bool = True) -> bytes | None:
    """A certificate field: PEM text or base64 DER."""
    text = field(data, name, str, required=required)
    if text is None:
        return None
    if "-----BEGIN" in text:
        return str(text).encode("ascii", "replace")
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(f"field {name!r} must be a PEM certificate or base64 DER", code="api.invalid_field") from None


def ident(text: str, parse: Callable[[str], Any], what: str) -> Any:
    try:
        return parse(text)
    except IdentifierError as exc:
        raise ApiError(f"{what}: {exc}", code="api.invalid_identifier") from exc


def client_id(text: str) -> Any:
    return ident(text, parse_client, "client")


def member_id(text: str) -> MemberId:
    found = ident(text, parse_client, "member")
    if not isinstance(found, MemberId):
        raise ApiError(f"{text!r} is not a member identifier (INSTANCE/CLASS/CODE)", code="api.invalid_identifier")
    return found


def subsystem_id(text: str) -> SubsystemId:
    found = ident(text, parse_client, "subsystem")
    if not isinstance(found, SubsystemId):
        raise ApiError(f"{text!r} is not a subsystem identifier (INSTANCE/CLASS/CODE/SUBSYSTEM)", code="api.invalid_identifier")
    return found


def server_id(text: str) -> SecurityServerId:
    result: SecurityServerId = ident(text, parse_server, "gateway")
    return result
