"""The gateway's admin API: JSON over HTTP(S), API keys with roles, OpenAPI-described.

X-Road has no published protocol for administering a security server, so sild uses
plain JSON (DESIGN 3) described by ``gateway/admin_api.yaml`` (served at
``/api/openapi.json``). Everything the ``sild gateway`` admin commands do is here:
clients, services, endpoints, access rights, local groups, message-log export,
operational monitoring records, status; plus ``/healthz`` for load balancers and
``/metrics`` for Prometheus.

Identifiers in paths use X-Road's admin-API form with ``:`` separators
(``EE:GOV:70000001:tax``), so a ``/`` in the URL always separates resources; in JSON
bodies the usual text forms are accepted (``EE/GOV/70000001/tax`` or typed
``SUBSYSTEM:EE/GOV/70000001/tax``; groups as ``GLOBALGROUP:EE/code`` or
``LOCALGROUP:code``).

Authentication: ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. Bad input gets
a 4xx with ``{"error": {"code", "message"}}``; unexpected failures a 500 that names
only a correlation id (the details go to the log, never to the caller).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml
from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from trust.errors import IdentifierError, SildError
from trust.protocol import AnyId, ClientId, MemberId, SubsystemId

from gateway.serverconf import AccessChecker
from gateway.messagelog import NotTimestamped, export_exchange
from gateway.messagelog import MessageLog, RecordNotFound
from gateway.monitoring import GatewayMetrics
from gateway.monitoring import OpMonitor, OpMonitoringError
from gateway.serverconf import ServerConf
from gateway.serverconf import ApiKeyInfo, authenticate
from gateway.serverconf import AlreadyExists, InvalidInput, NotFound, parse_client_text, parse_subject
from gateway.serverconf import Fetch, default_fetch
from gateway.serverconf import ClientInfo, ServiceInfo

log = logging.getLogger(__name__)
SPEC_FILE = Path(__file__).resolve().parent / "admin_api.yaml"
ASIC_MIME = "application/vnd.etsi.asic-e+zip"
MAX_BODY = 10 * 1024 * 1024


@dataclass(frozen=True)
class AdminConfig:
    """What the admin API works on; built once by the node and handed to :func:`create_app`."""

    conf: ServerConf
    messagelog: MessageLog | None = None
    opmonitor: OpMonitor | None = None
    metrics: GatewayMetrics | None = None
    worker_metrics: Path | None = None  # where the node's worker processes leave their figures
    fetch: Fetch = default_fetch
    clock: Callable[[], dt.datetime] | None = None

    @classmethod
    def from_node(cls, node: Any) -> AdminConfig:
        """Build from an object with ``serverconf`` (and optionally ``messagelog``, ``opmonitor``, ``metrics``)."""
        conf = getattr(node, "serverconf", None)
        if not isinstance(conf, ServerConf):
            raise TypeError("the admin API needs a ServerConf (an AdminConfig, or an object with .serverconf)")
        return cls(
            conf,
            messagelog=getattr(node, "messagelog", None),
            opmonitor=getattr(node, "opmonitor", None),
            metrics=getattr(node, "metrics", None),
            worker_metrics=getattr(node, "worker_metrics_dir", None),
        )


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


_STATUS = [
    (NotFound, 404), (RecordNotFound, 404), (AlreadyExists, 409), (InvalidInput, 400), (IdentifierError, 400),
    (NotTimestamped, 409), (OpMonitoringError, 400),
]


def _status_for(exc: SildError) -> int:
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 400


# -- identifiers and JSON shapes ------------------------------------------------------------


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


def _subject_text(subject: AnyId) -> str:
    return subject.typed_text()


class _Body:
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


def _body() -> _Body:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ApiError(413, "gateway.admin.too_large", "request body is larger than 10 MiB")
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "gateway.admin.bad_body", "the request body must be JSON (Content-Type: application/json)")
    return _Body(data)


# -- the app ---------------------------------------------------------------------------------


def create_app(config: AdminConfig | Any) -> Flask:
    """The admin WSGI app; ``config`` is an :class:`AdminConfig` or a node with ``.serverconf`` etc."""
    if not isinstance(config, AdminConfig):
        config = AdminConfig.from_node(config)
    app = Flask("sild.gateway.admin")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.json.sort_keys = False  # type: ignore[attr-defined]
    conf = config.conf
    spec_cache: dict[str, Any] = {}

    def roles(*allowed: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def wrap(view: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(view)
            def inner(*args: Any, **kwargs: Any) -> Any:
                key = _authenticate(conf)
                if "admin" not in key.roles and not key.roles & set(allowed):
                    raise ApiError(403, "gateway.admin.forbidden",
                                   f"this API key lacks a role for this call (needs one of: admin, {', '.join(allowed)})")
                g.api_key = key
                return view(*args, **kwargs)

            return inner

        return wrap

    readers = ("service-admin", "auditor", "viewer")

    # -- errors --------------------------------------------------------------------------

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> tuple[Response, int]:
        return jsonify(error={"code": exc.code, "message": exc.message}), exc.status

    @app.errorhandler(SildError)
    def _sild_error(exc: SildError) -> tuple[Response, int]:
        return jsonify(error={"code": exc.code, "message": exc.message}), _status_for(exc)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[Response, int]:
        code = exc.code or 500
        return jsonify(error={"code": f"gateway.admin.http_{code}", "message": exc.description or exc.name}), code

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response, int]:
        correlation = str(uuid.uuid4())
        log.exception("admin API internal error %s", correlation)
        return jsonify(error={"code": "gateway.admin.internal_error",
                              "message": f"internal error; logged under {correlation}"}), 500

    # -- open endpoints ------------------------------------------------------------------------

    @app.get("/healthz")
    def healthz() -> Any:
        try:
            counter = conf.counter()
        except Exception:  # noqa: BLE001 - health must answer, not raise
            return jsonify(status="unavailable", database=False), 503
        return jsonify(status="ok", database=True, configuration_version=counter)

    @app.get("/api/openapi.json")
    def openapi_json() -> Any:
        if "spec" not in spec_cache:
            spec_cache["spec"] = yaml.safe_load(SPEC_FILE.read_text("utf-8"))
        return jsonify(spec_cache["spec"])

    # -- status and metrics ----------------------------------------------------------------------

    @app.get("/api/status")
    @roles(*readers)
    def status() -> Any:
        snap = conf.snapshot()
        out: dict[str, Any] = {
            "security_server": snap.identity.to_text() if snap.identity else None,
            "configuration_version": snap.counter,
            "clients": len(snap.clients),
            "services": len(snap.services),
        }
        if config.messagelog is not None:
            out["message_log"] = config.messagelog.status()
        return jsonify(out)

    @app.get("/metrics")
    @roles(*readers)
    def metrics() -> Any:
        if config.metrics is None:
            raise ApiError(404, "gateway.admin.no_metrics", "metrics are not enabled on this gateway")
        body, content_type = config.metrics.render(include=config.worker_metrics)
        return Response(body, content_type=content_type)

    # -- clients -----------------------------------------------------------------------------------

    @app.get("/api/clients")
    @roles(*readers)
    def list_clients() -> Any:
        return jsonify(clients=[client_json(c) for c in conf.list_clients()])

    @app.post("/api/clients")
    @roles("service-admin")
    def add_client() -> Any:
        body = _body()
        client = parse_client_text(body.text("id"))
        info = conf.add_client(
            client,
            is_auth=body.text("is_auth", False, "http"),
            allowed_addresses=body.texts("allowed_addresses", False),
            state=body.text("state", False, "SAVED"),
        )
        return jsonify(client_json(info)), 201

    def _client_info(client: ClientId) -> ClientInfo:
        info = conf.snapshot().client(client)
        if info is None:
            raise ApiError(404, "gateway.serverconf.client_not_found", f"client {client.to_text()} is not configured")
        return info

    @app.get("/api/clients/<client_id>")
    @roles(*readers)
    def get_client(client_id: str) -> Any:
        return jsonify(client_json(_client_info(path_client(client_id))))

    @app.patch("/api/clients/<client_id>")
    @roles("service-admin")
    def patch_client(client_id: str) -> Any:
        client = path_client(client_id)
        body = _body()
        state = body.text("state", False)
        is_auth = body.text("is_auth", False)
        addresses = body.texts("allowed_addresses", False) if "allowed_addresses" in body.data else None
        _client_info(client)
        if is_auth is not None or addresses is not None:
            conf.set_client_auth(client, is_auth or _client_info(client).is_auth, addresses)
        if state is not None:
            conf.set_client_state(client, state)
        return jsonify(client_json(_client_info(client)))

    @app.delete("/api/clients/<client_id>")
    @roles("service-admin")
    def delete_client(client_id: str) -> Any:
        conf.remove_client(path_client(client_id))
        return "", 204

    @app.post("/api/clients/<client_id>/certificates")
    @roles("service-admin")
    def add_cert(client_id: str) -> Any:
        digest = conf.add_client_cert(path_client(client_id), _body().text("pem").encode("utf-8"))
        return jsonify(sha256=digest), 201

    @app.delete("/api/clients/<client_id>/certificates/<sha256>")
    @roles("service-admin")
    def delete_cert(client_id: str, sha256: str) -> Any:
        conf.remove_client_cert(path_client(client_id), sha256)
        return "", 204

    # -- services ------------------------------------------------------------------------------------

    @app.get("/api/clients/<client_id>/services")
    @roles(*readers)
    def list_services(client_id: str) -> Any:
        provider = path_client(client_id)
        _client_info(provider)
        services = sorted(conf.snapshot().services_of(provider), key=lambda s: (s.id.service_code, s.id.service_version or ""))
        return jsonify(services=[service_json(s) for s in services])

    @app.post("/api/clients/<client_id>/services")
    @roles("service-admin")
    def add_service(client_id: str) -> Any:
        provider = path_client(client_id)
        body = _body()
        kind = body.text("type").upper()
        url = body.text("url")
        enabled = body.flag("enabled", False)
        timeout = body.integer("timeout_seconds", 60)
        tls_verify = body.flag("tls_verify", True)
        document = body.text("document", False)
        doc_bytes = document.encode("utf-8") if document is not None else None
        if kind == "WSDL":
            desc = conf.add_wsdl(provider, url, document=doc_bytes, fetch=config.fetch, enabled=enabled,
                                 timeout_seconds=timeout, tls_verify=tls_verify)
        elif kind == "REST":
            desc = conf.add_rest(provider, url, body.text("service_code"), enabled=enabled, timeout_seconds=timeout,
                                 tls_verify=tls_verify)
        elif kind == "OPENAPI":
            desc = conf.add_openapi(provider, url, body.text("service_code"), backend_url=body.text("backend_url", False),
                                    document=doc_bytes, fetch=config.fetch, enabled=enabled,
                                    timeout_seconds=timeout, tls_verify=tls_verify)
        else:
            raise ApiError(400, "gateway.admin.bad_field", "field 'type' must be WSDL, REST or OPENAPI")
        return jsonify(id=desc.id, type=desc.kind, url=desc.url, enabled=not desc.disabled,
                       service_codes=list(desc.service_codes)), 201

    @app.patch("/api/clients/<client_id>/services/<service_code>")
    @roles("service-admin")
    def patch_service(client_id: str, service_code: str) -> Any:
        provider = path_client(client_id)
        body = _body()
        version = request.args.get("version") or None
        service = provider.service(service_code, version)
        enabled = body.flag("enabled")
        if enabled is not None:
            conf.set_service_enabled(service, enabled, body.text("disabled_notice", False))
        changes = {
            "url": body.text("url", False),
            "timeout_seconds": body.integer("timeout_seconds"),
            "tls_verify": body.flag("tls_verify"),
            "tls_ca_pem": body.text("tls_ca_pem", False),
        }
        if any(v is not None for v in changes.values()):
            conf.update_service(service, **changes)
        found = [s for s in conf.snapshot().services_of(provider) if s.id.service_code == service_code]
        if not found:
            raise ApiError(404, "gateway.serverconf.service_not_found", f"{provider.to_text()} has no service {service_code}")
        return jsonify(services=[service_json(s) for s in found])

    @app.delete("/api/service-descriptions/<int:description_id>")
    @roles("service-admin")
    def delete_description(description_id: int) -> Any:
        conf.remove_description(description_id)
        return "", 204

    @app.get("/api/clients/<client_id>/services/<service_code>/endpoints")
    @roles(*readers)
    def list_endpoints(client_id: str, service_code: str) -> Any:
        eps = conf.snapshot().endpoints_of(path_client(client_id), service_code)
        return jsonify(endpoints=[{"id": e.id, "method": e.method, "path": e.path, "generated": e.generated} for e in eps])

    @app.post("/api/clients/<client_id>/services/<service_code>/endpoints")
    @roles("service-admin")
    def add_endpoint(client_id: str, service_code: str) -> Any:
        body = _body()
        conf.add_endpoint(path_client(client_id), service_code, body.text("method"), body.text("path"))
        return jsonify(method=body.text("method").upper(), path=body.text("path")), 201

    # -- access rights -----------------------------------------------------------------------------------

    def _right_json(r: Any) -> dict[str, Any]:
        return {"provider": r.provider.to_text(), "service_code": r.service_code, "method": r.endpoint.method,
                "path": r.endpoint.path, "subject": _subject_text(r.subject)}

    @app.get("/api/access-rights")
    @roles(*readers)
    def list_rights() -> Any:
        provider = parse_client_text(request.args["client"]) if request.args.get("client") else None
        rights = conf.list_rights(provider, request.args.get("service_code") or None)
        return jsonify(access_rights=[_right_json(r) for r in rights])

    def _right_args() -> tuple[ClientId, str, AnyId, str, str]:
        body = _body()
        return (parse_client_text(body.text("provider")), body.text("service_code"), parse_subject(body.text("subject")),
                body.text("method", False, "*"), body.text("path", False, "**"))

    @app.post("/api/access-rights")
    @roles("service-admin")
    def grant() -> Any:
        provider, code, subject, method, path = _right_args()
        conf.grant(provider, code, subject, method=method, path=path)
        return jsonify(provider=provider.to_text(), service_code=code, subject=_subject_text(subject),
                       method=method.upper(), path=path), 201

    @app.post("/api/access-rights/revoke")
    @roles("service-admin")
    def revoke() -> Any:
        provider, code, subject, method, path = _right_args()
        conf.revoke(provider, code, subject, method=method, path=path)
        return "", 204

    @app.get("/api/clients/<client_id>/allowed-services")
    @roles(*readers)
    def allowed(client_id: str) -> Any:
        """Which services of ``provider`` the client may call (``allowedMethods`` as seen by the admin)."""
        caller = path_client(client_id)
        provider = parse_client_text(request.args.get("provider") or "")
        checker = AccessChecker(conf.snapshot)
        return jsonify(services=[service_json(s) for s in checker.allowed_services(provider, caller)])

    # -- local groups -------------------------------------------------------------------------------------

    @app.get("/api/clients/<client_id>/local-groups")
    @roles(*readers)
    def list_groups(client_id: str) -> Any:
        groups = conf.list_local_groups(path_client(client_id))
        return jsonify(local_groups=[{"code": g.code, "description": g.description,
                                      "members": sorted(m.to_text() for m in g.members)} for g in groups])

    @app.post("/api/clients/<client_id>/local-groups")
    @roles("service-admin")
    def add_group(client_id: str) -> Any:
        body = _body()
        conf.add_local_group(path_client(client_id), body.text("code"), body.text("description", False, ""))
        return jsonify(code=body.text("code")), 201

    @app.delete("/api/clients/<client_id>/local-groups/<code>")
    @roles("service-admin")
    def delete_group(client_id: str, code: str) -> Any:
        conf.remove_local_group(path_client(client_id), code)
        return "", 204

    @app.post("/api/clients/<client_id>/local-groups/<code>/members")
    @roles("service-admin")
    def add_members(client_id: str, code: str) -> Any:
        members = [parse_client_text(t) for t in _body().texts("members")]
        conf.add_group_members(path_client(client_id), code, members)
        return "", 204

    @app.post("/api/clients/<client_id>/local-groups/<code>/members/remove")
    @roles("service-admin")
    def remove_members(client_id: str, code: str) -> Any:
        members = [parse_client_text(t) for t in _body().texts("members")]
        conf.remove_group_members(path_client(client_id), code, members)
        return "", 204

    # -- message log and monitoring --------------------------------------------------------------------------

    @app.get("/api/messagelog/export")
    @roles("auditor")
    def export() -> Any:
        if config.messagelog is None:
            raise ApiError(404, "gateway.admin.no_messagelog", "the message log is not enabled on this gateway")
        query_id = request.args.get("query_id", "")
        if not query_id:
            raise ApiError(400, "gateway.admin.missing_field", "query parameter 'query_id' is required")
        direction = request.args.get("direction", "request")
        data = export_exchange(config.messagelog, query_id, direction=direction,
                               require_timestamp=request.args.get("require_timestamp") == "true")
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in query_id)[:100]
        return Response(data, content_type=ASIC_MIME,
                        headers={"Content-Disposition": f'attachment; filename="{safe}-{direction}.asice"'})

    @app.get("/api/opmonitoring/records")
    @roles("auditor")
    def op_records() -> Any:
        if config.opmonitor is None:
            raise ApiError(404, "gateway.admin.no_opmonitoring", "operational monitoring is not enabled on this gateway")
        try:
            records_from = int(request.args["records_from"])
            records_to = int(request.args["records_to"])
        except (KeyError, ValueError):
            raise ApiError(400, "gateway.admin.bad_query",
                           "records_from and records_to (unix seconds) are required integers") from None
        client = parse_client_text(request.args["client"]) if request.args.get("client") else None
        fields = [f for f in request.args.get("fields", "").split(",") if f] or None
        limit = request.args.get("limit", "10000")
        if not limit.isdigit():
            raise ApiError(400, "gateway.admin.bad_query", "limit must be a positive integer")
        result = config.opmonitor.query(records_from, records_to, client=client, fields=fields, limit=int(limit))
        return jsonify(result.to_json())

    return app


def _authenticate(conf: ServerConf) -> ApiKeyInfo:
    header = request.headers.get("Authorization", "")
    secret = header[7:].strip() if header.lower().startswith("bearer ") else request.headers.get("X-API-Key", "")
    if not secret:
        raise ApiError(401, "gateway.admin.unauthenticated", "an API key is required (Authorization: Bearer <key>)")
    key = authenticate(conf, secret)
    if key is None:
        raise ApiError(401, "gateway.admin.unauthenticated", "the API key is unknown or revoked")
    return key


__all__ = ["AdminConfig", "create_app", "path_client", "path_form"]
