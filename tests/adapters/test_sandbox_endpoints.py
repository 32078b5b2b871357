"""The sandbox's legacy XML endpoints (population register, Vero) share one WSGI shape:
GET says what they are, a body that is not XML gets the service's own error, and
every POST answer carries the service's content type."""

from __future__ import annotations

import io
from typing import Any

import pytest

from adapters.sandbox_backends import population, vero


def _call(app: Any, method: str, body: bytes = b"") -> tuple[str, dict[str, str], bytes]:
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    environ = {"REQUEST_METHOD": method, "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
    out = b"".join(app(environ, start_response))
    assert seen["headers"]["Content-Length"] == str(len(out))
    return seen["status"], seen["headers"], out


def test_get_answers_the_banner_as_plain_text() -> None:
    assert _call(population.app, "GET") == ("200 OK", {"Content-Type": "text/plain", "Content-Length": "40"},
                                            b"rahvastikuregister legacy SOAP endpoint\n")
    assert _call(vero.app, "GET")[::2] == ("200 OK", b"vero legacy XML endpoint\n")


def test_a_body_that_is_not_xml_gets_the_services_own_error() -> None:
    status, headers, body = _call(population.app, "POST", b"<not xml")
    assert (status, headers["Content-Type"]) == ("500 Internal Server Error", "text/xml; charset=utf-8")
    assert b"malformed request" in body and b"Client" in body
    status, headers, body = _call(vero.app, "POST", b"<not xml")
    assert (status, headers["Content-Type"]) == ("400 Bad Request", "application/xml; charset=utf-8")
    assert b"malformed request" in body


def test_a_document_goes_to_the_service() -> None:
    request = (f'<TaxRecordRequest xmlns="{vero.NS}"><Hetu>nobody</Hetu><Year>x</Year></TaxRecordRequest>').encode()
    status, headers, body = _call(vero.app, "POST", request)
    assert (status, headers["Content-Type"]) == ("400 Bad Request", "application/xml; charset=utf-8")
    assert b"Year must be a number" in body
    status, _, body = _call(population.app, "POST", f'<a xmlns="{population.NS}"/>'.encode())
    assert status == "500 Internal Server Error" and b"unknown operation" in body


def test_dvv_describes_itself_with_an_openapi_document() -> None:
    import json

    from trust.protocol import parse_openapi

    from adapters.sandbox_backends import dvv

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/openapi.json", "HTTP_HOST": "127.0.0.1:4100"}
    seen: dict[str, Any] = {}
    body = b"".join(dvv.app(environ, lambda status, headers: seen.update(status=status)))
    assert seen["status"] == "200 OK"
    described = parse_openapi(body)
    assert described.server_urls == ("http://127.0.0.1:4100/residents",)
    assert {(e.method, e.path) for e in described.endpoints} == {("GET", "/"), ("GET", "/{personCode}")}
    assert set(json.loads(body)["components"]["schemas"]["Resident"]["properties"]) >= {"personCode", "firstName"}


def test_an_adapters_description_is_rerooted_at_one_services_url() -> None:
    import json

    from adapters.sandbox_backends import service_description

    adapter = {"openapi": "3.0.3", "servers": [{"url": "http://h:1/rest"}],
               "paths": {"/persons/{personCode}": {"get": {}}, "/persons": {"get": {}}, "/income/{x}": {"get": {}}}}
    rerooted = json.loads(service_description(json.dumps(adapter).encode(), "http://h:1/rest/persons"))
    assert rerooted["servers"] == [{"url": "http://h:1/rest/persons"}]
    assert set(rerooted["paths"]) == {"/{personCode}", "/"}
    same = json.loads(service_description(json.dumps(adapter).encode(), "http://h:1/rest"))
    assert set(same["paths"]) == set(adapter["paths"])
    with pytest.raises(ValueError, match="not under the description's server"):
        service_description(json.dumps(adapter).encode(), "http://elsewhere/rest/persons")
