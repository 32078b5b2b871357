"""Servers of a gateway node: the edges on the event-driven server, the admin port on cheroot.

The IS ports and the mutual-TLS port face other organisations, so they run on
:class:`trust.infra.EdgeServer` (:class:`EdgeServer` here, with the gateway's body
limit): one slow or silent client costs a socket, not a thread, and the TLS
handshakes run concurrently under a deadline. It puts the peer's certificate in
``environ["SSL_CLIENT_CERT"]`` (PEM), as the server proxy expects, and accepts the
absolute request targets of an IS that uses the gateway as its HTTP proxy.

:class:`WsgiServer` (cheroot) stays for the admin API, which listens on loopback. It
takes a ready :class:`ssl.SSLContext` (built from the soft token's encrypted key),
because cheroot's adapter can only read plain files.
"""

from __future__ import annotations

import logging
import socket
import ssl
import time
from typing import Any

from cheroot.server import HTTPConnection, HTTPRequest
from cheroot.ssl.builtin import BuiltinSSLAdapter

from trust.infra import EdgeLimits, WsgiApp
from trust.infra import EdgeServer as BaseEdgeServer
from trust.infra import WsgiServer as BaseWsgiServer

#: The proxies refuse a message over 64 MiB themselves, with X-Road's fault; the
#: server's own limit lies above theirs so that their answer is the one a client sees,
#: and a body beyond it is never read.
GATEWAY_MAX_BODY = 65 * 1024 * 1024


class _ContextAdapter(BuiltinSSLAdapter):
    """cheroot's builtin TLS adapter around a context we built ourselves."""

    def __init__(self, context: ssl.SSLContext) -> None:  # noqa: D107 - no file reading
        self.certificate = None
        self.private_key = None
        self.certificate_chain = None
        self.ciphers = None
        self.private_key_password = None
        self._server_env: dict[str, str] = {}
        self.context = context


_log = logging.getLogger("sild.gateway.http")


def _error_log(msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
    """cheroot's connection-level messages (peers that fail the TLS handshake...) into logging."""
    _log.log(level if level < logging.ERROR else logging.WARNING, "%s", msg, exc_info=traceback)


#: Connections the kernel queues before the gateway accepts them (capped by the kernel's
#: somaxconn): a burst of new IS or peer connections beyond it waits for a SYN retry (1 s).
LISTEN_BACKLOG = 1024


def bind_listening(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket that this process does not serve itself.

    The main process of a gateway with worker processes binds its ports with this and
    hands them to the workers (:mod:`gateway.node._workers`), which accept on them.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=LISTEN_BACKLOG)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # accepted connections inherit it
    return sock


class _ProxyRequest(HTTPRequest):
    """Accepts absolute-URI request targets: an IS may use the gateway as its HTTP proxy."""

    def __init__(self, server: Any, conn: Any, proxy_mode: bool = True, strict_mode: bool = True) -> None:
        super().__init__(server, conn, proxy_mode=True, strict_mode=strict_mode)


class _ProxyConnection(HTTPConnection):
    RequestHandlerClass = _ProxyRequest


class WsgiServer(BaseWsgiServer):
    """trust's cheroot server, plus what a gateway port needs: a ready TLS context, HTTP-proxy
    request targets, cheroot's messages in logging; ``port=0`` picks a free port.

    ``listen_socket``: serve a port that another process bound (a gateway's worker
    processes serve the sockets of the main process, :mod:`gateway.node._workers`).
    """

    def __init__(self, app: WsgiApp, host: str = "127.0.0.1", port: int = 0, *,
                 ssl_context: ssl.SSLContext | None = None, threads: int = 16,
                 name: str = "sild", timeout: int = 60, proxy_mode: bool = False,
                 listen_socket: socket.socket | None = None) -> None:
        super().__init__(app, host, port, threads=threads, server_name=name, shutdown_timeout=2,
                         ssl_adapter=_ContextAdapter(ssl_context) if ssl_context is not None else None,
                         listen_socket=listen_socket)
        self._server.timeout = timeout
        self._server.request_queue_size = LISTEN_BACKLOG
        if proxy_mode:
            self._server.ConnectionClass = _ProxyConnection
        self._server.error_log = _error_log  # type: ignore[method-assign]  # cheroot prints to stderr; sild logs

    def wait(self, poll: float = 0.5) -> None:
        """Block until the server thread ends (``serve`` runs the node in the foreground)."""
        while self._thread is not None and self._thread.is_alive():
            time.sleep(poll)


class EdgeServer(BaseEdgeServer):
    """trust's edge server with the gateway's body limit (the proxies' own limit speaks first)."""

    def __init__(self, app: WsgiApp, host: str = "127.0.0.1", port: int = 0, *,
                 ssl_context: ssl.SSLContext | None = None, threads: int = 16, name: str = "sild",
                 limits: EdgeLimits | None = None, listen_socket: socket.socket | None = None) -> None:
        super().__init__(app, host, port, ssl_context=ssl_context, threads=threads, name=name,
                         limits=limits or EdgeLimits(max_body=GATEWAY_MAX_BODY), listen_socket=listen_socket)
