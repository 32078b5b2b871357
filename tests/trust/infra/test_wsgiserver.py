"""trust.infra._wsgiserver: cheroot on a background thread, alone or sharing a listening socket."""

from __future__ import annotations

import http.client
import socket
from typing import Any, Callable, Iterator

import pytest

from trust.infra import WsgiServer

pytestmark = pytest.mark.timeout(60)


def _app(name: bytes) -> Callable[..., list[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(name)))])
        return [name]
    return app


@pytest.fixture
def shared() -> Iterator[tuple[socket.socket, WsgiServer, WsgiServer]]:
    sock = socket.create_server(("127.0.0.1", 0), backlog=16)
    a = WsgiServer(_app(b"a"), listen_socket=sock).start()
    b = WsgiServer(_app(b"b"), listen_socket=sock).start()
    try:
        yield sock, a, b
    finally:
        a.stop()
        b.stop()
        sock.close()


def test_servers_sharing_a_socket_both_answer_on_its_port(shared: tuple[socket.socket, WsgiServer, WsgiServer]) -> None:
    sock, a, b = shared
    assert a.port == b.port == sock.getsockname()[1]
    answers = set()
    for _ in range(40):
        conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=10)
        conn.request("GET", "/")
        answers.add(conn.getresponse().read())
        conn.close()
    assert answers <= {b"a", b"b"} and answers  # whichever accepted it answers


def test_the_loser_of_a_shared_accept_goes_back_at_once(shared: tuple[socket.socket, WsgiServer, WsgiServer]) -> None:
    # every selector sharing the socket wakes for each new connection; cheroot's own 1 s
    # accept timeout would keep the losers (and their kept-alive connections) waiting
    sock, a, _ = shared
    assert sock.gettimeout() == 0.0
    assert a._server._connections._from_server_socket(sock) is None  # nothing pending: EAGAIN, ignored


def test_a_server_of_its_own_keeps_cheroots_accept_timeout() -> None:
    server = WsgiServer(_app(b"x")).start()
    try:
        assert server.listening_socket.gettimeout() == 1.0
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("GET", "/")
        assert conn.getresponse().read() == b"x"
        conn.close()
    finally:
        server.stop()
