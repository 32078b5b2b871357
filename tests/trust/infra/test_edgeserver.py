"""trust.infra.EdgeServer on 127.0.0.1 with real sockets and real TLS: deadlines, caps, limits, the peer cert."""

from __future__ import annotations

import datetime as dt
import http.client
import socket
import ssl
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from trust.infra import EdgeLimits, EdgeServer

from tests.support.pki import TestCa, name, new_key, write_tls_files

pytestmark = pytest.mark.timeout(60)

NOW = dt.datetime.now(dt.timezone.utc)
App = Callable[..., Any]


def echo(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """Reads the whole body; answers what the app saw."""
    body = environ["wsgi.input"].read()
    text = "|".join([environ["REQUEST_METHOD"], environ["PATH_INFO"], environ["QUERY_STRING"],
                     environ["REQUEST_URI"], environ["REMOTE_PORT"], environ.get("SSL_CLIENT_CERT", "")])
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [text.encode() + b"|" + body]


def request(port: int, method: str = "GET", path: str = "/", body: bytes | None = None,
            timeout: float = 10, **kw: Any) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, **kw)
    try:
        conn.request(method, path, body=body)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def closed_by_peer(sock: socket.socket, timeout: float = 10) -> bytes:
    """What the server sent before closing ``sock`` (raises if it stays open for ``timeout``)."""
    sock.settimeout(timeout)
    got = b""
    try:
        while chunk := sock.recv(65536):
            got += chunk
    except ConnectionResetError:
        pass
    return got


@pytest.fixture
def serve() -> Iterator[Callable[..., EdgeServer]]:
    servers: list[EdgeServer] = []

    def start(app: App = echo, **kw: Any) -> EdgeServer:
        server = EdgeServer(app, **kw).start()
        servers.append(server)
        return server
    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("edge-pki")
    ca = TestCa.create("edge test CA", NOW)
    server_cert, server_key = ca.tls_server(base, "server", "127.0.0.1", not_before=NOW - dt.timedelta(days=1),
                                            not_after=NOW + dt.timedelta(days=2))
    key = new_key()
    client = ca.leaf(name(CN="a peer gateway"), key.public_key(), not_before=NOW - dt.timedelta(days=1),
                     not_after=NOW + dt.timedelta(days=2))
    client_cert, client_key = write_tls_files(base, "client", client, key)
    (base / "ca.pem").write_bytes(ca.pem)
    return {"server": (str(server_cert), str(server_key)), "client": (str(client_cert), str(client_key)),
            "ca": str(base / "ca.pem"), "client_pem": client_cert.read_text()}


def mutual_tls(pki: dict[str, Any]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*pki["server"])
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(pki["ca"])
    return ctx


def tls_client(pki: dict[str, Any], version: ssl.TLSVersion | None = None, cert: bool = True) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(pki["ca"])
    if cert:
        ctx.load_cert_chain(*pki["client"])
    if version is not None:
        ctx.minimum_version = ctx.maximum_version = version
    return ctx


def test_keep_alive_serves_requests_in_turn_on_one_connection(serve: Callable[..., EdgeServer]) -> None:
    server = serve()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    ports = set()
    for i in range(5):
        conn.request("POST", f"/p%20{i}?q={i}", body=b"x" * (i * 100_000))
        resp = conn.getresponse()
        method, path, query, uri, port, _cert, body = resp.read().split(b"|")
        assert (resp.status, method, path, query, uri) == (200, b"POST", f"/p {i}".encode(), f"q={i}".encode(),
                                                           f"/p%20{i}?q={i}".encode())
        assert body == b"x" * (i * 100_000)
        ports.add(port)
    conn.close()
    assert len(ports) == 1  # one connection, kept alive


def test_chunked_request_bodies_reach_the_app(serve: Callable[..., EdgeServer]) -> None:
    server = serve()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("POST", "/", body=iter([b"ab", b"c" * 300_000, b"d"]), encode_chunked=True)
    assert conn.getresponse().read().split(b"|")[-1] == b"ab" + b"c" * 300_000 + b"d"


