"""OpenAPI descriptions: X-Road's vectors, endpoints, getOpenAPI server URL cutting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from trust.protocol import OpenApiError, parse_openapi
from trust.protocol._openapi import Endpoint, cut_server_url, for_clients

VALID = {
    "valid.json": ("3.0.2", [("GET", "/test"), ("POST", "/test")]),
    "valid.yaml": ("3.0.2", [("GET", "/test"), ("POST", "/test")]),
    "valid_modified.yaml": ("3.0.2", [("GET", "/test"), ("PATCH", "/test"), ("GET", "/foo")]),
    "v310.json": ("3.1.0", [("GET", "/test"), ("POST", "/test"), ("POST", "/file")]),
    "v310.yaml": ("3.1.0", [("GET", "/test"), ("POST", "/test"), ("POST", "/file")]),
    "system-testopenapi_v310.json": ("3.1.0", None),
    "system-testopenapi1.yaml": ("3.0.0", None),
    "system-testopenapi11.yaml": ("3.0.0", None),
    "system-testopenapi2.json": ("3.0.0", None),
    "warnings.yml": ("3.0.0", None),
}
INVALID = {
    "duplicateendpoint.yaml": "duplicate endpoint, method GET",
    "invalid_version.json": "version '3.2.0' is not supported",
    "invalid_version.yaml": "version '3.1.1' is not supported",
    "system-testopenapi_invalid_version.yaml": "version '3.1.1' is not supported",
}


def test_every_vector_is_classified(xroad: Path) -> None:
    names = {p.name for p in (xroad / "services" / "openapi").iterdir()}
    assert names == set(VALID) | set(INVALID)


@pytest.mark.parametrize("name", sorted(VALID), ids=sorted(VALID))
@pytest.mark.conformance(area="wsdl", vector="services/openapi/{name}",
                         expected=lambda p: f"OpenAPI {VALID[p['name']][0]} with its endpoints")
def test_valid(name: str, xroad: Path) -> None:
    description = parse_openapi((xroad / "services" / "openapi" / name).read_bytes())
    version, endpoints = VALID[name]
    assert description.version == version
    assert description.endpoints
    if endpoints is not None:
        assert [(e.method, e.path) for e in description.endpoints] == endpoints


@pytest.mark.parametrize("name", sorted(INVALID), ids=sorted(INVALID))
@pytest.mark.conformance(area="wsdl", vector="services/openapi/{name}",
                         expected=lambda p: f"refused: {INVALID[p['name']]}")
def test_invalid(name: str, xroad: Path) -> None:
    with pytest.raises(OpenApiError) as info:
        parse_openapi((xroad / "services" / "openapi" / name).read_bytes())
    assert INVALID[name] in str(info.value)


def test_duplicate_json_key_refused() -> None:
    with pytest.raises(OpenApiError, match="duplicate key 'get'"):
        parse_openapi(b'{"openapi":"3.0.1","paths":{"/a":{"get":{},"get":{}}}}')


def test_swagger2_and_garbage_refused() -> None:
    with pytest.raises(OpenApiError, match="Swagger 2"):
        parse_openapi(b'{"swagger":"2.0","paths":{}}')
    with pytest.raises(OpenApiError, match="not a mapping"):
        parse_openapi(b"- a\n- b\n")
    with pytest.raises(OpenApiError, match="not valid YAML"):
        parse_openapi(b"openapi: [\n")
    with pytest.raises(OpenApiError, match="not valid YAML"):
        parse_openapi(b"openapi: !!python/object:os.system x\n")


def test_server_urls_cut_for_clients(xroad: Path) -> None:
    assert cut_server_url("https://example.org/api") == "/api"
    assert cut_server_url("https://example.org") == "/"
    assert cut_server_url("https://{securityserver}/r1") == "https://{securityserver}/r1"
    with pytest.raises(OpenApiError, match="malformed"):
        cut_server_url("https://[::1/api")
    data, ctype = for_clients((xroad / "services" / "openapi" / "system-testopenapi2.json").read_bytes())
    assert ctype == "application/json"
    assert [s["url"] for s in json.loads(data)["servers"]] == ["/v2", "/v2"]
    data, ctype = for_clients((xroad / "services" / "openapi" / "warnings.yml").read_bytes())
    assert ctype == "application/yaml"
    assert yaml.safe_load(data)["servers"][0]["url"] == "https://{securityserver}/r1"
    assert parse_openapi(data).endpoints == parse_openapi((xroad / "services" / "openapi" / "warnings.yml").read_bytes()).endpoints


def test_endpoint_matching() -> None:
    endpoint = Endpoint("GET", "/pet/{petId}")
    assert endpoint.matches("get", "/pet/12")
    assert not endpoint.matches("GET", "/pet/12/x")
    assert not endpoint.matches("POST", "/pet/12")
    assert Endpoint("*", "/a").matches("DELETE", "/a")


def test_server_urls_of_paths_and_operations_are_cut_too() -> None:
    """OpenAPI allows ``servers`` on path items and operations: no backend address leaves there either."""
    document = {
        "openapi": "3.0.3", "info": {"title": "t", "version": "1"},
        "servers": [{"url": "http://10.0.0.5:8080/api"}],
        "paths": {"/a": {"servers": [{"url": "https://internal.example/a"}],
                         "get": {"servers": [{"url": "http://127.0.0.1:53673/rest"}], "responses": {}}}},
    }
    data, _ = for_clients(json.dumps(document).encode())
    out = json.loads(data)
    assert out["servers"][0]["url"] == "/api"
    assert out["paths"]["/a"]["servers"][0]["url"] == "/a"
    assert out["paths"]["/a"]["get"]["servers"][0]["url"] == "/rest"
    assert b"127.0.0.1" not in data and b"10.0.0.5" not in data and b"internal.example" not in data


def test_endpoint_matching_refuses_paths_a_backend_reads_otherwise() -> None:
    endpoint = Endpoint("GET", "/pet/{petId}")
    assert endpoint.matches("GET", "/pet/12")
    assert not endpoint.matches("GET", "/pet/..%2fsecret")
    assert not endpoint.matches("GET", "/pet/%2e%2e")
