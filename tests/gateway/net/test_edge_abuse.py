"""The short form of the edge abuse checks (issue 16; the full one is ``bench/abuse.py``).

Clients that cost nothing to run must not stop a port facing other organisations: idle
TCP connections, TLS handshakes begun and never finished, request heads dribbled a
line at a time (slowloris), a body declared far beyond any limit, bodies streamed
without a length beyond it. Each check holds such
clients on a port and asks whether a normal client is still answered; none times
anything but "answered at all" (a client timeout far above a normal answer).
On the thread-per-connection server these ports had before, every check here failed:
16 idle connections took the IS port's threads, one idle connection held the mutual-TLS
port's accept loop, and a refused 1 GiB body was read into memory to be discarded.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import ssl
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from trust.services import TrustHttpApp, TrustServer
from trust.services._bundle import ocsp_responder, timestamp_authority

from tests.gateway._world import World

pytestmark = pytest.mark.timeout(180)

TAX_GW, VERO_GW = "EE/GOV/70000001/gw1", "FI/GOV/0245437-2/gw1"
INCOME = "/r1/FI/GOV/0245437-2/vero/income/010190-123M"
ANSWERED = 8.0  # seconds: a normal answer takes milliseconds; the old server held clients 60 s


def _client_hello() -> bytes:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    outgoing = ssl.MemoryBIO()
    conn = ctx.wrap_bio(ssl.MemoryBIO(), outgoing)
    with contextlib.suppress(ssl.SSLWantReadError):
        conn.do_handshake()
    return outgoing.read()


@contextlib.contextmanager
def abusers(port: int, *, idle: int, half_open: int = 0, slowloris: int = 0) -> Iterator[None]:
    """``idle`` silent connections, ``half_open`` TLS handshakes left half-sent and
    ``slowloris`` clients sending one header line every half second, all held on ``port``."""
    socks: list[socket.socket] = []
    stop = threading.Event()
    hello = _client_hello()
    try:
        for _ in range(idle):
            socks.append(socket.create_connection(("127.0.0.1", port)))
        for _ in range(half_open):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(hello[: len(hello) // 2])
            socks.append(sock)
        slow = [socket.create_connection(("127.0.0.1", port)) for _ in range(slowloris)]
        socks += slow

        def dribble() -> None:
            for sock in slow:
                with contextlib.suppress(OSError):
                    sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
            while not stop.wait(0.5):
                for sock in slow:
                    with contextlib.suppress(OSError):
                        sock.sendall(b"X-Slow: 1\r\n")
        threading.Thread(target=dribble, daemon=True).start()
        time.sleep(0.3)  # let the server take them all in
        yield
    finally:
        stop.set()
        for sock in socks:
            sock.close()


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _exchange(world: World) -> httpx.Response:
    tax = world.gateways[TAX_GW]
    return httpx.get(tax.is_url + INCOME, headers={"X-Road-Client": "EE/GOV/70000001/tax"}, timeout=ANSWERED)


def test_an_exchange_answers_while_idle_and_slowloris_clients_sit_on_the_is_port(world: World) -> None:
    tax = world.gateways[TAX_GW]
    assert _exchange(world).status_code == 200
    with abusers(_port(tax.is_url), idle=40, slowloris=10):
        resp = _exchange(world)
        assert resp.status_code == 200, resp.text[:300]


def test_an_exchange_answers_while_idle_half_open_and_slowloris_clients_sit_on_the_peer_port(world: World) -> None:
    tax, vero = world.gateways[TAX_GW], world.gateways[VERO_GW]
    assert _exchange(world).status_code == 200
    tax.transport._pool.drop("https", "127.0.0.1", vero.peer_port)  # the next exchange must open a connection
    with abusers(vero.peer_port, idle=40, half_open=20, slowloris=10):
        resp = _exchange(world)
        assert resp.status_code == 200, resp.text[:300]
        assert resp.headers["x-road-service"] == "FI/GOV/0245437-2/vero/income"


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_a_1_gib_declared_body_is_not_read_into_memory(world: World) -> None:
    tax = world.gateways[TAX_GW]
    before = _rss()
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], _rss())
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    sock = socket.create_connection(("127.0.0.1", _port(tax.is_url)), timeout=ANSWERED)
    sent = 0
    try:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n" % (1 << 30))
        block = b"<" * (1 << 20)
        deadline = time.monotonic() + 5
        while sent < 384 * (1 << 20) and time.monotonic() < deadline:
            sock.sendall(block)
            sent += len(block)
    except OSError:
        pass  # the gateway closed the connection: the body was refused
    finally:
        sock.close()
        time.sleep(0.2)
        done.set()
        sampler.join()
    grown = peak[0] - before
    assert grown < 64 * (1 << 20), f"RSS grew by {grown / (1 << 20):.0f} MB while {sent >> 20} MB were sent"


def _chunked_body(port: int, size: int, sent: list[int]) -> None:
    """POST a chunked body of ``size`` bytes to the IS port as fast as it is taken."""
    block = b"%x\r\n%s\r\n" % (1 << 20, b"<" * (1 << 20))
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=ANSWERED) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(size >> 20):
            sock.sendall(block)
            sent.append(1 << 20)
        sock.sendall(b"0\r\n\r\n")
        sock.recv(4096)


def test_parallel_chunked_bodies_over_the_limit_are_not_held_in_memory(world: World) -> None:
    """Four clients each stream 100 MiB, chunked (no length to refuse at once), to the IS
    port: each is read up to the proxy's 64 MiB limit, spooled to disk past 1 MiB, and
    refused; the process grows by far less than the 256 MiB a body in memory would cost,
    and a normal exchange is answered meanwhile."""
    tax = world.gateways[TAX_GW]
    assert _exchange(world).status_code == 200
    before = _rss()
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], _rss())
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    sent: list[int] = []
    senders = [threading.Thread(target=_chunked_body, args=(_port(tax.is_url), 100 << 20, sent), daemon=True)
               for _ in range(4)]
    try:
        for sender in senders:
            sender.start()
        while sum(sent) < 64 << 20 and any(s.is_alive() for s in senders):
            time.sleep(0.05)
        resp = _exchange(world)
        assert resp.status_code == 200, resp.text[:300]
        for sender in senders:
            sender.join(60)
    finally:
        done.set()
        sampler.join()
    grown = peak[0] - before
    assert sum(sent) > 4 * (64 << 20), f"only {sum(sent) >> 20} MiB were taken"
    assert grown < 64 * (1 << 20), f"RSS grew by {grown / (1 << 20):.0f} MB while {sum(sent) >> 20} MB were sent"


def _answers(url: str, **kw: Any) -> int:
    return httpx.get(url, timeout=ANSWERED, **kw).status_code


def test_the_trust_services_port_answers_while_idle_and_slowloris_clients_sit_on_it(world: World) -> None:
    ca = world.cas["EE"]
    server = TrustServer(TrustHttpApp(ocsp=ocsp_responder(ca), tsa=timestamp_authority(ca))).start()
    try:
        with abusers(server.port, idle=30, slowloris=10):
            assert _answers(server.url + "/") == 200
    finally:
        server.stop()


def test_the_authoritys_port_answers_while_idle_and_slowloris_clients_sit_on_it(tmp_path: Path) -> None:
    from federation.central._node import CentralNode, NodeConfig
    from federation.central.registry import init_central

    pin = "authority-pin"
    now = dt.datetime.now(dt.timezone.utc)
    init_central(str(tmp_path / "ee"), instance="EE", url="http://127.0.0.1:1", pin=pin, now=now)
    node = CentralNode(NodeConfig(directory=tmp_path / "ee", port=0, pin=pin))
    node.start()
    serving = threading.Thread(target=node.serve_forever, daemon=True)
    serving.start()
    try:
        with abusers(node.port, idle=30, slowloris=10):
            assert _answers(f"http://127.0.0.1:{node.port}/internalconf?version=6") == 200
    finally:
        node.stop()
        serving.join(10)
