"""Resilience of the ports that face other organisations, under abuse that costs the abuser nothing.

    .venv/bin/python bench/abuse.py [--sandbox DIR] [--idle 1000] [--half-open 200] [--slowloris 50]
                                    [--declared-mib 1024] [--chunked 8x200] [--large 8x12]
                                    [--probes 20]

Without ``--sandbox`` a sandbox is started in a temporary directory (two worker
processes per gateway) and stopped at the end; ``--sandbox`` points at a running one
(for example one of a previous build, to compare). For each port — the EE consumer
gateway's IS port, the FI provider gateway's mutual-TLS port, each authority's port
and each trust-services port — the script holds ``--idle`` silent TCP connections,
``--half-open`` TLS handshakes sent halfway and ``--slowloris`` clients that send a
request head one line every half second, replacing any the server closes (a
persistent abuser), and meanwhile times what a normal client gets:

On the mutual-TLS port a slowloris client dribbles its TLS ClientHello a byte at a
time, since without a registered certificate no request head gets through.

* IS port: a cross-border REST exchange (EE tax -> FI vero ``income``) through it;
* mutual-TLS port: a fresh TLS connection (the server's refusal of a client without a
  certificate ends the probe: it shows the port accepts and handshakes) and the same
  exchange, whose consumer gateway may have to open a new connection to it;
* authority and trust services: ``GET /internalconf?version=6`` and ``GET /``.

Then memory: a request declaring a 1 GiB body and ``--chunked`` parallel chunked
bodies (``COUNTxMIB``) are sent to the IS port, and the growth of the gateway's
resident memory (main process plus workers, peak against before) is printed; the
same declared body to each authority and trust-services port. Last, ``--large``
parallel SOAP requests within the limits (``COUNTxMIB``, the body padded with 1 MiB
comments, which the SOAP part's 16 MiB limit bounds) from EE tax to FI vero: what
processing legitimately large messages costs both gateways (the sandbox's backend
refuses bodies over 8 MiB, so the answers are relayed faults after both gateways did
all their work).

The abusers spread over source addresses 127.0.1.x (at most 200 connections each), as
several hosts would, so the per-address cap does not simply turn them away. The
script raises its open-file limit to the hard limit; thousands of connections need it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import selectors
import socket
import ssl
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import builds  # noqa: E402

PER_ADDRESS = 200
INCOME = "/r1/FI/GOV/0245437-2/vero/income/010190-123M"


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 65536,) * 2)
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _client_hello() -> bytes:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    out = ssl.MemoryBIO()
    conn = ctx.wrap_bio(ssl.MemoryBIO(), out)
    with contextlib.suppress(ssl.SSLWantReadError):
        conn.do_handshake()
    return out.read()


class Abusers:
    """Connections of three kinds held on one port, replaced when the server closes them."""

    def __init__(self, port: int, idle: int, half_open: int, slowloris: int, *, tls: bool = False) -> None:
        self.port = port
        self.tls = tls  # slowloris dribbles the TLS ClientHello (no head can be sent without a certificate)
        self.wanted = {"idle": idle, "half-open": half_open, "slowloris": slowloris}
        self.kind: dict[socket.socket, str] = {}
        self.replaced = 0
        self.failed = 0
        self._made = 0
        self._ticks = 0
        self._hello = _client_hello()
        self._sel = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep, daemon=True)

    def _open(self, kind: str) -> None:
        with self._lock:
            source = f"127.0.1.{1 + self._made // PER_ADDRESS}"
            self._made += 1
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=2, source_address=(source, 0))
            if kind == "half-open":
                sock.sendall(self._hello[: len(self._hello) // 2])
            elif kind == "slowloris":
                sock.sendall(self._hello[:1] if self.tls else b"POST / HTTP/1.1\r\nHost: x\r\n")
            sock.setblocking(False)
        except OSError:
            with self._lock:
                self.failed += 1
            return
        with self._lock:
            self.kind[sock] = kind
            self._sel.register(sock, selectors.EVENT_READ)

    def __enter__(self) -> "Abusers":
        # in parallel: a server that stops accepting (a full backlog) must not stall the bench
        with ThreadPoolExecutor(64) as pool:
            list(pool.map(self._open, [kind for kind, count in self.wanted.items() for _ in range(count)]))
        self._thread.start()
        return self

    def _keep(self) -> None:
        last_dribble = time.monotonic()
        while not self._stop.is_set():
            for key, _ in self._sel.select(0.1):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                with contextlib.suppress(OSError):
                    if sock.recv(65536):
                        continue  # an answer (a 408): the close follows
                kind = self.kind.pop(sock)
                self._sel.unregister(sock)
                sock.close()
                self.replaced += 1
                self._open(kind)
            if time.monotonic() - last_dribble >= 0.5:
                last_dribble = time.monotonic()
                self._ticks += 1
                ticks = self._ticks
                for sock, kind in list(self.kind.items()):
                    if kind == "slowloris":
                        with contextlib.suppress(OSError):
                            sock.send(self._hello[ticks % len(self._hello):][:1] if self.tls else b"X-Slow: 1\r\n")

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        for sock in self.kind:
            sock.close()

    def summary(self) -> str:
        return (f"{len(self.kind)} held ({', '.join(f'{n} {k}' for k, n in self.wanted.items())} wanted), "
                f"{self.replaced} closed by the server and replaced, {self.failed} refused")


def timed(probe: Callable[[], object], count: int) -> str:
    """p50 and max seconds of ``count`` runs of ``probe`` (a failure counts as an error)."""
    times, errors = [], []
    for _ in range(count):
        start = time.perf_counter()
        try:
            probe()
        except Exception as exc:  # noqa: BLE001 - counted and shown
            errors.append(type(exc).__name__)
            continue
        times.append(time.perf_counter() - start)
    if not times:
        return f"no answer in {count} tries ({', '.join(sorted(set(errors)))})"
    return (f"p50 {statistics.median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms, "
            f"{len(errors)} errors of {count}" + (f" ({', '.join(sorted(set(errors)))})" if errors else ""))


def http_get(url: str, headers: dict[str, str] | None = None, timeout: float = 10) -> None:
    import http.client
    from urllib.parse import urlsplit

    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.request("GET", u.path + ("?" + u.query if u.query else ""), headers=headers or {})
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status}")
    finally:
        conn.close()


def fresh_tls(port: int, timeout: float = 10) -> None:
    """Connect, handshake and send a request without a client certificate; the refusal ends it."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        try:
            with ctx.wrap_socket(raw) as tls:
                tls.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                tls.recv(100)
        except (ssl.SSLError, ConnectionResetError):
            return  # "certificate required": the server handshook with us and refused, as it should


