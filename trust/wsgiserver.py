"""Run a plain WSGI app with cheroot on a background thread (trust services, adapters, tests).

cheroot is sild's WSGI server: it is pure Python, threads, and hands client
certificates to the app on mutual-TLS ports. Binding happens in :meth:`WsgiServer.start`
(``prepare``), so port 0 gives a free port and the real one is known before the first
request. Every server started is stopped by whoever started it: :meth:`stop`, or use
it as a context manager. ``trust`` imports no web framework, so this takes any WSGI
callable; a Flask app is one.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Self

from cheroot import wsgi

WsgiApp = Callable[..., Any]


class WsgiServer:
    """One cheroot server; ``port`` 0 picks a free one.

    ``ssl_adapter`` is a cheroot SSL adapter (e.g. ``BuiltinSSLAdapter`` with its
    context set up) and makes the server speak HTTPS. ``server_name`` and
    ``shutdown_timeout`` default to cheroot's own when ``None``; ``thread_name`` to
    ``wsgi-<port>``; ``join_timeout`` bounds how long :meth:`stop` waits for the thread.
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
    ) -> None:
        options: dict[str, Any] = {} if server_name is None else {"server_name": server_name}
        self._server = wsgi.Server((host, port), app, numthreads=threads, **options)
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
