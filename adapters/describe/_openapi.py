"""The OpenAPI 3 description of an adapter's REST face.

Operations with a ``rest`` section are also reachable as JSON over HTTP, so a
SOAP-only legacy system gets a REST face for free: path parameters come from the
route template, the other request fields from the query string (GET) or the JSON
body (POST); the answer is the response wrapper as JSON. Paths are relative to the
adapter's ``/rest`` base, which is the service URL a gateway registers for a REST
service (X-Road appends the rest of the client's path to it).
"""

from __future__ import annotations

from typing import Any

from adapters.definition import AdapterDefinition, FieldSpec
from ._schema import _JSON_TYPES, json_schema

_ERROR = {
    "type": "object",
    "properties": {"type": {"type": "string"}, "message": {"type": "string"}, "detail": {"type": "string"}},
    "required": ["type", "message", "detail"],
}


def _parameter(spec: FieldSpec, where: str) -> dict[str, Any]:
    schema: dict[str, Any] = dict(_JSON_TYPES[spec.type])
    if spec.max_occurs != 1:
        schema = {"type": "array", "items": schema}
    param: dict[str, Any] = {"name": spec.name, "in": where, "required": where == "path" or spec.min_occurs > 0,
                             "schema": schema}
    if spec.title:
        param["description"] = spec.title
    return param


def build_openapi(definition: AdapterDefinition, base_url: str) -> dict[str, Any]:
    """OpenAPI 3.0.3 document of every operation with a REST face."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Error": _ERROR}
    for op in definition.operations:
        if op.rest is None:
            continue
        path_params = set(op.rest.path_params)
        response_name = f"{op.name}Response"
        schemas[response_name] = json_schema(op.response_fields)
        operation: dict[str, Any] = {
            "operationId": op.name,
            "summary": op.title or op.name,
            "parameters": [_parameter(f, "path") for f in op.request_fields if f.name in path_params],
            "responses": {
                "200": {"description": "the record", "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{response_name}"}},
                    # the same answer as the SOAP face's response document, with its XML signature
                    "application/xml": {"schema": {"type": "string"}},
                }},
                "400": {"description": "bad request", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"}}}},
                "500": {"description": "the backend failed", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        }
        if op.notes:
            operation["description"] = op.notes
        if op.rest.not_found_when:
            operation["responses"]["404"] = {"description": "no such record", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}}
        rest_fields = tuple(f for f in op.request_fields if f.name not in path_params)
        if op.rest.method == "GET":
            operation["parameters"] += [_parameter(f, "query") for f in rest_fields if not f.is_complex]
        elif rest_fields:
            request_name = f"{op.name}Request"
            schemas[request_name] = json_schema(rest_fields)
            operation["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{request_name}"}}}}
        paths.setdefault(op.rest.path, {})[op.rest.method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {"title": definition.title or definition.name, "version": "1.0.0"},
        "servers": [{"url": f"{base_url.rstrip('/')}/rest"}],
        "paths": paths,
        "components": {"schemas": schemas},
    }
