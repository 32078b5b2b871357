"""Run a WSGI app with cheroot on a background thread (tests, sandboxes, ``sild adapter serve``).

cheroot is sild's WSGI server (it hands client certificates to the app on mutual-TLS
ports); binding happens in :meth:`WsgiServer.start`, so port 0 gives a free port and
the real one is known before the first request. Every server started is stopped by
whoever started it: :meth:`stop`, or use it as a context manager.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from cheroot import wsgi

WsgiApp = Callable[..., Any]


class WsgiServer:
    def __init__(
        self, app: WsgiApp, host: str = "127.0.0.1", port: int = 0, *, threads: int = 8, ssl_adapter: Any = None
    ) -> None:
        self._server = wsgi.Server((host, port), app, numthreads=threads)
        self._server.shutdown_timeout = 1
        if ssl_adapter is not None:  # a cheroot SSL adapter, e.g. BuiltinSSLAdapter with its context set up
            self._server.ssl_adapter = ssl_adapter
        self._scheme = "https" if ssl_adapter is not None else "http"
        self._thread: threading.Thread | None = None
        self.host = host

    @property
    def port(self) -> int:
        return int(self._server.bind_addr[1])

    @property
    def url(self) -> str:
        return f"{self._scheme}://{self.host}:{self.port}"

    def start(self) -> "WsgiServer":
        self._server.prepare()
        self._thread = threading.Thread(target=self._server.serve, name=f"wsgi-{self.port}", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the CLI's ``serve``)."""
        try:
            self._server.safe_start()
        finally:
            self._server.stop()

    def stop(self) -> None:
        self._server.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "WsgiServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
