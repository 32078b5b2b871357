"""The edge server: WSGI apps behind an event loop, so that connections cost memory, not threads.

Why: a thread-per-connection server lets one silent client stall a port. cheroot ran
the TLS handshake inside its single accept loop (one idle TCP connection blocked the
mutual-TLS port for 60 s) and gave every kept-alive connection a thread (16 idle
connections stopped an IS port). Here one asyncio loop (uvloop when installed)
accepts, handshakes and parses every connection concurrently, each under deadlines
(:class:`EdgeLimits`); only a request that is complete enough to run goes to a
bounded thread pool, where the app may block (signing, SQLite, backend calls).

The parser is httptools (llhttp, the parser of Node.js), driven by our own
:class:`asyncio.Protocol` (:mod:`trust.infra._edgehttp`), because it calls back as
bytes arrive (limits apply before anything is buffered) and costs ~1.4 us per request
head on this machine against ~21 us for h11 (pure Python). uvicorn was the other route
(DESIGN.md section 4): it runs ASGI apps, so our WSGI apps would cross an ASGI-to-WSGI
bridge per request, and it has neither a per-address cap nor a head deadline;
the part of it we would keep is the same httptools protocol. See docs/performance.md.

Admission happens before the TLS handshake: each accepted socket counts against
``max_connections`` and ``max_per_address`` from its first moment, so half-open
handshakes are capped like any other connection; a client over a cap is reset at once
without touching anyone else. Handshakes run as tasks, ``handshake_timeout`` each.

The interface is the one of :class:`trust.infra.WsgiServer` (``start``, ``stop``,
``port``, ``url``, ``listening_socket``, ``serve_forever``, ``wait``,
``listen_socket=`` for worker processes sharing a port), so callers switch by name.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import ssl
import struct
import sys
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Self

from ._edgehttp import Connection
from ._edgewsgi import WsgiApp, date_line

log = logging.getLogger("sild.edge")

#: Connections the kernel queues before the loop accepts them (a SYN beyond it waits 1 s).
LISTEN_BACKLOG = 1024
#: How often deadlines are checked: they hold to within this much.
SWEEP_SECONDS = 0.25
_OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


@dataclass(frozen=True)
class EdgeLimits:
    """What one client may cost a port. Times in seconds, sizes in bytes."""

    handshake_timeout: float = 5.0  # a TLS handshake from accept to done
    header_timeout: float = 10.0  # a request head from its first byte (or the connection) to its end
    idle_timeout: float = 90.0  # a kept-alive connection between requests (peers pool for 60 s)
    body_timeout: float = 30.0  # the longest pause in a request body
    send_timeout: float = 60.0  # a client that does not read the answer
    linger: float = 1.0  # after refusing a body: time for the client to read the answer, then close
    max_connections: int = 4096  # open connections of the port, handshakes included
    max_per_address: int = 512  # ... of one client address
    max_header_bytes: int = 64 * 1024
    max_headers: int = 100
    max_body: int = 64 * 1024 * 1024  # beyond it the body is never read
    body_buffer: int = 256 * 1024  # read before the app runs; the backpressure mark after


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is optional; asyncio's own loop works too
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class ServerCore:
    """What the connections of one server share (its loop, pool, limits, environ base)."""

    def __init__(self, app: WsgiApp, limits: EdgeLimits, threads: int, name: str, scheme: str) -> None:
        self.app = app
        self.limits = limits
        self.loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]  # set when serving
        self.pool = _Pool(threads, name)
        self.connections: set[Connection] = set()
        self.stopping = False
        self.server_header = f"Server: {name}\r\n".encode("latin-1")
        self._date: tuple[int, bytes] = (0, b"")
        self.base_environ: dict[str, Any] = {
            "SCRIPT_NAME": "", "SERVER_SOFTWARE": name, "wsgi.version": (1, 0), "wsgi.url_scheme": scheme,
            "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": True,
            "wsgi.run_once": False, "wsgi.input_terminated": True,
        }

    def date(self) -> bytes:
        """The ``Date`` header line, formatted once a second."""
        now = int(time.time())
        stamp = self._date
        if stamp[0] != now:
            stamp = self._date = (now, date_line(now))
        return stamp[1]

    @staticmethod
    def new_event() -> threading.Event:
        event = threading.Event()
        event.set()
        return event

    def submit(self, fn: Callable[..., None], *args: Any) -> None:
        self.pool.put((fn, args))


class _Pool:
    """``threads`` threads taking ``(fn, args)`` from one queue, for the apps' blocking work.

    Cheaper per request than :class:`concurrent.futures.ThreadPoolExecutor` (no future,
    no idle-thread bookkeeping, measured in a py-spy profile of a loaded gateway); a
    request nobody waits for needs neither.
    """

    def __init__(self, threads: int, name: str) -> None:
        self._queue: queue.SimpleQueue[tuple[Callable[..., None], tuple[Any, ...]] | None] = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True) for i in range(threads)]
        self.put = self._queue.put

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Drop what waits for a thread (its connection is gone); let running calls end."""
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()
        for _ in self._threads:
            self._queue.put(None)

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            fn, args = item
            try:
                fn(*args)
            except Exception:  # noqa: BLE001 - a pool thread must survive whatever one request did
                log.exception("edge server request handling failed")


