"""Helpers for the global-configuration tests (no tests here).

* :func:`make_signing_identity`: a real key in a :class:`SoftToken` and a
  self-signed certificate for it, as an authority's configuration signing key;
* :func:`make_tls_files`: a self-signed server certificate for 127.0.0.1;
* :func:`xroad_schema`: X-Road's own XSDs from the conformance folder (tests only:
  sild never loads them at run time);
* :class:`ConfServer`: a real HTTP(S) server on 127.0.0.1 in a thread, serving a
  dictionary of paths, mapping ``/internalconf?version=N`` to ``/V{N}/internalconf``
  (version 2 without the parameter, 404 for versions it lacks) like X-Road's nginx.
"""

from __future__ import annotations

import datetime as dt
import http.server
import ssl
import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

from trust.keys import KeyType, SoftToken
from trust.infra._safexml import load_schema

from tests.support import pki

EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


@dataclass
class SigningIdentity:
    token: SoftToken
    key_id: str
    cert: x509.Certificate

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)


def make_signing_identity(directory: Path, key_type: KeyType = KeyType.RSA2048, name: str = "conf-signer") -> SigningIdentity:
    token = SoftToken(directory, "test-pin")
    key_id = name
    public = token.generate(key_id, key_type)
    subject = pki.name(CN=name)
    cert = pki.issue(subject, public, subject, token._private_key(key_id),  # test set-up only
                     not_before=EPOCH - dt.timedelta(days=1), not_after=EPOCH + dt.timedelta(days=3650))
    return SigningIdentity(token, key_id, cert)


def make_tls_files(directory: Path) -> tuple[Path, Path, x509.Certificate]:
    """A self-signed server certificate for 127.0.0.1 (PEM files) for the HTTPS server."""
    return pki.self_signed_tls_files(directory, stem="server", common_name="127.0.0.1", ip="127.0.0.1",
                                     not_before=EPOCH - dt.timedelta(days=1), not_after=EPOCH + dt.timedelta(days=3650))


_SCHEMAS: dict[str, etree.XMLSchema] = {}


def xroad_schema(xroad: Path, name: str) -> etree.XMLSchema:
    """``name`` like ``v6/shared-parameters.xsd`` or ``v3/private-parameters.xsd``."""
    if name not in _SCHEMAS:
        folder = xroad / "schemas" / "globalconf"
        # monitoring-conf.xsd imports identifiers.xsd from beside itself; it lives one level up
        url_map = {str(folder / "identifiers.xsd"): xroad / "schemas" / "identifiers.xsd"}
        _SCHEMAS[name] = load_schema(folder / name, url_map=url_map)
    return _SCHEMAS[name]


class ConfServer:
    """Serves ``files`` (path -> bytes) over HTTP or HTTPS on 127.0.0.1 from a thread."""

    def __init__(self, files: dict[str, bytes] | None = None, *, tls: tuple[Path, Path] | None = None) -> None:
        self.files: dict[str, bytes] = dict(files or {})
        self.requests: list[str] = []
        self._tls = tls
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def scheme(self) -> str:
        return "https" if self._tls else "http"

    def url(self, path: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def start(self) -> "ConfServer":
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                owner.requests.append(self.path)
                parsed = urllib.parse.urlsplit(self.path)
                path = parsed.path
                query = urllib.parse.parse_qs(parsed.query)
                if path.endswith("conf") and path.rsplit("/", 1)[-1] in ("internalconf", "externalconf"):
                    version = query.get("version", ["2"])[0]
                    head, _, name = path.rpartition("/")
                    path = f"{head}/V{version}/{name}"
                body = owner.files.get(path)
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        if self._tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(self._tls[0]), str(self._tls[1]))
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
