"""The adapter's HTTP edge: a Flask app factory over :class:`ProviderAdapter` and consumer routes.

Routes (all relative to the adapter's base URL):

* ``POST /soap`` (and ``POST /``): X-Road SOAP 4.0 operations;
* ``GET /wsdl`` (and ``GET /soap?wsdl``): the generated WSDL; ``GET /xsd/xroad.xsd``,
  ``GET /xsd/identifiers.xsd``, ``GET /xsd/xml.xsd``: the schemas it imports;
* ``/rest/...``: the REST face of operations with a ``rest`` section;
  ``GET /openapi.json``: its OpenAPI 3 description;
* ``POST <consumer path>``: consumer routes for legacy clients;
* ``GET /health``: liveness and the list of operations.

Generated documents use ``adapter.public_url`` when configured (what gateways and
clients reach), otherwise the URL the request came in on.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, Response, jsonify, request

from adapters.consumer import ConsumerAdapter
from adapters.definition import AdapterDefinition, Operation
from adapters.describe import build_openapi
from trust.infra import utc_now

from adapters.provider import Clock, ProviderAdapter, SigningMaterial
from adapters.describe import (
    SCHEMA_FILES, build_wsdl, served_schema,
)

_XML = "text/xml; charset=utf-8"
MAX_REQUEST_BYTES = 8 * 1024 * 1024


def create_app(
    definition: AdapterDefinition,
    *,
    signing: SigningMaterial | None = None,
    clock: Clock = utc_now,
    transport: Any = None,
) -> Flask:
    """Build the adapter's WSGI app; ``app.extensions['sild.adapter'].close()`` releases backends."""
    app = Flask(f"sild.adapter.{definition.name}")
    app.json.sort_keys = False  # type: ignore[attr-defined]  # declared field order, as in the WSDL
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES  # refused before any parsing
    provider = ProviderAdapter(definition, signing=signing, clock=clock, transport=transport)
    consumers = {c.path: ConsumerAdapter(c, transport=transport) for c in definition.consumers}
    app.extensions["sild.adapter"] = _Resources(provider, list(consumers.values()))

    _add_soap_and_descriptions(app, definition, provider)
    for op in definition.operations:
        if op.rest is not None:
            rule = "/rest" + re.sub(r"{([A-Za-z_][A-Za-z0-9_]*)}", r"<\1>", op.rest.path)
            app.add_url_rule(rule, f"rest_{op.name}", _rest_view(provider, op), methods=[op.rest.method])
    for path, consumer in consumers.items():
        app.add_url_rule(path, f"consumer_{consumer.consumer.name}", _consumer_view(consumer), methods=["POST"])
    _add_error_handlers(app)
    return app


def _add_soap_and_descriptions(app: Flask, definition: AdapterDefinition, provider: ProviderAdapter) -> None:
    """The SOAP endpoint, and what describes the adapter: WSDL, schemas, OpenAPI, health."""

    def base_url() -> str:
        return definition.public_url or request.url_root.rstrip("/")

    def wsdl() -> Response:
        return Response(build_wsdl(definition, base_url()), content_type=_XML)

    @app.post("/soap")
    @app.post("/")
    def soap() -> Response:
        status, body = provider.handle_soap(request.get_data(cache=False))
        return Response(body, status=status, content_type=_XML)

    @app.get("/soap")
    def soap_get() -> Response:
        if "wsdl" in request.args or request.query_string.lower() == b"wsdl":
            return wsdl()
        return Response("POST X-Road SOAP 4.0 messages here; GET /wsdl for the WSDL\n", status=405,
                        content_type="text/plain", headers={"Allow": "POST"})

    app.add_url_rule("/wsdl", "wsdl", wsdl, methods=["GET"])

    @app.get("/xsd/<name>")
    def xsd(name: str) -> Response:
        if name not in SCHEMA_FILES:
            return Response("no such schema\n", status=404, content_type="text/plain")
        data = served_schema(name, base_url())
        return Response(data, content_type=_XML)

    @app.get("/openapi.json")
    def openapi() -> Response:
        return jsonify(build_openapi(definition, base_url()))

    @app.get("/health")
    def health() -> Response:
        return jsonify({"adapter": definition.name, "status": "ok",
                        "operations": [op.name for op in definition.operations],
                        "consumers": [c.name for c in definition.consumers]})


def _add_error_handlers(app: Flask) -> None:
    """Errors Flask raises before a view runs, in the adapter's JSON error shape."""

    @app.errorhandler(404)
    def not_found(_: Exception) -> Response:
        response = jsonify({"type": "client.adapter.not_found", "message": "no such resource", "detail": ""})
        response.status_code = 404
        return response

    @app.errorhandler(413)
    def too_large(_: Exception) -> Response:
        response = jsonify({"type": "client.adapter.request_too_large",
                            "message": f"requests are limited to {MAX_REQUEST_BYTES} bytes", "detail": ""})
        response.status_code = 413
        return response

    @app.errorhandler(405)
    def not_allowed(_: Exception) -> Response:
        response = jsonify({"type": "client.adapter.invalid_http_method", "message": "method not allowed",
                            "detail": ""})
        response.status_code = 405
        return response


def _rest_view(provider: ProviderAdapter, op: Operation) -> Any:
    fields = {f.name: f for f in op.request_fields}

    def view(**path_params: str) -> Response:
        params: dict[str, Any] = dict(path_params)
        if request.method == "GET":
            for key in request.args:
                spec = fields.get(key)
                values = request.args.getlist(key)
                params[key] = values if spec is not None and spec.max_occurs != 1 else values[-1]
        else:
            body = request.get_json(silent=True)
            if not isinstance(body, dict):
                response = jsonify({"type": "client.adapter.invalid_request",
                                    "message": "the body must be a JSON object", "detail": ""})
                response.status_code = 400
                response.headers["X-Road-Error"] = "client.adapter.invalid_request"
                return response
            params.update(body)
        headers = {k.lower(): v for k, v in request.headers.items() if k.lower().startswith("x-road-")}
        best = request.accept_mimetypes.best_match(["application/json", "application/xml", "text/xml"],
                                                   default="application/json")
        as_xml = best in ("application/xml", "text/xml")
        result = provider.handle_rest(op, params, headers, as_xml=as_xml)
        if result.xml is not None:
            response = Response(result.xml, status=result.status, content_type=f"{best}; charset=utf-8")
        else:
            response = jsonify(result.body)
            response.status_code = result.status
        for key, value in result.headers.items():
            response.headers[key] = value
        return response

    view.__name__ = f"rest_{op.name}"
    return view


def _consumer_view(consumer: ConsumerAdapter) -> Any:
    def view() -> Response:
        status, body = consumer.handle(request.get_data(cache=False), dict(request.headers))
        return Response(body, status=status, content_type=consumer.content_type)

    return view


class _Resources:
    def __init__(self, provider: ProviderAdapter, consumers: list[ConsumerAdapter]) -> None:
        self.provider = provider
        self.consumers = consumers

    def close(self) -> None:
        self.provider.close()
        for consumer in self.consumers:
            consumer.close()
