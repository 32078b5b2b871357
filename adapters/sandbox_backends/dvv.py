"""Sandbox: the Finnish Digital and Population Data Services Agency (DVV) as a REST/JSON service.

``GET /residents/{personCode}`` answers one resident; ``GET /residents?municipality=``
lists residents of a municipality (name or code). Unknown persons get a 404 with a
JSON body, the REST way of a clean "not found". No adapter is needed: REST/JSON is
what a gateway's REST face forwards as is. Like a well-kept REST service it
describes itself: ``GET /openapi.json`` (OpenAPI 3.0, its server URL taken from the
request's ``Host``), which the sandbox registers so that ``getOpenAPI`` answers it.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any, Iterable

from adapters.sandbox_backends._wsgi import StartResponse, respond
from adapters.sandbox_backends.data import FI_RESIDENTS

_JSON = "application/json; charset=utf-8"


def _json(start_response: StartResponse, status: str, data: Any) -> Iterable[bytes]:
    return respond(start_response, status, json.dumps(data, ensure_ascii=False).encode("utf-8"), _JSON)


_ERROR = {"type": "object", "properties": {"type": {"type": "string"}, "message": {"type": "string"}}}
# every field of a resident record is a string; read off the data so the two cannot drift
_RESIDENT = {"type": "object", "properties": {
    name: {"type": "string"} for record in FI_RESIDENTS.values() for name in record}}


def openapi(server_url: str) -> dict[str, Any]:
    """The service's OpenAPI 3.0 description; paths are relative to ``server_url`` (``.../residents``)."""
    not_found = {"description": "no such resident", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Residents register (DVV, sandbox)", "version": "1.0.0"},
        "servers": [{"url": server_url}],
        "paths": {
            "/": {"get": {"operationId": "listResidents", "summary": "Residents, optionally of one municipality",
                          "parameters": [{"name": "municipality", "in": "query", "required": False,
                                          "description": "municipality name or code", "schema": {"type": "string"}}],
                          "responses": {"200": {"description": "the residents", "content": {"application/json": {
                              "schema": {"type": "object", "properties": {"residents": {
                                  "type": "array", "items": {"$ref": "#/components/schemas/Resident"}}}}}}}}}},
            "/{personCode}": {"get": {
                "operationId": "getResident", "summary": "One resident by personal identity code",
                "parameters": [{"name": "personCode", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "the resident", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Resident"}}}}, "404": not_found}}},
        },
        "components": {"schemas": {"Resident": _RESIDENT, "Error": _ERROR}},
    }


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """The WSGI app of the population information REST service."""
    if environ.get("REQUEST_METHOD") != "GET":
        return _json(start_response, "405 Method Not Allowed", {"type": "method_not_allowed",
                                                                 "message": "only GET is supported"})
    path = urllib.parse.unquote(environ.get("PATH_INFO", "")).rstrip("/")
    if path == "/openapi.json":
        host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', '127.0.0.1')}:{environ.get('SERVER_PORT', '')}"
        return _json(start_response, "200 OK", openapi(f"http://{host}/residents"))
    parts = [p for p in path.split("/") if p]
    if not parts or parts[0] != "residents" or len(parts) > 2:
        return _json(start_response, "404 Not Found", {"type": "not_found", "message": "no such resource"})
    if len(parts) == 2:
        resident = FI_RESIDENTS.get(parts[1].upper())
        if resident is None:
            return _json(start_response, "404 Not Found", {"type": "not_found", "message": "no such resident"})
        return _json(start_response, "200 OK", resident)
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    municipality = (query.get("municipality") or [""])[-1].strip().lower()
    found = [r for r in FI_RESIDENTS.values()
             if not municipality or municipality in (r["municipality"].lower(), r["municipalityCode"])]
    return _json(start_response, "200 OK", {"residents": found})