def rss_of(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total


def pids_of(root: Path, role: str) -> list[int]:
    data = json.loads((root / "pids" / f"{role}.pid").read_text())
    main = int(data["pid"])
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int((entry / "stat").read_text().rsplit(") ", 1)[1].split()[1]) == main:
                    children.append(int(entry.name))
    return [main, *children]


@contextlib.contextmanager
def peak_rss(pids: list[int]) -> Iterator[list[int]]:
    """[before, peak] resident memory of ``pids`` (summed), sampled every 20 ms meanwhile."""
    got = [rss_of(pids)] * 2
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.02):
            got[1] = max(got[1], rss_of(pids))
    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield got
    finally:
        time.sleep(0.5)
        stop.set()
        thread.join()


def send_body(port: int, path: str, content_type: str, *, declared: int | None, total: int,
              seconds: float = 15) -> int:
    """Send a body (``declared`` length, or chunked) until ``total`` bytes, the time or the server stops it."""
    sent = 0
    block = b"<" * (1 << 20)
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n"
    head += f"Content-Length: {declared}\r\n\r\n" if declared is not None else "Transfer-Encoding: chunked\r\n\r\n"
    frame = block if declared is not None else b"%x\r\n%s\r\n" % (len(block), block)
    deadline = time.monotonic() + seconds
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=seconds) as sock:
        sock.sendall(head.encode())
        while sent < total and time.monotonic() < deadline:
            sock.sendall(frame)
            sent += len(block)
    return sent


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def resilience(state: dict, args: argparse.Namespace) -> None:
    tax = next(g for g in state["gateways"] if g["id"] == "EE/GOV/70000001/gw1")
    vero = next(g for g in state["gateways"] if g["id"] == "FI/GOV/0245437-2/gw1")
    exchange = lambda: http_get(tax["is_url"] + INCOME, {"X-Road-Client": "EE/GOV/70000001/tax"})  # noqa: E731
    print(f"exchange, no abuse:            {timed(exchange, args.probes)}", flush=True)
    peer_port = _port(vero["peer_address"])
    with Abusers(_port(tax["is_url"]), args.idle, 0, args.slowloris) as on_is, \
            Abusers(peer_port, args.idle, args.half_open, args.slowloris, tls=True) as on_peer:
        time.sleep(1)
        print(f"IS port abusers:               {on_is.summary()}")
        print(f"mutual-TLS port abusers:       {on_peer.summary()}")
        print(f"exchange under abuse:          {timed(exchange, args.probes)}", flush=True)
        print(f"fresh TLS to the peer port:    {timed(lambda: fresh_tls(peer_port), args.probes)}", flush=True)
        print(f"after: IS {on_is.summary()}; peer {on_peer.summary()}", flush=True)
    for inst, info in sorted(state["instances"].items()):
        for label, url, probe in (("authority", info["central_url"], "/internalconf?version=6"),
                                  ("trust services", info["trust_url"], "/")):
            with Abusers(_port(url), args.idle, 0, args.slowloris) as on:
                time.sleep(1)
                got = timed(lambda: http_get(url + probe), args.probes)
                print(f"{inst} {label + ' under abuse:':<27}{got}; {on.summary()}", flush=True)


