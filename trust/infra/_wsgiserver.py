"""Run a plain WSGI app with cheroot on a background thread (admin APIs, adapters, tests).

cheroot is pure Python with a thread per connection: fine on loopback and operator
networks, not on a port that strangers reach (one silent client holds a thread, and
its TLS handshakes run in the accept loop). Ports facing other organisations run on
:class:`trust.infra.EdgeServer` instead. Binding happens in :meth:`WsgiServer.start`
(``prepare``), so port 0 gives a free port and the real one is known before the first
request. Every server started is stopped by whoever started it: :meth:`stop`, or use
it as a context manager. ``trust`` imports no web framework, so this takes any WSGI
callable; a Flask app is one.

A server can also take a socket that is already bound and listening
(``listen_socket``): several processes then accept on one port, the way pre-forking
servers share a socket inherited from their parent. The kernel hands each incoming
connection to one of them; nobody else can bind the port meanwhile (unlike
``SO_REUSEPORT``, which would let any process of the same user join the group).
Such a socket is non-blocking: every process is woken for each connection, and
the ones that find it taken must go back to their other connections at once.
"""

from __future__ import annotations

import socket
import threading
from typing import Any, Callable, Self

from cheroot import wsgi

WsgiApp = Callable[..., Any]


class _Server(wsgi.Server):
    """cheroot's WSGI server that serves a given listening socket instead of binding one."""

    listen_socket: socket.socket | None = None

    def bind(self, family: int, type: int, proto: int = 0) -> Any:  # noqa: A002 - cheroot's signature
        if self.listen_socket is None:
            return super().bind(family, type, proto)
        self.socket = self.listen_socket
        self.bind_addr = self.socket.getsockname()[:2]
        return self.socket

    def prepare(self) -> None:
        super().prepare()
        if self.listen_socket is not None:
            # cheroot gives its listening socket a 1 s timeout, harmless when it alone
            # accepts. A shared socket wakes every process's selector for each new
            # connection; the ones that lose the race would then wait in accept() for
            # up to a second, and the keep-alive connections of their selector with
            # them (measured: 1 s answers at the start of every load run). Without a
            # timeout, the losers' accept() fails with EAGAIN, which cheroot ignores.
            self.socket.setblocking(False)


class WsgiServer:
    """One cheroot server; ``port`` 0 picks a free one.

    ``ssl_adapter`` is a cheroot SSL adapter (e.g. ``BuiltinSSLAdapter`` with its
    context set up) and makes the server speak HTTPS. ``server_name`` and
    ``shutdown_timeout`` default to cheroot's own when ``None``; ``thread_name`` to
    ``wsgi-<port>``; ``join_timeout`` bounds how long :meth:`stop` waits for the thread.
    ``listen_socket`` serves a socket that is already listening (``host`` and ``port``
    are then its own); :meth:`stop` closes only this process's handle on it.
    """

    def __init__(
        self,
        app: WsgiApp,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        threads: int = 8,
        ssl_adapter: Any = None,
        server_name: str | None = None,
        shutdown_timeout: float | None = 1,
        thread_name: str | None = None,
        join_timeout: float = 5,
        listen_socket: socket.socket | None = None,
    ) -> None:
        options: dict[str, Any] = {} if server_name is None else {"server_name": server_name}
        if listen_socket is not None:
            host, port = listen_socket.getsockname()[:2]
        self._server = _Server((host, port), app, numthreads=threads, **options)
        self._server.listen_socket = listen_socket
        if shutdown_timeout is not None:
            self._server.shutdown_timeout = shutdown_timeout
        if ssl_adapter is not None:
            self._server.ssl_adapter = ssl_adapter
        self._scheme = "https" if ssl_adapter is not None else "http"
        self._thread: threading.Thread | None = None
        self._thread_name = thread_name
        self._join_timeout = join_timeout
        self.host = host

    @property
    def port(self) -> int:
        return int(self._server.bind_addr[1])

    @property
    def listening_socket(self) -> socket.socket:
        """The bound, listening socket (after :meth:`start`), to hand to processes that share the port."""
        sock = self._server.socket
        if sock is None:
            raise RuntimeError("the server is not started")
        return sock  # type: ignore[no-any-return]

    @property
    def url(self) -> str:
        return f"{self._scheme}://{self.host}:{self.port}"

    def start(self) -> Self:
        self._server.prepare()  # binds now, so ``port`` is known when this returns
        name = self._thread_name or f"wsgi-{self.port}"
        self._thread = threading.Thread(target=self._server.serve, name=name, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted or :meth:`stop` (e.g. from a signal handler)."""
        try:
            self._server.safe_start()
        finally:
            self._server.stop()

    def stop(self) -> None:
        self._server.stop()
        if self._thread is not None:
            self._thread.join(timeout=self._join_timeout)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