def test_absolute_request_targets_of_an_http_proxy_client(serve: Callable[..., EdgeServer]) -> None:
    server = serve()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(b"GET http://gateway.example/listClients?x=1 HTTP/1.1\r\nHost: gateway.example\r\n"
                 b"Connection: close\r\n\r\n")
    answer = closed_by_peer(sock)
    assert b"GET|/listClients|x=1|http://gateway.example/listClients?x=1|" in answer


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2])
def test_the_peer_certificate_reaches_the_app(serve: Callable[..., EdgeServer], pki: dict[str, Any],
                                              version: ssl.TLSVersion) -> None:
    server = serve(ssl_context=mutual_tls(pki))
    conn = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=10, context=tls_client(pki, version))
    conn.request("GET", "/")
    fields = conn.getresponse().read().decode().split("|")
    assert ssl.PEM_cert_to_DER_cert(fields[5]) == ssl.PEM_cert_to_DER_cert(pki["client_pem"])
    assert conn.sock.version() == {ssl.TLSVersion.TLSv1_3: "TLSv1.3", ssl.TLSVersion.TLSv1_2: "TLSv1.2"}[version]
    conn.close()


def test_idle_connections_and_half_open_handshakes_do_not_block_a_client(
        serve: Callable[..., EdgeServer], pki: dict[str, Any]) -> None:
    server = serve(ssl_context=mutual_tls(pki), threads=2)
    outgoing = ssl.MemoryBIO()
    hello = tls_client(pki).wrap_bio(ssl.MemoryBIO(), outgoing)
    with pytest.raises(ssl.SSLWantReadError):
        hello.do_handshake()
    client_hello = outgoing.read()
    idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(100)]
    half_open = []
    for _ in range(30):  # handshakes begun, never finished
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(client_hello[: len(client_hello) // 2])
        half_open.append(sock)
    try:
        for _ in range(3):
            conn = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=5, context=tls_client(pki))
            conn.request("GET", "/")
            assert conn.getresponse().status == 200
            conn.close()
    finally:
        for sock in idle + half_open:
            sock.close()


def test_a_handshake_that_does_not_finish_is_cut_at_its_deadline(serve: Callable[..., EdgeServer],
                                                                 pki: dict[str, Any]) -> None:
    server = serve(ssl_context=mutual_tls(pki), limits=EdgeLimits(handshake_timeout=0.5))
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(b"\x16\x03\x01\x02\x00")  # a TLS record header, then nothing
    # closed well within closed_by_peer's wait; without the deadline uvloop would wait 60 s
    assert closed_by_peer(sock, timeout=20) == b""


def test_slowloris_is_cut_at_the_header_deadline(serve: Callable[..., EdgeServer]) -> None:
    server = serve(limits=EdgeLimits(header_timeout=1.0))
    sock = socket.create_connection(("127.0.0.1", server.port))
    stop = threading.Event()

    def dribble() -> None:
        try:
            sock.sendall(b"GET / HTTP/1.1\r\n")
            while not stop.wait(0.1):
                sock.sendall(b"X-A: b\r\n")
        except OSError:
            pass
    threading.Thread(target=dribble, daemon=True).start()
    try:
        assert closed_by_peer(sock).startswith(b"HTTP/1.1 408 ")
    finally:
        stop.set()
    assert request(server.port)[0] == 200


def test_a_silent_connection_is_closed_and_an_idle_one_after_its_timeout(serve: Callable[..., EdgeServer]) -> None:
    server = serve(limits=EdgeLimits(header_timeout=0.5, idle_timeout=0.5))
    silent = socket.create_connection(("127.0.0.1", server.port))
    assert closed_by_peer(silent) == b""
    kept = socket.create_connection(("127.0.0.1", server.port))
    kept.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert closed_by_peer(kept).startswith(b"HTTP/1.1 200 ")  # answered, then closed when idle


def test_a_client_over_the_per_address_cap_is_refused_and_others_are_not(serve: Callable[..., EdgeServer]) -> None:
    server = serve(limits=EdgeLimits(max_per_address=3))
    held = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(3)]
    try:
        over = socket.create_connection(("127.0.0.1", server.port))
        with pytest.raises(OSError):  # reset, maybe before the request is even sent
            over.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            if not closed_by_peer(over):
                raise ConnectionResetError("closed without an answer")
        status, _ = request(server.port, source_address=("127.0.0.2", 0))  # another address
        assert status == 200
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + 5
    while server.open_connections > 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert request(server.port)[0] == 200  # the slots came back


def test_a_huge_declared_body_is_refused_without_being_read(serve: Callable[..., EdgeServer]) -> None:
    seen: list[int] = []

    def reads(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        try:
            environ["wsgi.input"].read(1024)
        finally:
            seen.append(environ["wsgi.input"].received)
        start_response("200 OK", [])
        return [b"read"]
    server = serve(reads, limits=EdgeLimits(max_body=1024 * 1024))
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (1 << 30) + b"x" * 65536)
    answer = closed_by_peer(sock)
    assert answer.startswith(b"HTTP/1.1 413 ") and b"Connection: close" in answer
    assert seen == [0]  # not a byte of it reached the app


