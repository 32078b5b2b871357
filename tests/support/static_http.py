"""A throw-away HTTP server on 127.0.0.1 that serves a few files from memory.

Tests that make sild fetch a description (a WSDL, its schemas) point it at this
server: real HTTP over loopback, no network beyond the machine.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def static_files(content_type: str = "text/xml") -> Iterator[tuple[str, dict[str, bytes]]]:
    """``(base URL, files)``: each path in ``files`` (filled before or after the start) is
    served with ``content_type``; any other path is a 404 with an empty body."""
    files: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = files.get(self.path)
            self.send_response(404 if body is None else 200)
            if body is not None:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", files
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
