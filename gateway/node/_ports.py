"""The ports of a gateway node: its TLS contexts and its listening sockets.

A node serves the IS port(s) and the mutual-TLS port either itself or, with worker
processes, binds them for the workers to serve (:mod:`gateway.node._workers`). The
TLS contexts follow the configuration: the mutual-TLS context trusts the CAs the
global configuration approves (a new context when they change, removals included) and the HTTPS IS context
the information-system certificates registered in the server configuration. These
pieces change for other reasons than the wiring in :mod:`gateway.node._node`, so they
live here, as the part of :class:`~gateway.node.GatewayNode` that
:class:`NodePorts` gives it.
"""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path
from typing import Any, Callable, Mapping

from trust.keys import SoftToken

from gateway.conf import SharedParamsView
from gateway.net import EdgeServer, WsgiServer, server_ssl_context
from gateway.proxy import ClientProxy, ServerProxy
from gateway.serverconf import ServerConf
from gateway.settings import NodeSettings, SetupError


class NodePorts:
    """TLS contexts and listening ports of :class:`~gateway.node.GatewayNode`."""

    # what the node provides (set in GatewayNode.__init__)
    directory: Path
    settings: NodeSettings
    pin: str
    clock: Callable[[], dt.datetime]
    token: SoftToken
    view: SharedParamsView
    serverconf: ServerConf
    client_proxy: ClientProxy
    server_proxy: ServerProxy
    _key: tuple[str, str, str]
    _servers: list[EdgeServer | WsgiServer]
    _sockets: dict[str, socket.socket]
    _addresses: dict[str, tuple[str, int]]
    _server_ctx: Any
    _peer_ctx: Any
    _client_ctx: Any
    _ca_loaded: bytes

    def _reload_cas(self, *, force: bool = False) -> None:
        """Follow the CAs approved in the configuration, removals included (and, ``force``, a new auth certificate).

        An :class:`ssl.SSLContext` can add trust anchors but never drop one, so a changed
        set gets a new context. The listening server keeps the context it was started
        with; its SNI callback (:meth:`_pick_peer_context`, called in every handshake,
        with or without a server name) moves each new connection to the newest one, so
        a CA withdrawn from the configuration fails the next handshake, without a restart.
        """
        if self._server_ctx is None:
            return
        pem = self.view.ca_certs_pem(self.clock())
        if pem and (pem != self._ca_loaded or force):
            self._peer_ctx = server_ssl_context(*self._key, pem)
            self._ca_loaded = pem

    def _pick_peer_context(self, conn: Any, server_name: str | None, served: Any) -> None:
        """SNI callback of the served mutual-TLS context: handshake with the newest context instead."""
        newest = self._peer_ctx
        if newest is not None and newest is not served:
            conn.context = newest

    def _reload_own_tls(self) -> None:
        """A new auth key or certificate (``self._key``): in the client context, a new server context, new connections."""
        self._client_ctx.load_cert_chain(self._key[0], self._key[1], password=self._key[2])
        transport = getattr(self, "transport", None)
        if transport is not None:  # kept-alive connections still present the old certificate
            transport.drop_connections()
        self._reload_cas(force=True)

    def _peer_tls_context(self, unavailable: str) -> None:
        """The mutual-TLS server context, trusting the CAs approved in the configuration in use."""
        ca_pem = self.view.ca_certs_pem(self.clock())
        if not ca_pem:
            raise SetupError(unavailable)
        self._server_ctx = server_ssl_context(*self._key, ca_pem)
        self._server_ctx.sni_callback = self._pick_peer_context
        self._peer_ctx = self._server_ctx
        self._ca_loaded = ca_pem

    def _is_tls_context(self) -> Any:
        """HTTPS for information systems with the internal (self-signed) TLS certificate.

        A client certificate is asked for but not required; the client proxy decides per
        client subsystem (``https-cert`` wants one of the certificates registered for it).
        The registered IS certificates are the context's trust anchors (they are
        usually self-signed), added as they are registered (:meth:`reload_is_certs`).
        """
        import ssl

        from gateway.provision import INTERNAL_KEY, ensure_internal_tls

        cert = ensure_internal_tls(self.directory, pin=self.pin, now=self.clock())
        key_path, password = self.token.key_file(INTERNAL_KEY)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(str(cert), str(key_path), password=password)
        ctx.verify_mode = ssl.CERT_NONE
        self._is_loaded: set[bytes] = set()
        self._is_ctx = ctx
        self.reload_is_certs()
        return ctx

    def reload_is_certs(self) -> None:
        """Trust newly registered IS certificates on the HTTPS IS port."""
        import ssl

        from sqlalchemy import select

        from gateway.db import schema as m

        ctx = getattr(self, "_is_ctx", None)
        if ctx is None:
            return
        with self.serverconf.read() as session:
            ders = set(session.scalars(select(m.IsCert.der)).all())
        fresh = ders - self._is_loaded
        if fresh:
            ctx.load_verify_locations(cadata=b"".join(fresh))  # DER certificates, concatenated
            ctx.verify_mode = ssl.CERT_OPTIONAL
            self._is_loaded |= fresh

    def _bind_ports(self) -> None:
        """Bind the IS port(s) and the mutual-TLS port for worker processes, without serving them here."""
        from gateway.net import bind_listening
        from gateway.provision import ensure_internal_tls

        s = self.settings
        self._listening("is", bind_listening(s.is_host, s.is_port))
        if s.is_tls_port:
            ensure_internal_tls(self.directory, pin=self.pin, now=self.clock())  # made once, before workers read it
            self._listening("is-tls", bind_listening(s.is_host, s.is_tls_port))
        self._listening("peer", bind_listening(s.peer_host, s.peer_port))

    def _listening(self, name: str, sock: socket.socket) -> None:
        self._sockets[name] = sock
        self._addresses[name] = sock.getsockname()[:2]

    def _open_ports(self, sockets: Mapping[str, socket.socket] | None = None) -> None:
        """The IS port(s) and the mutual-TLS port: bound here, or ``sockets`` the main process bound."""
        s = self.settings
        given = sockets or {}

        def serve(name: str, app: Any, host: str, port: int, **kw: Any) -> None:
            server = EdgeServer(app, host, port, name=f"sild-{name}", listen_socket=given.get(name), **kw).start()
            self._listening(name, server.listening_socket)
            self._servers.append(server)

        serve("is", self.client_proxy, s.is_host, s.is_port)
        if s.is_tls_port:
            self._is_ctx = self._is_tls_context()
            serve("is-tls", self.client_proxy, s.is_host, s.is_tls_port, ssl_context=self._is_ctx)
        serve("peer", self.server_proxy, s.peer_host, s.peer_port, ssl_context=self._server_ctx, threads=32)

    @property
    def is_url(self) -> str:
        host, port = self._addresses["is"]
        return f"http://{host}:{port}"

    @property
    def peer_port(self) -> int:
        return self._addresses["peer"][1]
