"""The bench's load tools: the wrk driver (bench/wrk_load.py) and the lean backend (bench/lean_backend.py).

The figures of docs/performance.md come from these two, so what they send and answer
is checked here against real processes: wrk (Debian package, installed by ``make
test``) and the backend, on 127.0.0.1.
"""

from __future__ import annotations

import http.client
import shutil
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest
from lxml import etree

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import wrk_load  # noqa: E402
from wrk_load import ID_PLACEHOLDER, Request  # noqa: E402

pytestmark = pytest.mark.timeout(120)
needs_wrk = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (make test installs it)")

# everything a Lua string could trip on: quotes, backslashes, long-bracket closers, newlines, UTF-8
AWKWARD = 'x"y\\z]]w]=]\n\tMatti Meikäläinen <id>'


class _Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str, dict[str, str], bytes]] = []

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.seen.append((self.command, self.path, dict(self.headers.items()), body))
        status = 500 if self.path == "/fail" else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[tuple[str, str, dict[str, str], bytes]]]]:
    seen: list[tuple[str, str, dict[str, str], bytes]] = []
    handler = type("Recorder", (_Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


@needs_wrk
def test_wrk_sends_each_call_with_a_fresh_id_and_the_body_byte_for_byte(recorder) -> None:
    base, seen = recorder
    template = f"<m>{AWKWARD}<id>{ID_PLACEHOLDER}</id></m>".encode()
    request = Request("POST", "/soap", {"Content-Type": "text/xml; charset=UTF-8", "X-Odd": 'a"b\\c'}, template)
    got = wrk_load.run(base, request, clients=2, seconds=1, warmup=0)
    assert len(seen) - 2 <= got.answered <= len(seen) and got.answered > 0  # calls in flight at the end are not counted
    assert got.errors == 0
    ids = set()
    for method, path, headers, body in seen:
        assert (method, path, headers["Content-Type"], headers["X-Odd"]) == ("POST", "/soap", "text/xml; charset=UTF-8", 'a"b\\c')
        assert body.startswith(f"<m>{AWKWARD}".encode())
        sent_id = body.rsplit(b"<id>", 1)[1].split(b"</id>")[0]
        assert body == template.replace(ID_PLACEHOLDER.encode(), sent_id)
        ids.add(sent_id)
    assert len(ids) == len(seen)  # one id per call


@needs_wrk
def test_wrk_keeps_a_fixed_request_and_the_base_path(recorder) -> None:
    base, seen = recorder
    got = wrk_load.run(base + "/prefix", Request("GET", "/r1/x?y=1", {"X-Road-Client": "EE/GOV/1/tax"}),
                       clients=1, seconds=1, warmup=0)
    assert got.answered > 0 and got.p50_ms > 0 and got.p99_ms >= got.p50_ms
    assert {(m, p, h["X-Road-Client"], b) for m, p, h, b in seen} == {("GET", "/prefix/r1/x?y=1", "EE/GOV/1/tax", b"")}


@needs_wrk
def test_wrk_counts_refused_calls_as_errors_not_answers(recorder) -> None:
    base, seen = recorder
    got = wrk_load.run(base, Request("POST", "/fail", {}, b"{}"), clients=1, seconds=1, warmup=0)
    assert got.answered == 0 and len(seen) - 1 <= got.errors <= len(seen) and got.errors > 0


def test_a_summary_without_wrks_line_is_an_error() -> None:
    with pytest.raises(wrk_load.WrkError, match="no SILD-WRK line"):
        wrk_load.parse_summary("Running 1s test @ http://127.0.0.1:1\n")
    assert wrk_load.parse_summary("SILD-WRK 10 2000000 0 0 0 2 0 1500 9000\n") == wrk_load.Summary(
        answered=8, seconds=2.0, p50_ms=1.5, p99_ms=9.0, errors=2)


@pytest.fixture(scope="module")
def lean() -> Iterator[int]:
    import exchange  # the bench's own start-up: the backend as the bench runs it, ready when it returns

    url, proc = exchange.start_lean_backend()
    try:
        yield int(url.rsplit(":", 1)[1])
    finally:
        proc.terminate()
        proc.wait(10)


SOAP = (b'<?xml version="1.0" encoding="UTF-8"?><e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/">'
        b'<e:Header><h>kept</h></e:Header><e:Body><v:echoSoap xmlns:v="urn:v"><v:p>1</v:p></v:echoSoap></e:Body></e:Envelope>')


def test_the_lean_backend_echoes_soap_as_a_producer_answers_and_rest_as_it_came(lean: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", lean, timeout=10)  # one kept-alive connection for all
    conn.request("POST", "/", SOAP, {"Content-Type": "text/xml; charset=UTF-8"})
    resp = conn.getresponse()
    root = etree.fromstring(resp.read())
    assert resp.status == 200 and resp.getheader("Content-Type").startswith("text/xml")
    assert root.find("{http://schemas.xmlsoap.org/soap/envelope/}Header")[0].text == "kept"
    assert root.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")[0].tag == "{urn:v}echoSoapResponse"
    conn.request("POST", "/", b'{"personCode": "010190-123M"}', {"Content-Type": "application/json"})
    resp = conn.getresponse()
    assert (resp.status, resp.read()) == (200, b'{"personCode": "010190-123M"}')
    conn.putrequest("POST", "/")  # a chunked body, as a streaming gateway may send
    conn.putheader("Transfer-Encoding", "chunked")
    conn.putheader("Content-Type", "application/json")
    conn.endheaders()
    conn.send(b"3\r\n[1,\r\n2\r\n2]\r\n0\r\n\r\n")
    resp = conn.getresponse()
    assert (resp.status, resp.read()) == (200, b"[1,2]")
    conn.request("POST", "/", b"<not-soap", {"Content-Type": "text/xml"})
    resp = conn.getresponse()
    assert resp.status == 400 and b"not a SOAP message" in resp.read()
    conn.close()


def test_the_lean_backend_refuses_garbage_and_keeps_serving(lean: int) -> None:
    import socket

    with socket.create_connection(("127.0.0.1", lean), timeout=10) as raw:
        raw.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        assert raw.recv(100).startswith(b"HTTP/1.1 400")
    conn = http.client.HTTPConnection("127.0.0.1", lean, timeout=10)
    conn.request("POST", "/", b"{}", {"Content-Type": "application/json"})
    assert conn.getresponse().status == 200
    conn.close()
