"""The client proxy's edge: bad IS input gets a specific client.* code; helpers it serves."""

from __future__ import annotations


import json

import httpx
import pytest
from lxml import etree

from tests.gateway._world import TAX, VERO

@pytest.fixture(scope="module")
def gw(world):
    return world.gateway_of(TAX)


def _fault(resp):
    return etree.fromstring(resp.content).findtext(".//faultcode")


def test_soap_input_errors(gw):
    put = httpx.put(gw.is_url + "/", content=b"<x/>", timeout=10)
    assert _fault(put) == "client.invalid_http_method"
    not_xml = httpx.post(gw.is_url + "/", content=b"<broken", headers={"Content-Type": "text/xml"}, timeout=10)
    assert not_xml.status_code == 500 and _fault(not_xml).startswith("client.")
    wrong_type = httpx.post(gw.is_url + "/", content=b"{}", headers={"Content-Type": "application/json"}, timeout=10)
    assert _fault(wrong_type) == "client.invalid_content_type"
    no_header = httpx.post(gw.is_url + "/", headers={"Content-Type": "text/xml"}, timeout=10, content=(
        b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><a/></s:Body></s:Envelope>'))
    assert _fault(no_header).startswith("client.")


def test_rest_input_errors(gw):
    short = httpx.get(gw.is_url + "/r1/FI/GOV/0245437-2", headers={"X-Road-Client": TAX.to_text()}, timeout=10)
    assert short.status_code == 400 and short.headers["X-Road-Error"] == "client.invalid_request"
    no_client = httpx.get(gw.is_url + "/r1/FI/GOV/0245437-2/vero/income", timeout=10)
    assert no_client.status_code == 400 and no_client.headers["X-Road-Error"] == "client.missing_header"
    bad_client = httpx.get(gw.is_url + "/r1/FI/GOV/0245437-2/vero/income", headers={"X-Road-Client": "EE"},
                           timeout=10)
    assert bad_client.headers["X-Road-Error"] == "client.invalid_request"
    as_xml = httpx.get(gw.is_url + "/r1/FI/GOV/0245437-2", headers={"Accept": "application/xml"}, timeout=10)
    assert etree.fromstring(as_xml.content).findtext("type") == "client.invalid_request"


def test_http_proxy_style_absolute_target(gw):
    with httpx.Client(proxy=gw.is_url, timeout=30) as client:
        resp = client.get("http://gateway.invalid/r1/FI/GOV/0245437-2/vero/income/010190-123M",
                          headers={"X-Road-Client": TAX.to_text()})
    assert resp.status_code == 200, resp.text
    assert resp.json()["taxRecord"]["personCode"] == "010190-123M"


def test_list_clients_formats(gw):
    xml = httpx.get(gw.is_url + "/listClients", timeout=10)
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("text/xml")
    codes = {e.text for e in etree.fromstring(xml.content).iter("{http://x-road.eu/xsd/identifiers}memberCode")}
    assert {"70000001", "70000002", "10000003"} <= codes
    js = httpx.get(gw.is_url + "/listClients?xRoadInstance=FI", headers={"Accept": "application/json"}, timeout=10)
    subs = {m["id"].get("subsystem_code") for m in js.json()["member"]}
    assert {"vero", "dvv"} <= subs
    unknown = httpx.get(gw.is_url + "/listClients?xRoadInstance=LV", timeout=10)
    assert unknown.status_code == 400 and _fault(unknown) == "client.invalid_request"


def test_schemas_for_offline_wsdls(gw):
    xsd = httpx.get(gw.is_url + "/schemas/xroad.xsd", timeout=10)
    assert xsd.status_code == 200 and b"http://x-road.eu/xsd/xroad.xsd" in xsd.content
    assert httpx.get(gw.is_url + "/schemas/passwd", timeout=10).status_code == 404


# -- issue 15: a path-restricted REST right, a backend that normalises paths ----------------

VERO_GW = "FI/GOV/0245437-2/gw1"
FILES = "/r1/FI/GOV/0245437-2/vero/files"


@pytest.fixture(scope="module")
def files_backend(world, tmp_path_factory):
    """Python's http.server serving ``public/file.txt`` and ``secret``: it normalises ``..``
    itself, so a gateway that forwarded ``/public/../secret`` would hand out the secret.
    VERO offers it as REST service ``files`` (TAX may ``GET /public/**`` only) and as
    OpenAPI service ``filesapi`` whose description names the backend's address."""
    import functools
    import json as _json
    import threading
    import time
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    root = tmp_path_factory.mktemp("files")
    (root / "public").mkdir()
    (root / "public" / "file.txt").write_text("public")
    (root / "secret").write_text("SECRET")

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    conf = world.gateways[VERO_GW].serverconf
    conf.add_rest(VERO, url, "files", enabled=True, endpoints=[("GET", "/public/**")])
    conf.grant(VERO, "files", TAX, method="GET", path="/public/**")
    doc = {"openapi": "3.0.3", "info": {"title": "files", "version": "1"}, "servers": [{"url": url + "/"}],
           "paths": {"/public/{name}": {"get": {"responses": {"200": {"description": "a file"}}}}}}
    conf.add_openapi(VERO, url + "/openapi.json", "filesapi", document=_json.dumps(doc).encode(), enabled=True)
    counter, deadline = conf.counter(), time.monotonic() + 5
    while conf.snapshot().counter != counter and time.monotonic() < deadline:
        time.sleep(0.05)
    yield url
    server.shutdown()


def _raw_get(base: str, target: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """A GET whose target goes out byte for byte (httpx would remove the dot segments itself)."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request("GET", target, headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


TRAVERSALS = ["/public/../secret", "/public/%2e%2e/secret", "/public/%2E%2E/secret", "/public/..%2fsecret",
              "/public/..%5csecret", "/public/.%2e/secret", "/public/..;x/../secret"]


def test_the_backend_really_normalises(files_backend):
    """Without this the tests below would prove nothing."""
    status, _, body = _raw_get(files_backend, "/public/../secret", {})
    assert (status, body) == (200, b"SECRET")
    status, _, body = _raw_get(files_backend, "/public/%2e%2e/secret", {})
    assert (status, body) == (200, b"SECRET")


@pytest.mark.parametrize("rest", TRAVERSALS)
def test_consumer_refuses_a_path_that_side_steps_the_right(gw, files_backend, rest):
    ok = httpx.get(gw.is_url + FILES + "/public/file.txt", headers={"X-Road-Client": TAX.to_text()}, timeout=30)
    assert (ok.status_code, ok.text) == (200, "public")
    status, headers, body = _raw_get(gw.is_url, FILES + rest, {"X-Road-Client": TAX.to_text()})
    assert status == 400 and headers["x-road-error"] == "client.invalid_request", body
    assert b"SECRET" not in body and "must not contain" in json.loads(body)["message"]


@pytest.mark.parametrize("rest", TRAVERSALS[:3])
def test_provider_refuses_what_a_rogue_consumer_sends(gw, files_backend, monkeypatch, rest):
    """A consumer gateway that signs anything (here: its own check switched off) still gets
    nothing: the provider checks the path it would forward and refuses it."""
    from gateway.proxy import _client_calls
    from trust.protocol import parse_service
    from trust.protocol._rest import RestTarget as Parsed

    def lenient(path, query=None, **_kw):
        segs = path.split("/")
        return Parsed(parse_service("/".join(segs[2:7])), "/" + "/".join(segs[7:]), query)

    monkeypatch.setattr(_client_calls, "parse_path", lenient)
    status, headers, body = _raw_get(gw.is_url, FILES + rest, {"X-Road-Client": TAX.to_text()})
    assert status == 500 and headers["x-road-error"] == "server.serverproxy.invalid_request", body
    assert b"SECRET" not in body


def test_get_openapi_strips_backend_addresses(gw, files_backend):
    resp = httpx.get(gw.is_url + "/r1/FI/GOV/0245437-2/vero/getOpenAPI?serviceCode=filesapi",
                     headers={"X-Road-Client": TAX.to_text()}, timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.json()["servers"] == [{"url": "/"}]
    assert "127.0.0.1" not in resp.text and files_backend not in resp.text


def test_get_openapi_of_a_service_without_description(gw):
    resp = httpx.get(gw.is_url + "/r1/FI/GOV/0245437-2/vero/getOpenAPI?serviceCode=income",
                     headers={"X-Road-Client": TAX.to_text()}, timeout=30)
    assert resp.status_code == 500 and resp.headers["X-Road-Error"] == "server.serverproxy.service_type"
    assert "no OpenAPI description for this service" in resp.json()["message"]
    unknown = httpx.get(gw.is_url + "/r1/FI/GOV/0245437-2/vero/getOpenAPI?serviceCode=nothing",
                        headers={"X-Road-Client": TAX.to_text()}, timeout=30)
    assert unknown.headers["X-Road-Error"] == "server.serverproxy.unknown_service"


# -- issue 15: header fields checked before signing ----------------------------------------


def _soap(gw, **kwargs):
    import uuid

    from trust.protocol import ServiceId, build_request

    body = etree.Element("{http://vero.sandbox.sild.eu/producer}getTaxRecord")
    etree.SubElement(body, "{http://vero.sandbox.sild.eu/producer}personCode").text = "010190-123M"
    kwargs.setdefault("query_id", str(uuid.uuid4()))
    msg = build_request(client=TAX, service=ServiceId("FI", "GOV", "0245437-2", "vero", "getTaxRecord", "v1"),
                        body=body, **kwargs)
    return httpx.post(gw.is_url + "/", content=msg, headers={"Content-Type": "text/xml"}, timeout=30)


def test_long_header_fields_are_client_errors(gw):
    resp = _soap(gw, query_id="x" * 1000)
    assert _fault(resp) == "client.invalid_request" and b"longer than 255" in resp.content
    assert _fault(_soap(gw, user_id="u" * 1000)) == "client.invalid_request"
    assert _fault(_soap(gw, protocol_version="4.0junk")) == "client.invalid_protocol_version"
    rest = httpx.get(gw.is_url + "/r1/FI/GOV/0245437-2/vero/income/010190-123M",
                     headers={"X-Road-Client": TAX.to_text(), "X-Road-Id": "x" * 1000}, timeout=30)
    assert rest.status_code == 400 and rest.headers["X-Road-Error"] == "client.invalid_request"


# -- issue 14: errors in the caller's protocol ---------------------------------------------


def test_rest_call_to_a_soap_service_is_service_type(gw):
    resp = httpx.get(gw.is_url + "/r1/FI/GOV/0245437-2/vero/getTaxRecord",
                     headers={"X-Road-Client": TAX.to_text()}, timeout=30)
    assert resp.status_code == 500 and resp.headers["X-Road-Error"] == "server.serverproxy.service_type"
    assert "is a SOAP service" in resp.json()["message"]
    from trust.protocol import ServiceId, build_request
    import uuid

    msg = build_request(client=TAX, service=ServiceId("FI", "GOV", "0245437-2", "vero", "income"),
                        query_id=str(uuid.uuid4()), body=etree.Element("{urn:x}income"))
    soap = httpx.post(gw.is_url + "/", content=msg, headers={"Content-Type": "text/xml"}, timeout=30)
    assert _fault(soap) == "server.serverproxy.service_type" and b"is a REST service" in soap.content


@pytest.mark.parametrize("method,path", [("GET", "/r2/FI/GOV/0245437-2/vero/income"), ("POST", "/r2/x"),
                                         ("GET", "/listclients"), ("DELETE", "/nothing/here")])
def test_unknown_paths_are_a_plain_404_naming_the_forms(gw, method, path):
    resp = httpx.request(method, gw.is_url + path, headers={"X-Road-Client": TAX.to_text()}, timeout=10)
    assert resp.status_code == 404 and resp.headers["content-type"].startswith("text/plain")
    assert "POST /" in resp.text and "/r1/{instance}/{class}/{member}/{subsystem}/{service}" in resp.text
    assert "Envelope" not in resp.text


def test_rest_path_without_subsystem_names_the_form(gw):
    form = "/r1/{instance}/{class}/{member}/{subsystem}/{service}"
    short = httpx.get(gw.is_url + "/r1/FI/GOV/0245437-2/income", headers={"X-Road-Client": TAX.to_text()},
                      timeout=30)
    assert short.headers["X-Road-Error"] == "client.invalid_request" and form in short.json()["message"]
    read_as_subsystem = httpx.get(gw.is_url + "/r1/FI/GOV/0245437-2/income/010190-123M",
                                  headers={"X-Road-Client": TAX.to_text()}, timeout=30)
    assert read_as_subsystem.headers["X-Road-Error"] == "server.clientproxy.unknown_member"
    message = read_as_subsystem.json()["message"]
    assert "has no subsystem 'income'" in message and form in message


def test_json_callers_of_get_metaservices_get_json_errors(gw):
    resp = httpx.get(gw.is_url + "/listClients?xRoadInstance=LV", headers={"Accept": "application/json"},
                     timeout=10)
    assert resp.status_code == 400 and resp.headers["X-Road-Error"] == "client.invalid_request"
    assert resp.json()["type"] == "client.invalid_request" and resp.json()["detail"]
    assert _fault(httpx.get(gw.is_url + "/listClients?xRoadInstance=LV", timeout=10)) == "client.invalid_request"


def test_malformed_xml_is_one_sentence_with_line_and_column(gw):
    resp = httpx.post(gw.is_url + "/", content=b"<a>\n<b></c></a>", headers={"Content-Type": "text/xml"},
                      timeout=10)
    message = etree.fromstring(resp.content).findtext(".//faultstring")
    assert message == "the SOAP message is not well-formed XML at line 2, column 8: " \
                      "Opening and ending tag mismatch: b line 2 and c"


@pytest.mark.parametrize("target,headers", [
    ("/r1/FI/GOV/0245437-2/vero/income/x", [("X-Road-Client", "EE/GOV/70000001/tax"), ("X-Road-Id", "x" * 1000)]),
    ("/r1/FI/GOV/0245437-2/vero/income/../secret", [("X-Road-Client", "EE/GOV/70000001/tax")]),
])
def test_provider_reads_a_rogue_header_part_as_invalid_request(target, headers):
    """What a consumer gateway signed is checked again on the provider's side, before the
    log or the access rights see it (the consumer's own log would refuse a 1,000-character id)."""
    from gateway.net import MIME_REST_REQUEST, Part
    from gateway.proxy._server_calls import RestServed
    from trust.protocol import XRoadFault, request_header_part

    head = request_header_part("GET", target, headers)
    with pytest.raises(XRoadFault) as info:
        RestServed(None, [Part(MIME_REST_REQUEST, head)], "request-id")  # type: ignore[arg-type]
    assert info.value.fault_code == "invalid_request"


def test_get_openapi_needs_a_service_code(gw):
    resp = httpx.get(gw.is_url + "/r1/FI/GOV/0245437-2/vero/getOpenAPI", headers={"X-Road-Client": TAX.to_text()},
                     timeout=30)
    assert resp.headers["X-Road-Error"] == "server.serverproxy.invalid_request"
    assert "serviceCode" in resp.json()["message"]