def test_a_chunked_body_stops_at_the_limit(serve: Callable[..., EdgeServer]) -> None:
    server = serve(limits=EdgeLimits(max_body=1024 * 1024))
    sock = socket.create_connection(("127.0.0.1", server.port))
    sent = 0
    sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n%s\r\n" % (65536, b"y" * 65536)
    with pytest.raises(OSError):  # the server stops taking it
        sock.settimeout(10)
        while sent < 256 * 1024 * 1024:
            sock.sendall(chunk)
            sent += len(chunk)
    assert sent < 64 * 1024 * 1024
    try:
        answer = closed_by_peer(sock)
    except OSError:
        answer = b""
    assert answer == b"" or answer.startswith(b"HTTP/1.1 413 ")


def test_the_app_runs_off_the_loop_so_a_slow_one_does_not_stall_others(serve: Callable[..., EdgeServer]) -> None:
    gate = threading.Event()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ["PATH_INFO"] == "/slow":
            gate.wait(20)
        start_response("200 OK", [])
        return [b"done"]
    server = serve(app, threads=4)
    slow = threading.Thread(target=request, args=(server.port, "GET", "/slow"), daemon=True)
    slow.start()
    try:
        assert request(server.port, path="/fast") == (200, b"done")
    finally:
        gate.set()
        slow.join(10)


def test_a_streamed_answer_goes_out_chunked(serve: Callable[..., EdgeServer]) -> None:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"one,"
        yield b""
        yield b"two"
    server = serve(app)
    assert request(server.port) == (200, b"one,two")


def test_a_failing_app_gets_a_500_and_the_server_goes_on(serve: Callable[..., EdgeServer]) -> None:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ["PATH_INFO"] == "/bug":
            raise RuntimeError("bug")
        start_response("200 OK", [])
        return [b"fine"]
    server = serve(app)
    assert request(server.port, path="/bug")[0] == 500
    assert request(server.port) == (200, b"fine")


def test_a_request_head_over_the_limit_gets_431(serve: Callable[..., EdgeServer]) -> None:
    server = serve(limits=EdgeLimits(max_header_bytes=8192))
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n")
    try:
        assert closed_by_peer(sock).startswith(b"HTTP/1.1 431 ")
    except ConnectionResetError:  # the rest of the head arrived after the close
        pass


def test_stop_lets_an_answer_in_progress_finish_then_refuses(serve: Callable[..., EdgeServer]) -> None:
    started = threading.Event()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        started.set()
        time.sleep(0.5)
        start_response("200 OK", [])
        return [b"finished"]
    server = EdgeServer(app).start()
    result: list[tuple[int, bytes]] = []
    client = threading.Thread(target=lambda: result.append(request(server.port)))
    client.start()
    assert started.wait(10)
    server.stop()
    client.join(10)
    assert result == [(200, b"finished")]
    with pytest.raises(OSError):
        request(server.port, timeout=2)


def test_servers_sharing_a_listening_socket_both_answer(tmp_path: Path) -> None:
    def named(label: bytes) -> App:
        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
            start_response("200 OK", [])
            return [label]
        return app
    sock = socket.create_server(("127.0.0.1", 0), backlog=64)
    a = EdgeServer(named(b"a"), listen_socket=sock).start()
    b = EdgeServer(named(b"b"), listen_socket=sock.dup()).start()
    try:
        assert a.port == b.port == sock.getsockname()[1]
        answers = {request(a.port)[1] for _ in range(40)}
        assert answers <= {b"a", b"b"} and answers
    finally:
        a.stop()
        b.stop()


def test_a_slow_app_slows_the_reading_so_the_buffer_stays_bounded(serve: Callable[..., EdgeServer]) -> None:
    most: list[int] = []

    def slow_reader(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        stream, total, peak = environ["wsgi.input"], 0, 0
        while chunk := stream.read(64 * 1024):
            total += len(chunk)
            peak = max(peak, stream.buffered)
            time.sleep(0.002)
        most.append(peak)
        start_response("200 OK", [])
        return [str(total).encode()]
    server = serve(slow_reader, limits=EdgeLimits(body_buffer=256 * 1024))
    body = b"z" * (16 * 1024 * 1024)
    assert request(server.port, "POST", "/", body=body, timeout=30) == (200, str(len(body)).encode())
    assert most and most[0] < 1024 * 1024  # the high-water mark plus what one socket read brings