def memory(state: dict, root: Path, args: argparse.Namespace) -> None:
    mib = 1 << 20
    tax = next(g for g in state["gateways"] if g["id"] == "EE/GOV/70000001/gw1")
    pids = pids_of(root, tax["process"])
    declared = args.declared_mib * mib
    with peak_rss(pids) as rss:
        sent = send_body(_port(tax["is_url"]), "/", "text/xml", declared=declared, total=declared)
    print(f"IS port, {args.declared_mib} MiB declared: {sent // mib} MiB sent before the gateway stopped it; "
          f"gateway RSS {rss[0] // mib} MiB -> peak {rss[1] // mib} MiB (+{(rss[1] - rss[0]) // mib})", flush=True)
    count, size = (int(x) for x in args.chunked.split("x"))
    sent_each: list[int] = []
    with peak_rss(pids) as rss:
        threads = [threading.Thread(target=lambda: sent_each.append(
            send_body(_port(tax["is_url"]), "/", "text/xml", declared=None, total=size * mib))) for _ in range(count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    print(f"IS port, {count} x {size} MiB chunked: {sum(sent_each) // mib} MiB sent in all; "
          f"gateway RSS {rss[0] // mib} MiB -> peak {rss[1] // mib} MiB (+{(rss[1] - rss[0]) // mib})", flush=True)
    for inst, info in sorted(state["instances"].items()):
        for label, url, path, ctype, role in (
                ("authority", info["central_url"], "/api/v1/members", "application/json", info["process"]["central"]),
                ("trust services", info["trust_url"], "/tsa", "application/timestamp-query", info["process"]["trust"])):
            with peak_rss(pids_of(root, role)) as rss:
                sent = send_body(_port(url), path, ctype, declared=declared, total=declared)
            print(f"{inst} {label}, {args.declared_mib} MiB declared: {sent // mib} MiB sent; "
                  f"RSS {rss[0] // mib} MiB -> peak {rss[1] // mib} MiB (+{(rss[1] - rss[0]) // mib})", flush=True)


def large_messages(state: dict, root: Path, args: argparse.Namespace) -> None:
    """``--large`` parallel SOAP requests within the limits; peak memory of both gateways."""
    sys.path.insert(0, str(ROOT))
    from lxml import etree

    from trust.protocol import ServiceId, SubsystemId, build_request

    mib = 1 << 20
    count, size = (int(x) for x in args.large.split("x"))
    tax = next(g for g in state["gateways"] if g["id"] == "EE/GOV/70000001/gw1")
    vero = next(g for g in state["gateways"] if g["id"] == "FI/GOV/0245437-2/gw1")
    producer = "{http://vero.sandbox.sild.eu/producer}"
    body = etree.Element(producer + "getTaxRecord")
    etree.SubElement(body, producer + "personCode").text = "010190-123M"
    for _ in range(size):
        body.append(etree.Comment("x" * mib))
    message = build_request(client=SubsystemId("EE", "GOV", "70000001", "tax"),
                            service=ServiceId("FI", "GOV", "0245437-2", "vero", "getTaxRecord", "v1"),
                            query_id="bench-large", body=body, user_id="EE1")
    answers: list[str] = []

    def post() -> None:
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", _port(tax["is_url"]), timeout=120)
        try:
            conn.request("POST", "/", body=message, headers={"Content-Type": "text/xml"})
            got = conn.getresponse().read()
            code = got.split(b"<faultcode>", 1)[1].split(b"<", 1)[0].decode() if b"<faultcode>" in got else "ok"
            answers.append(code)
        except OSError as exc:
            answers.append(type(exc).__name__)
        finally:
            conn.close()
    pids = pids_of(root, tax["process"]) + pids_of(root, vero["process"])
    with peak_rss(pids) as rss:
        threads = [threading.Thread(target=post) for _ in range(count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    print(f"IS port, {count} x {size} MiB SOAP in parallel: both gateways' RSS {rss[0] // mib} MiB -> peak "
          f"{rss[1] // mib} MiB (+{(rss[1] - rss[0]) // mib}); answers: "
          + ", ".join(f"{answers.count(a)} {a}" for a in sorted(set(answers))), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sandbox", type=Path, default=None, help="a running sandbox directory")
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--half-open", type=int, default=200)
    parser.add_argument("--slowloris", type=int, default=50)
    parser.add_argument("--declared-mib", type=int, default=1024)
    parser.add_argument("--chunked", default="8x200", help="COUNTxMIB parallel chunked bodies")
    parser.add_argument("--large", default="8x12", help="COUNTxMIB parallel SOAP requests within the limits")
    parser.add_argument("--probes", type=int, default=20, help="normal requests timed per phase")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(f"open-file limit: {raise_fd_limit()}", flush=True)
    with contextlib.ExitStack() as stack:
        root = args.sandbox
        if root is None:
            root = Path(tempfile.mkdtemp(prefix="sild-abuse-"))
            print(f"starting a sandbox in {root} ...", flush=True)
            builds.sandbox_up(ROOT, root, args.workers)
            stack.callback(builds.sandbox_down, ROOT, root)
            builds.settle()
        state = json.loads((root / "sandbox.json").read_text())
        resilience(state, args)
        memory(state, root, args)
        large_messages(state, root, args)


if __name__ == "__main__":
    main()
