"""Routes of the management API (``/api/v1``); described in ``central_api.json``.

Roles: ``registration-officer`` manages members, subsystems, gateways, global groups
and registration requests; ``security-officer`` manages approved CAs and TSAs,
trusted anchors, signing keys and global settings; ``system-admin`` may do all of it
and manages API keys. Any valid key may read. Submitting a registration request
needs no key: the request is signed by the gateway owner and its auth key.

Input is checked field by field; a wrong type or a missing field is a 400 naming the
field (``{"error": "api.invalid_field", ...}``), a malformed identifier a 400 with
the identifier error, registry refusals carry their own codes and statuses (409 for
duplicates, 404 for unknown objects).
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, g, jsonify, request

from trust.errors import IdentifierError, SildError
from trust.protocol import MemberId, SecurityServerId, SubsystemId, parse_client, parse_server

from federation.anchor import anchor_fingerprint
from federation.errors import FederationError
from federation.model import SharedParameters
from federation.central import verify_registration_request
from federation.central.registry import ROLES
from federation.central.registry import CentralDir
from federation.central.registry import add_trusted_anchor, build_anchor
from federation.central.registry import create_signing_key
from federation.central.registry import decide, list_requests, store_request

F = TypeVar("F", bound=Callable[..., Any])


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


def _json_body() -> dict[str, Any]:
    if not request.is_json:
        raise ApiError("the body must be JSON (Content-Type: application/json)", code="api.invalid_json")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError("the body must be a JSON object", code="api.invalid_json")
    return data


def _field(data: dict[str, Any], name: str, kind: type = str, *, required: bool = True, default: Any = None) -> Any:
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


def _cert(data: dict[str, Any], name: str, *, required: bool = True) -> bytes | None:
    """A certificate field: PEM text or base64 DER."""
    text = _field(data, name, str, required=required)
    if text is None:
        return None
    if "-----BEGIN" in text:
        return str(text).encode("ascii", "replace")
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(f"field {name!r} must be a PEM certificate or base64 DER", code="api.invalid_field") from None


def _ident(text: str, parse: Callable[[str], Any], what: str) -> Any:
    try:
        return parse(text)
    except IdentifierError as exc:
        raise ApiError(f"{what}: {exc}", code="api.invalid_identifier") from exc


def _member(text: str) -> MemberId:
    client = _ident(text, parse_client, "member")
    if not isinstance(client, MemberId):
        raise ApiError(f"{text!r} is not a member identifier (INSTANCE/CLASS/CODE)", code="api.invalid_identifier")
    return client


def _subsystem(text: str) -> SubsystemId:
    client = _ident(text, parse_client, "subsystem")
    if not isinstance(client, SubsystemId):
        raise ApiError(f"{text!r} is not a subsystem identifier (INSTANCE/CLASS/CODE/SUBSYSTEM)", code="api.invalid_identifier")
    return client


def _server(text: str) -> SecurityServerId:
    result: SecurityServerId = _ident(text, parse_server, "gateway")
    return result


def register_api(app: Flask, home: CentralDir, config: Any) -> None:  # noqa: C901 - one route table
    registry = home.registry()

    def changed() -> None:
        if config.on_change is not None:
            try:
                config.on_change()
            except Exception:  # noqa: BLE001 - a hook must not fail the request that already committed
                app.logger.exception("on_change hook failed")

    def requires(*roles: str) -> Callable[[F], F]:
        """Authenticate the API key; with roles, one of them (or system-admin) is required."""

        def wrap(fn: F) -> F:
            @functools.wraps(fn)
            def inner(*args: Any, **kwargs: Any) -> Any:
                key = request.headers.get("X-API-Key")
                auth = request.headers.get("Authorization", "")
                if key is None and auth[:7].lower() == "bearer ":
                    key = auth[7:].strip()
                if not key:
                    raise ApiUnauthorised("an API key is required (Authorization: Bearer <key> or X-API-Key)")
                found = registry.authenticate_api_key(key)
                if found is None:
                    raise ApiUnauthorised("the API key is not valid")
                name, granted = found
                if roles and not (granted & set(roles)) and "system-admin" not in granted:
                    raise ApiForbidden(f"this operation needs the role {' or '.join(roles)}")
                g.api_key_name = name
                return fn(*args, **kwargs)

            return inner  # type: ignore[return-value]

        return wrap

    def done(payload: Any = None, status: int = 200) -> Response:
        response = jsonify(payload if payload is not None else {"ok": True})
        response.status_code = status
        return response

    REG, SEC, ADMIN = "registration-officer", "security-officer", "system-admin"

    @app.get("/api/v1/status")
    @requires()
    def status() -> Response:
        from federation.central import read_state

        info = registry.info()
        return done({"instance": info.instance, "serial": info.serial, "changedAt": info.changed_at.isoformat(),
                     "published": read_state(home.public_dir)})

    # -- member classes, members, subsystems --------------------------------------
    @app.get("/api/v1/member-classes")
    @requires()
    def member_classes() -> Response:
        return done([{"code": c, "description": d} for c, d in registry.member_classes()])

    @app.post("/api/v1/member-classes")
    @requires(REG)
    def add_member_class() -> Response:
        data = _json_body()
        registry.add_member_class(_field(data, "code"), _field(data, "description", required=False, default=""))
        changed()
        return done(status=201)

    @app.get("/api/v1/members")
    @requires()
    def members() -> Response:
        return done([
            {"id": m.to_text(), "name": name, "subsystems": [{"code": c, "name": n} for c, n in subs]}
            for m, name, subs in registry.members()
        ])

    @app.post("/api/v1/members")
    @requires(REG)
    def add_member() -> Response:
        data = _json_body()
        registry.add_member(_member(_field(data, "id")), _field(data, "name"))
        changed()
        return done(status=201)

    @app.delete("/api/v1/members/<path:member>")
    @requires(REG)
    def remove_member(member: str) -> Response:
        registry.remove_member(_member(member))
        changed()
        return done()

    @app.post("/api/v1/subsystems")
    @requires(REG)
    def add_subsystem() -> Response:
        data = _json_body()
        registry.add_subsystem(_subsystem(_field(data, "id")), _field(data, "name", required=False))
        changed()
        return done(status=201)

    # -- gateways -------------------------------------------------------------------
    @app.get("/api/v1/gateways")
    @requires()
    def gateways() -> Response:
        return done(registry.gateways())

    @app.post("/api/v1/gateways")
    @requires(REG)
    def add_gateway() -> Response:
        data = _json_body()
        server = _server(_field(data, "id"))
        certs = [_cert({"c": c}, "c") for c in _field(data, "authCertificates", list, required=False, default=[])]
        clients = [_ident(str(c), parse_client, "client") for c in _field(data, "clients", list, required=False, default=[])]
        registry.add_gateway(server, address=_field(data, "address", required=False),
                             auth_certs=[c for c in certs if c], clients=clients)
        changed()
        return done(status=201)

    @app.post("/api/v1/gateways/<path:server>/clients")
    @requires(REG)
    def add_gateway_client(server: str) -> Response:
        data = _json_body()
        registry.add_gateway_client(_server(server), _ident(_field(data, "client"), parse_client, "client"))
        changed()
        return done(status=201)

    @app.put("/api/v1/gateways/<path:server>/maintenance")
    @requires(REG)
    def maintenance(server: str) -> Response:
        data = _json_body()
        registry.set_maintenance(_server(server), _field(data, "enabled", bool), _field(data, "message", required=False))
        changed()
        return done()

    @app.delete("/api/v1/gateways/<path:server>")
    @requires(REG)
    def remove_gateway(server: str) -> Response:
        registry.remove_gateway(_server(server))
        changed()
        return done()

    # -- global groups ----------------------------------------------------------------
    @app.get("/api/v1/global-groups")
    @requires()
    def global_groups() -> Response:
        snap = registry.snapshot()
        return done([{"code": gr.code, "description": gr.description, "members": [m.to_text() for m in gr.members]}
                     for gr in snap.global_groups])

    @app.post("/api/v1/global-groups")
    @requires(REG)
    def add_global_group() -> Response:
        data = _json_body()
        registry.add_global_group(_field(data, "code"), _field(data, "description", required=False, default=""))
        changed()
        return done(status=201)

    @app.post("/api/v1/global-groups/<code>/members")
    @requires(REG)
    def add_group_member(code: str) -> Response:
        data = _json_body()
        registry.add_group_member(code, _ident(_field(data, "client"), parse_client, "client"))
        changed()
        return done(status=201)

    # -- approved CAs and TSAs ----------------------------------------------------------
    @app.get("/api/v1/cas")
    @requires()
    def cas() -> Response:
        return done(registry.cas())

    @app.post("/api/v1/cas")
    @requires(SEC)
    def add_ca() -> Response:
        data = _json_body()
        ocsp = []
        for entry in _field(data, "ocsp", list, required=False, default=[]):
            if not isinstance(entry, dict):
                raise ApiError("each ocsp entry must be an object {url, certificate?}", code="api.invalid_field")
            ocsp.append((_field(entry, "url"), _cert(entry, "certificate", required=False)))
        registry.add_ca(
            _field(data, "name"),
            _cert(data, "certificate") or b"",
            ocsp=ocsp,
            certificate_profile=_field(data, "certificateProfile"),
            authentication_only=_field(data, "authenticationOnly", bool, required=False, default=False),
            intermediates=[c for c in (_cert({"c": i}, "c") for i in _field(data, "intermediates", list, required=False, default=[])) if c],
        )
        changed()
        return done(status=201)

    @app.delete("/api/v1/cas/<name>")
    @requires(SEC)
    def remove_ca(name: str) -> Response:
        registry.remove_ca(name)
        changed()
        return done()

    @app.get("/api/v1/tsas")
    @requires()
    def tsas() -> Response:
        return done(registry.tsas())

    @app.post("/api/v1/tsas")
    @requires(SEC)
    def add_tsa() -> Response:
        data = _json_body()
        registry.add_tsa(_field(data, "name"), _field(data, "url"), _cert(data, "certificate") or b"")
        changed()
        return done(status=201)

    # -- settings -----------------------------------------------------------------------
    @app.get("/api/v1/settings")
    @requires()
    def settings() -> Response:
        return done(registry.settings())

    @app.patch("/api/v1/settings")
    @requires(SEC)
    def set_settings() -> Response:
        data = _json_body()
        if not data:
            raise ApiError("give at least one setting", code="api.missing_field")
        for name, value in data.items():
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                raise ApiError(f"setting {name!r} must be a string or an integer", code="api.invalid_field")
        registry.set_settings(data)  # all or nothing
        changed()
        return done(registry.settings())

    # -- anchors ----------------------------------------------------------------------------
    @app.get("/api/v1/anchors/<kind>")
    @requires()
    def export_anchor(kind: str) -> Response:
        if kind not in ("internal", "external"):
            raise ApiError("anchor kind must be internal or external", code="api.invalid_field")
        data = build_anchor(home, internal=kind == "internal", now=config.clock())
        response = Response(data, content_type="application/xml")
        response.headers["X-Anchor-Fingerprint"] = anchor_fingerprint(data)
        return response

    @app.get("/api/v1/trusted-anchors")
    @requires()
    def trusted_anchors() -> Response:
        return done([{"instance": i, "fingerprint": anchor_fingerprint(raw), "addedAt": at.isoformat()}
                     for i, raw, _, at in registry.trusted_anchors()])

    @app.post("/api/v1/trusted-anchors")
    @requires(SEC)
    def add_anchor() -> Response:
        data = request.get_data()
        if not data:
            raise ApiError("the body must be the anchor XML file", code="api.missing_body")
        fingerprint = add_trusted_anchor(home, data, now=config.clock())
        changed()
        return done({"fingerprint": fingerprint}, 201)

    @app.delete("/api/v1/trusted-anchors/<instance>")
    @requires(SEC)
    def remove_anchor(instance: str) -> Response:
        registry.remove_trusted_anchor(instance)
        changed()
        return done()

    # -- signing keys ---------------------------------------------------------------------------
    @app.get("/api/v1/signing-keys")
    @requires()
    def signing_keys() -> Response:
        return done([{"id": k, "kind": kind, "status": st} for k, kind, st, _ in registry.signing_keys()])

    @app.post("/api/v1/signing-keys")
    @requires(SEC)
    def new_signing_key() -> Response:
        data = _json_body()
        kind = _field(data, "kind")
        if kind not in ("internal", "external"):
            raise ApiError("kind must be internal or external", code="api.invalid_field")
        key_id = create_signing_key(registry, home.token(), kind, now=config.clock(),
                                    activate=_field(data, "activate", bool, required=False, default=False))
        changed()
        return done({"id": key_id}, 201)

    @app.post("/api/v1/signing-keys/<key_id>/activate")
    @requires(SEC)
    def activate_key(key_id: str) -> Response:
        registry.activate_signing_key(key_id)
        changed()
        return done()

    # -- registration requests -------------------------------------------------------------------
    @app.post("/api/v1/registration-requests")
    def submit_registration() -> Response:
        document = request.get_data()
        snap = registry.snapshot()
        policy = SharedParameters(instance=snap.instance, approved_cas=snap.approved_cas,
                                  ocsp_freshness_seconds=snap.setting_int("ocspFreshnessSeconds")).to_trust_policy()
        verified = verify_registration_request(document, policy, at=config.clock())
        info = store_request(registry, verified)
        return done(info.to_json(), 202)

    @app.get("/api/v1/registration-requests")
    @requires()
    def registration_requests() -> Response:
        return done([r.to_json() for r in list_requests(registry, request.args.get("status"))])

    @app.post("/api/v1/registration-requests/<int:request_id>/<action>")
    @requires(REG)
    def decide_registration(request_id: int, action: str) -> Response:
        if action not in ("approve", "decline"):
            raise ApiError("action must be approve or decline", code="api.invalid_field")
        data = request.get_json(silent=True) if request.get_data() else {}
        comment = data.get("comment") if isinstance(data, dict) else None
        info = decide(registry, request_id, approve=action == "approve", by=str(g.api_key_name),
                      comment=comment if isinstance(comment, str) else None)
        if action == "approve":
            changed()
        return done(info.to_json())

    # -- API keys ------------------------------------------------------------------------------------
    @app.get("/api/v1/api-keys")
    @requires(ADMIN)
    def api_keys() -> Response:
        return done([{"name": k.name, "roles": list(k.roles), "createdAt": k.created_at.isoformat(), "revoked": k.revoked}
                     for k in registry.api_keys()])

    @app.post("/api/v1/api-keys")
    @requires(ADMIN)
    def create_api_key() -> Response:
        data = _json_body()
        roles = _field(data, "roles", list)
        if not all(isinstance(r, str) for r in roles):
            raise ApiError(f"roles must be a list of {', '.join(ROLES)}", code="api.invalid_field")
        key = registry.create_api_key(_field(data, "name"), roles)
        return done({"name": data["name"], "key": key}, 201)

    @app.delete("/api/v1/api-keys/<name>")
    @requires(ADMIN)
    def revoke_api_key(name: str) -> Response:
        registry.revoke_api_key(name)
        return done()

    _ = SildError  # re-raised SildErrors are turned into JSON by central_app's handler