class EdgeServer:
    """One port served by an event loop on a background thread; ``port`` 0 picks a free one.

    ``ssl_context`` makes it HTTPS (a context that asks for client certificates puts the
    peer's in ``environ["SSL_CLIENT_CERT"]``, PEM). ``threads`` bounds the app's pool.
    ``listen_socket`` serves a socket already bound and listening (``host`` and ``port``
    are then its own), the way worker processes share a port.
    """

    def __init__(self, app: WsgiApp, host: str = "127.0.0.1", port: int = 0, *,
                 ssl_context: ssl.SSLContext | None = None, threads: int = 16, name: str = "sild",
                 limits: EdgeLimits | None = None, listen_socket: socket.socket | None = None,
                 shutdown_timeout: float = 2.0, thread_name: str | None = None) -> None:
        if listen_socket is not None:
            host, port = listen_socket.getsockname()[:2]
        self.host = host
        self._port = port
        self._ssl = ssl_context
        self.limits = limits or EdgeLimits()
        self._scheme = "https" if ssl_context is not None else "http"
        self._core = ServerCore(app, self.limits, threads, name, self._scheme)
        self._sock = listen_socket
        self._shutdown_timeout = shutdown_timeout
        self._thread_name = thread_name
        self._thread: threading.Thread | None = None
        self._running = threading.Event()
        self._done = threading.Event()
        self._loop_thread: threading.Thread | None = None
        self._stop_requested = False
        self._stop_event: asyncio.Event | None = None
        self._per_address: dict[str, int] = {}
        self._open = 0
        self._handshakes: set[asyncio.Task[None]] = set()

    # -- the interface of WsgiServer ------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._port)

    @property
    def url(self) -> str:
        return f"{self._scheme}://{self.host}:{self.port}"

    @property
    def listening_socket(self) -> socket.socket:
        if self._sock is None:
            raise RuntimeError("the server is not started")
        return self._sock

    @property
    def open_connections(self) -> int:
        """Connections open now, handshakes included (for tests and benchmarks)."""
        return self._open

    def bind(self) -> None:
        """Bind the port (once) without serving it yet: ``port`` is known from here on."""
        if self._core.base_environ.get("SERVER_PORT"):
            return
        if self._sock is None:
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            self._sock = socket.create_server((self.host, self._port), family=family, backlog=LISTEN_BACKLOG)
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock.setblocking(False)
        self._port = self._sock.getsockname()[1]
        self._core.base_environ.update(SERVER_NAME=self.host, SERVER_PORT=str(self._port))

    def start(self) -> Self:
        self.bind()  # binds now, so ``port`` is known when this returns
        self._thread = threading.Thread(target=self._run, name=self._thread_name or f"edge-{self.port}", daemon=True)
        self._thread.start()
        self._running.wait(10)
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until :meth:`stop` (e.g. from a signal handler)."""
        self.bind()
        self._run()

    def close_after_answers(self) -> None:
        """Keep serving, but close each connection after its next answer (a draining node's
        clients reconnect, through their balancer, to another node)."""
        self._core.stopping = True

    def stop(self, timeout: float | None = None) -> None:
        """Stop accepting, let answers in progress finish (``timeout``, else ``shutdown_timeout``), close the rest."""
        if timeout is not None:
            self._shutdown_timeout = timeout
        self._stop_requested = True
        loop = self._core.loop
        if loop is not None and self._stop_event is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._stop_event.set)
            except RuntimeError:  # the loop closed meanwhile
                pass
        here = threading.current_thread()
        if self._running.is_set() and here is not self._loop_thread:
            self._done.wait(self._shutdown_timeout + 5)  # answers in progress go out first
        if self._thread is not None and self._thread is not here:
            self._thread.join(timeout=5)
            self._thread = None

    def wait(self, poll: float = 0.5) -> None:
        """Block until the server thread ends (``serve`` runs a node in the foreground)."""
        while self._thread is not None and self._thread.is_alive():
            time.sleep(poll)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the loop ---------------------------------------------------------------------------
    def _run(self) -> None:
        self._loop_thread = threading.current_thread()
        loop = _new_loop()
        try:
            loop.run_until_complete(self._main(loop))
        finally:
            loop.close()
            self._core.pool.stop()
            if self._sock is not None:
                self._sock.close()
            self._done.set()

    async def _main(self, loop: asyncio.AbstractEventLoop) -> None:
        self._core.loop = loop
        self._stop_event = asyncio.Event()
        if self._stop_requested:
            self._stop_event.set()
        self._core.pool.start()
        accepting = loop.create_task(self._accept_loop(loop))
        sweeping = loop.create_task(self._sweep(loop))
        self._running.set()
        await self._stop_event.wait()
        accepting.cancel()
        await self._drain(loop)
        sweeping.cancel()
        await asyncio.gather(accepting, sweeping, return_exceptions=True)

    async def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        """Expire the connections whose deadline passed (head, body, idle, linger), 4 times a second."""
        connections = self._core.connections
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            now = loop.time()
            for conn in [c for c in connections if c.deadline and c.deadline <= now]:
                conn.expire()

    async def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        core = self._core
        core.stopping = True
        for task in list(self._handshakes):
            task.cancel()
        deadline = loop.time() + self._shutdown_timeout
        while core.connections and loop.time() < deadline:
            for conn in list(core.connections):
                if conn.idle:
                    conn.close()
            await asyncio.sleep(0.02)
        for conn in list(core.connections):
            if conn.transport is not None:
                conn.transport.abort()
        await asyncio.sleep(0)  # let the aborted connections run connection_lost

    async def _accept_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        assert self._sock is not None
        while True:
            try:
                sock, address = await loop.sock_accept(self._sock)
            except OSError as exc:
                if exc.errno in _OUT_OF_RESOURCES:  # out of file descriptors: wait, do not spin
                    log.warning("cannot accept on port %d: %s", self.port, exc)
                    await asyncio.sleep(0.1)
                continue
            self._admit(loop, sock, str(address[0]) if address else "")

    def _admit(self, loop: asyncio.AbstractEventLoop, sock: socket.socket, address: str) -> None:
        limits = self.limits
        held = self._per_address.get(address, 0)
        if self._open >= limits.max_connections or held >= limits.max_per_address:
            log.debug("refused a connection from %s: %d open, %d from it", address, self._open, held)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset, at once
            sock.close()
            return
        self._open += 1
        self._per_address[address] = held + 1
        task = loop.create_task(self._connect(loop, sock, address))
        self._handshakes.add(task)
        task.add_done_callback(self._handshakes.discard)

    def _releaser(self, address: str) -> Callable[[], None]:
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            self._open -= 1
            left = self._per_address.get(address, 1) - 1
            if left > 0:
                self._per_address[address] = left
            else:
                self._per_address.pop(address, None)
        return release

    async def _connect(self, loop: asyncio.AbstractEventLoop, sock: socket.socket, address: str) -> None:
        release = self._releaser(address)
        sock.setblocking(False)
        try:
            if self._ssl is None:
                await loop.connect_accepted_socket(lambda: Connection(self._core, release), sock)
            else:
                await loop.connect_accepted_socket(lambda: Connection(self._core, release), sock, ssl=self._ssl,
                                                   ssl_handshake_timeout=self.limits.handshake_timeout)
        except (OSError, ssl.SSLError, asyncio.TimeoutError, asyncio.CancelledError) as exc:
            log.debug("connection from %s not established: %r", address, exc)
            release()
            try:
                sock.close()
            except OSError:
                pass
