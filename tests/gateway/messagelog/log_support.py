"""Shared pieces of the message-log tests: a fixed moment, a log entry, a real RFC 3161 TSA.

They live here rather than in ``test_log.py`` so that the lock, checkpoint and archive tests
use them without importing another test module.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from gateway.messagelog import LogEntry
from trust.protocol import SubsystemId

T0 = dt.datetime(2026, 6, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
CLIENT = SubsystemId("EE", "COM", "20000002", "app")
SERVICE = SubsystemId("EE", "GOV", "70000001", "tax").service("getPerson", "v1")


def entry(query_id: str = "q-1", direction: str = "request", *, size: int = 400, **kw: object) -> LogEntry:
    message = (b"<env>" + query_id.encode() + b"x" * size + b"</env>")
    signature = b"<sig>" + hashlib.sha256(message).hexdigest().encode() + b"</sig>"
    values: dict[str, object] = dict(
        query_id=query_id, client=CLIENT, service=SERVICE, side="client", direction=direction, kind="SOAP",
        message=message, signature=signature, x_request_id="rid-" + query_id, logged_at=T0,
    )
    values.update(kw)
    return LogEntry(**values)  # type: ignore[arg-type]


# -- a real RFC 3161 TSA over HTTP -------------------------------------------------------


class Tsa:
    """An RFC 3161 TSA (trust's responder core) behind a tiny HTTP server on 127.0.0.1."""

    def __init__(self, directory: Path, ca: object | None = None) -> None:
        from trust.services import CertificateAuthority
        from trust.services._bundle import timestamp_authority
        from trust.keys import KeyType

        self.ca = ca or CertificateAuthority.init(
            directory / "ca", instance="EE", pin="1234", now=T0 - dt.timedelta(days=1), key_type=KeyType.EC_P256
        )
        self.authority = timestamp_authority(self.ca)  # type: ignore[arg-type]
        self.fail = False
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.requests += 1
                if outer.fail:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                reply = outer.authority.respond(body, T0)
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def client(self):  # type: ignore[no-untyped-def]
        from trust.evidence import TimestampClient

        return TimestampClient(self.url, [self.ca.tsa_cert], timeout=5.0)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
